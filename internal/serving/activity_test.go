package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// at is a time on a fixed day, for an injected clock.
func at(hh, mm, ss int, ms ...int) time.Time {
	t := time.Date(2026, 11, 27, hh, mm, ss, 0, time.UTC)
	if len(ms) > 0 {
		t = t.Add(time.Duration(ms[0]) * time.Millisecond)
	}
	return t
}

func TestActivityMinuteBuckets(t *testing.T) {
	t.Parallel()
	var a activity
	ms := time.Millisecond
	a.observe(at(2, 0, 59, 999), 200, 3, 2*ms, nil) // the last instant of 02:00
	a.observe(at(2, 1, 0), 200, 5, 4*ms, nil)       // the first of 02:01
	a.observe(at(2, 1, 30), 400, 7, 1*ms, nil)      // an error: its rows are not predictions
	a.observe(at(2, 1, 59, 500), 503, 0, 9*ms, nil)
	a.observe(at(2, 3, 10), 200, 1, 3*ms, nil) // 02:02 had no requests

	got := a.snapshot(at(2, 3, 59), 60)
	want := []ActivityBucket{
		{Time: at(2, 0, 0), Requests: 1, Rows: 3, P50: 2 * ms, P90: 2 * ms, P99: 2 * ms},
		{Time: at(2, 1, 0), Requests: 3, Rows: 5, Errors: 2},
		{Time: at(2, 3, 0), Requests: 1, Rows: 1, P50: 3 * ms, P90: 3 * ms, P99: 3 * ms},
	}
	if len(got.Buckets) != len(want) {
		t.Fatalf("buckets %+v", got.Buckets)
	}
	for i, b := range got.Buckets {
		w := want[i]
		if b.Time != w.Time || b.Time.Location() != time.UTC || b.Requests != w.Requests || b.Rows != w.Rows || b.Errors != w.Errors {
			t.Errorf("bucket %d = %+v, want %+v", i, b, w)
		}
		if w.P50 != 0 && (b.P50 != w.P50 || b.P90 != w.P90 || b.P99 != w.P99) {
			t.Errorf("bucket %d: one request's percentiles %v %v %v, want its latency %v", i, b.P50, b.P90, b.P99, w.P50)
		}
	}
	// 02:01 holds 1, 4 and 9 ms: the median is 4 ms, p90 and p99 the slowest.
	if b := got.Buckets[1]; !within(b.P50, 4*ms) || b.P90 != 9*ms || b.P99 != 9*ms {
		t.Errorf("02:01 percentiles %v %v %v", b.P50, b.P90, b.P99)
	}

	// The window is the current minute and the minutes−1 before it.
	for _, tc := range []struct {
		now     time.Time
		minutes int
		first   []time.Time
	}{
		{at(2, 3, 59), 1, []time.Time{at(2, 3, 0)}},
		{at(2, 3, 0), 3, []time.Time{at(2, 1, 0), at(2, 3, 0)}},
		{at(2, 3, 0), 4, []time.Time{at(2, 0, 0), at(2, 1, 0), at(2, 3, 0)}},
		{at(2, 2, 30), 2, []time.Time{at(2, 1, 0)}},
		{at(3, 3, 0), 60, nil},
		{at(3, 3, 0), 61, []time.Time{at(2, 3, 0)}},
	} {
		var times []time.Time
		for _, b := range a.snapshot(tc.now, tc.minutes).Buckets {
			times = append(times, b.Time)
		}
		if !slices.Equal(times, tc.first) {
			t.Errorf("now %s, %d minutes: %v, want %v", tc.now.Format(time.TimeOnly), tc.minutes, times, tc.first)
		}
	}
}

// within reports whether got is within the documented bound of want.
func within(got, want time.Duration) bool {
	if want < histMin {
		return (got - want).Abs() < histMin
	}
	return math.Abs(float64(got)/float64(want)-1) <= math.Exp2(1.0/histPerOctave)-1
}

// nearestRank is the exact q-quantile of sorted samples.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	k := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[k-1]
}

func TestActivityPercentiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"constant 7ms":      func() time.Duration { return 7 * time.Millisecond },
		"uniform 1-10ms":    func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(9*time.Millisecond))) },
		"lognormal ~2ms":    func() time.Duration { return time.Duration(2e6 * math.Exp(rng.NormFloat64())) },
		"exponential 300µs": func() time.Duration { return time.Duration(3e5 * rng.ExpFloat64()) },
		"under 50µs":        func() time.Duration { return time.Duration(rng.Int64N(int64(histMin))) },
		"bimodal 1ms/40ms": func() time.Duration {
			if rng.Float64() < 0.95 {
				return time.Duration(1e6 + rng.Int64N(1e5))
			}
			return time.Duration(4e7 + rng.Int64N(4e6))
		},
		"beyond 62s": func() time.Duration { return 61*time.Second + time.Duration(rng.Int64N(int64(10*time.Second))) },
	}
	var worst float64
	for name, draw := range dists {
		for _, n := range []int{1, 2, 3, 10, 101, 5000} {
			var a activity
			samples := make([]time.Duration, n)
			for i := range samples {
				samples[i] = draw()
				a.observe(at(5, 0, 0), 200, 1, samples[i], nil)
			}
			slices.Sort(samples)
			b := a.snapshot(at(5, 0, 30), 1).Buckets[0]
			for _, p := range []struct {
				q   float64
				got time.Duration
			}{{0.5, b.P50}, {0.9, b.P90}, {0.99, b.P99}} {
				want := nearestRank(samples, p.q)
				if name == "beyond 62s" {
					// Past the last edge the estimate is the slowest request.
					if p.got < 62*time.Second && p.got != want || p.got > samples[n-1] {
						t.Errorf("%s n=%d p%v = %v, exact %v", name, n, p.q*100, p.got, want)
					}
					continue
				}
				if !within(p.got, want) {
					t.Errorf("%s n=%d p%v = %v, exact %v: outside the documented bound", name, n, p.q*100, p.got, want)
				}
				if want >= histMin {
					worst = max(worst, math.Abs(float64(p.got)/float64(want)-1))
				}
			}
		}
	}
	t.Logf("worst relative error %.1f%% (bound %.1f%%)", worst*100, (math.Exp2(1.0/histPerOctave)-1)*100)
}

func TestHistBins(t *testing.T) {
	t.Parallel()
	if histBin(0) != 0 || histBin(histMin-1) != 0 || histBin(histMin) != 1 || histBin(time.Hour) != histBins-1 {
		t.Fatal("edges")
	}
	if e := time.Duration(histEdge(histLogBins + 1)); e < 60*time.Second || e > 63*time.Second {
		t.Fatalf("last edge %v, want just over 60 s", e)
	}
	for i := 1; i <= histLogBins; i++ {
		lo := time.Duration(math.Ceil(histEdge(i)))
		if histBin(lo) != i || histBin(lo-2) != i-1 {
			t.Fatalf("bin %d starts at %v: histBin %d, just below %d", i, lo, histBin(lo), histBin(lo-2))
		}
	}
}

func TestActivityRingWrap(t *testing.T) {
	t.Parallel()
	var a activity
	day := 24 * time.Hour
	start := at(0, 0, 10)
	// A request every minute for 25 hours: the ring keeps the last 24.
	for m := range 25 * 60 {
		a.observe(start.Add(time.Duration(m)*time.Minute), 200, m, time.Millisecond, nil)
	}
	now := start.Add(25*time.Hour - time.Minute) // the last minute written
	got := a.snapshot(now, ActivityMinutes).Buckets
	if len(got) != ActivityMinutes || got[0].Time != at(1, 0, 0) || got[len(got)-1].Time != at(1, 0, 0).Add(day-time.Minute) {
		t.Fatalf("%d buckets from %v to %v", len(got), got[0].Time, got[len(got)-1].Time)
	}
	for i, b := range got {
		if b.Requests != 1 || b.Rows != int64(60+i) {
			t.Fatalf("bucket %d (%v) = %+v: a minute of the day before survived the wrap", i, b.Time, b)
		}
	}
	// A request for a minute 24 h older than its slot's is not counted in the newer one.
	a.observe(start.Add(30*time.Minute), 200, 1000, time.Millisecond, nil) // 00:30 of the first day
	if b := a.snapshot(now, ActivityMinutes).Buckets[1410]; b.Time != at(0, 30, 0).Add(day) || b.Requests != 1 || b.Rows != 60+1410 {
		t.Fatalf("a stale request changed %+v", b)
	}
	if len(a.snapshot(now.Add(day), ActivityMinutes).Buckets) != 0 {
		t.Fatal("a day later the window still has buckets")
	}
	n := 0
	for _, s := range a.slots {
		if s != nil {
			n++
		}
	}
	if n != ActivityMinutes {
		t.Fatalf("%d minute slots allocated, want at most %d", n, ActivityMinutes)
	}
}

func TestActivityRecentKeepsNewest(t *testing.T) {
	t.Parallel()
	var a activity
	if r := a.snapshot(at(1, 0, 0), 60).Recent; r == nil || len(r) != 0 {
		t.Fatalf("empty recent %v", r)
	}
	row := 0
	// Requests of 1, 7, 30 and 40 rows, then 3: 81 rows, of which the last 50 stay.
	for req, rows := range []int{1, 7, 30, 40, 3} {
		recs := make([]predlog.Record, 0, rows)
		for i := range rows {
			recs = append(recs, predlog.Record{RequestID: fmt.Sprint("r", req), Row: int32(i), Inputs: fmt.Sprintf(`{"n":%d}`, row)})
			row++
		}
		a.observe(at(1, 0, req), 200, rows, time.Millisecond, recs)
	}
	got := a.snapshot(at(1, 1, 0), 60).Recent
	if len(got) != RecentRows {
		t.Fatalf("%d recent rows, want %d", len(got), RecentRows)
	}
	for i, r := range got {
		if want := fmt.Sprintf(`{"n":%d}`, row-1-i); r.Inputs != want {
			t.Fatalf("recent[%d] = %s (%s row %d), want %s: not newest first", i, r.Inputs, r.RequestID, r.Row, want)
		}
	}
	if got[0].RequestID != "r4" || got[0].Row != 2 || got[3].RequestID != "r3" || got[3].Row != 39 {
		t.Fatalf("newest rows %+v %+v", got[0], got[3])
	}
}

// TestRecentRecordsTail checks that a request not logged gets the same texts for its
// last rows as the log would have written.
func TestRecentRecordsTail(t *testing.T) {
	t.Parallel()
	n := 120
	in := &tabular.Table{Columns: []tabular.Column{
		{Name: "x", Type: tabular.Float64, Floats: make([]float64, n)},
		{Name: "k", Type: tabular.Int64, Ints: make([]int64, n), Null: make([]bool, n)},
		{Name: "s", Type: tabular.String, Strings: make([]string, n)},
		{Name: "b", Type: tabular.Bool, Bools: make([]bool, n)},
	}}
	out := &tabular.Table{Columns: []tabular.Column{{Name: "p", Type: tabular.Float64, Floats: make([]float64, n)}}}
	for i := range n {
		in.Columns[0].Floats[i] = float64(i) / 4
		in.Columns[1].Ints[i], in.Columns[1].Null[i] = int64(i), i%3 == 0
		in.Columns[2].Strings[i] = fmt.Sprint("s", i)
		in.Columns[3].Bools[i] = i%2 == 0
		out.Columns[0].Floats[i] = float64(i) * 10
	}
	all := func(t *tabular.Table) []string {
		ends := make([]int, t.Rows())
		buf := string(tabular.AppendRowsJSON(nil, t, ends))
		var rows []string
		start := 0
		for _, e := range ends {
			rows, start = append(rows, buf[start:e]), e
		}
		return rows
	}
	ins, outs := all(in), all(out)
	for _, rows := range []int{1, 49, 50, 51, 120} {
		sub, subOut := tailRows(in, n-rows), tailRows(out, n-rows)
		recs := recentRecords(predlog.Record{RequestID: "q"}, sub, subOut, nil)
		if len(recs) != min(rows, RecentRows) {
			t.Fatalf("%d rows: %d records", rows, len(recs))
		}
		for i, r := range recs {
			row := rows - len(recs) + i
			if int(r.Row) != row || r.Inputs != ins[n-rows+row] || r.Outputs != outs[n-rows+row] || r.RequestID != "q" {
				t.Fatalf("%d rows: record %d = row %d %s → %s, want row %d %s → %s", rows, i, r.Row, r.Inputs, r.Outputs, row, ins[n-rows+row], outs[n-rows+row])
			}
		}
	}
	// A request that failed before its rows were read is one record with no texts.
	if recs := recentRecords(predlog.Record{Status: 400}, nil, nil, nil); len(recs) != 1 || recs[0].Inputs != "" || recs[0].Outputs != "" {
		t.Fatalf("no rows: %+v", recs)
	}
	// The recent rows keep a small request's logged texts, and copies of a large one's.
	text := strings.Repeat("x", recentPinBytes+1)
	recs := make([]predlog.Record, 60)
	for i := range recs {
		recs[i] = predlog.Record{Row: int32(i), Inputs: text[i : i+10], Outputs: text[i+10 : i+20], SubjectID: "p"}
	}
	if kept := keepRecent(recs, recentPinBytes); len(kept) != RecentRows || &kept[0] != &recs[10] {
		t.Fatalf("a small request's records were copied")
	}
	own := keepRecent(recs, len(text))
	if len(own) != RecentRows || own[0].Row != 10 || own[0].Inputs != text[10:20] || own[0].Outputs != text[20:30] || own[0].SubjectID != "" ||
		unsafe.StringData(own[0].Inputs) == unsafe.StringData(text[10:]) {
		t.Fatalf("a large request's records were not copied: %+v", own[0])
	}
}

// TestActivityUnlogged checks that rows not logged read as the log would have written
// them, whether kept as the request's table (small) or as texts (large or unknown size).
func TestActivityUnlogged(t *testing.T) {
	t.Parallel()
	n := 70
	in := &tabular.Table{Columns: []tabular.Column{{Name: "x", Floats: make([]float64, n)}, {Name: "s", Type: tabular.String, Strings: make([]string, n)}}}
	out := &tabular.Table{Columns: []tabular.Column{{Name: "p", Floats: make([]float64, n)}}}
	for i := range n {
		in.Columns[0].Floats[i], in.Columns[1].Strings[i], out.Columns[0].Floats[i] = float64(i)+0.25, fmt.Sprint("s", i), float64(i)*2
	}
	for _, size := range []int64{100, recentPinBytes + 1, -1} {
		var a activity
		a.observeUnlogged(at(1, 0, 0), 200, time.Millisecond, predlog.Record{RequestID: "big"}, in, out, nil, size)
		a.observeUnlogged(at(1, 0, 1), 200, time.Millisecond, predlog.Record{RequestID: "one"}, tailRows(in, n-1), tailRows(out, n-1), nil, size)
		a.observeUnlogged(at(1, 0, 2), 400, time.Millisecond, predlog.Record{RequestID: "none", Error: "bad"}, nil, nil, nil, size)
		snap := a.snapshot(at(1, 0, 30), 1)
		if b := snap.Buckets[0]; b.Requests != 3 || b.Rows != int64(n+1) || b.Errors != 1 {
			t.Fatalf("size %d: bucket %+v", size, b)
		}
		got := snap.Recent
		if len(got) != RecentRows || got[0].RequestID != "none" || got[0].Inputs != "" || got[0].Error != "bad" ||
			got[1].RequestID != "one" || got[1].Row != 0 || got[1].Inputs != fmt.Sprintf(`{"x":%d.25,"s":"s%d"}`, n-1, n-1) {
			t.Fatalf("size %d: newest %+v %+v", size, got[0], got[1])
		}
		for i, r := range got[2:] {
			row := n - 1 - i
			if r.RequestID != "big" || int(r.Row) != row || r.Inputs != fmt.Sprintf(`{"x":%d.25,"s":"s%d"}`, row, row) ||
				r.Outputs != fmt.Sprintf(`{"p":%d}`, 2*row) {
				t.Fatalf("size %d: recent[%d] = %+v, want row %d", size, i+2, r, row)
			}
		}
		pinned := 0
		for _, r := range a.recent {
			if r.src != nil {
				pinned++
			}
		}
		if want := map[bool]int{true: RecentRows - 1, false: 0}[size == 100]; pinned != want {
			t.Fatalf("size %d: %d rows keep their request, want %d", size, pinned, want)
		}
	}
}

// activityOf is the endpoint's activity in the last hour.
func (e *env) activityOf(t *testing.T, name string) Activity {
	t.Helper()
	a, ok := e.m.Activity(name, 60)
	if !ok {
		t.Fatalf("no activity for %s", name)
	}
	return a
}

// TestEndpointActivity sends requests over HTTP to both protocols and reads the
// endpoint's activity back: counts, rows, errors, and the last rows as logged.
func TestEndpointActivity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   envOptions
		sample float64
	}{
		{"logged", envOptions{}, 1},
		{"sampled out", envOptions{}, 1e-9},
		{"no log", envOptions{noLog: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, tc.opts)
			v := e.register(t, "clf", "xgb-classifier")
			e.create(t, core.Endpoint{Name: "scorer", ModelURI: fmt.Sprintf("models:/clf/%d", v), LogSampleRate: tc.sample})
			e.start(t)
			if _, ok := e.m.Activity("nope", 60); ok {
				t.Fatal("activity of an endpoint not served")
			}
			if a := e.activityOf(t, "scorer"); len(a.Buckets) != 0 || len(a.Recent) != 0 {
				t.Fatalf("before any request: %+v", a)
			}
			rows := func(n int) string {
				var b strings.Builder
				for i := range n {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, "[%d.5,2,3,4]", i)
				}
				return `{"dataframe_split":{"columns":["a","b","c","d"],"data":[` + b.String() + `]}}`
			}
			send := func(path, body string, want int, id string) {
				t.Helper()
				res, out := e.do(t, "POST", path, "application/json", body, "X-Request-Id", id)
				if res.StatusCode != want {
					t.Fatalf("%s %s: %d %s, want %d", id, path, res.StatusCode, out, want)
				}
			}
			send("/endpoints/scorer/invocations", rows(2), 200, "req-1")
			send("/endpoints/scorer/invocations", `{"dataframe_split":{"columns":["b","c","d"],"data":[[1,2,3]]}}`, 400, "req-bad")
			send("/v2/models/scorer/infer", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]},
				{"name":"b","shape":[1],"datatype":"FP64","data":[2]},{"name":"c","shape":[1],"datatype":"FP64","data":[3]},
				{"name":"d","shape":[1],"datatype":"FP64","data":[4]}]}`, 200, "req-v2")
			send("/v2/models/scorer/versions/99/infer", `{}`, 404, "req-version")
			send("/endpoints/nope/invocations", rows(1), 404, "req-unknown") // another endpoint's, not counted
			// Over 16 KiB of body (mostly spaces): its recent rows get texts of their own.
			send("/endpoints/scorer/invocations", rows(60)+strings.Repeat(" ", recentPinBytes), 200, "req-big")

			a := e.activityOf(t, "scorer")
			if len(a.Buckets) < 1 || len(a.Buckets) > 2 { // the requests may straddle a minute
				t.Fatalf("buckets %+v", a.Buckets)
			}
			var sum ActivityBucket
			for _, b := range a.Buckets {
				sum.Requests, sum.Rows, sum.Errors = sum.Requests+b.Requests, sum.Rows+b.Rows, sum.Errors+b.Errors
				if b.P50 <= 0 || b.P50 > b.P90 || b.P90 > b.P99 || b.Time.Second() != 0 {
					t.Errorf("bucket %+v", b)
				}
			}
			if sum.Requests != 5 || sum.Errors != 2 || sum.Rows != 2+1+60 {
				t.Fatalf("totals %+v, want 5 requests, 2 errors, 63 rows", sum)
			}
			// The last 50 rows, newest first: 50 of req-big's 60 (rows 59…10).
			if len(a.Recent) != RecentRows {
				t.Fatalf("%d recent rows", len(a.Recent))
			}
			for i, r := range a.Recent {
				if r.RequestID != "req-big" || int(r.Row) != 59-i || r.Status != 200 || r.ModelVersion != "1" || r.Role != core.RolePrimary {
					t.Fatalf("recent[%d] = %+v", i, r)
				}
				var in, out map[string]any
				if err := json.Unmarshal([]byte(r.Inputs), &in); err != nil || in["a"] != float64(59-i)+0.5 || len(in) != 4 {
					t.Fatalf("recent[%d] inputs %q", i, r.Inputs)
				}
				if err := json.Unmarshal([]byte(r.Outputs), &out); err != nil || len(out) == 0 {
					t.Fatalf("recent[%d] outputs %q", i, r.Outputs)
				}
			}

			// One more row pushes out the oldest.
			send("/endpoints/scorer/invocations", rows(1), 200, "req-last")
			a = e.activityOf(t, "scorer")
			if r := a.Recent[0]; r.RequestID != "req-last" || r.Row != 0 || r.Inputs != `{"a":0.5,"b":2,"c":3,"d":4}` ||
				!strings.HasPrefix(r.Outputs, `{"prediction":`) || a.Recent[1].RequestID != "req-big" || a.Recent[1].Row != 59 {
				t.Fatalf("after one more: %+v %+v", r, a.Recent[1])
			}
			if tc.name == "logged" {
				// The recent rows are the logged rows.
				logged := map[string]predlog.Record{}
				for _, r := range e.logged(t) {
					logged[fmt.Sprint(r.RequestID, "/", r.Row)] = r
				}
				for _, r := range a.Recent {
					l, ok := logged[fmt.Sprint(r.RequestID, "/", r.Row)]
					if !ok || l.Inputs != r.Inputs || l.Outputs != r.Outputs || l.Status != r.Status || l.LatencyMicros != r.LatencyMicros {
						t.Fatalf("recent %+v\nlogged %+v", r, l)
					}
				}
			}
		})
	}
}

// TestEndpointActivityErrors checks the rows of refused requests.
func TestEndpointActivityErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v := e.register(t, "clf", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "scorer", ModelURI: fmt.Sprintf("models:/clf/%d", v)})
	e.start(t)
	for _, r := range []struct{ path, body, id string }{
		{"/endpoints/scorer/invocations", `{"dataframe_split":{"columns":["b","c","d"],"data":[[1,2,3]]}}`, "bad-columns"},
		{"/v2/models/scorer/versions/99/infer", `{}`, "bad-version"},
		{"/endpoints/scorer/invocations", `{"dataframe_split":`, "bad-json"},
	} {
		e.do(t, "POST", r.path, "application/json", r.body, "X-Request-Id", r.id)
	}
	a := e.activityOf(t, "scorer")
	want := []struct {
		id     string
		status int32
		ver    string
	}{{"bad-json", 400, "1"}, {"bad-version", http.StatusNotFound, ""}, {"bad-columns", 400, "1"}}
	if len(a.Recent) != len(want) {
		t.Fatalf("recent %+v", a.Recent)
	}
	for i, w := range want {
		r := a.Recent[i]
		if r.RequestID != w.id || r.Status != w.status || r.ModelVersion != w.ver || r.Error == "" || r.Outputs != "" {
			t.Errorf("recent[%d] = %+v, want %s %d version %q with an error", i, r, w.id, w.status, w.ver)
		}
	}
	var sum int64
	for _, b := range a.Buckets {
		if b.Errors != b.Requests || b.Rows != 0 {
			t.Errorf("bucket %+v: every request failed", b)
		}
		sum += b.Requests
	}
	if sum != 3 {
		t.Fatalf("%d requests", sum)
	}
}

// BenchmarkActivity is the recorder's cost per request, on top of what the request
// path did before: counting a one-row request in its minute, and keeping its row for
// the recent rows, from the prediction log's records (logged) or from the request's
// table (not logged: sampled out, or no log; a body larger than 16 KiB has its last
// rows encoded instead, also measured).
//
//	go test -run '^$' -bench Activity -benchmem ./internal/serving
func BenchmarkActivity(b *testing.B) {
	in := &tabular.Table{Columns: []tabular.Column{
		{Name: "a", Floats: []float64{0.123456789}}, {Name: "b", Floats: []float64{-2.5}},
		{Name: "c", Floats: []float64{3}}, {Name: "d", Floats: []float64{1e-7}},
	}}
	out := &tabular.Table{Columns: []tabular.Column{{Name: "predictions", Floats: []float64{0.87}}}}
	base := predlog.Record{RequestID: "0b6f4c1e-9a57-4d0e-8f43-7bd1c7c2b7a1", Endpoint: "scorer", Model: "clf",
		ModelVersion: "3", Role: core.RolePrimary, Time: time.Now(), LatencyMicros: 850, Status: 200}
	logged := []predlog.Record{base}
	logged[0].Inputs = `{"a":0.123456789,"b":-2.5,"c":3,"d":1e-7}`
	logged[0].Outputs = `{"predictions":0.87}`
	textBytes := len(logged[0].Inputs) + len(logged[0].Outputs)
	cases := []struct {
		name    string
		observe func(a *activity, now time.Time, latency time.Duration)
	}{
		{"logged", func(a *activity, now time.Time, latency time.Duration) {
			a.observe(now, 200, 1, latency, keepRecent(logged, textBytes))
		}},
		{"not logged", func(a *activity, now time.Time, latency time.Duration) {
			a.observeUnlogged(now, 200, latency, base, in, out, nil, 120)
		}},
		{"not logged, body over 16 KiB", func(a *activity, now time.Time, latency time.Duration) {
			a.observeUnlogged(now, 200, latency, base, in, out, nil, 1<<20)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var a activity
			now := time.Now()
			for i := 0; b.Loop(); i++ {
				c.observe(&a, now, time.Duration(i%5000)*time.Microsecond)
			}
		})
		b.Run(c.name+", parallel", func(b *testing.B) {
			var a activity
			now := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					c.observe(&a, now, time.Duration(i%5000)*time.Microsecond)
				}
			})
		})
	}
}
