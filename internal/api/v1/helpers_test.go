package v1

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// env is the API over a real SQLite store in a temp dir.
type env struct {
	t   *testing.T
	srv *httptest.Server
	st  store.Store
}

func setup(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "plinth.db"),
		store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	for _, f := range opts {
		f(&o)
	}
	srv := httptest.NewServer(New(st, o))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &env{t: t, srv: srv, st: st}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
}

// do sends a request as user (Basic auth; "" sends no credentials).
func (e *env) do(user, method, path, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, "pw")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, raw}
}

// ok sends a request that must answer 200 and decodes its body into out (if not nil).
func (e *env) ok(user, method, path, body string, out any) {
	e.t.Helper()
	r := e.do(user, method, path, body)
	if r.status != http.StatusOK {
		e.t.Fatalf("%s %s %s: %d %s", method, path, body, r.status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero() // omitted fields must not keep old values
		if err := json.Unmarshal(r.raw, out); err != nil {
			e.t.Fatalf("%s %s: bad JSON %s: %v", method, path, r.raw, err)
		}
	}
}

// fail sends a request that must fail with status and core code, with a message containing msg.
func (e *env) fail(user, method, path, body string, status int, code, msg string) {
	e.t.Helper()
	r := e.do(user, method, path, body)
	var eb ErrorBody
	if err := json.Unmarshal(r.raw, &eb); err != nil {
		e.t.Fatalf("%s %s %s: %d, not an error body: %s", method, path, body, r.status, r.raw)
	}
	if r.status != status || eb.Error.Code != code || !strings.Contains(eb.Error.Message, msg) {
		e.t.Fatalf("%s %s %s: got %d %s, want %d %s containing %q", method, path, body, r.status, r.raw, status, code, msg)
	}
}

// model registers a model with n versions.
func (e *env) model(name string, n int) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.st.CreateRegisteredModel(ctx, core.RegisteredModel{Name: name, Description: "about " + name}); err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := e.st.CreateModelVersion(ctx, core.ModelVersion{
			Name: name, Source: "s3://bucket/" + name, RunID: "", UserID: "trainer",
		}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) version(name string, v int64) core.ModelVersion {
	e.t.Helper()
	mv, err := e.st.GetModelVersion(context.Background(), name, v)
	if err != nil {
		e.t.Fatal(err)
	}
	return mv
}

func (e *env) approvals(name string, v int64) []core.ApprovalEvent {
	e.t.Helper()
	ev, err := e.st.ListApprovals(context.Background(), name, v)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func (e *env) registered(name string) core.RegisteredModel {
	e.t.Helper()
	m, err := e.st.GetRegisteredModel(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}
