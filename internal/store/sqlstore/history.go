package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// runKey returns the run key of a run in any lifecycle stage.
func (s *Store) runKey(ctx context.Context, runID string) (int64, error) {
	var key int64
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT run_key FROM runs WHERE run_id = ?`), runID).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errRunNotFound(runID)
	}
	return key, err
}

// loadHistory reads the blocks of one metric of one run, only those that may hold steps
// in [lo, hi] when a range is given, and returns the points sorted, without repeats.
func (s *Store) loadHistory(ctx context.Context, runKey int64, runID, key string, lo, hi *int64) ([]core.Metric, error) {
	query := `SELECT points FROM metric_blocks WHERE run_key = ? AND key = ?`
	args := []any{runKey, key}
	if lo != nil {
		query += ` AND max_step >= ? AND min_step <= ?`
		args = append(args, *lo, *hi)
	}
	var ms []core.Metric
	err := s.scanEach(ctx, query, args, func(sc scanner) error {
		var b []byte
		if err := sc.Scan(&b); err != nil {
			return err
		}
		var err error
		ms, err = decodeBlock(ms, b, runID, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	if lo != nil {
		in := ms[:0]
		for _, m := range ms {
			if m.Step >= *lo && m.Step <= *hi {
				in = append(in, m)
			}
		}
		ms = in
	}
	return sortHistory(ms), nil
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
	ms, err := s.loadHistory(ctx, runKey, q.RunID, q.Key, nil, nil)
	if err != nil || q.MaxResults <= 0 {
		return ms, "", err
	}
	if offset >= len(ms) {
		return nil, "", nil
	}
	ms = ms[offset:]
	if len(ms) > q.MaxResults {
		return ms[:q.MaxResults], encodePageToken(offset + q.MaxResults), nil
	}
	return ms, "", nil
}

// GetMetricHistoryBulkInterval samples up to MaxResults points per run, evenly over the
// points in [StartStep, EndStep] in (step, timestamp, value) order, keeping the first and
// the last (only the last when MaxResults is 1). Like MLflow 3 it samples points, not steps,
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
		ms, err := s.loadHistory(ctx, keys[i], runID, q.Key, q.StartStep, q.EndStep)
		if err != nil {
			return nil, err
		}
		keep := sampleIndexes(len(ms), q.MaxResults)
		for j, m := range ms {
			if keep(j) {
				out = append(out, m)
			}
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
