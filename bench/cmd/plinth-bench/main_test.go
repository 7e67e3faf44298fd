package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentileAndMedian(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {1, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing should be 0")
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("even median = %v", m)
	}
}

func TestAppendBatchIsValidAndDistinct(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	body := appendBatch(nil, "abc", 100, 1000, 1700000000000, rng)
	var got struct {
		RunID   string `json:"run_id"`
		Metrics []struct {
			Key       string  `json:"key"`
			Value     float64 `json:"value"`
			Timestamp int64   `json:"timestamp"`
			Step      int64   `json:"step"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, body[:200])
	}
	if got.RunID != "abc" || len(got.Metrics) != 1000 {
		t.Fatalf("run %q with %d metrics", got.RunID, len(got.Metrics))
	}
	seen := map[string]bool{}
	for _, m := range got.Metrics {
		k := fmt.Sprintf("%s@%d", m.Key, m.Step)
		if seen[k] {
			t.Fatalf("duplicate key/step %s/%d", m.Key, m.Step)
		}
		seen[k] = true
		if m.Step < 100 || m.Step >= 200 {
			t.Fatalf("step %d outside 100..199", m.Step)
		}
	}
}

func TestIngestCountsMetrics(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	res, err := runIngest(context.Background(), c, ingestConfig{experiment: "ing", conns: 3, duration: 200 * time.Millisecond, batch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.errors != 0 || res.requests == 0 {
		t.Fatalf("requests %d errors %d", res.requests, res.errors)
	}
	runs := f.runsOf("ing")
	if len(runs) != 3 {
		t.Fatalf("%d runs, want one per connection", len(runs))
	}
	var stored int64
	for _, r := range runs {
		f.with(func() { stored += int64(f.points[r]) })
	}
	if stored != res.metrics || res.metrics != int64(res.requests)*1000 {
		t.Fatalf("counted %d metrics in %d requests, server stored %d", res.metrics, res.requests, stored)
	}
	if len(res.latencies) != res.requests {
		t.Fatalf("%d latencies for %d requests", len(res.latencies), res.requests)
	}
}

func TestIngestFailsLoudlyOnErrors(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	f.with(func() { f.failBatch = 1 })
	var out, errOut bytes.Buffer
	err := run(context.Background(), "ingest", []string{"-url", c.base, "-c", "2", "-d", "150ms"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("want a failure naming HTTP 500, got %v", err)
	}
	var r record
	if json.Unmarshal(out.Bytes(), &r) != nil || r.Errors == 0 {
		t.Fatalf("the JSON line should still report the errors: %q", out.String())
	}
}

func TestIngestRejectsOddBatch(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	if _, err := runIngest(context.Background(), c, ingestConfig{experiment: "x", conns: 1, duration: time.Millisecond, batch: 15}); err == nil {
		t.Fatal("a batch that is not a multiple of the key count should be refused")
	}
}

func TestSeedSearchReusesOnlyCompleteSeeds(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	ctx := context.Background()
	cfg := seedSearchConfig{experiment: "s", runs: 25, params: 20, metrics: 10, conns: 4}
	id, reused, err := seedSearch(ctx, c, cfg)
	if err != nil || reused {
		t.Fatalf("first seed: reused %v, %v", reused, err)
	}
	if n := len(f.runsOf("s")); n != 25 {
		t.Fatalf("%d runs seeded", n)
	}
	id2, reused, err := seedSearch(ctx, c, cfg)
	if err != nil || !reused || id2 != id {
		t.Fatalf("second seed should reuse %s: got %s reused %v %v", id, id2, reused, err)
	}
	// An experiment without the tag (an interrupted seed) is retired, not reused.
	if _, err := c.createExperiment(ctx, "partial"); err != nil {
		t.Fatal(err)
	}
	cfg.experiment = "partial"
	id3, reused, err := seedSearch(ctx, c, cfg)
	if err != nil || reused {
		t.Fatalf("partial seed: reused %v %v", reused, err)
	}
	var name string
	f.with(func() { name = f.exps[id3].Name })
	if name != "partial" || len(f.runsOf("partial")) != 25 {
		t.Fatal("partial experiment was not replaced by a fresh, full one")
	}
}

func TestSearchChecksOrder(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	ctx := context.Background()
	if _, _, err := searchRuns(ctx, c, searchConfig{experiment: "none-10", reps: 1}); err == nil {
		t.Fatal("searching an unseeded experiment should fail")
	}
	if _, _, err := seedSearch(ctx, c, seedSearchConfig{experiment: "q", runs: 10, params: 2, metrics: 2, conns: 2}); err != nil {
		t.Fatal(err)
	}
	cfg := searchConfig{experiment: "q", orderBy: "metrics.m1 DESC", maxResults: 1000, reps: 3}
	times, n, err := searchRuns(ctx, c, cfg)
	if err != nil || n != 10 || len(times) != 3 {
		t.Fatalf("n %d times %d err %v", n, len(times), err)
	}
	f.with(func() { f.unsorted = true })
	if _, _, err := searchRuns(ctx, c, cfg); err == nil || !strings.Contains(err.Error(), "order") {
		t.Fatalf("an unsorted answer should be caught, got %v", err)
	}
}

func TestHistoryFollowsPagesAndChecksCount(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	ctx := context.Background()
	cfg := historyConfig{experiment: "h", steps: 2500, batch: 1000, reps: 2}
	if _, _, err := timeHistory(ctx, c, cfg); err == nil {
		t.Fatal("timing history before seeding should fail")
	}
	if reused, err := seedHistory(ctx, c, cfg); err != nil || reused {
		t.Fatalf("seed: %v %v", reused, err)
	}
	if reused, err := seedHistory(ctx, c, cfg); err != nil || !reused {
		t.Fatalf("reseed should reuse: %v %v", reused, err)
	}
	f.with(func() { f.pageSize = 1000 })
	times, pages, err := timeHistory(ctx, c, cfg)
	if err != nil || pages != 3 || len(times) != 2 {
		t.Fatalf("pages %d times %d err %v", pages, len(times), err)
	}
	f.with(func() { f.dropPoint = true })
	if _, _, err := timeHistory(ctx, c, cfg); err == nil {
		t.Fatal("a short history should be caught")
	}
}

func TestReportTable(t *testing.T) {
	t.Parallel()
	lines := []record{
		{Bench: "ingest", Server: "mlflow", Backend: "sqlite", Value: 1000},
		{Bench: "ingest", Server: "mlflow", Backend: "sqlite", Value: 3000},
		{Bench: "ingest", Server: "mlflow", Backend: "sqlite", Value: 2000},
		{Bench: "ingest", Server: "plinth", Backend: "sqlite", Value: 60000},
		{Bench: "search", Server: "mlflow", Backend: "sqlite", Value: 800},
		{Bench: "search", Server: "plinth", Backend: "sqlite", Value: 20},
		{Bench: "history", Server: "mlflow", Backend: "postgres", Value: 500},
	}
	var buf bytes.Buffer
	for _, r := range lines {
		b, _ := json.Marshal(r)
		buf.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report([]string{path}, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{
		"| sqlite | ingest, metrics/s (median of runs) | 2000 | 60000 | 30.0× |",
		"| 800 | 20.0 | 40.0× |",
		"| postgres | get-history 100k steps, ms (median) | 500 | pending | – |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("report lacks %q:\n%s", want, table)
		}
	}
	if err := os.WriteFile(path, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report([]string{path}, &out); err == nil {
		t.Fatal("a broken results file should be an error")
	}
}
