package xgboost

import (
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/fixture"
)

// TestFixtures checks every golden fixture (python/fixtures/xgboost_fixtures.py, run with
// several xgboost versions) against xgboost's own predictions, and counts how many
// outputs are bit-for-bit equal.
func TestFixtures(t *testing.T) {
	t.Parallel()
	fixtures := fixture.Load(t, "xgboost")
	var total, exact int
	var inexact []string
	for _, f := range fixtures {
		m, err := Load(f.ModelBytes(t))
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
			continue
		}
		t.Run(f.Name(), func(t *testing.T) {
			if m.Objective() != f.Objective {
				t.Errorf("objective %q, fixture says %q", m.Objective(), f.Objective)
			}
			nf := len(m.Features())
			x := f.Matrix(nf)
			n := len(f.Rows)
			for _, k := range []runtime.Kind{runtime.Transformed, runtime.Margin} {
				want := f.Transformed
				if k == runtime.Margin {
					want = f.Margin
				}
				w := m.Width(k)
				got := make([]float64, n*w)
				m.Eval(k, x, n, got)
				fixture.Compare(t, k.String(), got, w, want)
				for i, row := range want {
					for j, v := range row {
						total++
						if g := got[i*w+j]; g == v || (math.IsNaN(g) && math.IsNaN(v)) {
							exact++
						} else if len(inexact) < 20 {
							inexact = append(inexact, f.Name()+" "+k.String())
						}
					}
				}
				// Row by row must give the same as the whole batch.
				one := make([]float64, w)
				for i := 0; i < n; i += 7 {
					m.Eval(k, x[i*nf:(i+1)*nf], 1, one)
					for j := range one {
						if one[j] != got[i*w+j] && !(math.IsNaN(one[j]) && math.IsNaN(got[i*w+j])) {
							t.Fatalf("%s row %d: single-row eval %v, batch %v", k, i, one, got[i*w:(i+1)*w])
						}
					}
				}
			}
			checkFeatures(t, f, m)
		})
	}
	sort.Strings(inexact)
	t.Logf("%d fixtures: %d of %d outputs bit-equal to xgboost, the rest within tolerance %v",
		len(fixtures), exact, total, inexact)
}

// checkFeatures compares the categories the model stores with the fixture's raw rows:
// each code must name the string the row had.
func checkFeatures(t *testing.T, f *fixture.Fixture, m *Model) {
	t.Helper()
	if f.RawRows == nil {
		return
	}
	feats := m.Features()
	for i, raw := range f.RawRows {
		for j, v := range raw {
			s, ok := v.(string)
			if !ok {
				continue
			}
			cats := feats[j].Categories
			if cats == nil {
				t.Fatalf("feature %q: raw rows hold strings but the model lists no categories", feats[j].Name)
			}
			code := f.Rows[i][j]
			if code == nil || int(*code) >= len(cats) || cats[int(*code)] != s {
				t.Fatalf("row %d feature %q: code %v does not name %q in %v", i, feats[j].Name, code, s, cats)
			}
		}
	}
}

func TestObjectiveWidths(t *testing.T) {
	t.Parallel()
	for _, f := range fixture.Load(t, "xgboost") {
		if !strings.HasPrefix(f.Objective, "multi:") {
			continue
		}
		m, err := Load(f.ModelBytes(t))
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		wantT := len(f.Margin[0])
		if f.Objective == "multi:softmax" {
			wantT = 1
		}
		if m.Width(runtime.Transformed) != wantT || m.Width(runtime.Margin) != len(f.Margin[0]) {
			t.Errorf("%s: widths %d/%d", f.Name(), m.Width(runtime.Transformed), m.Width(runtime.Margin))
		}
	}
}
