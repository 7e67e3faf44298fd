package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/plinth-ml/plinth/internal/core"
)

// Batch schedules: a spec run on a cron schedule. The cron expression is checked by
// the scheduler, which owns its grammar; the store keeps it as text.

const batchScheduleColumns = `name, cron, spec, actor, last_run_time, last_job_id, creation_time`

func batchScheduleNotFound(name string) error {
	return core.Errorf(core.ENOTFOUND, "Batch schedule '%s' not found", name)
}

func validateBatchSchedule(sc core.BatchSchedule) error {
	// Schedule names follow the endpoint-name rule (a DNS label).
	if core.ValidateEndpointName(sc.Name) != nil {
		return core.Errorf(core.EINVALID, "Invalid schedule name %q: use 1-%d lowercase letters, digits and '-', starting with a letter and not ending with '-' (e.g. \"daily-scoring\")", sc.Name, core.MaxEndpointNameLen)
	}
	if sc.Cron == "" {
		return core.Errorf(core.EINVALID, "Schedule '%s' needs a cron expression (five fields, UTC)", sc.Name)
	}
	if sc.LastRunTime < 0 {
		return core.Errorf(core.EINVALID, "Invalid last run time %d for schedule '%s'", sc.LastRunTime, sc.Name)
	}
	return validateBatchSpec(sc.Spec)
}

func (s *Store) CreateBatchSchedule(ctx context.Context, sc core.BatchSchedule) (core.BatchSchedule, error) {
	if err := validateBatchSchedule(sc); err != nil {
		return core.BatchSchedule{}, err
	}
	sc.Spec.Passthrough = append([]string(nil), sc.Spec.Passthrough...) // nil when empty, as a read returns it
	sc.CreationTime = nowMillis()
	res, err := s.wdb.ExecContext(ctx, s.q(`INSERT INTO batch_schedules (`+batchScheduleColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`),
		sc.Name, sc.Cron, encodeBatchSpec(sc.Spec), sc.Actor, sc.LastRunTime, sc.LastJobID, sc.CreationTime)
	if err != nil {
		return core.BatchSchedule{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return core.BatchSchedule{}, err
	} else if n == 0 {
		return core.BatchSchedule{}, core.Errorf(core.EEXISTS, "Batch schedule '%s' already exists", sc.Name)
	}
	return sc, nil
}

func (s *Store) GetBatchSchedule(ctx context.Context, name string) (core.BatchSchedule, error) {
	sc, err := scanBatchSchedule(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+batchScheduleColumns+` FROM batch_schedules WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return core.BatchSchedule{}, batchScheduleNotFound(name)
	}
	return sc, err
}

func (s *Store) ListBatchSchedules(ctx context.Context) ([]core.BatchSchedule, error) {
	out := []core.BatchSchedule{}
	err := regEachRow(ctx, s.rdb, `SELECT `+batchScheduleColumns+` FROM batch_schedules ORDER BY name`, nil, func(r *sql.Rows) error {
		sc, err := scanBatchSchedule(r)
		if err != nil {
			return err
		}
		out = append(out, sc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteBatchSchedule(ctx context.Context, name string) error {
	res, err := s.wdb.ExecContext(ctx, s.q(`DELETE FROM batch_schedules WHERE name = ?`), name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return batchScheduleNotFound(name)
	}
	return nil
}

func (s *Store) ClaimScheduleRun(ctx context.Context, name string, scheduled int64, jobID string) (bool, error) {
	if jobID == "" {
		return false, core.Errorf(core.EINVALID, "A schedule run of '%s' needs the id of the job it starts", name)
	}
	// One conditional UPDATE: PostgreSQL re-checks the condition after waiting for a
	// concurrent claim's row lock, so of two claims of one time only the first matches.
	res, err := s.wdb.ExecContext(ctx, s.q(`UPDATE batch_schedules SET last_run_time = ?, last_job_id = ?
		WHERE name = ? AND last_run_time < ?`), scheduled, jobID, name, scheduled)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	if _, err := s.GetBatchSchedule(ctx, name); err != nil {
		return false, err
	}
	return false, nil
}

func scanBatchSchedule(r interface{ Scan(...any) error }) (core.BatchSchedule, error) {
	var sc core.BatchSchedule
	var spec string
	if err := r.Scan(&sc.Name, &sc.Cron, &spec, &sc.Actor, &sc.LastRunTime, &sc.LastJobID, &sc.CreationTime); err != nil {
		return core.BatchSchedule{}, err
	}
	var err error
	if sc.Spec, err = decodeBatchSpec(spec); err != nil {
		return core.BatchSchedule{}, fmt.Errorf("batch schedule %s: %w", sc.Name, err)
	}
	return sc, nil
}
