package lightgbm

import (
	"math"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// tinyModel is a hand-written two-split model: a <= 0.5 ? (b <= 1.5 ? 1 : 3) : 2.
const tinyModel = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=a b
feature_infos=[0:1] [0:2]
tree_sizes=400

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=1 1
threshold=0.5 1.5
decision_type=2 2
left_child=1 -1
right_child=-2 -3
leaf_value=1 2 3
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0 0
internal_weight=0 0
internal_count=3 2
is_linear=0
shrinkage=1


end of trees

feature_importances:
a=1
b=1

parameters:
[boosting: gbdt]
end of parameters

pandas_categorical:null
`

// edit applies replacements to tinyModel (each old string must occur).
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := tinyModel
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("edit: %q not in the model", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestTinyModel(t *testing.T) {
	t.Parallel()
	m, err := Load([]byte(tinyModel))
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	x := []float64{0, 0, 0, 2, 1, 0, 0.5, 1.5, nan, nan}
	got := eval(m, runtime.Transformed, x, 5)
	want := []float64{1, 3, 2, 1, 1} // NaN with missing type None reads as 0.0
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if m.NumTrees() != 1 || m.Objective() != "regression" || m.Width(runtime.Margin) != 1 {
		t.Errorf("NumTrees %d, Objective %q, Width %d", m.NumTrees(), m.Objective(), m.Width(runtime.Margin))
	}
}

// TestLayoutCounts checks that the training counts, which only order the node layout,
// change no output, whichever child they favour and when they are missing or malformed.
func TestLayoutCounts(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	x := []float64{0, 0, 0, 2, 1, 0, 0.5, 1.5, nan, nan, -1, 3, 2, nan, 0.4, 1.6, 0.6, 0, 0, 1}
	want := []float64{1, 3, 2, 1, 1, 3, 2, 3, 2, 1}
	for _, counts := range []string{
		"internal_count=3 2\n",
		"internal_count=9 1\nleaf_count=1 8 1\n", // right-heavy
		"internal_count=x y\n",                   // malformed: file order
		"",                                       // missing
	} {
		model := edit(t, "internal_count=3 2\n", counts)
		if strings.Contains(counts, "leaf_count") {
			model = strings.Replace(model, "leaf_count=1 1 1\n", "", 1)
		}
		m, err := Load([]byte(model))
		if err != nil {
			t.Fatalf("%q: %v", counts, err)
		}
		for _, rows := range []int{1, len(want)} {
			for r0 := 0; r0 < len(want); r0 += rows {
				got := eval(m, runtime.Margin, x[2*r0:2*(r0+rows)], rows)
				for i, v := range got {
					if v != want[r0+i] {
						t.Errorf("%q: row %d: got %v, want %v", counts, r0+i, v, want[r0+i])
					}
				}
			}
		}
	}
}

// TestDecisionRules runs one numerical split through every missing type and default
// direction (decision_type = default-left bit 2 | missing type << 2).
func TestDecisionRules(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		decision  string
		threshold string
		x         []float64
		want      []float64 // leaf values: 1 left, 2 right
	}{
		// None: NaN reads as 0.0; -1e-36 and 1e-36 read as 0 too
		{"0", "0.5", []float64{0.5, 0.6, nan, -1e-36, math.Inf(1), math.Inf(-1)}, []float64{1, 2, 1, 1, 2, 1}},
		{"0", "-0.5", []float64{nan, 0, -0.5}, []float64{2, 2, 1}},
		// None with a threshold on the zero band's edge: inputs within it are 0
		{"0", "-1.0000000180025095e-35", []float64{-1.0000000180025095e-35, -2e-35, 0}, []float64{2, 1, 2}},
		{"0", "1.0000000180025095e-35", []float64{1.0000000180025095e-35, 2e-35, -5e-36}, []float64{1, 2, 1}},
		// Zero (4), default right: 0, tiny and NaN go right
		{"4", "0.5", []float64{0, 1e-36, nan, -1, 0.1}, []float64{2, 2, 2, 1, 1}},
		// Zero, default left (6)
		{"6", "-0.5", []float64{0, -1e-35, nan, -1, 0.1}, []float64{1, 1, 1, 1, 2}},
		// NaN (8), default right; zero compares normally
		{"8", "-0.5", []float64{nan, 0, -1}, []float64{2, 2, 1}},
		// NaN, default left (10)
		{"10", "-0.5", []float64{nan, 0, -0.5}, []float64{1, 2, 1}},
		// Infinite and NaN thresholds (x <= NaN never holds)
		{"4", "inf", []float64{0, nan, 5, inf, -1, 1e-36}, []float64{2, 2, 1, 1, 1, 2}},
		{"6", "-inf", []float64{0, nan, -inf, -1, 1e-36}, []float64{1, 1, 1, 2, 1}},
		{"8", "-inf", []float64{nan, -inf, 0}, []float64{2, 1, 2}},
		{"2", "inf", []float64{nan, 1e300, inf}, []float64{1, 1, 1}},
		{"0", "nan", []float64{nan, 0, 1}, []float64{2, 2, 2}},
		{"10", "nan", []float64{nan, 0, -1}, []float64{1, 2, 2}},
		{"4", "nan", []float64{nan, 0, -1}, []float64{2, 2, 2}},
		{"6", "nan", []float64{nan, 1e-36, -1}, []float64{1, 1, 2}},
	}
	for _, c := range cases {
		model := strings.Replace(strings.Replace(strings.Replace(strings.Replace(strings.Replace(strings.Replace(
			tinyModel, "num_leaves=3", "num_leaves=2", 1),
			"split_feature=0 1", "split_feature=0", 1),
			"threshold=0.5 1.5", "threshold="+c.threshold, 1),
			"decision_type=2 2", "decision_type="+c.decision, 1),
			"left_child=1 -1\nright_child=-2 -3", "left_child=-1\nright_child=-2", 1),
			"leaf_value=1 2 3", "leaf_value=1 2", 1)
		model = strings.NewReplacer("split_gain=1 1", "split_gain=1", "leaf_weight=1 1 1", "leaf_weight=1 1",
			"leaf_count=1 1 1", "leaf_count=1 1", "internal_value=0 0", "internal_value=0",
			"internal_weight=0 0", "internal_weight=0", "internal_count=3 2", "internal_count=2").Replace(model)
		m, err := Load([]byte(model))
		if err != nil {
			t.Fatalf("decision_type=%s: %v", c.decision, err)
		}
		// Alone, and repeated into enough rows to go through the tiles too.
		for _, copies := range []int{1, 9} {
			var x []float64
			for range copies {
				for _, v := range c.x {
					x = append(x, v, 0)
				}
			}
			got := eval(m, runtime.Margin, x, len(x)/2)
			for i, v := range got {
				if want := c.want[i%len(c.x)]; v != want {
					t.Errorf("decision_type=%s threshold=%s x=%v (%d rows): leaf %v, want %v", c.decision, c.threshold, c.x[i%len(c.x)], len(got), v, want)
				}
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, model, want string
	}{
		{"empty", "", "empty model file"},
		{"not a model", "{\"learner\": {}}", "not a LightGBM text model"},
		{"truncated", tinyModel[:len(tinyModel)/2], "truncated model"},
		{"truncated in header", tinyModel[:60], "truncated model"},
		{"no trees", edit(t, "Tree=0", "end of trees\nTree=0"), "0 trees"},
		{"future version", edit(t, "version=v4", "version=v9"), `model format "v9" not supported`},
		{"leaf_value length", edit(t, "leaf_value=1 2 3", "leaf_value=1 2"), "leaf_value has 2 entries, want 3"},
		{"threshold length", edit(t, "threshold=0.5 1.5", "threshold=0.5"), "threshold has 1 entries, want 2"},
		{"child out of range", edit(t, "right_child=-2 -3", "right_child=-2 -4"), "right_child[1]=-4 out of range"},
		{"node child out of range", edit(t, "left_child=1 -1", "left_child=2 -1"), "left_child[0]=2 out of range"},
		{"cycle to the root", edit(t, "left_child=1 -1", "left_child=1 0"), "the root cannot be a child"},
		{"self loop", edit(t, "left_child=1 -1\nright_child=-2 -3", "left_child=1 1\nright_child=-2 -3"), "node 1 has two parents"},
		{"shared leaf", edit(t, "right_child=-2 -3", "right_child=-2 -2"), "leaf 1 has two parents"},
		{"bad number", edit(t, "threshold=0.5 1.5", "threshold=0.5 x1"), `threshold[1]: "x1" is not a number`},
		{"hex number", edit(t, "threshold=0.5 1.5", "threshold=0.5 0x1p1"), "is not a number"},
		{"bad integer", edit(t, "split_feature=0 1", "split_feature=0 1.5"), "split_feature[1]"},
		{"feature out of range", edit(t, "split_feature=0 1", "split_feature=0 2"), "split_feature[1]=2, model has 2 features"},
		{"decision_type", edit(t, "decision_type=2 2", "decision_type=2 300"), "decision_type[1]=300"},
		{"huge num_leaves", edit(t, "num_leaves=3", "num_leaves=2000000000"), "leaf_value has 3 entries, want 2000000000"},
		{"num_leaves overflow", edit(t, "num_leaves=3", "num_leaves=99999999999"), "num_leaves"},
		{"zero leaves", edit(t, "num_leaves=3", "num_leaves=0"), "num_leaves=0"},
		{"huge num_class", edit(t, "num_class=1\nnum_tree_per_iteration=1", "num_class=1000000000\nnum_tree_per_iteration=1000000000"), "objective regression has one output"},
		{"huge num_class custom", edit(t, "num_class=1\nnum_tree_per_iteration=1", "num_class=1000000000\nnum_tree_per_iteration=1000000000", "objective=regression\n", ""), "1 trees, want a positive multiple of num_tree_per_iteration=1000000000"},
		{"class mismatch", edit(t, "num_tree_per_iteration=1", "num_tree_per_iteration=2"), "num_class=1 with num_tree_per_iteration=2"},
		{"huge max_feature_idx", edit(t, "max_feature_idx=1", "max_feature_idx=1999999999"), "feature_names has 2 entries, max_feature_idx=1999999999"},
		{"feature_infos length", edit(t, "feature_infos=[0:1] [0:2]", "feature_infos=[0:1]"), "feature_infos has 1 entries"},
		{"unknown objective", edit(t, "objective=regression", "objective=reg:squarederror"), "unsupported objective \"reg:squarederror\" (supported: regression,"},
		{"binary without sigmoid", edit(t, "objective=regression", "objective=binary"), "sigmoid must be a positive number"},
		{"multiclass mismatch", edit(t, "objective=regression", "objective=multiclass num_class:3"), "num_class:3, header num_class=1"},
		{"tree order", edit(t, "Tree=0", "Tree=1"), `"Tree=1", want "Tree=0"`},
		{"tree_sizes", edit(t, "tree_sizes=400", "tree_sizes=400 400"), "tree_sizes lists 2 trees"},
		{"not key=value", edit(t, "shrinkage=1", "shrinkage"), `"shrinkage" is not key=value`},
		{"duplicate key", edit(t, "shrinkage=1", "shrinkage=1\nshrinkage=1"), `key "shrinkage" appears twice`},
		{"pandas json", edit(t, "pandas_categorical:null", "pandas_categorical:[[\"a\""), "pandas_categorical"},
		{"pandas nested", edit(t, "pandas_categorical:null", "pandas_categorical:[[[1]]]"), "not a string, number or boolean"},
		{"categorical index", edit(t, "num_cat=0", "num_cat=1\ncat_boundaries=0 1\ncat_threshold=5", "decision_type=2 2", "decision_type=2 1", "threshold=0.5 1.5", "threshold=0.5 1"),
			"threshold[1]=1: categorical split needs a category set index in [0,1)"},
		{"cat_boundaries", edit(t, "num_cat=0", "num_cat=2\ncat_boundaries=0 2 1\ncat_threshold=5", "decision_type=2 2", "decision_type=2 1", "threshold=0.5 1.5", "threshold=0.5 1"),
			"cat_boundaries decrease"},
		{"cat_threshold claim", edit(t, "num_cat=0", "num_cat=1\ncat_boundaries=0 2000000000\ncat_threshold=5", "decision_type=2 2", "decision_type=2 1", "threshold=0.5 1.5", "threshold=0.5 0"),
			"cat_threshold has 1 entries, want 2000000000"},
		{"linear features", edit(t, "is_linear=0", "is_linear=1\nleaf_const=0 0 0\nnum_features=1 0 0\nleaf_features=7\nleaf_coeff=1"), "leaf_features[0]=7, model has 2 features"},
		{"linear claim", edit(t, "is_linear=0", "is_linear=1\nleaf_const=0 0 0\nnum_features=2000000000 2000000000 0\nleaf_features=1\nleaf_coeff=1"), "num_features sums to 4000000000"},
		{"linear coeff length", edit(t, "is_linear=0", "is_linear=1\nleaf_const=0 0 0\nnum_features=1 0 0\nleaf_features=1\nleaf_coeff=1 2"), "leaf_coeff has 2 entries, want 1"},
		{"is_linear value", edit(t, "is_linear=0", "is_linear=2"), `is_linear="2"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, err := Load([]byte(c.model))
			if err == nil {
				t.Fatalf("loaded (%d trees), want error containing %q", m.NumTrees(), c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "lightgbm: ") {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestHostileCountsDoNotAllocate checks that counts the data does not back cost nothing.
func TestHostileCountsDoNotAllocate(t *testing.T) {
	hostile := []string{
		edit(t, "num_leaves=3", "num_leaves=2000000000"),
		edit(t, "max_feature_idx=1", "max_feature_idx=2000000000"),
		edit(t, "num_cat=0", "num_cat=2000000000"),
		edit(t, "num_class=1\nnum_tree_per_iteration=1", "num_class=2000000000\nnum_tree_per_iteration=2000000000", "objective=regression\n", ""),
		edit(t, "is_linear=0", "is_linear=1\nleaf_const=0 0 0\nnum_features=2000000000 2000000000 2000000000\nleaf_features=1\nleaf_coeff=1"),
	}
	for i, model := range hostile {
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		if _, err := Load([]byte(model)); err == nil {
			t.Fatalf("hostile model %d loaded", i)
		}
		goruntime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("hostile model %d: Load allocated %d bytes", i, d)
		}
	}
}

func TestAcceptsOlderAndOddLayouts(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"v2 without version, is_linear or tree_sizes": edit(t, "version=v4\n", "", "is_linear=0\n", "", "tree_sizes=400\n", ""),
		"CRLF line endings":                           strings.ReplaceAll(tinyModel, "\n", "\r\n"),
		"no pandas line":                              edit(t, "pandas_categorical:null\n", ""),
		"no decision_type":                            edit(t, "decision_type=2 2\n", ""),
		"categorical bit, no cats":                    edit(t, "decision_type=2 2", "decision_type=3 3"),
		"custom objective":                            edit(t, "objective=regression\n", ""),
		"average_output (rf) header":                  edit(t, "objective=regression\n", "objective=regression\naverage_output\n"),
	}
	for name, model := range cases {
		m, err := Load([]byte(model))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := eval(m, runtime.Transformed, []float64{0, 0, 0, 2, 1, 0}, 3)
		if got[0] != 1 || got[1] != 3 || got[2] != 2 {
			t.Errorf("%s: got %v, want [1 3 2]", name, got)
		}
	}
}

func TestEvalPanicsOnShortBuffers(t *testing.T) {
	t.Parallel()
	m, err := Load([]byte(tinyModel))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "needs 4 inputs") {
			t.Errorf("recover() = %v", r)
		}
	}()
	m.Eval(runtime.Margin, []float64{1, 2, 3}, 2, make([]float64, 2))
}
