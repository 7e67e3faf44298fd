package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// Golden MLflow model folders (python/fixtures/mlflow_models.py) with mlflow's own
// pyfunc predictions.
const goldenModels = "../runtime/testdata/mlflow"

type goldenCase struct {
	Input struct {
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
	} `json:"input"`
	Predict [][]any `json:"predict"`
}

// goldenInput writes a case's input rows as CSV and returns the file and the case.
func goldenInput(t *testing.T, name string) (string, goldenCase) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenModels, name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(c.Input.Columns)
	for _, row := range c.Input.Data {
		rec := make([]string, len(row))
		for j, v := range row {
			if f, ok := v.(float64); ok {
				rec[j] = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, c
}

// checkPredictions compares a CSV output's prediction column with mlflow's.
func checkPredictions(t *testing.T, out string, c goldenCase) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for j, h := range recs[0] {
		if h == "prediction" {
			col = j
		}
	}
	if col < 0 || len(recs)-1 != len(c.Predict) {
		t.Fatalf("output header %v with %d rows; want a prediction column and %d rows", recs[0], len(recs)-1, len(c.Predict))
	}
	for i, want := range c.Predict {
		got := recs[i+1][col]
		switch w := want[0].(type) {
		case string:
			if got != w {
				t.Fatalf("row %d: %q, mlflow %q", i, got, w)
			}
		case float64:
			g, err := strconv.ParseFloat(got, 64)
			if err != nil || math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
				t.Fatalf("row %d: %q, mlflow %v", i, got, w)
			}
		}
	}
}

func TestPredictLocalFolder(t *testing.T) {
	t.Parallel()
	in, c := goldenInput(t, "xgb-booster")
	out := ok(t, "models", "predict", "-m", filepath.Join(goldenModels, "xgb-booster", "model"), "-i", in, "-o", "-", "--format", "csv")
	checkPredictions(t, out, c)

	dst := filepath.Join(t.TempDir(), "out.jsonl")
	ok(t, "models", "predict", "-m", filepath.Join(goldenModels, "xgb-booster", "model"), "-i", in, "-o", dst, "--output", "predict_proba", "--keep", "a")
	b, _ := os.ReadFile(dst)
	first := strings.SplitN(string(b), "\n", 2)[0]
	if !strings.HasPrefix(first, `{"a":`) || !strings.Contains(first, `"proba_0":`) || !strings.Contains(first, `"proba_1":`) {
		t.Fatalf("first JSON line %s: want the kept column then proba_0, proba_1", first)
	}
}

func TestPredictErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	in, _ := goldenInput(t, "xgb-booster")
	model := filepath.Join(goldenModels, "xgb-booster", "model")
	out := filepath.Join(t.TempDir(), "out.csv")
	fails(t, []string{"models", "predict", "-m", filepath.Join(goldenModels, "sklearn-refused", "model"), "-i", in, "-o", out}, "sklearn", "supported: xgboost")
	fails(t, []string{"models", "predict", "-m", "./no-such-folder", "-i", in, "-o", out}, "neither a folder nor a model URI")
	fails(t, []string{"models", "predict", "-m", model, "-i", in, "-o", "out.txt"}, "--format csv|jsonl|parquet")
	fails(t, []string{"models", "predict", "-m", model, "-i", in, "-o", out, "--output", "logits"}, "predict, predict_proba or margin")
	fails(t, []string{"models", "predict", "-m", model, "-i", in, "-o", out, "--keep", "nope"}, "--keep nope")
	fails(t, []string{"models", "predict", "-m", model, "-i", filepath.Join(t.TempDir(), "missing.csv"), "-o", out}, "missing.csv")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("a,b,c\n1,2,3\n"), 0o644)
	fails(t, []string{"models", "predict", "-m", model, "-i", bad, "-o", out}, "missing column(s) d")
	os.WriteFile(bad, []byte("a,b,c,d\n1,2,3,4\n1,2,x,4\n"), 0o644)
	fails(t, []string{"models", "predict", "-m", model, "-i", bad, "-o", out}, `column c: "x" in row 2 is not a number`)
}

// upload puts a local model folder's files behind the server's artifact proxy at key.
func upload(t *testing.T, base, dir, key string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodPut, base+artifactsAPI+"/"+key+"/"+filepath.ToSlash(rel), bytes.NewReader(b))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("upload %s: HTTP %d", rel, res.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPredictResolvesModelURIsThroughTheServer(t *testing.T) {
	t.Parallel()
	base, st := apiServer(t)
	ctx := context.Background()
	in, c := goldenInput(t, "lgb-classifier-skops")
	upload(t, base, filepath.Join(goldenModels, "lgb-classifier-skops", "model"), "models/churn/v1")
	if _, err := st.CreateRegisteredModel(ctx, core.RegisteredModel{Name: "churn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateModelVersion(ctx, core.ModelVersion{Name: "churn", Source: "mlflow-artifacts:/models/churn/v1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRegisteredModelAlias(ctx, "churn", "champion", 1); err != nil {
		t.Fatal(err)
	}
	exp, err := st.CreateExperiment(ctx, core.Experiment{Name: "e"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.CreateRun(ctx, core.RunInfo{ExperimentID: exp.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := proxyKey(run.Info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, base, filepath.Join(goldenModels, "lgb-classifier-skops", "model"), key+"/model")

	for _, uri := range []string{"models:/churn@champion", "models:/churn/1", "models:/churn/latest", "runs:/" + run.Info.RunID + "/model"} {
		out := ok(t, "models", "predict", "--server", base, "-m", uri, "-i", in, "-o", "-", "--format", "csv")
		checkPredictions(t, out, c)
	}
	out := filepath.Join(t.TempDir(), "o.csv")
	fails(t, []string{"models", "predict", "--server", base, "-m", "models:/churn@nope", "-i", in, "-o", out}, "nope")
	fails(t, []string{"models", "predict", "--server", base, "-m", "models:/ghost/1", "-i", in, "-o", out}, "ghost", "plinth models list")
	fails(t, []string{"models", "predict", "--server", base, "-m", "models:/churn/Production", "-i", in, "-o", out}, "no version in stage Production")
}

func TestPredictInputExample(t *testing.T) {
	t.Parallel()
	_, c := goldenInput(t, "xgb-booster")
	out := ok(t, "models", "predict", "-m", filepath.Join(goldenModels, "xgb-booster", "model"), "--input-example", "-o", "-", "--format", "csv")
	c.Predict = c.Predict[:3] // the fixture logged its first three rows as the example
	checkPredictions(t, out, c)
	fails(t, []string{"models", "predict", "-m", filepath.Join(goldenModels, "xgb-classifier", "model"), "--input-example", "-o", "-", "--format", "csv"},
		"without an input example")
	fails(t, []string{"models", "predict", "-m", filepath.Join(goldenModels, "xgb-booster", "model"), "-o", "-", "--format", "csv"},
		"-i FILE", "--input-example")
}
