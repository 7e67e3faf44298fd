package predlog

import (
	"testing"
	"time"
)

// BenchmarkAppend measures the request-path cost of logging one single-row request,
// from many goroutines at once (go test -bench Append -cpu 1,8).
func BenchmarkAppend(b *testing.B) {
	e := &env{dir: b.TempDir()}
	bucket := newEnvBucket(b)
	l, err := Open(Options{Dir: e.dir, Bucket: bucket})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Stop) // after the measurement: the final upload is not Append's cost
	recs := requestRecords("0123456789abcdef0123456789abcdef", "fraud-scorer", 1, time.Now())
	b.SetBytes(int64(len(recs[0].Inputs) + len(recs[0].Outputs)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(recs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
