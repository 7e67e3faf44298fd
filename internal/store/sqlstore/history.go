package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

const historyColumns = `key, value, timestamp, step, is_nan, model_id, dataset_name, dataset_digest`

func scanMetric(sc scanner, runID string) (core.Metric, error) {
	m := core.Metric{RunID: runID}
	var isNaN int
	err := sc.Scan(&m.Key, &m.Value, &m.Timestamp, &m.Step, &isNaN, &m.ModelID, &m.DatasetName, &m.DatasetDigest)
	if isNaN != 0 {
		m.Value = math.NaN()
	}
	return m, err
}

// runKey returns the run key of a run in any lifecycle stage.
func (s *Store) runKey(ctx context.Context, runID string) (int64, error) {
	var key int64
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT run_key FROM runs WHERE run_id = ?`), runID).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errRunNotFound(runID)
	}
	return key, err
}

// GetMetricHistory returns a metric's points in step, then timestamp order.
func (s *Store) GetMetricHistory(ctx context.Context, q store.MetricHistoryPage) ([]core.Metric, string, error) {
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	runKey, err := s.runKey(ctx, q.RunID)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + historyColumns + ` FROM metrics WHERE run_key = ? AND key = ? ORDER BY step, timestamp, value`
	args := []any{runKey, q.Key}
	if q.MaxResults > 0 {
		query += ` LIMIT ? OFFSET ?`
		args = append(args, q.MaxResults+1, offset)
	}
	ms := make([]core.Metric, 0, 64)
	err = s.scanEach(ctx, query, args, func(sc scanner) error {
		m, err := scanMetric(sc, q.RunID)
		ms = append(ms, m)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if q.MaxResults > 0 && len(ms) > q.MaxResults {
		ms = ms[:q.MaxResults]
		next = encodePageToken(offset + q.MaxResults)
	}
	return ms, next, nil
}

// GetMetricHistoryBulkInterval samples up to MaxResults points per run, evenly over the
// points in [StartStep, EndStep] in (step, timestamp, value) order, keeping the first and
// the last (only the last when MaxResults is 1). Like MLflow 3 it samples rows, not steps,
// so many points on one step cannot blow up the answer. Runs come in the order asked.
func (s *Store) GetMetricHistoryBulkInterval(ctx context.Context, q store.BulkInterval) ([]core.Metric, error) {
	if (q.StartStep == nil) != (q.EndStep == nil) {
		return nil, core.Errorf(core.EINVALID, "Both start_step and end_step must be specified together, or neither may be specified.")
	}
	if q.StartStep != nil && *q.StartStep > *q.EndStep {
		return nil, core.Errorf(core.EINVALID, "end_step must be greater than start_step. Found start_step=%d and end_step=%d.", *q.StartStep, *q.EndStep)
	}
	keys := make([]int64, len(q.RunIDs))
	for i, runID := range q.RunIDs {
		var err error
		if keys[i], err = s.runKey(ctx, runID); err != nil {
			return nil, err
		}
	}
	var out []core.Metric
	for i, runID := range q.RunIDs {
		where := `run_key = ? AND key = ?`
		args := []any{keys[i], q.Key}
		if q.StartStep != nil {
			where += ` AND step >= ? AND step <= ?`
			args = append(args, *q.StartStep, *q.EndStep)
		}
		var n int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM metrics WHERE `+where), args...).Scan(&n); err != nil {
			return nil, err
		}
		keep := sampleIndexes(n, q.MaxResults)
		row := 0
		err := s.scanEach(ctx, `SELECT `+historyColumns+` FROM metrics WHERE `+where+` ORDER BY step, timestamp, value, is_nan`, args, func(sc scanner) error {
			m, err := scanMetric(sc, runID)
			if keep(row) {
				out = append(out, m)
			}
			row++
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sampleIndexes says which of n ordered rows to keep so that at most max remain,
// spread evenly, first and last included (only the last when max is 1).
func sampleIndexes(n, max int) func(int) bool {
	if max <= 0 || n <= max {
		return func(int) bool { return true }
	}
	if max == 1 {
		return func(i int) bool { return i == n-1 }
	}
	want := make(map[int]bool, max)
	for k := 0; k < max; k++ {
		want[int(int64(k)*int64(n-1)/int64(max-1))] = true
	}
	return func(i int) bool { return want[i] }
}
