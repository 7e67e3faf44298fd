package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
)

// golden holds MLflow model folders saved by the real libraries (see its generator).
const golden = "../runtime/testdata/mlflow"

// client is shared by the tests: enough idle connections for the load goroutines,
// and a timeout so that a killed server never hangs a request.
var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
}

// doJSON sends body (nil for none) as JSON and decodes the answer into out (may be
// nil); any status other than want fails the test with the answer's body.
func doJSON(t *testing.T, method, u string, body, out any, want int) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, u, res.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, u, data, err)
		}
	}
}

// createRegisteredModel is the mlflow client's MlflowClient.create_registered_model.
func createRegisteredModel(t *testing.T, base, name string) {
	t.Helper()
	doJSON(t, "POST", base+"/api/2.0/mlflow/registered-models/create", map[string]any{"name": name}, nil, 200)
}

// registerVersion does over HTTP what mlflow.<flavor>.log_model(…,
// registered_model_name=model) does with a tracking server that proxies artifacts:
// create a logged model in the default experiment, upload its files through the
// artifact proxy, finalize it, and register its artifact folder as a new version.
// It returns the version number.
func registerVersion(t *testing.T, base, model, fixture string) string {
	t.Helper()
	api := base + "/api/2.0/mlflow"
	var lm struct {
		Model struct {
			Info struct {
				ModelID     string `json:"model_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"model"`
	}
	doJSON(t, "POST", api+"/logged-models", map[string]any{"experiment_id": "0", "name": fixture}, &lm, 200)
	info := lm.Model.Info
	key, ok := blob.ProxiedKey(info.ArtifactURI)
	if !ok || !strings.HasPrefix(info.ModelID, "m-") {
		t.Fatalf("logged model %q has artifact_uri %q; want an mlflow-artifacts: URI", info.ModelID, info.ArtifactURI)
	}
	src := filepath.Join(golden, fixture, "model")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		u := base + "/api/2.0/mlflow-artifacts/artifacts/" + key + "/" + filepath.ToSlash(rel)
		req, err := http.NewRequest("PUT", u, bytes.NewReader(data))
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("PUT %s: HTTP %d: %s", u, res.StatusCode, msg)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("upload %s: %v", fixture, err)
	}
	doJSON(t, "PATCH", api+"/logged-models/"+info.ModelID,
		map[string]any{"model_id": info.ModelID, "status": "LOGGED_MODEL_READY"}, nil, 200)
	var mv struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	doJSON(t, "POST", api+"/model-versions/create",
		map[string]any{"name": model, "source": info.ArtifactURI, "model_id": info.ModelID}, &mv, 200)
	if mv.ModelVersion.Version == "" {
		t.Fatalf("model-versions/create for %s answered no version", model)
	}
	return mv.ModelVersion.Version
}

// setAliasMLflow is MlflowClient.set_registered_model_alias.
func setAliasMLflow(t *testing.T, base, model, alias, version string) {
	t.Helper()
	doJSON(t, "POST", base+"/api/2.0/mlflow/registered-models/alias",
		map[string]any{"name": model, "alias": alias, "version": version}, nil, 200)
}

// setAliasV1 is Plinth's PUT /api/v1/models/{name}/aliases/{alias}.
func setAliasV1(t *testing.T, base, model, alias string, version int64) {
	t.Helper()
	doJSON(t, "PUT", base+"/api/v1/models/"+url.PathEscape(model)+"/aliases/"+url.PathEscape(alias),
		map[string]any{"version": version}, nil, 200)
}

func createEndpoint(t *testing.T, base, name, modelURI string) {
	t.Helper()
	doJSON(t, "POST", base+"/api/v1/endpoints", map[string]any{"name": name, "model_uri": modelURI}, nil, 201)
}

// endpointView is the part of GET /api/v1/endpoints/{name} the tests read.
type endpointView struct {
	Name  string `json:"name"`
	State *struct {
		Degraded bool `json:"degraded"`
		Targets  []struct {
			Role      string `json:"role"`
			Status    string `json:"status"`
			Version   string `json:"version"`
			LastError string `json:"last_error"`
		} `json:"targets"`
	} `json:"state"`
}

func getEndpoint(t *testing.T, base, name string) endpointView {
	t.Helper()
	var e endpointView
	doJSON(t, "GET", base+"/api/v1/endpoints/"+name, nil, &e, 200)
	return e
}

// primary returns the primary target's status and version ("" when absent).
func (e endpointView) primary() (status, version, lastErr string) {
	if e.State == nil {
		return "", "", ""
	}
	for _, tg := range e.State.Targets {
		if tg.Role == "primary" {
			return tg.Status, tg.Version, tg.LastError
		}
	}
	return "", "", ""
}

// waitServing waits until the process at base reports the endpoint's primary
// target serving version.
func waitServing(t *testing.T, base, name, version string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var status, got, lastErr string
	for time.Now().Before(deadline) {
		status, got, lastErr = getEndpoint(t, base, name).primary()
		if status == "serving" && got == version {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("endpoint %s at %s: primary is %q with version %q (last error %q) after %s; want serving version %s",
		name, base, status, got, lastErr, timeout, version)
}

// goldenRows returns the input columns and rows of a golden model's expected.json.
func goldenRows(t *testing.T, fixture string) ([]string, [][]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(golden, fixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Input struct {
			Columns []string `json:"columns"`
			Data    [][]any  `json:"data"`
		} `json:"input"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s/expected.json: %v", fixture, err)
	}
	if len(e.Input.Columns) == 0 || len(e.Input.Data) == 0 {
		t.Fatalf("%s/expected.json has no input rows", fixture)
	}
	return e.Input.Columns, e.Input.Data
}

// scoringBody is an MLflow scoring request (dataframe_split) of one row.
func scoringBody(columns []string, row []any) []byte {
	b, _ := json.Marshal(map[string]any{"dataframe_split": map[string]any{"columns": columns, "data": [][]any{row}}})
	return b
}

// answer is what a prediction request got back.
type answer struct {
	status  int
	version string // X-Plinth-Model-Version
	model   string // X-Plinth-Model
	echoed  string // X-Request-Id
	body    string // on errors only
}

// invoke sends one MLflow scoring request with the request id id. err is a
// transport error: no answer was received.
func invoke(base, endpoint, id string, body []byte) (answer, error) {
	req, err := http.NewRequest("POST", base+"/endpoints/"+endpoint+"/invocations", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id)
	res, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return answer{}, err // the answer was cut off: not answered
	}
	a := answer{
		status: res.StatusCode, version: res.Header.Get("X-Plinth-Model-Version"),
		model: res.Header.Get("X-Plinth-Model"), echoed: res.Header.Get("X-Request-Id"),
	}
	if a.status != 200 {
		a.body = string(data)
	}
	return a, nil
}
