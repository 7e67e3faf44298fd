package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"

	"golang.org/x/sync/errgroup"

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
// in [lo, hi] when lo is set, and returns the points in order, without repeats.
func (s *Store) loadHistory(ctx context.Context, runKey int64, key string, lo, hi *int64) (*history, error) {
	query := `SELECT points FROM metric_blocks WHERE run_key = ? AND key = ?`
	args := []any{runKey, key}
	if lo != nil {
		query += ` AND max_step >= ? AND min_step <= ?`
		args = append(args, *lo, *hi)
	}
	h := &history{}
	err := s.scanEach(ctx, query, args, func(sc scanner) error {
		var b sql.RawBytes // decoded before the next row, so no copy is needed
		if err := sc.Scan(&b); err != nil {
			return err
		}
		return h.decode(b)
	})
	if err != nil {
		return nil, err
	}
	if lo != nil {
		h.keepSteps(*lo, *hi)
	}
	h.sort()
	return h, nil
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
	h, err := s.loadHistory(ctx, runKey, q.Key, nil, nil)
	if err != nil {
		return nil, "", err
	}
	n := len(h.pts)
	if q.MaxResults <= 0 {
		return h.metrics(0, n, q.RunID, q.Key), "", nil
	}
	if offset >= n {
		return nil, "", nil
	}
	if n-offset > q.MaxResults {
		return h.metrics(offset, offset+q.MaxResults, q.RunID, q.Key), encodePageToken(offset + q.MaxResults), nil
	}
	return h.metrics(offset, n, q.RunID, q.Key), "", nil
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
	// Runs are read side by side: decoding a long history is CPU work, and the database
	// reads of different runs do not wait on each other.
	perRun := make([][]core.Metric, len(q.RunIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, runID := range q.RunIDs {
		g.Go(func() error {
			h, err := s.loadHistory(gctx, keys[i], q.Key, q.StartStep, q.EndStep)
			if err != nil {
				return err
			}
			for _, j := range sampleIndexes(len(h.pts), q.MaxResults) {
				perRun[i] = append(perRun[i], h.metric(j, runID, q.Key))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []core.Metric
	for _, ms := range perRun {
		out = append(out, ms...)
	}
	return out, nil
}

// sampleIndexes returns which of n ordered points to keep so that at most max remain,
// spread evenly, first and last included (only the last when max is 1), in order.
func sampleIndexes(n, max int) []int {
	if max <= 0 || n <= max {
		max = n
	}
	idx := make([]int, 0, max)
	switch {
	case max == n:
		for i := range n {
			idx = append(idx, i)
		}
	case max == 1:
		idx = append(idx, n-1)
	default:
		for k := 0; k < max; k++ {
			i := int(int64(k) * int64(n-1) / int64(max-1))
			if len(idx) == 0 || idx[len(idx)-1] != i {
				idx = append(idx, i)
			}
		}
	}
	return idx
}
