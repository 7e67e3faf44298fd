package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// modelColumns are the columns of "logged_models lm" that scanModel reads, in its order.
const modelColumns = `lm.model_key, lm.model_id, lm.experiment_id, lm.name, lm.artifact_uri, lm.status,
	lm.status_message, lm.model_type, lm.source_run_id, lm.creation_time, lm.last_update_time`

// badModelNameChars may not appear in a logged model's name (MLflow's _validate_logged_model_name).
const badModelNameChars = `/:.%"'`

func errModelNotFound(id string) error {
	return core.Errorf(core.ENOTFOUND, "Logged model with ID '%s' not found.", id)
}

func (s *Store) CreateLoggedModel(ctx context.Context, m core.LoggedModel) (core.LoggedModel, error) {
	if strings.ContainsAny(m.Name, badModelNameChars) {
		return core.LoggedModel{}, core.Errorf(core.EINVALID, `Invalid model name ('%s') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%%', '"', "'")`, m.Name)
	}
	if m.Name == "" {
		m.Name = core.RandomRunName()
	}
	id := "m-" + newRunID()
	params, err := dedupeModelParams(id, m.Params)
	if err != nil {
		return core.LoggedModel{}, err
	}
	var out core.LoggedModel
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		expID, err := s.activeExperiment(ctx, tx, m.ExperimentID)
		if err != nil {
			return err
		}
		if m.SourceRunID != "" {
			var one int
			err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM runs WHERE run_id = ?`), m.SourceRunID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return errRunNotFound(m.SourceRunID)
			} else if err != nil {
				return err
			}
		}
		var loc string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT artifact_location FROM experiments WHERE experiment_id = ?`), expID).Scan(&loc); err != nil {
			return err
		}
		now := nowMillis()
		var key int64
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status,
			status_message, model_type, source_run_id, creation_time, last_update_time, lifecycle_stage)
			VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, 'active') RETURNING model_key`),
			id, expID, m.Name, strings.TrimSuffix(loc, "/")+"/models/"+id+"/artifacts", core.LoggedModelPending,
			m.ModelType, m.SourceRunID, now, now).Scan(&key)
		if err != nil {
			return err
		}
		if err := s.upsertModelTags(ctx, tx, key, m.Tags); err != nil {
			return err
		}
		if err := s.insertModelParams(ctx, tx, key, id, params); err != nil {
			return err
		}
		out, err = s.modelByKey(ctx, tx, key)
		return err
	})
	if err != nil {
		return core.LoggedModel{}, err
	}
	return out, nil
}

func (s *Store) GetLoggedModel(ctx context.Context, id string) (core.LoggedModel, error) {
	models, err := s.queryModels(ctx, s.rdb, `SELECT `+modelColumns+` FROM logged_models lm
		WHERE lm.model_id = ? AND lm.lifecycle_stage = 'active'`, id)
	if err != nil {
		return core.LoggedModel{}, err
	}
	if len(models) == 0 {
		return core.LoggedModel{}, errModelNotFound(id)
	}
	return models[0], nil
}

func (s *Store) FinalizeLoggedModel(ctx context.Context, id, status string) (core.LoggedModel, error) {
	if status != core.LoggedModelReady && status != core.LoggedModelFailed {
		return core.LoggedModel{}, core.Errorf(core.EINVALID, "Invalid status '%s': a logged model is finalized as %s or %s.", status, core.LoggedModelReady, core.LoggedModelFailed)
	}
	var out core.LoggedModel
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeModel(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE logged_models SET status = ?, last_update_time = ? WHERE model_key = ?`),
			status, nowMillis(), key); err != nil {
			return err
		}
		out, err = s.modelByKey(ctx, tx, key)
		return err
	})
	if err != nil {
		return core.LoggedModel{}, err
	}
	return out, nil
}

// DeleteLoggedModel is a soft delete, as in MLflow: the rows stay, lifecycle_stage says deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeModel(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE logged_models SET lifecycle_stage = 'deleted', last_update_time = ? WHERE model_key = ?`),
			nowMillis(), key)
		return err
	})
}

// SetLoggedModelTags upserts tags; as in MLflow it leaves last_update_time alone.
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []core.Tag) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeModel(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.upsertModelTags(ctx, tx, key, tags)
	})
}

func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, tagKey string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeModel(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM logged_model_tags WHERE model_key = ? AND key = ?`), key, tagKey)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.Errorf(core.ENOTFOUND, "No tag with key '%s' found for model with ID '%s'.", tagKey, id)
		}
		return nil
	})
}

func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []core.Param) error {
	params, err := dedupeModelParams(id, params)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeModel(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.insertModelParams(ctx, tx, key, id, params)
	})
}

// LogOutputs links models to the run that produced them; logging a link again moves it to the new step.
func (s *Store) LogOutputs(ctx context.Context, runID string, outputs []core.ModelOutput) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		// One statement may not update a row twice (PostgreSQL), so a model listed
		// twice keeps its last step.
		steps := make(map[int64]int64, len(outputs))
		var keys []int64
		for _, o := range outputs {
			key, err := s.activeModel(ctx, tx, o.ModelID)
			if err != nil {
				return err
			}
			if _, ok := steps[key]; !ok {
				keys = append(keys, key)
			}
			steps[key] = o.Step
		}
		if len(keys) == 0 {
			return nil
		}
		args := make([]any, 0, 3*len(keys))
		for _, k := range keys {
			args = append(args, runID, k, steps[k])
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_outputs (run_id, model_key, step) VALUES `+rowsOf(len(keys), 3)+`
			ON CONFLICT (run_id, model_key) DO UPDATE SET step = excluded.step`), args...)
		return err
	})
}

// activeModel returns the key of a model that exists and is not deleted.
func (s *Store) activeModel(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var key int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT model_key FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'`), id).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errModelNotFound(id)
	}
	return key, err
}

// rowsOf returns n value tuples of width placeholders: "(?, ?), (?, ?)".
func rowsOf(n, width int) string {
	return strings.TrimSuffix(strings.Repeat("("+placeholders(width)+"), ", n), ", ")
}

// upsertModelTags sets tags; of a key given twice the last value wins.
func (s *Store) upsertModelTags(ctx context.Context, tx *sql.Tx, key int64, tags []core.Tag) error {
	last := make(map[string]string, len(tags))
	var order []string
	for _, t := range tags {
		if _, ok := last[t.Key]; !ok {
			order = append(order, t.Key)
		}
		last[t.Key] = t.Value
	}
	if len(order) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(order))
	for _, k := range order {
		args = append(args, key, k, last[k])
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_model_tags (model_key, key, value) VALUES `+rowsOf(len(order), 3)+`
		ON CONFLICT (model_key, key) DO UPDATE SET value = excluded.value`), args...)
	return err
}

// dedupeModelParams drops repeats within one call and refuses one key with two values.
func dedupeModelParams(id string, params []core.Param) ([]core.Param, error) {
	seen := make(map[string]string, len(params))
	out := params[:0:0]
	for _, p := range params {
		if v, ok := seen[p.Key]; ok {
			if v != p.Value {
				return nil, core.Errorf(core.EINVALID, "Duplicate parameter keys have been submitted: key '%s' with values '%s' and '%s' for logged model ID='%s'.", p.Key, v, p.Value, id)
			}
			continue
		}
		seen[p.Key] = p.Value
		out = append(out, p)
	}
	return out, nil
}

// insertModelParams adds params to a logged model, as insertParams does for runs.
func (s *Store) insertModelParams(ctx context.Context, tx *sql.Tx, key int64, id string, params []core.Param) error {
	return s.insertParamsOnce(ctx, tx, "logged_model_params", "model_key", key, "logged model ID='"+id+"'", params)
}

// logModelMetrics copies the points of a batch that name a model into logged_model_metrics.
// A batch without model ids costs one pass over the slice.
func (s *Store) logModelMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []core.Metric) error {
	first := slices.IndexFunc(metrics, func(m core.Metric) bool { return m.ModelID != "" })
	if first < 0 {
		return nil
	}
	var ids []any
	seen := map[string]bool{}
	for _, m := range metrics[first:] {
		if m.ModelID != "" && !seen[m.ModelID] {
			seen[m.ModelID] = true
			ids = append(ids, m.ModelID)
		}
	}
	keys := make(map[string]int64, len(ids))
	err := s.scanEachTx(ctx, tx, `SELECT model_id, model_key FROM logged_models
		WHERE lifecycle_stage = 'active' AND model_id IN (`+placeholders(len(ids))+`)`, ids, func(sc scanner) error {
		var id string
		var k int64
		err := sc.Scan(&id, &k)
		keys[id] = k
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := keys[id.(string)]; !ok {
			return errModelNotFound(id.(string))
		}
	}
	var rows []core.Metric
	for _, m := range metrics[first:] {
		if m.ModelID != "" {
			rows = append(rows, m)
		}
	}
	for start := 0; start < len(rows); start += blockChunk {
		chunk := rows[start:min(start+blockChunk, len(rows))]
		args := make([]any, 0, 9*len(chunk))
		for _, m := range chunk {
			v, isNaN := metricValue(m.Value)
			args = append(args, keys[m.ModelID], m.Key, v, isNaN, m.Timestamp, m.Step, runID, m.DatasetName, m.DatasetDigest)
		}
		// A point logged twice (same key, step, timestamp, run and dataset) is kept once.
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_model_metrics
			(model_key, key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest)
			VALUES `+rowsOf(len(chunk), 9)+` ON CONFLICT DO NOTHING`), args...); err != nil {
			return err
		}
	}
	return nil
}

// modelByKey loads one model inside a transaction.
func (s *Store) modelByKey(ctx context.Context, tx *sql.Tx, key int64) (core.LoggedModel, error) {
	models, err := s.queryModels(ctx, tx, `SELECT `+modelColumns+` FROM logged_models lm WHERE lm.model_key = ?`, key)
	if err != nil {
		return core.LoggedModel{}, err
	}
	if len(models) == 0 {
		return core.LoggedModel{}, core.Errorf(core.EINTERNAL, "logged model %d vanished", key)
	}
	return models[0], nil
}

// queryModels runs query, which selects modelColumns, and loads the models' tags,
// params and metrics.
func (s *Store) queryModels(ctx context.Context, db querier, query string, args ...any) ([]core.LoggedModel, error) {
	var models []core.LoggedModel
	index := map[int64]int{}
	var keys []any
	err := s.scanEachTx(ctx, db, query, args, func(sc scanner) error {
		var m core.LoggedModel
		var key, expID int64
		if err := sc.Scan(&key, &m.ID, &expID, &m.Name, &m.ArtifactURI, &m.Status, &m.StatusMessage,
			&m.ModelType, &m.SourceRunID, &m.CreationTime, &m.LastUpdateTime); err != nil {
			return err
		}
		m.ExperimentID = strconv.FormatInt(expID, 10)
		index[key] = len(models)
		keys = append(keys, key)
		models = append(models, m)
		return nil
	})
	if err != nil || len(models) == 0 {
		return models, err
	}
	for start := 0; start < len(keys); start += idChunk {
		chunk := keys[start:min(start+idChunk, len(keys))]
		in := `model_key IN (` + placeholders(len(chunk)) + `)`
		// Tags and params are the same shape: (model_key, key, value) rows, by key.
		keyValues := func(table string, add func(m *core.LoggedModel, key, value string)) error {
			return s.scanEachTx(ctx, db, `SELECT model_key, key, value FROM `+table+` WHERE `+in+` ORDER BY model_key, key`, chunk, func(sc scanner) error {
				var k int64
				var key, value string
				if err := sc.Scan(&k, &key, &value); err != nil {
					return err
				}
				add(&models[index[k]], key, value)
				return nil
			})
		}
		err := keyValues("logged_model_tags", func(m *core.LoggedModel, key, value string) {
			m.Tags = append(m.Tags, core.Tag{Key: key, Value: value})
		})
		if err == nil {
			err = keyValues("logged_model_params", func(m *core.LoggedModel, key, value string) {
				m.Params = append(m.Params, core.Param{Key: key, Value: value})
			})
		}
		if err != nil {
			return nil, err
		}
		err = s.scanEachTx(ctx, db, `SELECT model_key, key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest
			FROM logged_model_metrics WHERE `+in+`
			ORDER BY model_key, key, step, timestamp, run_id, dataset_name, dataset_digest`, chunk, func(sc scanner) error {
			var k int64
			var isNaN int
			var mt core.Metric
			if err := sc.Scan(&k, &mt.Key, &mt.Value, &isNaN, &mt.Timestamp, &mt.Step, &mt.RunID, &mt.DatasetName, &mt.DatasetDigest); err != nil {
				return err
			}
			if isNaN != 0 {
				mt.Value = math.NaN()
			}
			m := &models[index[k]]
			mt.ModelID = m.ID
			m.Metrics = append(m.Metrics, mt)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return models, nil
}

// loadOutputs fills in the model outputs of the runs with the given ids, ordered by
// step, then model id. A run without outputs costs one index probe.
func (s *Store) loadOutputs(ctx context.Context, ids []string, index map[string]*core.Run) error {
	q, args := s.perRun(`SELECT o.run_id, lm.model_id, o.step FROM run_outputs o
		JOIN logged_models lm ON lm.model_key = o.model_key WHERE o.run_id {run}`, ids)
	var touched []*core.Run
	err := s.scanEach(ctx, q, args, func(sc scanner) error {
		var runID string
		var o core.ModelOutput
		if err := sc.Scan(&runID, &o.ModelID, &o.Step); err != nil {
			return err
		}
		r := index[runID]
		if len(r.Outputs) == 0 {
			touched = append(touched, r)
		}
		r.Outputs = append(r.Outputs, o)
		return nil
	})
	for _, r := range touched {
		slices.SortFunc(r.Outputs, func(a, b core.ModelOutput) int {
			return cmp.Or(cmp.Compare(a.Step, b.Step), strings.Compare(a.ModelID, b.ModelID))
		})
	}
	return err
}
