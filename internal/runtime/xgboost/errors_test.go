package xgboost

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// TestBadModels edits a real model and checks that Load refuses it with a message that
// names the problem, in both file formats.
func TestBadModels(t *testing.T) {
	t.Parallel()
	tree0 := []any{"learner", "gradient_booster", "model", "trees", 0}
	set := func(path []any, key string, v any) func(t *testing.T, d map[string]any) {
		return func(t *testing.T, d map[string]any) { at(t, d, path...).(map[string]any)[key] = v }
	}
	setIndex := func(path []any, key string, i int, v any) func(t *testing.T, d map[string]any) {
		return func(t *testing.T, d map[string]any) { at(t, d, append(path, key)...).([]any)[i] = v }
	}
	param := []any{"learner", "learner_model_param"}
	for _, c := range []struct {
		name, fixture string
		edit          func(t *testing.T, d map[string]any)
		want          string
	}{
		{"learner missing", "binary-logistic-json", func(t *testing.T, d map[string]any) { delete(d, "learner") }, `missing "learner"`},
		{"learner not an object", "binary-logistic-json", set(nil, "learner", []any{}), "learner: want an object"},
		{"num_feature not a number", "binary-logistic-json", set(param, "num_feature", "six"), `"six" is not an integer`},
		{"huge num_feature", "binary-logistic-json", set(param, "num_feature", "999999999999"), "num_feature 999999999999 is missing or out of range"},
		{"split_conditions a string", "binary-logistic-json", set(tree0, "split_conditions", "x"), "split_conditions: want an array of numbers"},
		{"num_nodes not a number", "binary-logistic-json", set(append(tree0, "tree_param"), "num_nodes", "x"), `num_nodes: "x" is not an integer`},
		{"right_children too short", "binary-logistic-json", func(t *testing.T, d map[string]any) {
			p := at(t, d, tree0...).(map[string]any)
			p["right_children"] = p["right_children"].([]any)[1:]
		}, "tree 0: right_children has"},
		{"num_nodes past the arrays", "binary-logistic-json", set(append(tree0, "tree_param"), "num_nodes", "100000"), "tree 0: num_nodes 100000"},
		{"child out of range", "binary-logistic-json", setIndex(tree0, "left_children", 0, num(9999)), "tree 0: node 0: child 9999 out of range"},
		{"child is the root", "binary-logistic-json", setIndex(tree0, "right_children", 1, num(0)), "child 0 out of range"},
		{"cycle", "binary-logistic-json", setIndex(tree0, "left_children", 1, num(1)), "node 1 is reached twice"},
		{"shared child", "binary-logistic-json", setIndex(tree0, "left_children", 2, num(3)), "is reached twice"},
		{"leaf with one child", "binary-logistic-json", func(t *testing.T, d map[string]any) {
			p := at(t, d, tree0...).(map[string]any)
			l, r := p["left_children"].([]any), p["right_children"].([]any)
			for i := range l {
				if l[i] == json.Number("-1") {
					r[i] = num(1)
					return
				}
			}
		}, "has no left child but right child"},
		{"feature out of range", "binary-logistic-json", setIndex(tree0, "split_indices", 0, num(64)), "splits on feature 64, but the model has 6"},
		{"negative feature", "binary-logistic-json", setIndex(tree0, "split_indices", 0, num(-2)), "splits on feature -2"},
		{"tree_info group out of range", "binary-logistic-json", setIndex([]any{"learner", "gradient_booster", "model"}, "tree_info", 0, num(3)), "tree_info[0]: output group 3 out of range"},
		{"num_trees mismatch", "binary-logistic-json", set([]any{"learner", "gradient_booster", "model", "gbtree_model_param"}, "num_trees", "3"), "num_trees is 3 but there are"},
		{"tree_info too short", "binary-logistic-json", set([]any{"learner", "gradient_booster", "model"}, "tree_info", []any{num(0)}), "tree_info: 1 entries for"},
		{"iteration_indptr wrong end", "binary-logistic-json", set([]any{"learner", "gradient_booster", "model"}, "iteration_indptr", []any{num(0), num(1)}), "iteration_indptr: must run from 0"},
		{"survival objective", "binary-logistic-json", set([]any{"learner", "objective"}, "name", "survival:cox"), `objective "survival:cox" is not supported (survival`},
		{"unknown objective", "binary-logistic-json", set([]any{"learner", "objective"}, "name", "reg:expectileerror"), `objective "reg:expectileerror" is not supported`},
		{"multi-target", "binary-logistic-json", set(param, "num_target", "2"), "multi-target models (num_target 2) are not supported"},
		{"vector leaf", "binary-logistic-json", set(append(tree0, "tree_param"), "size_leaf_vector", "2"), "vector leaves (size_leaf_vector 2"},
		{"two quantiles", "binary-logistic-json", func(t *testing.T, d map[string]any) {
			at(t, d, "learner", "objective").(map[string]any)["name"] = "reg:quantileerror"
			at(t, d, "learner", "objective").(map[string]any)["quantile_loss_param"] = map[string]any{"quantile_alpha": "[1E-1,9E-1]"}
		}, "reg:quantileerror with 2 quantiles"},
		{"gblinear", "binary-logistic-json", set([]any{"learner", "gradient_booster"}, "name", "gblinear"), "gblinear (linear booster) models are not supported"},
		{"base_score outside (0,1)", "binary-logistic-json", set(param, "base_score", "1.5"), "base_score 1.5 must be in (0, 1)"},
		{"base_score not a number", "binary-logistic-json", set(param, "base_score", "[abc]"), `"[abc]" is not a number`},
		{"base_score vector too long", "binary-logistic-json", set(param, "base_score", "[1E-1,2E-1]"), "2 values for 1 outputs"},
		{"log-link base_score not positive", "count-poisson", set(param, "base_score", "0"), "must be positive"},
		{"num_class with a binary objective", "binary-logistic-json", set(param, "num_class", "3"), `num_class 3 with objective "binary:logistic"`},
		{"feature_names too short", "binary-logistic-json", set([]any{"learner"}, "feature_names", []any{"a"}), "1 names for num_feature 6"},
		{"dart weights too short", "dart-binary", set([]any{"learner", "gradient_booster"}, "weight_drop", []any{num(1)}), "weight_drop: 1 weights for"},
		{"dart without weights", "dart-binary", func(t *testing.T, d map[string]any) {
			delete(at(t, d, "learner", "gradient_booster").(map[string]any), "weight_drop")
		}, "dart without weight_drop"},
		{"categorical node without set", "categorical-onehot-regression", func(t *testing.T, d map[string]any) {
			for _, tr := range at(t, d, "learner", "gradient_booster", "model", "trees").([]any) {
				p := tr.(map[string]any)
				if len(p["categories_nodes"].([]any)) > 0 {
					p["categories_nodes"], p["categories_segments"], p["categories_sizes"] = []any{}, []any{}, []any{}
					return
				}
			}
			t.Fatal("no categorical split")
		}, "has no categories"},
		{"categories segment out of range", "categorical-onehot-regression", func(t *testing.T, d map[string]any) {
			for _, tr := range at(t, d, "learner", "gradient_booster", "model", "trees").([]any) {
				p := tr.(map[string]any)
				if len(p["categories_nodes"].([]any)) > 0 {
					p["categories_sizes"].([]any)[0] = num(1000)
					return
				}
			}
		}, "is outside the"},
		{"negative category", "categorical-onehot-regression", func(t *testing.T, d map[string]any) {
			for _, tr := range at(t, d, "learner", "gradient_booster", "model", "trees").([]any) {
				p := tr.(map[string]any)
				if len(p["categories"].([]any)) > 0 {
					p["categories"].([]any)[0] = num(-4)
					return
				}
			}
		}, "negative category -4"},
		{"categories arrays disagree", "categorical-onehot-regression", func(t *testing.T, d map[string]any) {
			for _, tr := range at(t, d, "learner", "gradient_booster", "model", "trees").([]any) {
				p := tr.(map[string]any)
				if len(p["categories_nodes"].([]any)) > 0 {
					p["categories_sizes"] = p["categories_sizes"].([]any)[1:]
					return
				}
			}
		}, "categories_nodes, categories_segments and categories_sizes have"},
		{"cats offsets past values", "categorical-onehot-regression", func(t *testing.T, d map[string]any) {
			for _, e := range at(t, d, "learner", "gradient_booster", "model", "cats", "enc").([]any) {
				if off := e.(map[string]any)["offsets"].([]any); len(off) > 2 {
					off[1] = num(100000)
					return
				}
			}
		}, "out of order or past the"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			doc := fixtureDoc(t, c.fixture)
			c.edit(t, doc)
			for format, data := range map[string][]byte{"json": toJSON(t, doc), "ubjson": toUBJSON(t, doc)} {
				m, err := Load(data)
				if err == nil {
					t.Errorf("%s: loaded (%d trees), want an error containing %q", format, m.NumTrees(), c.want)
					continue
				}
				if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "xgboost: ") {
					t.Errorf("%s: error %q, want it to contain %q", format, err, c.want)
				}
			}
		})
	}
}

// TestBadBytes feeds malformed and hostile bytes: Load must fail fast, without panics
// and without allocating for counts the input cannot hold.
func TestBadBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "not an XGBoost JSON or UBJSON model"},
		{"legacy binary", "binf\x00\x00\x00\x3f", `legacy binary XGBoost format, which Plinth does not read; load it with xgboost ≥1.6 and re-save it as JSON or UBJSON (booster.save_model("model.ubj"))`},
		{"older legacy binary", "\x00\x00\x00\x3f\x06\x00\x00\x00", "legacy binary"},
		{"brace then garbage", "{\x01", "not an XGBoost JSON or UBJSON model"},
		{"json truncated", `{"learner": {"feature_names": [`, "unexpected end of input"},
		{"json trailing", `{} {}`, "after the document"},
		{"json bad literal", `{"a": tru}`, "unexpected 't'"},
		{"json bad number", `{"a": [1, 2, 3-4]}`, `bad number "3-4"`},
		{"json deep", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", "nesting deeper than 64"},
		{"json not a model", `{"a": 1}`, `missing "learner"`},
		{"ubjson huge typed count", "{L\x00\x00\x00\x00\x00\x00\x00\x01a[$d#L\x7f\x00\x00\x00\x00\x00\x00\x00", "larger than the"},
		{"ubjson huge count", "{L\x00\x00\x00\x00\x00\x00\x00\x01a[#L\x00\x00\x00\x00\x7f\x00\x00\x00", "larger than the"},
		{"ubjson negative count", "{L\x00\x00\x00\x00\x00\x00\x00\x01a[#i\xff", "negative length"},
		{"ubjson huge string", "{L\x00\x00\x00\x00\x00\x00\x00\x01aSL\x00\x00\x10\x00\x00\x00\x00\x00", "larger than the"},
		{"ubjson null-typed array", "{L\x00\x00\x00\x00\x00\x00\x00\x01a[$Z#L\x7f\x00\x00\x00\x00\x00\x00\x00", "containers of type 'Z' are not supported"},
		{"ubjson $ without #", "{L\x00\x00\x00\x00\x00\x00\x00\x01a[$d\x00", "'$' without '#'"},
		{"ubjson unknown marker", "{L\x00\x00\x00\x00\x00\x00\x00\x01aX", "unknown type marker 'X'"},
		{"ubjson truncated key", "{L\x00\x00\x00\x00\x00\x00\x00\x05lear", "length 5 is larger than the 4 bytes left"},
		{"ubjson truncated length", "{L\x00\x00", "unexpected end of input"},
		{"ubjson deep", "{i\x01a" + strings.Repeat("[", 100), "nesting deeper than 64"},
		{"ubjson trailing", "{#i\x00}", "1 bytes after the document"},
		{"ubjson key length not an integer", "{i\x01a{d\x00\x00\x00\x00}}", "want an integer type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load([]byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestTruncated loads every prefix of a small model in both formats: all must fail
// cleanly.
func TestTruncated(t *testing.T) {
	t.Parallel()
	doc := fixtureDoc(t, "categorical-onehot-regression")
	for format, data := range map[string][]byte{"json": toJSON(t, doc), "ubjson": toUBJSON(t, doc)} {
		if _, err := Load(data); err != nil {
			t.Fatalf("%s: the whole model: %v", format, err)
		}
		step := max(1, len(data)/300)
		for n := 0; n < len(data); n += step {
			if _, err := Load(data[:n]); err == nil {
				t.Fatalf("%s: a %d-byte prefix of %d loaded", format, n, len(data))
			}
		}
	}
}

// TestFormatsAgree converts JSON fixtures to UBJSON (as xgboost writes it) and checks
// that both decoders build the same model.
func TestFormatsAgree(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "testdata", "fixtures", "xgboost", "current")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "model.json")); err != nil {
			continue
		}
		doc := fixtureDoc(t, e.Name())
		a, err := Load(toJSON(t, doc))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load(toUBJSON(t, doc))
		if err != nil {
			t.Fatalf("%s as UBJSON: %v", e.Name(), err)
		}
		if !sameModel(a, b) {
			t.Errorf("%s: the JSON and UBJSON decodings differ", e.Name())
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d JSON fixtures", checked)
	}
}

func sameModel(a, b *Model) bool {
	return a.objective == b.objective && reflect.DeepEqual(a.features, b.features) &&
		reflect.DeepEqual(a.base, b.base) && reflect.DeepEqual(a.roots, b.roots) &&
		reflect.DeepEqual(a.depths, b.depths) && reflect.DeepEqual(a.treeGroup, b.treeGroup) &&
		reflect.DeepEqual(a.catBits, b.catBits) && reflect.DeepEqual(a.leafValues, b.leafValues) &&
		sameNodes(a.nodes, b.nodes)
}

// sameNodes compares nodes bit for bit (leaves hold NaN, which DeepEqual never equates).
func sameNodes(a, b []node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].meta != b[i].meta || a[i].left != b[i].left || math.Float32bits(a[i].value) != math.Float32bits(b[i].value) {
			return false
		}
	}
	return true
}

// TestSniff covers the format detection.
func TestSniff(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		data string
		want format
	}{
		{`{"learner":{}}`, formatJSON}, {" \n{ \"a\": 1}", formatJSON}, {"{}", formatJSON},
		{"{L\x00", formatUBJSON}, {"{i\x01", formatUBJSON}, {"{#L", formatUBJSON}, {"{$", formatUBJSON},
		{"binf", formatUnknown}, {"", formatUnknown}, {"[1]", formatUnknown},
	} {
		if got := sniff([]byte(c.data)); got != c.want {
			t.Errorf("sniff(%q) = %v, want %v", c.data, got, c.want)
		}
	}
}

// TestFeatures checks names, types and the categories container of a 3.1+ model.
func TestFeatures(t *testing.T) {
	t.Parallel()
	doc := fixtureDoc(t, "categorical-onehot-regression")
	m, err := Load(toJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Features()
	want := []runtime.Feature{
		{Name: "num0"}, {Name: "num1"}, {Name: "num2"}, {Name: "num3"},
		{Name: "color", Categorical: true, Categories: []string{"red", "green", "blue", "yellow", "black"}},
		{Name: "city", Categorical: true, Categories: []string{"city00", "city01", "city02", "city03", "city04",
			"city05", "city06", "city07", "city08", "city09", "city10", "city11"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("features\n got %+v\nwant %+v", got, want)
	}
	// Without names, xgboost's own f0, f1, ….
	delete(at(t, doc, "learner").(map[string]any), "feature_names")
	m, err = Load(toJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Features(); f[0].Name != "f0" || f[5].Name != "f5" || !f[5].Categorical {
		t.Errorf("unnamed features: %+v", f)
	}
}
