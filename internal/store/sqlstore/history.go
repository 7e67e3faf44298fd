package sqlstore

import (
	"context"
	"math"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

const historyColumns = `run_id, key, value, timestamp, step, is_nan, model_id, dataset_name, dataset_digest`

func scanMetric(sc scanner) (core.Metric, error) {
	var m core.Metric
	var isNaN int
	err := sc.Scan(&m.RunID, &m.Key, &m.Value, &m.Timestamp, &m.Step, &isNaN, &m.ModelID, &m.DatasetName, &m.DatasetDigest)
	if isNaN != 0 {
		m.Value = math.NaN()
	}
	return m, err
}

func (s *Store) runExists(ctx context.Context, runID string) error {
	var n int
	if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM runs WHERE run_id = ?`), runID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errRunNotFound(runID)
	}
	return nil
}

// GetMetricHistory returns a metric's points in step, then timestamp order.
func (s *Store) GetMetricHistory(ctx context.Context, q store.MetricHistoryPage) ([]core.Metric, string, error) {
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if err := s.runExists(ctx, q.RunID); err != nil {
		return nil, "", err
	}
	query := `SELECT ` + historyColumns + ` FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp, value`
	args := []any{q.RunID, q.Key}
	if q.MaxResults > 0 {
		query += ` LIMIT ? OFFSET ?`
		args = append(args, q.MaxResults+1, offset)
	}
	ms := make([]core.Metric, 0, 64)
	err = s.scanEach(ctx, query, args, func(sc scanner) error {
		m, err := scanMetric(sc)
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
	for _, runID := range q.RunIDs {
		if err := s.runExists(ctx, runID); err != nil {
			return nil, err
		}
	}
	var out []core.Metric
	for _, runID := range q.RunIDs {
		where := `run_id = ? AND key = ?`
		args := []any{runID, q.Key}
		if q.StartStep != nil {
			where += ` AND step >= ? AND step <= ?`
			args = append(args, *q.StartStep, *q.EndStep)
		}
		var n int
		if err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM metrics WHERE `+where), args...).Scan(&n); err != nil {
			return nil, err
		}
		keep := sampleIndexes(n, q.MaxResults)
		i := 0
		err := s.scanEach(ctx, `SELECT `+historyColumns+` FROM metrics WHERE `+where+` ORDER BY step, timestamp, value, is_nan`, args, func(sc scanner) error {
			m, err := scanMetric(sc)
			if keep(i) {
				out = append(out, m)
			}
			i++
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
