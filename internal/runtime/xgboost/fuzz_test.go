package xgboost

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// The fuzz targets start from the fixture models (every xgboost version) and check that
// Load never panics or hangs, and that whatever it accepts evaluates without panicking.
// Minimizing a new input of several kilobytes takes the fuzzer minutes, so run them with
// minimization off:
//
//	go test -run '^$' -fuzz FuzzLoadUBJSON -fuzztime 30s -fuzzminimizetime 0 ./internal/runtime/xgboost/

func FuzzLoadJSON(f *testing.F)   { fuzzLoad(f, "model.json", 16<<10) }
func FuzzLoadUBJSON(f *testing.F) { fuzzLoad(f, "model.ubj", 8<<10) }

// fuzzLoad seeds a target with the fixture models up to maxSeed bytes (small seeds keep
// each run fast).
func fuzzLoad(f *testing.F, name string, maxSeed int) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", "xgboost", "*", "*", name))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= maxSeed {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			if m != nil {
				t.Fatal("a model and an error")
			}
			return
		}
		evalSome(t, m)
	})
}

// evalSome evaluates a few awkward rows in both kinds.
func evalSome(t *testing.T, m *Model) {
	nf := len(m.Features())
	if nf > 4096 {
		return
	}
	special := []float64{0, math.NaN(), -1, 1, math.Inf(1), math.Inf(-1), 1e30, -0.5, 16777216, 3.5}
	const n = 5
	x := make([]float64, n*nf)
	for i := range x {
		x[i] = special[(i*7+i/nf)%len(special)]
	}
	for _, k := range []runtime.Kind{runtime.Transformed, runtime.Margin} {
		out := make([]float64, n*m.Width(k))
		m.Eval(k, x, n, out)
		one := make([]float64, m.Width(k))
		m.Eval(k, x[:nf], 1, one)
		for j := range one {
			if math.Float64bits(one[j]) != math.Float64bits(out[j]) && !(math.IsNaN(one[j]) && math.IsNaN(out[j])) {
				t.Fatalf("%s output %d: row alone %v, in a batch %v", k, j, one[j], out[j])
			}
		}
	}
}
