package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

const experimentColumns = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

// CreateExperiment inserts an experiment; the database assigns its id.
func (s *Store) CreateExperiment(ctx context.Context, exp core.Experiment) (core.Experiment, error) {
	now := nowMillis()
	exp.CreationTime, exp.LastUpdateTime, exp.LifecycleStage = now, now, core.LifecycleActive
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkExperimentNameFree(ctx, tx, exp.Name); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO experiments
			(name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`),
			exp.Name, exp.ArtifactLocation, now, now).Scan(&id)
		if err != nil {
			return s.nameTaken(err, exp.Name)
		}
		exp.ID = strconv.FormatInt(id, 10)
		if exp.ArtifactLocation == "" {
			exp.ArtifactLocation = s.artifactLocation(exp.ID)
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`),
				exp.ArtifactLocation, id); err != nil {
				return err
			}
		}
		for _, t := range exp.Tags {
			if err := s.upsertExperimentTag(ctx, tx, id, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return core.Experiment{}, err
	}
	return exp, nil
}

func (s *Store) checkExperimentNameFree(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM experiments WHERE name = ?`), name).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return core.Errorf(core.EEXISTS, "Experiment '%s' already exists.", name)
	}
	return nil
}

// nameTaken turns a unique violation on the experiment name (a concurrent create won
// the race) into the error the caller would have got a moment later.
func (s *Store) nameTaken(err error, name string) error {
	if err != nil && s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
		return core.Errorf(core.EEXISTS, "Experiment '%s' already exists.", name)
	}
	return err
}

// parseExperimentID turns MLflow's decimal string id into the database key.
func parseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0, core.Errorf(core.EINVALID, "Invalid experiment ID '%s': must be a non-negative integer", id)
	}
	return n, nil
}

func (s *Store) GetExperiment(ctx context.Context, id string) (core.Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		// MLflow answers a malformed id as a missing experiment.
		return core.Experiment{}, core.Errorf(core.ENOTFOUND, "No Experiment with id=%s exists", id)
	}
	exps, err := s.queryExperiments(ctx, s.rdb, `WHERE experiment_id = ?`, n)
	if err != nil {
		return core.Experiment{}, err
	}
	if len(exps) == 0 {
		return core.Experiment{}, core.Errorf(core.ENOTFOUND, "No Experiment with id=%s exists", id)
	}
	return exps[0], nil
}

func (s *Store) GetExperimentByName(ctx context.Context, name string) (core.Experiment, error) {
	exps, err := s.queryExperiments(ctx, s.rdb, `WHERE name = ?`, name)
	if err != nil {
		return core.Experiment{}, err
	}
	if len(exps) == 0 {
		return core.Experiment{}, core.Errorf(core.ENOTFOUND, "Could not find experiment with name '%s'", name)
	}
	return exps[0], nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryExperiments loads experiments matching a WHERE clause (with "?" placeholders), with their tags.
func (s *Store) queryExperiments(ctx context.Context, db querier, where string, args ...any) ([]core.Experiment, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT `+experimentColumns+` FROM experiments `+where), args...)
	if err != nil {
		return nil, err
	}
	var exps []core.Experiment
	index := map[int64]int{}
	for rows.Next() {
		var e core.Experiment
		var id int64
		if err := rows.Scan(&id, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime, &e.LastUpdateTime); err != nil {
			rows.Close()
			return nil, err
		}
		e.ID = strconv.FormatInt(id, 10)
		index[id] = len(exps)
		exps = append(exps, e)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(exps) == 0 {
		return exps, nil
	}
	ids := make([]any, 0, len(index))
	for id := range index {
		ids = append(ids, id)
	}
	tagRows, err := db.QueryContext(ctx, s.q(`SELECT experiment_id, key, value FROM experiment_tags
		WHERE experiment_id IN (`+placeholders(len(ids))+`) ORDER BY key`), ids...)
	if err != nil {
		return nil, err
	}
	defer tagRows.Close()
	for tagRows.Next() {
		var id int64
		var t core.Tag
		if err := tagRows.Scan(&id, &t.Key, &t.Value); err != nil {
			return nil, err
		}
		e := &exps[index[id]]
		e.Tags = append(e.Tags, t)
	}
	return exps, tagRows.Err()
}

func (s *Store) SearchExperiments(ctx context.Context, q store.ExperimentSearch) ([]core.Experiment, string, error) {
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if q.MaxResults <= 0 || q.MaxResults > store.MaxExperimentSearchResults {
		return nil, "", core.Errorf(core.EINVALID, "Invalid value %d for parameter 'max_results' supplied. It must be at most %d", q.MaxResults, store.MaxExperimentSearchResults)
	}
	var where []string
	var args []any
	if c := lifecycleClause("lifecycle_stage", q.ViewType); c != "" {
		where = append(where, c)
	}
	for _, c := range q.Filter.Clauses {
		sqlc, a, err := s.experimentClause(c)
		if err != nil {
			return nil, "", err
		}
		where = append(where, sqlc)
		args = append(args, a...)
	}
	order, err := experimentOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	clause := ""
	if len(where) > 0 {
		clause = "WHERE " + strings.Join(where, " AND ")
	}
	clause += " ORDER BY " + order + " LIMIT ? OFFSET ?"
	args = append(args, q.MaxResults+1, offset)
	exps, err := s.queryExperiments(ctx, s.rdb, clause, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(exps) > q.MaxResults {
		exps = exps[:q.MaxResults]
		next = encodePageToken(offset + q.MaxResults)
	}
	return exps, next, nil
}

func lifecycleClause(col string, v core.ViewType) string {
	switch v {
	case core.ViewDeletedOnly:
		return col + " = 'deleted'"
	case core.ViewAll:
		return ""
	default:
		return col + " = 'active'"
	}
}

func (s *Store) experimentClause(c search.Comparison) (string, []any, error) {
	switch c.Entity {
	case search.Tag:
		return s.keyValueClause("experiment_tags", "x.experiment_id = experiments.experiment_id", c),
			append([]any{c.Key}, s.compareArgs(c)...), nil
	case search.Attribute:
		col := map[string]string{
			search.ExpAttrName:           "name",
			search.ExpAttrCreationTime:   "creation_time",
			search.ExpAttrLastUpdateTime: "last_update_time",
			search.ExpAttrExperimentID:   "experiment_id",
		}[c.Key]
		if col == "" {
			return "", nil, core.Errorf(core.EINVALID, "Invalid attribute key '%s' specified", c.Key)
		}
		cond, args := s.compare(col, c)
		return cond, args, nil
	}
	return "", nil, core.Errorf(core.EINVALID, "Invalid entity '%s' in experiment filter", c.Entity)
}

func experimentOrder(obs []search.OrderBy) (string, error) {
	var parts []string
	seenID := false
	for _, ob := range obs {
		col := map[string]string{
			search.ExpAttrName:           "name",
			search.ExpAttrCreationTime:   "creation_time",
			search.ExpAttrLastUpdateTime: "last_update_time",
			search.ExpAttrExperimentID:   "experiment_id",
		}[ob.Key]
		if ob.Entity != search.Attribute || col == "" {
			return "", core.Errorf(core.EINVALID, "Invalid order_by key '%s.%s' for experiments", ob.Entity, ob.Key)
		}
		seenID = seenID || col == "experiment_id"
		parts = append(parts, col+direction(ob.Desc))
	}
	if len(parts) == 0 {
		// MLflow's default: newest first, then by id.
		parts = append(parts, "creation_time DESC", "experiment_id ASC")
		seenID = true
	}
	if !seenID {
		parts = append(parts, "experiment_id DESC")
	}
	return strings.Join(parts, ", "), nil
}

func direction(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}

func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.activeExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.checkExperimentNameFree(ctx, tx, newName); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`),
			newName, nowMillis(), n)
		return s.nameTaken(err, newName)
	})
}

// experimentStage returns the lifecycle stage of an experiment inside tx.
func (s *Store) experimentStage(ctx context.Context, tx *sql.Tx, id string) (int64, string, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return 0, "", core.Errorf(core.ENOTFOUND, "No Experiment with id=%s exists", id)
	}
	var stage string
	err = tx.QueryRowContext(ctx, s.q(`SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`), n).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", core.Errorf(core.ENOTFOUND, "No Experiment with id=%s exists", id)
	}
	return n, stage, err
}

// activeExperiment returns the key of an experiment that must be active.
func (s *Store) activeExperiment(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	n, stage, err := s.experimentStage(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if stage != core.LifecycleActive {
		return 0, core.Errorf(core.ECONFLICT, "The experiment %s must be in the 'active' state. Current state is %s.", id, stage)
	}
	return n, nil
}

func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, core.LifecycleActive, core.LifecycleDeleted)
}

func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, core.LifecycleDeleted, core.LifecycleActive)
}

// setExperimentStage moves an experiment and its runs from one lifecycle stage to another.
func (s *Store) setExperimentStage(ctx context.Context, id, from, to string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, stage, err := s.experimentStage(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage != from {
			return core.Errorf(core.ECONFLICT, "Cannot move experiment %s to '%s': it is in the '%s' state.", id, to, stage)
		}
		if id == core.DefaultExperimentID && to == core.LifecycleDeleted {
			return core.Errorf(core.EINVALID, "Cannot delete the default experiment '0'. This is an internally reserved experiment.")
		}
		now := nowMillis()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`), to, now, n); err != nil {
			return err
		}
		var deletedTime any
		if to == core.LifecycleDeleted {
			deletedTime = now
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = ?`),
			to, deletedTime, n, from)
		return err
	})
}

func (s *Store) SetExperimentTag(ctx context.Context, id string, tag core.Tag) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.activeExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.upsertExperimentTag(ctx, tx, n, tag)
	})
}

func (s *Store) upsertExperimentTag(ctx context.Context, tx *sql.Tx, id int64, t core.Tag) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
		ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`), id, t.Key, t.Value)
	return err
}

func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.activeExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?`), n, key)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return core.Errorf(core.ENOTFOUND, "No tag with name: %s in experiment with id %s", key, id)
		}
		return nil
	})
}
