package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// LogBatch writes metrics, params and tags of one run in one transaction.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []core.Metric, params []core.Param, tags []core.Tag) error {
	params, err := dedupeParams(runID, params)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		runKey, err := s.activeRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		if err := s.insertParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.upsertRunTags(ctx, tx, runID, tags); err != nil {
			return err
		}
		if len(metrics) == 0 {
			return nil
		}
		// Points that name a logged model are also the model's metrics.
		if err := s.logModelMetrics(ctx, tx, runID, metrics); err != nil {
			return err
		}
		if err := s.insertBlocks(ctx, tx, runKey, metrics); err != nil {
			return err
		}
		return s.upsertLatestMetrics(ctx, tx, runKey, metrics)
	})
}

// dedupeParams drops repeats of a param within one batch and refuses a batch
// that gives one key two values.
func dedupeParams(runID string, params []core.Param) ([]core.Param, error) {
	seen := make(map[string]string, len(params))
	out := params[:0:0]
	for _, p := range params {
		if v, ok := seen[p.Key]; ok {
			if v != p.Value {
				return nil, core.Errorf(core.EINVALID, "Duplicate parameter keys have been submitted: key '%s' with values '%s' and '%s' for run ID='%s'.", p.Key, v, p.Value, runID)
			}
			continue
		}
		seen[p.Key] = p.Value
		out = append(out, p)
	}
	return out, nil
}

// insertParams logs params of a run; a key logged before may only come again with the same value.
func (s *Store) insertParams(ctx context.Context, tx *sql.Tx, runID string, params []core.Param) error {
	return s.insertParamsOnce(ctx, tx, "params", "run_id", runID, "run ID='"+runID+"'", params)
}

// insertParamsOnce adds params to table, keyed by (ownerCol, key). It inserts first and
// compares after, so that two writers racing to log the same param (PostgreSQL runs them
// concurrently) both succeed when they agree; a different value is EINVALID, as in MLflow.
func (s *Store) insertParamsOnce(ctx context.Context, tx *sql.Tx, table, ownerCol string, owner any, what string, params []core.Param) error {
	if len(params) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(params))
	keys := make([]any, 0, len(params)+1)
	keys = append(keys, owner)
	for _, p := range params {
		args = append(args, owner, p.Key, p.Value)
		keys = append(keys, p.Key)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO `+table+` (`+ownerCol+`, key, value) VALUES `+rowsOf(len(params), 3)+`
		ON CONFLICT (`+ownerCol+`, key) DO NOTHING`), args...); err != nil {
		return err
	}
	stored := make(map[string]string, len(params))
	err := s.scanEachTx(ctx, tx, `SELECT key, value FROM `+table+` WHERE `+ownerCol+` = ? AND key IN (`+placeholders(len(params))+`)`, keys, func(sc scanner) error {
		var k, v string
		err := sc.Scan(&k, &v)
		stored[k] = v
		return err
	})
	if err != nil {
		return err
	}
	for _, p := range params {
		if old := stored[p.Key]; old != p.Value {
			return core.Errorf(core.EINVALID, "Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for %s. Attempted logging new value '%s'.", p.Key, old, what, p.Value)
		}
	}
	return nil
}

// metricValue splits a value into what latest_metrics stores: NaN cannot be stored
// by SQLite (it becomes NULL), so it is kept as 0 with is_nan set.
func metricValue(v float64) (float64, int) {
	if math.IsNaN(v) {
		return 0, 1
	}
	return v, 0
}

const blockChunk = 500 // block rows per INSERT

// insertBlocks stores a batch's points, one block row per key.
func (s *Store) insertBlocks(ctx context.Context, tx *sql.Tx, runKey int64, ms []core.Metric) error {
	rows := blocksOf(ms)
	for start := 0; start < len(rows); start += blockChunk {
		chunk := rows[start:min(start+blockChunk, len(rows))]
		args := make([]any, 0, 5*len(chunk))
		for _, r := range chunk {
			args = append(args, runKey, r.key, r.minStep, r.maxStep, r.points)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO metric_blocks (run_key, key, min_step, max_step, points) VALUES `+values), args...); err != nil {
			return err
		}
	}
	return nil
}

// newer reports whether metric a replaces b as the latest value of its key:
// a higher step wins, then a later timestamp, then a larger value (MLflow's rule).
func newer(a, b core.Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Value > b.Value
}

// upsertLatestMetrics keeps latest_metrics, which search and GetRun read, up to date.
// The batch is reduced to one point per key first: one statement may not touch a row twice.
func (s *Store) upsertLatestMetrics(ctx context.Context, tx *sql.Tx, runKey int64, ms []core.Metric) error {
	best := make(map[string]core.Metric, 16)
	var order []string
	for _, m := range ms {
		b, ok := best[m.Key]
		if !ok {
			order = append(order, m.Key)
		}
		if !ok || newer(m, b) {
			best[m.Key] = m
		}
	}
	for start := 0; start < len(order); start += blockChunk {
		keys := order[start:min(start+blockChunk, len(order))]
		args := make([]any, 0, len(keys)*6)
		for _, k := range keys {
			m := best[k]
			v, isNaN := metricValue(m.Value)
			args = append(args, runKey, k, v, m.Timestamp, m.Step, isNaN)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", len(keys)), ", ")
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO latest_metrics (run_key, key, value, timestamp, step, is_nan)
			VALUES `+values+`
			ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp,
				step = excluded.step, is_nan = excluded.is_nan
			WHERE excluded.step > latest_metrics.step
				OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
				OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp
					AND excluded.value > latest_metrics.value)`), args...)
		if err != nil {
			return err
		}
	}
	return nil
}
