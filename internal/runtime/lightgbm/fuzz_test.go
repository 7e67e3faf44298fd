package lightgbm

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/fixture"
)

// FuzzLoad feeds mutated model files to Load: it must return an error or a model whose
// evaluation terminates without panicking, for any input.
//
//	go test -run '^$' -fuzz FuzzLoad -fuzztime 30s ./internal/runtime/lightgbm/
func FuzzLoad(f *testing.F) {
	f.Add([]byte(tinyModel))
	paths, _ := filepath.Glob(filepath.Join(fixture.Root, "lightgbm", "*", "*", "model.txt"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(shortened(b))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		nf := len(m.Features())
		if nf > 1<<16 {
			return
		}
		probes := []float64{math.NaN(), 0, -0.5, 1e-36, 3, 1e300, -1e300, math.Inf(1), 2147483648}
		x := make([]float64, len(probes)*nf)
		for r, v := range probes {
			for j := 0; j < nf; j++ {
				x[r*nf+j] = v
			}
		}
		for _, k := range []runtime.Kind{runtime.Transformed, runtime.Margin} {
			out := make([]float64, len(probes)*m.Width(k))
			m.Eval(k, x, len(probes), out)
		}
	})
}

// shortened keeps a fixture model's header, its first four trees and its pandas line:
// the fuzzer mutates (and minimizes) short inputs much faster.
func shortened(model []byte) []byte {
	s := string(model)
	end := strings.Index(s, "\nend of trees")
	if end < 0 {
		return model
	}
	trees := s[:end+1]
	if cut := strings.Index(trees, "\nTree=4\n"); cut >= 0 {
		trees = trees[:cut+1]
	}
	pandas := ""
	if i := strings.LastIndex(s, "\npandas_categorical:"); i >= 0 {
		pandas = s[i:]
	}
	return []byte(trees + "end of trees\n" + pandas)
}
