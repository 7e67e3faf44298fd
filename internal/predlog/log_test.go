package predlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestAppendFlushReadBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	paris := time.FixedZone("CEST", 2*3600)
	day1 := time.Date(2025, 3, 14, 23, 59, 59, 999_999_999, time.UTC)
	day2 := time.Date(2025, 3, 15, 1, 30, 0, 123_456_000, paris) // 2025-03-14 23:30 UTC
	var want []Record
	add := func(recs ...Record) {
		mustAppend(t, l, recs)
		want = append(want, recs...)
	}
	add(requestRecords("req-1", "fraud-scorer", 3, day1)...)
	add(Record{
		RequestID: "req-2", InferenceID: "inf-42", Row: 0, Endpoint: "fraud-scorer", Model: "fraud",
		ModelVersion: "8", Role: core.RoleCanary, Time: day2, LatencyMicros: 1, Status: 200,
		Inputs: `{"name":"Zoë ✓","n":null}`, Outputs: `{"score":1}`, SubjectID: "user-9",
	}, Record{
		RequestID: "req-2", Row: 0, Endpoint: "fraud-scorer", Model: "fraud-v2",
		ModelVersion: "1", Role: core.RoleShadow, Time: day2, LatencyMicros: 5000, Status: 500,
		Error: "runtime: tree 3: bad split", Inputs: `{"name":"Zoë ✓","n":null}`,
	})
	add(Record{
		RequestID: "req-3", Row: 0, Endpoint: "churn", Model: "churn", ModelVersion: "2",
		Role: core.RolePrimary, Time: day1.Add(time.Second), Status: 400,
		Error: "column \"age\": want long, got string", Inputs: `{"age":"x"}`,
	})
	add(requestRecords("req-4", "churn", 2, day1.Add(-time.Hour))...)

	mustFlush(t, l)
	got := e.readAll(t)
	compareRecords(t, got, want)

	replica := l.ReplicaID()
	wantKeys := []string{
		"predictions/endpoint=churn/date=2025-03-14/" + replica + "-000000000001.parquet",
		"predictions/endpoint=churn/date=2025-03-15/" + replica + "-000000000001.parquet",
		"predictions/endpoint=fraud-scorer/date=2025-03-14/" + replica + "-000000000001.parquet",
	}
	if keys := e.keys(t); strings.Join(keys, "\n") != strings.Join(wantKeys, "\n") {
		t.Errorf("objects:\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(wantKeys, "\n"))
	}
	st := l.Status()
	if st.BacklogBytes != 0 || st.Pending != 0 || st.Uploaded != int64(len(want)) || st.Appended != int64(len(want)) || st.LastUpload.IsZero() || st.Degraded {
		t.Errorf("status after flush: %+v", st)
	}
	if segs := segmentFiles(t, e.dir); len(segs) != 0 {
		t.Errorf("segments left after flush: %v", segs)
	}

	// A second flush of nothing writes nothing; the next segment gets a new number.
	mustFlush(t, l)
	mustAppend(t, l, requestRecords("req-5", "churn", 1, day1))
	mustFlush(t, l)
	if keys := e.keys(t); len(keys) != 4 || !strings.HasSuffix(keys[1], "-000000000002.parquet") {
		t.Errorf("objects after a second segment: %v", keys)
	}
}

func TestZeroTimeMeansNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	before := time.Now().Truncate(time.Microsecond)
	mustAppend(t, l, requestRecords("r", "ep", 1, time.Time{}))
	mustFlush(t, l)
	got := e.readAll(t)
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Fatalf("zero Time read back as %v, want about now", got)
	}
}

func TestReplayAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) { o.SegmentBytes = 2 << 10 }) // several segments
	var want []Record
	for i := range 40 {
		recs := requestRecords(fmt.Sprintf("req-%03d", i), "ep", 1+i%3, time.Now())
		mustAppend(t, l, recs)
		want = append(want, recs...)
	}
	replica := l.ReplicaID()
	before := l.Status()
	if before.Pending < 2 {
		t.Fatalf("want several closed segments, status %+v", before)
	}
	abandon(l)

	l2 := e.open(t, nil)
	if l2.ReplicaID() != replica {
		t.Errorf("replica id changed from %s to %s", replica, l2.ReplicaID())
	}
	if st := l2.Status(); st.BacklogBytes != before.BacklogBytes || st.Pending != before.Pending+1 {
		t.Errorf("replayed backlog %+v, before the crash %+v (plus the active segment)", st, before)
	}
	l2.Start(t.Context())
	mustFlush(t, l2)
	compareRecords(t, e.readAll(t), want)

	// Numbers continue after the replayed segments: new objects never overwrite old ones.
	nObjects := len(e.keys(t))
	mustAppend(t, l2, requestRecords("req-new", "ep", 1, time.Now()))
	mustFlush(t, l2)
	if got := len(e.keys(t)); got != nObjects+1 {
		t.Errorf("%d objects after one more segment, want %d", got, nObjects+1)
	}
	l2.Stop()

	// Even when every segment is gone, a restart does not reuse a number.
	l3 := e.open(t, nil)
	mustAppend(t, l3, requestRecords("req-newer", "ep", 1, time.Now()))
	mustFlush(t, l3)
	if got := len(e.keys(t)); got != nObjects+2 {
		t.Errorf("%d objects after a restart and one more segment, want %d", got, nObjects+2)
	}
	if c := countByID(e.readAll(t)); c["req-new"] != 1 || c["req-newer"] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestCrashBetweenUploadAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	want := append(requestRecords("a", "ep-one", 2, time.Now()), requestRecords("b", "ep-two", 3, time.Now())...)
	mustAppend(t, l, want)
	l.mu.Lock()
	l.rotateLocked()
	l.mu.Unlock()
	seg := segmentFiles(t, e.dir)
	if len(seg) != 1 {
		t.Fatalf("segments %v", seg)
	}
	saved, err := os.ReadFile(seg[0])
	if err != nil {
		t.Fatal(err)
	}
	mustFlush(t, l)
	keys := e.keys(t)
	abandon(l)
	// The process "died" after the uploads but before the delete: the segment is back.
	if err := os.WriteFile(seg[0], saved, 0o600); err != nil {
		t.Fatal(err)
	}
	puts := e.bucket.puts.Load()
	l2 := e.open(t, nil)
	mustFlush(t, l2)
	if again := e.bucket.puts.Load() - puts; again != 2 {
		t.Errorf("replay wrote %d objects, want the same 2 again", again)
	}
	if k := e.keys(t); strings.Join(k, ",") != strings.Join(keys, ",") {
		t.Errorf("objects after replay %v, want the same %v", k, keys)
	}
	compareRecords(t, e.readAll(t), want)
}

func TestSecondOpenFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	_, err := Open(Options{Dir: e.dir, Bucket: e.bucket})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v, want an 'in use' error", err)
	}
	l.Stop()
	l2, err := Open(Options{Dir: e.dir, Bucket: e.bucket})
	if err != nil {
		t.Fatalf("Open after Stop: %v", err)
	}
	l2.Stop()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{Bucket: e.bucket}, "Dir is required"},
		{"no bucket", Options{Dir: t.TempDir()}, "Bucket is required"},
		{"bad prefix", Options{Dir: t.TempDir(), Bucket: e.bucket, Prefix: "../up"}, "bad key prefix"},
	}
	for _, c := range cases {
		if _, err := Open(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, replicaName), []byte("Not/An/Id\n"), 0o600)
	if _, err := Open(Options{Dir: dir, Bucket: e.bucket}); err == nil || !strings.Contains(err.Error(), "not a replica id") {
		t.Errorf("bad replica id: %v", err)
	}
	// The failed Open released the lock.
	os.Remove(filepath.Join(dir, replicaName))
	l, err := Open(Options{Dir: dir, Bucket: e.bucket})
	if err != nil {
		t.Fatal(err)
	}
	l.Stop()
}

func TestAppendRejectsBadEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	for _, ep := range []string{"", "../x", "Upper", "a/b", "endpoint=x"} {
		recs := append(requestRecords("ok", "fine", 1, time.Now()), requestRecords("bad", ep, 1, time.Now())...)
		if err := l.Append(recs); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("endpoint %q: %v, want EINVALID", ep, err)
		}
	}
	if st := l.Status(); st.Appended != 0 || st.BacklogBytes != 0 {
		t.Errorf("a refused batch wrote something: %+v", st)
	}
}

func TestStopTwiceAndAfterStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, nil)
	l.Start(t.Context())
	l.Start(t.Context()) // no-op
	mustAppend(t, l, requestRecords("r", "ep", 2, time.Now()))
	l.Stop()
	l.Stop()
	if err := l.Append(requestRecords("late", "ep", 1, time.Now())); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Stop: %v, want ErrClosed", err)
	}
	l.Start(t.Context()) // no-op, must not panic or start anything
	if c := countByID(e.readAll(t)); c["r"] != 2 || len(c) != 1 {
		t.Errorf("Stop's final flush wrote %v", c)
	}
}

func TestFlushIntervalUploadsInBackground(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) { o.FlushInterval = 20 * time.Millisecond })
	l.Start(t.Context())
	mustAppend(t, l, requestRecords("r", "ep", 1, time.Now()))
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().Uploaded != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("not uploaded by the background writer: %+v", l.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(e.readAll(t)) != 1 {
		t.Error("object missing")
	}
}

func TestBucketUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const limit = 64 << 10
	l := e.open(t, func(o *Options) {
		o.MaxBufferBytes = limit
		o.SegmentBytes = 4 << 10
		o.FlushInterval = 5 * time.Millisecond
	})
	l.Start(t.Context())
	e.bucket.failing.Store(true)

	accepted := map[string]bool{}
	var dropped int
	for i := 0; dropped < 20; i++ {
		id := fmt.Sprintf("req-%05d", i)
		switch err := l.Append(requestRecords(id, "ep", 2, time.Now())); {
		case err == nil:
			if dropped > 0 {
				t.Fatalf("request %d accepted after drops began while still over the limit", i)
			}
			accepted[id] = true
		case errors.Is(err, ErrFull):
			dropped++
		default:
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("the backlog never filled")
		}
	}
	st := l.Status()
	if !st.Degraded || st.Dropped != int64(2*dropped) || st.BacklogBytes > limit || st.BacklogBytes < limit/2 {
		t.Errorf("status while full: %+v", st)
	}
	if err := l.Flush(t.Context()); !errors.Is(err, errBucketDown) {
		t.Errorf("Flush with the bucket down: %v", err)
	}
	if st := l.Status(); !strings.Contains(st.LastError, "bucket is down") {
		t.Errorf("LastError %q", st.LastError)
	}

	e.bucket.failing.Store(false)
	mustFlush(t, l)
	st = l.Status()
	if st.Degraded || st.BacklogBytes != 0 || st.LastError != "" || st.Uploaded != int64(2*len(accepted)) {
		t.Errorf("status after recovery: %+v", st)
	}
	mustAppend(t, l, requestRecords("after", "ep", 1, time.Now()))
	mustFlush(t, l)
	got := countByID(e.readAll(t))
	if got["after"] != 1 || len(got) != len(accepted)+1 {
		t.Errorf("%d request ids uploaded, want %d", len(got), len(accepted)+1)
	}
	for id := range accepted {
		if got[id] != 2 {
			t.Errorf("%s: %d rows, want 2", id, got[id])
		}
	}
}

func TestConcurrentAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) {
		o.SegmentBytes = 32 << 10
		o.FlushInterval = 10 * time.Millisecond
	})
	l.Start(t.Context())
	const workers, perWorker = 16, 150
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if err := l.Append(requestRecords(fmt.Sprintf("w%02d-%03d", w, i), fmt.Sprintf("ep-%d", w%3), 1+i%3, time.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	l.Stop()
	got := e.readAll(t)
	counts := countByID(got)
	if len(counts) != workers*perWorker {
		t.Fatalf("%d request ids, want %d", len(counts), workers*perWorker)
	}
	for w := range workers {
		for i := range perWorker {
			if id := fmt.Sprintf("w%02d-%03d", w, i); counts[id] != 1+i%3 {
				t.Fatalf("%s: %d rows, want %d", id, counts[id], 1+i%3)
			}
		}
	}
	for _, r := range got {
		w, _ := strconv.Atoi(r.RequestID[1:3])
		if want := fmt.Sprintf("ep-%d", w%3); r.Endpoint != want {
			t.Fatalf("%s under endpoint %s, want %s", r.RequestID, r.Endpoint, want)
		}
	}
}

func TestSyncOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) { o.Sync = true; o.SegmentBytes = 1 << 10 })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				if err := l.Append(requestRecords(fmt.Sprintf("%d-%d", w, i), "ep", 1, time.Now())); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	mustFlush(t, l)
	if n := len(e.readAll(t)); n != 80 {
		t.Errorf("%d records, want 80", n)
	}
}

func TestCorruptSegmentSetAside(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := filepath.Join(e.dir, segmentName(5))
	if err := os.WriteFile(bad, []byte("definitely not a segment"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := e.open(t, nil)
	mustAppend(t, l, requestRecords("r", "ep", 1, time.Now()))
	mustFlush(t, l)
	if _, err := os.Stat(bad + badSuffix); err != nil {
		t.Errorf("corrupt segment not set aside: %v", err)
	}
	if keys := e.keys(t); len(keys) != 1 || !strings.HasSuffix(keys[0], "-000000000006.parquet") {
		t.Errorf("objects %v: want one, numbered after the corrupt segment", keys)
	}
	if st := l.Status(); st.BacklogBytes != 0 || st.Pending != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	l := e.open(t, func(o *Options) { o.Metrics = reg; o.MaxBufferBytes = 600 })
	mustAppend(t, l, requestRecords("r", "ep", 2, time.Now()))
	if err := l.Append(requestRecords("big", "ep", 10, time.Now())); !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
	mustFlush(t, l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[mf.GetName()] += v
		}
	}
	want := map[string]float64{
		"plinth_predlog_records_appended_total": 2,
		"plinth_predlog_records_dropped_total":  10,
		"plinth_predlog_records_uploaded_total": 2,
		"plinth_predlog_objects_uploaded_total": 1,
		"plinth_predlog_upload_errors_total":    0,
		"plinth_predlog_backlog_bytes":          0,
		"plinth_predlog_degraded":               0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	// A second log on the same registry is refused, not a panic.
	if _, err := Open(Options{Dir: t.TempDir(), Bucket: e.bucket, Metrics: reg}); err == nil {
		t.Error("a second log registered the same metrics")
	}
}

func TestAppendAllocations(t *testing.T) {
	e := newEnv(t)
	l := e.open(t, nil)
	recs := requestRecords("r", "ep", 1, time.Now())
	mustAppend(t, l, recs) // opens the segment
	allocs := testing.AllocsPerRun(200, func() {
		if err := l.Append(recs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("Append of one record allocates %.1f times", allocs)
	}
}

func TestUploadRetriesInBackground(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.bucket.failing.Store(true)
	l := e.open(t, func(o *Options) { o.FlushInterval = 5 * time.Millisecond })
	l.Start(t.Context())
	mustAppend(t, l, requestRecords("r", "ep", 1, time.Now()))
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().LastError == "" {
		if time.Now().After(deadline) {
			t.Fatal("no upload error reported")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.bucket.failing.Store(false)
	for l.Status().Uploaded != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("background retry never succeeded: %+v", l.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
