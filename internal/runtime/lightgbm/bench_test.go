package lightgbm

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// The benchmark model: 500 trees of 63 leaves on 50 features, trained by the real
// lightgbm (binary objective, NaN in the data) into the temp dir on first use.
const (
	benchTrees    = 500
	benchLeaves   = 63
	benchFeatures = 50
)

const benchTrainScript = `
import sys, numpy as np, lightgbm as lgb
rng = np.random.default_rng(0)
x = rng.normal(size=(20000, 50))
x[rng.random(x.shape) < 0.05] = np.nan
z = np.nan_to_num(x)
y = (z[:, :10].sum(1) + np.sin(3 * z[:, 10:20]).sum(1) + z[:, 20] * z[:, 21] + rng.normal(size=len(x)) > 0).astype(int)
p = dict(objective="binary", num_leaves=63, min_data_in_leaf=5, learning_rate=0.05, verbose=-1,
         num_threads=1, seed=1, deterministic=True)
lgb.train(p, lgb.Dataset(x, y), num_boost_round=500).save_model(sys.argv[1])
`

var benchModel struct {
	once sync.Once
	m    *Model
	err  string
}

// loadBenchModel trains the model once per machine (kept in the temp dir), or skips the
// benchmark when no Python with lightgbm is found (PLINTH_PYTHON, else the repo's .venv).
func loadBenchModel(b *testing.B) *Model {
	benchModel.once.Do(func() {
		path := filepath.Join(os.TempDir(), "plinth-lightgbm-bench-500x63x50.txt")
		if _, err := os.Stat(path); err != nil {
			py := os.Getenv("PLINTH_PYTHON")
			if py == "" {
				py, _ = filepath.Abs("../../../.venv/bin/python")
			}
			tmp := path + ".tmp"
			if out, err := exec.Command(py, "-c", benchTrainScript, tmp).CombinedOutput(); err != nil {
				benchModel.err = "no benchmark model (needs python with lightgbm): " + err.Error() + ": " + string(out)
				return
			}
			if err := os.Rename(tmp, path); err != nil {
				benchModel.err = err.Error()
				return
			}
		}
		data, err := os.ReadFile(path)
		if err == nil {
			benchModel.m, err = Load(data)
		}
		if err != nil {
			benchModel.err = err.Error()
		}
	})
	if benchModel.m == nil {
		b.Skip(benchModel.err)
	}
	m := benchModel.m
	if m.NumTrees() != benchTrees || len(m.Features()) != benchFeatures {
		b.Fatalf("benchmark model has %d trees and %d features", m.NumTrees(), len(m.Features()))
	}
	return m
}

func benchRows(n int) []float64 {
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, n*benchFeatures)
	for i := range x {
		if rng.Float64() < 0.05 {
			x[i] = math.NaN()
		} else {
			x[i] = rng.NormFloat64()
		}
	}
	return x
}

func reportPerRow(b *testing.B, rowsPerOp int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(rowsPerOp)
	b.ReportMetric(ns, "ns/row")
	b.ReportMetric(ns/benchTrees, "ns/tree/row")
}

// BenchmarkEvalSingleRow is the latency of one row (one Eval call per row).
func BenchmarkEvalSingleRow(b *testing.B) {
	m := loadBenchModel(b)
	const distinct = 1024
	x := benchRows(distinct)
	out := make([]float64, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := i % distinct
		m.Eval(runtime.Transformed, x[r*benchFeatures:(r+1)*benchFeatures], 1, out)
	}
	reportPerRow(b, 1)
}

// BenchmarkEvalBatch10k is the throughput of one Eval call over 10,000 rows.
func BenchmarkEvalBatch10k(b *testing.B) {
	m := loadBenchModel(b)
	const rows = 10000
	x := benchRows(rows)
	out := make([]float64, rows)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Eval(runtime.Transformed, x, rows, out)
	}
	reportPerRow(b, rows)
}
