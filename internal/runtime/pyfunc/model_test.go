package pyfunc

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime/fixture"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// The golden MLflow model folders come from python/fixtures/mlflow_models.py: models saved
// by mlflow itself with what its pyfunc predict returned for the same input.
const mlflowFixtures = "../testdata/mlflow"

// mlflowRoots are the committed golden folders and, under `make test`, freshly made ones.
func mlflowRoots() []string {
	var out []string
	for _, r := range fixture.Roots() {
		out = append(out, filepath.Join(r, "mlflow"))
	}
	return out
}

type mlflowCase struct {
	Note  string `json:"note"`
	Input struct {
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
	} `json:"input"`
	Predict      [][]any     `json:"predict"`
	PredictProba [][]float64 `json:"predict_proba"`
	Margin       [][]float64 `json:"margin"`
}

func loadCase(t *testing.T, dir string) (*mlflowCase, *tabular.Table) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatalf("%v (run `make fixtures`)", err)
	}
	var c mlflowCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c, splitTable(c.Input.Columns, c.Input.Data)
}

// splitTable builds a table from pandas' split orient: a column holding any string is a
// string column, else doubles; null is missing.
func splitTable(columns []string, data [][]any) *tabular.Table {
	t := &tabular.Table{}
	for j, name := range columns {
		col := tabular.Column{Name: name, Type: tabular.Float64, Null: make([]bool, len(data))}
		for _, row := range data {
			if _, ok := row[j].(string); ok {
				col.Type = tabular.String
			}
		}
		for i, row := range data {
			s, _ := row[j].(string)
			f, _ := row[j].(float64)
			col.Null[i] = row[j] == nil
			if col.Type == tabular.String {
				col.Strings = append(col.Strings, s)
			} else {
				col.Floats = append(col.Floats, f)
			}
		}
		t.Columns = append(t.Columns, col)
	}
	return t
}

// flat reads a table's columns row by row as float64 (labels as strings where they are).
func flat(t *tabular.Table) (nums []float64, strs []string) {
	for i := 0; i < t.Rows(); i++ {
		for _, c := range t.Columns {
			switch c.Type {
			case tabular.Float64:
				nums = append(nums, c.Floats[i])
			case tabular.Int64:
				nums = append(nums, float64(c.Ints[i]))
			case tabular.String:
				strs = append(strs, c.Strings[i])
			}
		}
	}
	return nums, strs
}

func TestMLflowModelsMatchPyfunc(t *testing.T) {
	t.Parallel()
	for _, root := range mlflowRoots() {
		for _, name := range []string{"xgb-booster", "xgb-classifier", "xgb-tensor", "lgb-booster", "lgb-classifier-skops", "lgb-regressor-skops"} {
			t.Run(filepath.Join(root, name), func(t *testing.T) {
				t.Parallel()
				checkCase(t, filepath.Join(root, name))
			})
		}
	}
}

func checkCase(t *testing.T, dir string) {
	t.Helper()
	c, in := loadCase(t, dir)
	m, err := Load(filepath.Join(dir, "model"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	nums, strs := flat(got)
	width := len(c.Predict[0])
	if len(got.Columns) != width {
		t.Fatalf("predict: %d columns, pyfunc returned %d per row", len(got.Columns), width)
	}
	var want [][]float64
	for i, row := range c.Predict {
		w := make([]float64, len(row))
		for j, v := range row {
			switch v := v.(type) {
			case string:
				if strs[i*width+j] != v {
					t.Fatalf("row %d: label %q, pyfunc %q", i, strs[i*width+j], v)
				}
			case float64:
				w[j] = v
			}
		}
		want = append(want, w)
	}
	if strs == nil {
		fixture.Compare(t, "predict", nums, width, want)
	}
	if c.PredictProba != nil {
		p, err := m.Predict(in, Options{Output: Proba})
		if err != nil {
			t.Fatal(err)
		}
		nums, _ := flat(p)
		fixture.Compare(t, "predict_proba", nums, len(c.PredictProba[0]), c.PredictProba)
	}
	if c.Margin != nil {
		p, err := m.Predict(in, Options{Output: Margin})
		if err != nil {
			t.Fatal(err)
		}
		nums, _ := flat(p)
		fixture.Compare(t, "margin", nums, len(c.Margin[0]), c.Margin)
	}
}

func TestUnsupportedFlavorIsNamed(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(mlflowFixtures, "sklearn-refused", "model"))
	if err == nil || !strings.Contains(err.Error(), "sklearn") || !strings.Contains(err.Error(), "xgboost") {
		t.Fatalf("want a refusal naming sklearn and what is supported, got %v", err)
	}
}

func TestSkopsClassifierLabelsAndProbaColumns(t *testing.T) {
	t.Parallel()
	_, in := loadCase(t, filepath.Join(mlflowFixtures, "lgb-classifier-skops"))
	m, err := Load(filepath.Join(mlflowFixtures, "lgb-classifier-skops", "model"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(in, Options{Output: Proba})
	if err != nil {
		t.Fatal(err)
	}
	if p.Columns[0].Name != "proba_no" || p.Columns[1].Name != "proba_yes" {
		t.Fatalf("probability columns %s, %s: want proba_no, proba_yes", p.Columns[0].Name, p.Columns[1].Name)
	}
	for i := range p.Columns[0].Floats {
		if s := p.Columns[0].Floats[i] + p.Columns[1].Floats[i]; math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
	}
}

func TestProbaOfARegressorIsRefused(t *testing.T) {
	t.Parallel()
	_, in := loadCase(t, filepath.Join(mlflowFixtures, "lgb-regressor-skops"))
	m, err := Load(filepath.Join(mlflowFixtures, "lgb-regressor-skops", "model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(in, Options{Output: Proba}); err == nil || !strings.Contains(err.Error(), "classification") {
		t.Fatalf("want a refusal, got %v", err)
	}
}
