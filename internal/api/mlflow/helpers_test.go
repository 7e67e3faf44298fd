package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// env is one server over a real SQLite store and a local bucket in a temp dir.
type env struct {
	t   *testing.T
	srv *httptest.Server
	st  store.Store
	art *blob.Local
}

func setup(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "plinth.db"),
		store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	art, err := blob.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Version: "0.1.0"}
	for _, f := range opts {
		f(&o)
	}
	srv := httptest.NewServer(New(st, art, o))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
		art.Close()
	})
	return &env{t: t, srv: srv, st: st, art: art}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request; body is JSON text for POST and friends, the query is part of path.
func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// ok sends a request that must succeed and returns its JSON body.
func (e *env) ok(method, path, body string) map[string]any {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != 200 {
		e.t.Fatalf("%s %s %s: %d %s", method, path, body, r.status, r.raw)
	}
	return r.body
}

// fail sends a request that must fail with status and MLflow error code, and
// whose message contains msg.
func (e *env) fail(method, path, body string, status int, code, msg string) {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != status || r.body["error_code"] != code || !strings.Contains(str(r.body["message"]), msg) {
		e.t.Fatalf("%s %s %s: got %d %s, want %d %s containing %q", method, path, body, r.status, r.raw, status, code, msg)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// jsonOf marshals v for a request body.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

const api = "/api/2.0/mlflow"

func (e *env) createExperiment(name string) string {
	e.t.Helper()
	return str(e.ok("POST", api+"/experiments/create", `{"name":"`+name+`"}`)["experiment_id"])
}

func (e *env) createRun(expID string) string {
	e.t.Helper()
	b := e.ok("POST", api+"/runs/create", `{"experiment_id":"`+expID+`","start_time":1000}`)
	return str(get(b, "run", "info", "run_id"))
}

func mustJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// with returns e reporting to the subtest t.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}
