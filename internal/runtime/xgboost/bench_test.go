package xgboost

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// The benchmarks use a 500-tree, depth-8, 50-feature binary:logistic model, too large to
// commit; make it with
//
//	.venv/bin/python python/fixtures/xgboost_fixtures.py --bench-model /tmp/bench500.ubj
//	XGBOOST_BENCH_MODEL=/tmp/bench500.ubj go test -run '^$' -bench . ./internal/runtime/xgboost/
//
// and they are skipped without it. They report ns/row and ns/tree/row (one thread).
func benchModel(b *testing.B) *Model {
	b.Helper()
	path := os.Getenv("XGBOOST_BENCH_MODEL")
	if path == "" {
		b.Skip("XGBOOST_BENCH_MODEL is not set (see bench_test.go)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Load(data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchRows makes n rows of standard normal values, 5% missing, like the training data.
func benchRows(n, width int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*width)
	for i := range x {
		if r.Float64() < 0.05 {
			x[i] = math.NaN()
		} else {
			x[i] = r.NormFloat64()
		}
	}
	return x
}

func benchEval(b *testing.B, rows int) {
	m := benchModel(b)
	x := benchRows(rows, len(m.Features()))
	out := make([]float64, rows*m.Width(runtime.Transformed))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Eval(runtime.Transformed, x, rows, out)
	}
	perRow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(rows)
	b.ReportMetric(perRow, "ns/row")
	b.ReportMetric(perRow/float64(m.NumTrees()), "ns/tree/row")
}

func BenchmarkEvalSingleRow(b *testing.B) { benchEval(b, 1) }
func BenchmarkEvalBatch10k(b *testing.B)  { benchEval(b, 10000) }

func BenchmarkLoad(b *testing.B) {
	path := os.Getenv("XGBOOST_BENCH_MODEL")
	if path == "" {
		b.Skip("XGBOOST_BENCH_MODEL is not set (see bench_test.go)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
