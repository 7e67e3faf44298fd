package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// BenchmarkLogBatch measures one batch of 1,000 metrics from 8 concurrent writers.
func BenchmarkLogBatch(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "plinth.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const writers = 8
	runs := make([]string, writers)
	for i := range runs {
		r, err := s.CreateRun(ctx, core.RunInfo{ExperimentID: "0"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		runs[i] = r.Info.RunID
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/writers + 1
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ms := make([]core.Metric, 1000)
			for i := 0; i < per; i++ {
				for j := range ms {
					ms[j] = core.Metric{Key: fmt.Sprintf("m%d", j%10), Value: float64(j), Timestamp: int64(i), Step: int64(i*100 + j/10)}
				}
				if err := s.LogBatch(ctx, runs[w], ms, nil, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(per*writers*1000)/b.Elapsed().Seconds(), "metrics/s")
}

// BenchmarkHistoryBulkInterval reads 1,000 sampled points of one metric from each of 20
// runs of 100,000 steps: the UI's compare chart.
func BenchmarkHistoryBulkInterval(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "plinth.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var runs []string
	ms := make([]core.Metric, 1000)
	for r := 0; r < 20; r++ {
		run, err := s.CreateRun(ctx, core.RunInfo{ExperimentID: "0"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, run.Info.RunID)
		for i := 0; i < 100; i++ {
			for j := range ms {
				step := int64(i*1000 + j)
				ms[j] = core.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: step, Step: step}
			}
			if err := s.LogBatch(ctx, run.Info.RunID, ms, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		got, err := s.GetMetricHistoryBulkInterval(ctx, store.BulkInterval{RunIDs: runs, Key: "loss", MaxResults: 1000})
		if err != nil || len(got) != 20*1000 {
			b.Fatalf("%d points, %v", len(got), err)
		}
	}
}
