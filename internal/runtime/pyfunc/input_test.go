package pyfunc

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/mlmodel"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// echo is an ensemble that returns its first feature, to test input handling alone.
type echo struct{ feats []runtime.Feature }

func (e echo) Features() []runtime.Feature { return e.feats }
func (e echo) Width(runtime.Kind) int      { return 1 }
func (e echo) Objective() string           { return "reg:squarederror" }
func (e echo) Eval(_ runtime.Kind, x []float64, n int, out []float64) {
	for i := 0; i < n; i++ {
		out[i] = x[i*len(e.feats)]
	}
}

func model(t *testing.T, sig string, feats ...runtime.Feature) *Model {
	t.Helper()
	meta := &mlmodel.Model{Flavors: map[string]map[string]any{"xgboost": {}}}
	if sig != "" {
		m, err := mlmodel.Parse([]byte("flavors: {xgboost: {}}\nsignature:\n  inputs: '" + sig + "'\n"))
		if err != nil {
			t.Fatal(err)
		}
		meta = m
	}
	m := &Model{Meta: meta, Flavor: "xgboost", Ensemble: echo{feats}}
	m.indexCategories()
	return m
}

func floats(name string, v ...float64) tabular.Column {
	return tabular.Column{Name: name, Type: tabular.Float64, Floats: v}
}

func named(names ...string) []runtime.Feature {
	out := make([]runtime.Feature, len(names))
	for i, n := range names {
		out[i] = runtime.Feature{Name: n}
	}
	return out
}

func TestInputMatching(t *testing.T) {
	t.Parallel()
	ab := `[{"type": "double", "name": "a"}, {"type": "long", "name": "b"}]`
	tests := []struct {
		name  string
		m     *Model
		table tabular.Table
		want  []float64 // the matrix, row-major
		err   string
	}{
		{"by signature name, extra columns ignored, any order", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("zzz", 9), {Name: "b", Type: tabular.Int64, Ints: []int64{2}}, floats("a", 1)}},
			[]float64{1, 2}, ""},
		{"ints convert to double", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{{Name: "a", Type: tabular.Int64, Ints: []int64{7}}, {Name: "b", Type: tabular.Int64, Ints: []int64{2}}}},
			[]float64{7, 2}, ""},
		{"missing required column is named", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1)}}, nil, "missing column(s) b"},
		{"fraction in a long column", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1), floats("b", 2.5)}}, nil, "column b: 2.5 in row 1 is not an integer"},
		{"null in a long column", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1), {Name: "b", Type: tabular.Float64, Floats: []float64{0}, Null: []bool{true}}}}, nil, "declare it double"},
		{"text in a number column", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{{Name: "a", Type: tabular.String, Strings: []string{"x1"}}, floats("b", 2)}}, nil, `column a: "x1" in row 1 is not a number`},
		{"numeric text is parsed", model(t, ab, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{{Name: "a", Type: tabular.String, Strings: []string{" 1.5 "}}, floats("b", 2)}}, []float64{1.5, 2}, ""},
		{"optional column absent is missing", model(t, `[{"type": "double", "name": "a"}, {"type": "double", "name": "b", "required": false}]`, named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1)}}, []float64{1, math.NaN()}, ""},
		{"float signature rounds through float32", model(t, `[{"type": "float", "name": "a"}]`, named("a")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 0.1)}}, []float64{float64(float32(0.1))}, ""},
		{"datetime is refused", model(t, `[{"type": "datetime", "name": "a"}]`, named("a")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1)}}, nil, "declared datetime"},
		{"no signature: by feature name", model(t, "", named("b", "a")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1), floats("b", 2)}}, []float64{2, 1}, ""},
		{"no signature, no names: by position", model(t, "", runtime.Feature{}, runtime.Feature{}),
			tabular.Table{Columns: []tabular.Column{floats("p", 1), floats("q", 2)}}, []float64{1, 2}, ""},
		{"no signature: wrong width", model(t, "", runtime.Feature{}, runtime.Feature{}),
			tabular.Table{Columns: []tabular.Column{floats("p", 1)}}, nil, "takes 2 features by position; the input has 1"},
		{"no signature: missing feature named", model(t, "", named("a", "b")...),
			tabular.Table{Columns: []tabular.Column{floats("a", 1)}}, nil, "lacks the model's feature column(s) b"},
		{"tensor: by position", model(t, `[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]`, runtime.Feature{}, runtime.Feature{}),
			tabular.Table{Columns: []tabular.Column{floats("0", 1), floats("1", 2)}}, []float64{1, 2}, ""},
		{"tensor: wrong width", model(t, `[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]`, runtime.Feature{}, runtime.Feature{}),
			tabular.Table{Columns: []tabular.Column{floats("0", 1)}}, nil, "tensors of 2 values per row"},
		{"categories by name, unseen is missing", model(t, "", runtime.Feature{Name: "c", Categorical: true, Categories: []string{"red", "blue"}}),
			tabular.Table{Columns: []tabular.Column{{Name: "c", Type: tabular.String, Strings: []string{"blue", "green", "red"}}}}, []float64{1, math.NaN(), 0}, ""},
		{"category names without stored categories", model(t, "", runtime.Feature{Name: "c", Categorical: true}),
			tabular.Table{Columns: []tabular.Column{{Name: "c", Type: tabular.String, Strings: []string{"blue"}}}}, nil, "stores no category names"},
		{"booleans are 0 and 1", model(t, "", named("a")...),
			tabular.Table{Columns: []tabular.Column{{Name: "a", Type: tabular.Bool, Bools: []bool{true, false}}}}, []float64{1, 0}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x, _, err := tc.m.matrix(&tc.table)
			if tc.err != "" {
				var ie *InputError
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if !errors.As(err, &ie) {
					t.Fatalf("%v is not an InputError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(x) != len(tc.want) {
				t.Fatalf("matrix %v, want %v", x, tc.want)
			}
			for i := range x {
				if x[i] != tc.want[i] && !(math.IsNaN(x[i]) && math.IsNaN(tc.want[i])) {
					t.Fatalf("matrix %v, want %v", x, tc.want)
				}
			}
		})
	}
}

func TestParseOutput(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Output{"": Predict, "proba": Proba, "predict_proba": Proba, "raw_score": Margin, "MARGIN": Margin} {
		if got, err := ParseOutput(in); err != nil || got != want {
			t.Errorf("ParseOutput(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseOutput("logits"); err == nil {
		t.Error("unknown output accepted")
	}
}
