package serving

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
)

// The golden MLflow models (python/fixtures/mlflow_models.py) with mlflow's own predictions.
const golden = "../runtime/testdata/mlflow"

type goldenCase struct {
	Input struct {
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
	} `json:"input"`
	Predict [][]any `json:"predict"`
}

func serve(t *testing.T, name string, opt Options) (*httptest.Server, goldenCase) {
	t.Helper()
	m, err := pyfunc.Load(filepath.Join(golden, name, "model"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(golden, name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewModelServer(name, "3", m, opt))
	t.Cleanup(srv.Close)
	return srv, c
}

func post(t *testing.T, url, ctype, body string) (*http.Response, map[string]any) {
	t.Helper()
	res, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func split(c goldenCase) string {
	b, _ := json.Marshal(map[string]any{"dataframe_split": c.Input})
	return string(b)
}

func TestInvocationsMatchMLflow(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"xgb-booster", "lgb-classifier-skops"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, c := serve(t, name, Options{})
			res, out := post(t, srv.URL+"/invocations", "application/json", split(c))
			if res.StatusCode != 200 || res.Header.Get(ModelHeader) != name || res.Header.Get(ModelVersionHeader) != "3" || res.Header.Get("X-Request-Id") == "" {
				t.Fatalf("HTTP %d, headers %v, body %v", res.StatusCode, res.Header, out)
			}
			preds := out["predictions"].([]any)
			if len(preds) != len(c.Predict) {
				t.Fatalf("%d predictions for %d rows", len(preds), len(c.Predict))
			}
			for i, p := range preds {
				switch w := c.Predict[i][0].(type) {
				case string:
					if p != w {
						t.Fatalf("row %d: %v, mlflow %v", i, p, w)
					}
				case float64:
					if g, ok := p.(float64); !ok || math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
						t.Fatalf("row %d: %v, mlflow %v", i, p, w)
					}
				}
			}
		})
	}
}

func TestInvocationsErrors(t *testing.T) {
	t.Parallel()
	srv, c := serve(t, "xgb-booster", Options{MaxBody: 4 << 10})
	if res, _ := post(t, srv.URL+"/invocations", "text/plain", split(c)); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: HTTP %d, want 415", res.StatusCode)
	}
	res, out := post(t, srv.URL+"/invocations", "application/json", `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}`)
	if res.StatusCode != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" || !strings.Contains(out["message"].(string), "d") {
		t.Fatalf("missing column: HTTP %d %v", res.StatusCode, out)
	}
	if res, out := post(t, srv.URL+"/invocations", "application/json", `[1, 2]`); res.StatusCode != 400 || out["error_code"] != "BAD_REQUEST" {
		t.Fatalf("bare list: HTTP %d %v", res.StatusCode, out)
	}
	big := `{"dataframe_split": {"columns": ["a"], "data": [` + strings.Repeat("[1],", 2000) + `[1]]}}`
	if res, _ := post(t, srv.URL+"/invocations", "application/json", big); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: HTTP %d, want 413", res.StatusCode)
	}
	res, out = post(t, srv.URL+"/invocations", "text/csv", "a,b,c,d\n0.5,1,,2\n")
	if res.StatusCode != 200 || len(out["predictions"].([]any)) != 1 {
		t.Fatalf("CSV: HTTP %d %v", res.StatusCode, out)
	}
}

func TestOpenInferenceProtocol(t *testing.T) {
	t.Parallel()
	srv, c := serve(t, "xgb-booster", Options{})
	var data []any // flat, row-major; null is a missing value in an FP tensor
	for _, row := range c.Input.Data {
		data = append(data, row...)
	}
	body, _ := json.Marshal(map[string]any{"id": "r1", "inputs": []any{map[string]any{
		"name": "input-0", "shape": []int{len(c.Input.Data), len(c.Input.Columns)}, "datatype": "FP64", "data": data}}})
	res, out := post(t, srv.URL+"/v2/models/xgb-booster/infer", "application/json", string(body))
	if res.StatusCode != 200 || out["model_name"] != "xgb-booster" || out["id"] != "r1" {
		t.Fatalf("infer: HTTP %d %v", res.StatusCode, out)
	}
	tensor := out["outputs"].([]any)[0].(map[string]any)
	got := tensor["data"].([]any)
	for i, w := range c.Predict {
		if g := got[i].(float64); math.Abs(g-w[0].(float64)) > 1e-6 {
			t.Fatalf("row %d: %v, mlflow %v", i, g, w[0])
		}
	}
	if res, _ := post(t, srv.URL+"/v2/models/other/infer", "application/json", string(body)); res.StatusCode != 404 {
		t.Fatalf("unknown model: HTTP %d, want 404", res.StatusCode)
	}
	if res, out := post(t, srv.URL+"/v2/models/xgb-booster/versions/3/infer", "application/json", `{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1]}]}`); res.StatusCode != 400 || out["error"] == nil {
		t.Fatalf("bad tensor: HTTP %d %v", res.StatusCode, out)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2/models/xgb-booster", "/v2/models/xgb-booster/ready", "/ping"} {
		res, err := http.Get(srv.URL + path)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, res, err)
		}
		res.Body.Close()
	}
}
