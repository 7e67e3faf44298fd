package predlog

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
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

// BenchmarkEncodeObject measures the background cost of turning logged rows of 50
// numeric features into a Parquet object, per codec.
func BenchmarkEncodeObject(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]Record, 4096)
	idx := make([]int32, len(recs))
	for i := range recs {
		var in []byte
		for f := range 50 {
			in = fmt.Appendf(in, `%s"f%d":%s`, map[bool]string{true: "{", false: ","}[f == 0], f, strconv.FormatFloat(rng.NormFloat64()*100, 'g', -1, 64))
		}
		recs[i] = Record{RequestID: fmt.Sprintf("%032x", i), Row: 0, Endpoint: "bench", Model: "bench-xgb", ModelVersion: "1",
			Role: "primary", Time: time.Now(), LatencyMicros: 300, Status: 200,
			Inputs: string(in) + "}", Outputs: fmt.Sprintf(`{"prediction":%v}`, rng.Float64())}
		idx[i] = int32(i)
	}
	for _, c := range []struct {
		name  string
		codec compress.Codec
	}{{"snappy-better", &snappy.Codec{}}, {"snappy-fast", &fastSnappy{}}} {
		b.Run(c.name, func(b *testing.B) {
			defer func(old compress.Codec) { codec = old }(codec)
			codec = c.codec
			var size int
			for b.Loop() {
				data, err := encodeObject(recs, idx)
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(recs)), "µs/row")
			b.ReportMetric(float64(size)/float64(len(recs)), "B/row")
		})
	}
}
