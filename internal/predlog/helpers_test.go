package predlog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// env is a WAL folder and a local bucket for one test.
type env struct {
	dir    string
	bucket *flakyBucket
	root   string // the bucket's folder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := newEnvBucket(t)
	return &env{dir: t.TempDir(), bucket: b, root: b.Bucket.(*blob.Local).Dir()}
}

func newEnvBucket(t testing.TB) *flakyBucket {
	t.Helper()
	b, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &flakyBucket{Bucket: b}
}

// open opens a Log on the env; adjust may change the options.
func (e *env) open(t *testing.T, adjust func(*Options)) *Log {
	t.Helper()
	opts := Options{Dir: e.dir, Bucket: e.bucket}
	if adjust != nil {
		adjust(&opts)
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// abandon simulates the death of the process: the kernel closes its files (and so
// drops the flock) without anything being flushed or uploaded.
func abandon(l *Log) {
	l.stopOnce.Do(func() { // the test cleanup's Stop must not upload
		l.mu.Lock()
		l.closed = true
		cancel, done := l.cancel, l.done
		l.mu.Unlock()
		if cancel != nil {
			cancel()
			<-done
		}
		l.mu.Lock()
		if l.active != nil {
			l.active.file().Close() // a mapping stays as it was, not cut to size: as after kill -9
			l.active = nil
		}
		l.mu.Unlock()
		l.lock.Close()
	})
}

// readAll reads every object under the default prefix, sorted by request and row.
func (e *env) readAll(t *testing.T) []Record {
	t.Helper()
	keys, err := ListObjects(context.Background(), e.bucket, DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var all []Record
	for _, k := range keys {
		recs, err := ReadObject(context.Background(), e.bucket, k)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	sortRecords(all)
	return all
}

func (e *env) keys(t *testing.T) []string {
	t.Helper()
	keys, err := ListObjects(context.Background(), e.bucket, DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		return cmp.Or(strings.Compare(a.RequestID, b.RequestID), cmp.Compare(a.Row, b.Row), strings.Compare(a.Role, b.Role))
	})
}

// normalize gives what a record reads back as: time in UTC at microseconds.
func normalize(rs []Record) []Record {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Time = out[i].Time.Truncate(time.Microsecond).UTC()
	}
	sortRecords(out)
	return out
}

func compareRecords(t *testing.T, got, want []Record) {
	t.Helper()
	want = normalize(want)
	if len(got) != len(want) {
		t.Fatalf("read back %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Time.Location() != time.UTC {
			t.Errorf("record %d: time %v, want %v (UTC)", i, got[i].Time, want[i].Time)
		}
		g, w := got[i], want[i]
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// requestRecords makes the records of one request: rows rows for endpoint ep.
func requestRecords(id, ep string, rows int, at time.Time) []Record {
	recs := make([]Record, rows)
	for r := range recs {
		recs[r] = Record{
			RequestID: id, Row: int32(r), Endpoint: ep, Model: "fraud", ModelVersion: "7",
			Role: core.RolePrimary, Time: at, LatencyMicros: int64(100 + r), Status: 200,
			Inputs:  fmt.Sprintf(`{"amount":%d,"country":"FR"}`, r),
			Outputs: fmt.Sprintf(`{"score":0.%d}`, r+1),
		}
	}
	return recs
}

// countByID counts the records of each request id.
func countByID(rs []Record) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[r.RequestID]++
	}
	return m
}

// flakyBucket fails Put while failing is set, and counts Puts.
type flakyBucket struct {
	blob.Bucket
	failing atomic.Bool
	puts    atomic.Int64
	mu      sync.Mutex
	putKeys []string
}

var errBucketDown = errors.New("bucket is down (test)")

func (f *flakyBucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if f.failing.Load() {
		return errBucketDown
	}
	f.puts.Add(1)
	f.mu.Lock()
	f.putKeys = append(f.putKeys, key)
	f.mu.Unlock()
	return f.Bucket.Put(ctx, key, r, size)
}

// segmentFiles lists the WAL segments in dir.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustAppend(t *testing.T, l *Log, recs []Record) {
	t.Helper()
	if err := l.Append(recs); err != nil {
		t.Fatal(err)
	}
}

func mustFlush(t *testing.T, l *Log) {
	t.Helper()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
