package cli

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	job := v1.BatchJob{Status: "RUNNING", ShardsTotal: 4, ShardsDone: 1, RowsIn: 250_000,
		StartedAt: v1.Time{Time: start},
		Shards:    []v1.BatchShard{{Rows: 250_000}, {Rows: 250_000}, {Rows: 250_000}, {Rows: 250_000}}}
	got := progressLine(job, start.Add(10*time.Second))
	for _, want := range []string{"[######------------------]", "1/4 shards", "250,000/1,000,000 rows", "25,000 rows/s", "ETA 30s", "running"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	// A CSV shard has no row count at planning: progress is in shards, no total.
	job.Shards[3].Rows = 0
	job.RowsIn = 600_000
	got = progressLine(job, start.Add(10*time.Second))
	if strings.Contains(got, "/1,000,000") || strings.Contains(got, "/750,000") || !strings.Contains(got, "600,000 rows") || !strings.Contains(got, "ETA 30s") {
		t.Errorf("without a known total: %q", got)
	}
	job.Status, job.ShardsDone, job.EndedAt = "SUCCEEDED", 4, v1.Time{Time: start.Add(20 * time.Second)}
	if got = progressLine(job, start.Add(time.Hour)); strings.Contains(got, "ETA") || !strings.Contains(got, "30,000 rows/s") {
		t.Errorf("finished: %q", got)
	}
}
