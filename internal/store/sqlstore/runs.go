package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// TagRunName is the tag MLflow keeps in step with a run's name.
const TagRunName = "mlflow.runName"

const runColumns = `r.run_id, r.name, r.experiment_id, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage`

func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) CreateRun(ctx context.Context, info core.RunInfo, tags []core.Tag) (core.Run, error) {
	name, err := resolveRunName(info.RunName, tags)
	if err != nil {
		return core.Run{}, err
	}
	info.RunName = name
	info.RunID = newRunID()
	info.LifecycleStage = core.LifecycleActive
	if info.Status == "" {
		info.Status = core.RunRunning
	}
	if info.StartTime == 0 {
		info.StartTime = nowMillis()
	}
	tags = setTag(tags, core.Tag{Key: TagRunName, Value: name})
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		expID, err := s.activeExperiment(ctx, tx, info.ExperimentID)
		if err != nil {
			return err
		}
		var loc string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT artifact_location FROM experiments WHERE experiment_id = ?`), expID).Scan(&loc); err != nil {
			return err
		}
		info.ArtifactURI = strings.TrimSuffix(loc, "/") + "/" + info.RunID + "/artifacts"
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active')`),
			info.RunID, expID, info.RunName, info.UserID, info.Status, info.StartTime, nullInt(info.EndTime), info.ArtifactURI)
		if err != nil {
			return err
		}
		return s.upsertRunTags(ctx, tx, info.RunID, tags)
	})
	if err != nil {
		return core.Run{}, err
	}
	return core.Run{Info: info, Tags: tags}, nil
}

// resolveRunName follows MLflow: the run_name field, else the mlflow.runName tag, else a made-up name;
// the two may not disagree.
func resolveRunName(name string, tags []core.Tag) (string, error) {
	for _, t := range tags {
		if t.Key != TagRunName {
			continue
		}
		if name != "" && t.Value != name {
			return "", core.Errorf(core.EINVALID, "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", name, t.Value)
		}
		name = t.Value
	}
	if name == "" {
		name = core.RandomRunName()
	}
	return name, nil
}

// setTag sets a tag in a list, replacing a tag with the same key.
func setTag(tags []core.Tag, t core.Tag) []core.Tag {
	out := make([]core.Tag, 0, len(tags)+1)
	for _, old := range tags {
		if old.Key != t.Key {
			out = append(out, old)
		}
	}
	return append(out, t)
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (s *Store) GetRun(ctx context.Context, runID string) (core.Run, error) {
	runs, err := s.queryRuns(ctx, `WHERE r.run_id = ?`, runID)
	if err != nil {
		return core.Run{}, err
	}
	if len(runs) == 0 {
		return core.Run{}, errRunNotFound(runID)
	}
	return runs[0], nil
}

func errRunNotFound(runID string) error {
	return core.Errorf(core.ENOTFOUND, "Run with id=%s not found", runID)
}

// queryRuns loads runs selected by a clause over "runs r" and fills in their details.
func (s *Store) queryRuns(ctx context.Context, clause string, args ...any) ([]core.Run, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+runColumns+` FROM runs r `+clause), args...)
	if err != nil {
		return nil, err
	}
	var runs []core.Run
	for rows.Next() {
		var r core.Run
		var expID int64
		var end sql.NullInt64
		i := &r.Info
		if err := rows.Scan(&i.RunID, &i.RunName, &expID, &i.UserID, &i.Status, &i.StartTime, &end, &i.ArtifactURI, &i.LifecycleStage); err != nil {
			rows.Close()
			return nil, err
		}
		i.ExperimentID = strconv.FormatInt(expID, 10)
		if end.Valid {
			v := end.Int64
			i.EndTime = &v
		}
		runs = append(runs, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return runs, s.loadRunDetails(ctx, runs)
}

// activeRun checks inside tx that a run exists and is active, and returns its run key.
func (s *Store) activeRun(ctx context.Context, tx *sql.Tx, runID string) (int64, error) {
	var stage string
	var key int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT run_key, lifecycle_stage FROM runs WHERE run_id = ?`), runID).Scan(&key, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errRunNotFound(runID)
	} else if err != nil {
		return 0, err
	}
	if stage != core.LifecycleActive {
		return 0, core.Errorf(core.ECONFLICT, "The run %s must be in the 'active' state. Current state is %s.", runID, stage)
	}
	return key, nil
}

func (s *Store) UpdateRun(ctx context.Context, runID string, u core.RunUpdate) (core.RunInfo, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		if u.Status != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ? WHERE run_id = ?`), *u.Status, runID); err != nil {
				return err
			}
		}
		if u.EndTime != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET end_time = ? WHERE run_id = ?`), *u.EndTime, runID); err != nil {
				return err
			}
		}
		if u.RunName != nil && *u.RunName != "" {
			return s.upsertRunTags(ctx, tx, runID, []core.Tag{{Key: TagRunName, Value: *u.RunName}})
		}
		return nil
	})
	if err != nil {
		return core.RunInfo{}, err
	}
	run, err := s.GetRun(ctx, runID)
	return run.Info, err
}

func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.setRunStage(ctx, runID, core.LifecycleDeleted)
}

func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.setRunStage(ctx, runID, core.LifecycleActive)
}

func (s *Store) setRunStage(ctx context.Context, runID, to string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var deletedTime any
		if to == core.LifecycleDeleted {
			deletedTime = nowMillis()
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?`), to, deletedTime, runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRunNotFound(runID)
		}
		return nil
	})
}

func (s *Store) DeleteRunTag(ctx context.Context, runID, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM run_tags WHERE run_id = ? AND key = ?`), runID, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.Errorf(core.ENOTFOUND, "No tag with name: %s in run with id %s", key, runID)
		}
		return nil
	})
}

// upsertRunTags sets tags; the mlflow.runName tag also renames the run.
func (s *Store) upsertRunTags(ctx context.Context, tx *sql.Tx, runID string, tags []core.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`), runID, t.Key, t.Value); err != nil {
			return err
		}
		if t.Key == TagRunName {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET name = ? WHERE run_id = ?`), t.Value, runID); err != nil {
				return err
			}
		}
	}
	return nil
}
