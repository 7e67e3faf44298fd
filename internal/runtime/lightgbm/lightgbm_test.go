package lightgbm

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/fixture"
)

var kinds = []runtime.Kind{runtime.Transformed, runtime.Margin}

func loadFixture(t *testing.T, f *fixture.Fixture) (*Model, []float64, int) {
	t.Helper()
	m, err := Load(f.ModelBytes(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m, f.Matrix(len(m.Features())), len(f.Rows)
}

func eval(m *Model, k runtime.Kind, x []float64, n int) []float64 {
	out := make([]float64, n*m.Width(k))
	m.Eval(k, x, n, out)
	return out
}

// TestFixtures checks every golden model against lightgbm's own predictions.
func TestFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range fixture.Load(t, "lightgbm") {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			m, x, n := loadFixture(t, f)
			if got := m.Objective(); got != f.Objective {
				t.Errorf("Objective() = %q, fixture %q", got, f.Objective)
			}
			for _, k := range kinds {
				want := f.Transformed
				if k == runtime.Margin {
					want = f.Margin
				}
				fixture.Compare(t, k.String(), eval(m, k, x, n), m.Width(k), want)
			}
			if f.Sklearn != nil {
				checkSklearn(t, f, eval(m, runtime.Transformed, x, n), m.Width(runtime.Transformed))
			}
		})
	}
}

// checkSklearn checks that the wrapper's outputs follow from Booster.predict the way the
// pyfunc adapter will derive them: predict_proba is [1-p, p] for binary and the softmax
// row for multiclass, predict the argmax (or the value, for regressors).
func checkSklearn(t *testing.T, f *fixture.Fixture, got []float64, width int) {
	s := f.Sklearn
	for i := range f.Rows {
		row := got[i*width : i*width+width]
		proba := row
		if s.PredictProba != nil && width == 1 {
			proba = []float64{1 - row[0], row[0]}
		}
		if s.PredictProba != nil {
			for j, p := range proba {
				if !fixture.Close(p, s.PredictProba[i][j]) {
					t.Fatalf("sklearn predict_proba row %d class %d: got %v, library %v", i, j, p, s.PredictProba[i][j])
				}
			}
			best := 0
			for j, p := range proba {
				if p > proba[best] {
					best = j
				}
			}
			if float64(best) != s.Predict[i][0] {
				t.Fatalf("sklearn predict row %d: argmax %d, library %v", i, best, s.Predict[i][0])
			}
		} else if !fixture.Close(row[0], s.Predict[i][0]) {
			t.Fatalf("sklearn predict row %d: got %v, library %v", i, row[0], s.Predict[i][0])
		}
	}
}

// TestFixturesBitExact reports how many outputs equal lightgbm's bit for bit (run with -v);
// raw scores must all be exact, since they are the same float64 sums in the same order.
func TestFixturesBitExact(t *testing.T) {
	t.Parallel()
	var total, exact [2]int
	for _, f := range fixture.Load(t, "lightgbm") {
		m, x, n := loadFixture(t, f)
		var line [2]string
		for ki, k := range kinds {
			want := f.Transformed
			if k == runtime.Margin {
				want = f.Margin
			}
			got := eval(m, k, x, n)
			w := m.Width(k)
			e, all := 0, 0
			for i, row := range want {
				for j, v := range row {
					all++
					if got[i*w+j] == v || (math.IsNaN(v) && math.IsNaN(got[i*w+j])) {
						e++
					}
				}
			}
			total[ki] += all
			exact[ki] += e
			line[ki] = formatRatio(e, all)
			if k == runtime.Margin && e != all {
				t.Errorf("%s: margin bit-exact for %s values only", f.Name(), line[ki])
			}
		}
		t.Logf("%-45s transformed %-9s margin %s", f.Name(), line[0], line[1])
	}
	t.Logf("all fixtures: transformed %s bit-exact, margin %s", formatRatio(exact[0], total[0]), formatRatio(exact[1], total[1]))
}

func formatRatio(a, b int) string {
	return strconv.Itoa(a) + "/" + strconv.Itoa(b)
}

// TestBlocksMatchSingleRows checks that evaluating rows one at a time gives the same bits
// as evaluating them together (block boundaries must not change the arithmetic).
func TestBlocksMatchSingleRows(t *testing.T) {
	t.Parallel()
	for _, f := range fixture.Load(t, "lightgbm") {
		m, x, n := loadFixture(t, f)
		nf := len(m.Features())
		for _, k := range kinds {
			all := eval(m, k, x, n)
			w := m.Width(k)
			for i := 0; i < n; i++ {
				one := eval(m, k, x[i*nf:(i+1)*nf], 1)
				for j := range one {
					if math.Float64bits(one[j]) != math.Float64bits(all[i*w+j]) {
						t.Fatalf("%s %s row %d: single %v, batch %v", f.Name(), k, i, one[j], all[i*w+j])
					}
				}
			}
		}
	}
}

// TestCategories checks the categorical features and the pandas categories, and that the
// raw string rows recode to the rows lightgbm predicted on.
func TestCategories(t *testing.T) {
	t.Parallel()
	for _, f := range fixture.Load(t, "lightgbm") {
		var want []int
		switch filepath.Base(f.Dir) {
		case "categorical_pandas":
			want = []int{1, 3}
		case "categorical_int", "categorical_binary":
			want = []int{2, 4}
		default:
			continue
		}
		m, _, _ := loadFixture(t, f)
		fs := m.Features()
		var got []int
		for i, ft := range fs {
			if ft.Categorical {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: categorical features %v, want %v", f.Name(), got, want)
		}
		if filepath.Base(f.Dir) != "categorical_pandas" {
			if fs[2].Categories != nil || m.PandasCategorical() != nil {
				t.Errorf("%s: categories %q without pandas columns", f.Name(), fs[2].Categories)
			}
			continue
		}
		if want := []string{"red", "green", "blue", "cyan", "magenta", "yellow", "black"}; !slices.Equal(fs[1].Categories, want) {
			t.Errorf("%s: color categories %q", f.Name(), fs[1].Categories)
		}
		if want := []string{"10", "20", "30", "40"}; !slices.Equal(fs[3].Categories, want) {
			t.Errorf("%s: size categories %q", f.Name(), fs[3].Categories)
		}
		checkRawRows(t, f, fs)
	}
}

func checkRawRows(t *testing.T, f *fixture.Fixture, fs []runtime.Feature) {
	t.Helper()
	if len(f.RawRows) != len(f.Rows) {
		t.Fatalf("%s: %d raw rows for %d rows", f.Name(), len(f.RawRows), len(f.Rows))
	}
	for i, raw := range f.RawRows {
		for j, v := range raw {
			want := f.Rows[i][j]
			if !fs[j].Categorical {
				continue
			}
			code := -1
			if v != nil {
				s, ok := v.(string)
				if !ok {
					s = strconv.FormatFloat(v.(float64), 'f', -1, 64)
				}
				code = slices.Index(fs[j].Categories, s)
			}
			if (code < 0) != (want == nil) || (want != nil && float64(code) != *want) {
				t.Errorf("%s: raw row %d column %d: %v recodes to %d, rows has %v", f.Name(), i, j, v, code, want)
			}
		}
	}
}

// TestConcurrentEval checks that goroutines sharing a model (and its pooled scratch
// space) get the same bits as one evaluation, for batches and lone rows.
func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	for _, f := range fixture.Load(t, "lightgbm") {
		m, x, n := loadFixture(t, f)
		nf := len(m.Features())
		want := eval(m, runtime.Margin, x, n)
		w := m.Width(runtime.Margin)
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for rep := 0; rep < 3; rep++ {
					var got []float64
					if g%2 == 0 {
						got = eval(m, runtime.Margin, x, n)
					} else {
						for i := 0; i < n; i++ {
							got = append(got, eval(m, runtime.Margin, x[i*nf:(i+1)*nf], 1)...)
						}
					}
					for i := range want {
						if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
							errs <- fmt.Sprintf("%s: goroutine %d output %d (row %d): %v, want %v", f.Name(), g, i, i/w, got[i], want[i])
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}
