package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

var historyTests = []testCase{
	{"StepOrder", testHistoryOrder},
	{"Paging", testHistoryPaging},
	{"Errors", testHistoryErrors},
	{"BulkInterval", testBulkInterval},
	{"BulkIntervalErrors", testBulkIntervalErrors},
}

var concurrencyTests = []testCase{
	{"ConcurrentLogBatch", testConcurrentLogBatch},
	{"ConcurrentFullBatches", testConcurrentFullBatches},
}

func testHistoryOrder(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	// Logged out of order, in several batches.
	for _, steps := range [][]int64{{7, 2}, {9, 0, 4}, {1, 8, 3, 6, 5}} {
		var ms []core.Metric
		for _, st := range steps {
			ms = append(ms, m("h", float64(st)*1.5, st, 10_000+st))
		}
		logMetrics(t, s, id, ms...)
	}
	logMetrics(t, s, id, m("other", 1, 3, 1))
	h := history(t, s, id, "h")
	if len(h) != 10 {
		t.Fatalf("%d points", len(h))
	}
	for i, p := range h {
		if p.Step != int64(i) || p.Value != float64(i)*1.5 || p.Timestamp != 10_000+int64(i) || p.Key != "h" {
			t.Fatalf("point %d = %+v", i, p)
		}
	}
}

func testHistoryPaging(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	var ms []core.Metric
	for i := range 25 {
		ms = append(ms, m("p", float64(i), int64(i), int64(100+i)))
	}
	logMetrics(t, s, id, ms...)
	full := history(t, s, id, "p")
	for _, size := range []int{1, 7, 10, 25, 26} {
		var got []core.Metric
		q := store.MetricHistoryPage{RunID: id, Key: "p", MaxResults: size}
		for pages := 0; ; pages++ {
			page, next, err := s.GetMetricHistory(t.Context(), q)
			must(t, err, "GetMetricHistory page")
			if len(page) > size {
				t.Fatalf("page of %d with MaxResults %d", len(page), size)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			if pages > 30 {
				t.Fatal("paging does not end")
			}
			q.PageToken = next
		}
		if len(got) != len(full) {
			t.Fatalf("pages of %d returned %d points, want %d", size, len(got), len(full))
		}
		for i := range got {
			if got[i].Step != full[i].Step || got[i].Value != full[i].Value {
				t.Fatalf("pages of %d: point %d = %+v, want %+v", size, i, got[i], full[i])
			}
		}
	}
}

func testHistoryErrors(t *testing.T, s store.Store) {
	_, _, err := s.GetMetricHistory(t.Context(), store.MetricHistoryPage{RunID: "1234567890abcdef1234567890abcdef", Key: "x"})
	wantCode(t, err, core.ENOTFOUND, "history of an unknown run")
	r := createRun(t, s, "0", runOpts{})
	logMetrics(t, s, r.Info.RunID, m("x", 1, 0, 1), m("x", 2, 1, 2))
	_, _, err = s.GetMetricHistory(t.Context(), store.MetricHistoryPage{RunID: r.Info.RunID, Key: "x", MaxResults: 1, PageToken: "bogus!"})
	wantCode(t, err, core.EINVALID, "history with a bad page token")
	// History of a deleted run stays readable, as GetRun does.
	must(t, s.DeleteRun(t.Context(), r.Info.RunID), "DeleteRun")
	if h := history(t, s, r.Info.RunID, "x"); len(h) != 2 {
		t.Fatalf("history of a deleted run: %d points", len(h))
	}
}

// bulkFixture: run a has steps 0..99, run b has steps 0,10,..,200, run c has no points.
func bulkFixture(t *testing.T, s store.Store) (a, b, c string) {
	ids := sortedCopy([]string{
		createRun(t, s, "0", runOpts{}).Info.RunID,
		createRun(t, s, "0", runOpts{}).Info.RunID,
		createRun(t, s, "0", runOpts{}).Info.RunID,
	})
	a, b, c = ids[0], ids[1], ids[2]
	var ma, mb []core.Metric
	for i := range 100 {
		ma = append(ma, m("v", float64(i)/10, int64(i), int64(1000+i)))
	}
	for i := 0; i <= 200; i += 10 {
		mb = append(mb, m("v", float64(i)*2, int64(i), int64(1000+i)))
	}
	logMetrics(t, s, a, ma...)
	logMetrics(t, s, b, mb...)
	logMetrics(t, s, c, m("unrelated", 1, 0, 1))
	return a, b, c
}

// checkSample checks a bulk result: grouped by run in the given order, steps rising within
// a run, values as logged, at most max points per run, first and last step in range kept.
func checkSample(t *testing.T, what string, got []core.Metric, runs []string, steps map[string][]int64,
	value func(run string, step int64) float64, max int) {
	t.Helper()
	byRun := map[string][]int64{}
	var order []string
	for _, p := range got {
		if p.Key != "v" {
			t.Fatalf("%s: point with key %q", what, p.Key)
		}
		if len(order) == 0 || order[len(order)-1] != p.RunID {
			order = append(order, p.RunID)
		}
		if want := value(p.RunID, p.Step); p.Value != want {
			t.Fatalf("%s: run %s step %d value %v, want %v", what, p.RunID, p.Step, p.Value, want)
		}
		byRun[p.RunID] = append(byRun[p.RunID], p.Step)
	}
	var wantOrder []string
	for _, r := range runs {
		if len(steps[r]) > 0 {
			wantOrder = append(wantOrder, r)
		}
	}
	sameOrder(t, what+": run grouping", order, wantOrder)
	for _, r := range wantOrder {
		inRange, sampled := steps[r], byRun[r]
		if !sort.SliceIsSorted(sampled, func(i, j int) bool { return sampled[i] < sampled[j] }) {
			t.Fatalf("%s: run %s steps not ascending: %v", what, r, sampled)
		}
		for i := 1; i < len(sampled); i++ {
			if sampled[i] == sampled[i-1] {
				t.Fatalf("%s: run %s step %d twice", what, r, sampled[i])
			}
		}
		if len(inRange) <= max {
			if fmt.Sprint(sampled) != fmt.Sprint(inRange) {
				t.Fatalf("%s: run %s got steps %v, want all of %v", what, r, sampled, inRange)
			}
			continue
		}
		if len(sampled) > max {
			t.Fatalf("%s: run %s got %d points, max %d", what, r, len(sampled), max)
		}
		last := inRange[len(inRange)-1]
		if sampled[len(sampled)-1] != last {
			t.Fatalf("%s: run %s sample %v lacks the last step %d", what, r, sampled, last)
		}
		if max > 1 && sampled[0] != inRange[0] {
			t.Fatalf("%s: run %s sample %v lacks the first step %d", what, r, sampled, inRange[0])
		}
		if max > 2 && len(sampled) < 3 {
			t.Fatalf("%s: run %s sample %v is too sparse for max %d", what, r, sampled, max)
		}
	}
}

func testBulkInterval(t *testing.T, s store.Store) {
	a, b, c := bulkFixture(t, s)
	runs := []string{a, b, c}
	stepsIn := func(lo, hi int64) map[string][]int64 {
		out := map[string][]int64{}
		for i := int64(0); i < 100; i++ {
			if i >= lo && i <= hi {
				out[a] = append(out[a], i)
			}
		}
		for i := int64(0); i <= 200; i += 10 {
			if i >= lo && i <= hi {
				out[b] = append(out[b], i)
			}
		}
		return out
	}
	value := func(run string, step int64) float64 {
		if run == a {
			return float64(step) / 10
		}
		return float64(step) * 2
	}
	cases := []struct {
		what   string
		lo, hi *int64
		max    int
	}{
		{"everything", nil, nil, 1000},
		{"sampled", nil, nil, 10},
		{"window", ptr(int64(20)), ptr(int64(50)), 5},
		{"window larger than data", ptr(int64(-5)), ptr(int64(1000)), 2000},
		{"window of one step", ptr(int64(40)), ptr(int64(40)), 3},
		{"empty window", ptr(int64(300)), ptr(int64(400)), 10},
		{"two points", nil, nil, 2},
		{"one point keeps the last", nil, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			lo, hi := int64(-1<<62), int64(1<<62)
			if tc.lo != nil {
				lo, hi = *tc.lo, *tc.hi
			}
			got, err := s.GetMetricHistoryBulkInterval(t.Context(), store.BulkInterval{
				RunIDs: runs, Key: "v", StartStep: tc.lo, EndStep: tc.hi, MaxResults: tc.max,
			})
			must(t, err, "GetMetricHistoryBulkInterval")
			checkSample(t, tc.what, got, runs, stepsIn(lo, hi), value, tc.max)
		})
	}
}

func testBulkIntervalErrors(t *testing.T, s store.Store) {
	a, _, _ := bulkFixture(t, s)
	_, err := s.GetMetricHistoryBulkInterval(t.Context(), store.BulkInterval{
		RunIDs: []string{a, "fedcba9876543210fedcba9876543210"}, Key: "v", MaxResults: 10,
	})
	wantCode(t, err, core.ENOTFOUND, "bulk interval with an unknown run")
	_, err = s.GetMetricHistoryBulkInterval(t.Context(), store.BulkInterval{
		RunIDs: []string{a}, Key: "v", StartStep: ptr(int64(3)), MaxResults: 10,
	})
	wantCode(t, err, core.EINVALID, "start step without end step")
	got, err := s.GetMetricHistoryBulkInterval(t.Context(), store.BulkInterval{RunIDs: []string{a}, Key: "absent", MaxResults: 10})
	must(t, err, "bulk interval of an absent key")
	if len(got) != 0 {
		t.Fatalf("absent key returned %d points", len(got))
	}
}

// testConcurrentLogBatch logs from several goroutines at once, to one run each and to a
// shared run, and checks that no write is lost and no batch fails.
func testConcurrentLogBatch(t *testing.T, s store.Store) {
	const workers, batches, per = 8, 15, 40
	shared := createRun(t, s, "0", runOpts{name: "shared"}).Info.RunID
	own := make([]string, workers)
	for w := range own {
		own[w] = createRun(t, s, "0", runOpts{}).Info.RunID
	}
	errs := make(chan error, workers*batches*2)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				var ms []core.Metric
				for i := range per {
					step := int64(w*batches*per + b*per + i)
					ms = append(ms, m("c", float64(step), step, step))
				}
				// Same key and value from every worker: must never conflict with itself.
				params := []core.Param{{Key: "common", Value: "same"}, {Key: fmt.Sprintf("w%d-b%d", w, b), Value: "x"}}
				tags := []core.Tag{{Key: "last-writer", Value: fmt.Sprint(w)}, {Key: fmt.Sprintf("w%d", w), Value: fmt.Sprint(b)}}
				for _, run := range []string{own[w], shared} {
					if err := s.LogBatch(t.Context(), run, ms, params, tags); err != nil {
						errs <- fmt.Errorf("worker %d batch %d run %s: %w", w, b, run, err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for w, run := range own {
		if h := history(t, s, run, "c"); len(h) != batches*per {
			t.Fatalf("worker %d run: %d points, want %d", w, len(h), batches*per)
		}
		got := getRun(t, s, run)
		if n := len(got.Params); n != batches+1 {
			t.Fatalf("worker %d run: %d params, want %d", w, n, batches+1)
		}
		if want := int64((w+1)*batches*per - 1); metricMap(got.Metrics)["c"].Step != want {
			t.Fatalf("worker %d run: latest step %d, want %d", w, metricMap(got.Metrics)["c"].Step, want)
		}
	}
	h := history(t, s, shared, "c")
	if len(h) != workers*batches*per {
		t.Fatalf("shared run: %d points, want %d", len(h), workers*batches*per)
	}
	for i, p := range h {
		if p.Step != int64(i) {
			t.Fatalf("shared run: point %d has step %d", i, p.Step)
		}
	}
	got := getRun(t, s, shared)
	if n := len(got.Params); n != workers*batches+1 {
		t.Fatalf("shared run: %d params, want %d", n, workers*batches+1)
	}
	tm := tagMap(got.Tags)
	for w := range workers {
		if tm[fmt.Sprintf("w%d", w)] != fmt.Sprint(batches-1) {
			t.Fatalf("shared run: tag w%d = %q", w, tm[fmt.Sprintf("w%d", w)])
		}
	}
	if want := int64(workers*batches*per - 1); metricMap(got.Metrics)["c"].Step != want {
		t.Fatalf("shared run: latest step %d, want %d", metricMap(got.Metrics)["c"].Step, want)
	}
}

// testConcurrentFullBatches sends batches of 1,000 metrics (MLflow's per-request maximum)
// from several goroutines: the backends take a different path for large batches.
func testConcurrentFullBatches(t *testing.T, s store.Store) {
	const workers, batches, per = 4, 3, 1000
	runs := make([]string, workers)
	for w := range runs {
		runs[w] = createRun(t, s, "0", runOpts{}).Info.RunID
	}
	errs := make(chan error, workers*batches)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				ms := make([]core.Metric, per)
				for i := range ms {
					step := int64(b*per + i)
					ms[i] = m(fmt.Sprintf("k%d", i%10), float64(step), step, step)
				}
				if err := s.LogBatch(t.Context(), runs[w], ms, nil, nil); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, run := range runs {
		if got := len(history(t, s, run, "k3")); got != batches*per/10 {
			t.Fatalf("run %s: %d points of k3, want %d", run, got, batches*per/10)
		}
	}
}
