package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/core"
)

// golden holds MLflow model folders saved by the real libraries (python/fixtures).
const golden = "../runtime/testdata/mlflow"

// running is a server started on port 0 for a test, stopped (and checked) at its end.
type running struct {
	*Server
	base string
}

func start(t *testing.T, cfg Config, replica bool) running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	newServer := NewServer
	if replica {
		newServer = NewReplica
	}
	srv, err := newServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	return running{srv, "http://" + srv.Addr()}
}

// call sends a request with a JSON body ("" for none) and returns the status and body.
func (r running) call(t *testing.T, method, path, body string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw
}

// register uploads a golden model's folder as mlflow log_model leaves it, and registers
// it as version 1 of model.
func (r running) register(t *testing.T, model, fixture string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.store.CreateRegisteredModel(ctx, core.RegisteredModel{Name: model}); err != nil {
		t.Fatal(err)
	}
	key := "0/models/m-" + fixture + "/artifacts"
	src := filepath.Join(golden, fixture, "model")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return r.bucket.Put(ctx, key+"/"+filepath.ToSlash(rel), f, -1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.CreateModelVersion(ctx, core.ModelVersion{Name: model, Source: "mlflow-artifacts:/" + key}); err != nil {
		t.Fatal(err)
	}
}

// waitServing waits until the process serves the endpoint's primary.
func (r running) waitServing(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var ep v1.Endpoint
		code, raw := r.call(t, "GET", "/api/v1/endpoints/"+name, "")
		if code == 200 && json.Unmarshal(raw, &ep) == nil && ep.State != nil && len(ep.State.Targets) > 0 &&
			ep.State.Targets[0].Status == core.TargetServing {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve %s: %d %s", r.base, name, code, raw)
		}
	}
}

func (r running) activity(t *testing.T, name, query string) v1.EndpointActivity {
	t.Helper()
	code, raw := r.call(t, "GET", "/api/v1/endpoints/"+name+"/activity"+query, "")
	var a v1.EndpointActivity
	if code != 200 {
		t.Fatalf("activity of %s: %d %s", name, code, raw)
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("activity of %s: %v in %s", name, err, raw)
	}
	return a
}

// TestEndpointActivityEndToEnd boots the real server on port 0 with a real XGBoost
// model, sends good and bad predictions over both protocols, and reads the endpoint's
// activity back; then a serving replica and a server without serving on the same
// database answer the route for themselves.
func TestEndpointActivityEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "server"))
	cfg.Serving.Refresh = 50 * time.Millisecond
	srv := start(t, cfg, false)
	srv.register(t, "clf", "xgb-classifier")
	if code, raw := srv.call(t, "POST", "/api/v1/endpoints", `{"name":"scorer","model_uri":"models:/clf/1"}`); code != 201 {
		t.Fatalf("create endpoint: %d %s", code, raw)
	}
	srv.waitServing(t, "scorer")
	if a := srv.activity(t, "scorer", ""); a.Scope != v1.ActivityScope || len(a.Buckets) != 0 || len(a.Recent) != 0 {
		t.Fatalf("before any request: %+v", a)
	}

	split := func(rows ...string) string {
		return `{"dataframe_split":{"columns":["a","b","c","d"],"data":[` + strings.Join(rows, ",") + `]}}`
	}
	for _, rq := range []struct {
		path, body, id string
		status         int
	}{
		{"/endpoints/scorer/invocations", split("[0.5,1,2,3]"), "one", 200},
		{"/endpoints/scorer/invocations", split("[1.5,1,2,3]", "[2.5,1,2,3]", "[3.5,1,2,3]"), "three", 200},
		{"/v2/models/scorer/infer", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[4.5]},
			{"name":"b","shape":[1],"datatype":"FP64","data":[1]},{"name":"c","shape":[1],"datatype":"FP64","data":[2]},
			{"name":"d","shape":[1],"datatype":"FP64","data":[3]}]}`, "oip", 200},
		{"/endpoints/scorer/invocations", `{"dataframe_split":{"columns":["b","c","d"],"data":[[1,2,3]]}}`, "bad", 400},
	} {
		if code, raw := srv.call(t, "POST", rq.path, rq.body, "X-Request-Id", rq.id); code != rq.status {
			t.Fatalf("%s: %d %s, want %d", rq.id, code, raw, rq.status)
		}
	}

	code, raw := srv.call(t, "GET", "/api/v1/endpoints/scorer/activity?minutes=60", "")
	if code != 200 {
		t.Fatalf("activity: %d %s", code, raw)
	}
	// The recent rows' inputs and outputs are JSON objects, not strings.
	var generic struct {
		Recent []struct{ Inputs, Outputs any }
	}
	if err := json.Unmarshal(raw, &generic); err != nil || len(generic.Recent) != 6 {
		t.Fatalf("activity %s: %v", raw, err)
	}
	for i, r := range generic.Recent {
		if _, ok := r.Inputs.(map[string]any); !ok {
			t.Fatalf("recent[%d] inputs %#v: not an object", i, r.Inputs)
		}
		if _, ok := r.Outputs.(map[string]any); !ok && i > 0 {
			t.Fatalf("recent[%d] outputs %#v: not an object", i, r.Outputs)
		}
	}
	a := srv.activity(t, "scorer", "")
	if a.Endpoint != "scorer" || a.Scope != v1.ActivityScope || a.BucketSeconds != 60 || len(a.Buckets) < 1 || len(a.Buckets) > 2 {
		t.Fatalf("activity %s", raw)
	}
	var requests, rows, errs int64
	for _, b := range a.Buckets {
		requests, rows, errs = requests+b.Requests, rows+b.Rows, errs+b.Errors
		if b.Time.Second() != 0 || b.Time.Location() != time.UTC || b.P50Ms <= 0 || b.P50Ms > b.P90Ms || b.P90Ms > b.P99Ms {
			t.Errorf("bucket %+v", b)
		}
	}
	if requests != 4 || rows != 5 || errs != 1 {
		t.Fatalf("%d requests, %d rows, %d errors; want 4, 5, 1: %s", requests, rows, errs, raw)
	}
	want := []struct {
		id     string
		row    int
		status int
		a      any
	}{{"bad", 0, 400, nil}, {"oip", 0, 200, 4.5}, {"three", 2, 200, 3.5}, {"three", 1, 200, 2.5}, {"three", 0, 200, 1.5}, {"one", 0, 200, 0.5}}
	for i, w := range want {
		r := a.Recent[i]
		var in, out map[string]any
		json.Unmarshal(r.Inputs, &in)
		json.Unmarshal(r.Outputs, &out)
		if r.RequestID != w.id || r.Row != w.row || r.Status != w.status || in["a"] != w.a || r.LatencyMs <= 0 || r.Time.IsZero() {
			t.Errorf("recent[%d] = %+v %s, want %s row %d status %d a=%v", i, r, r.Inputs, w.id, w.row, w.status, w.a)
		}
		if w.status == 200 && (r.ModelVersion != "1" || r.Role != core.RolePrimary || len(out) != 1 || r.Error != "") {
			t.Errorf("recent[%d] = %+v, outputs %s", i, r, r.Outputs)
		}
		if w.status != 200 && (string(r.Outputs) != "null" || r.Error == "" || len(in) != 3) {
			t.Errorf("recent[%d] (bad input) = %+v, inputs %s, outputs %s", i, r, r.Inputs, r.Outputs)
		}
	}

	for _, q := range []string{"?minutes=0", "?minutes=abc", "?minutes=1441"} {
		code, raw := srv.call(t, "GET", "/api/v1/endpoints/scorer/activity"+q, "")
		var eb v1.ErrorBody
		if json.Unmarshal(raw, &eb); code != 400 || eb.Error.Code != core.EINVALID || !strings.Contains(eb.Error.Message, "minutes") {
			t.Errorf("%s: %d %s", q, code, raw)
		}
	}
	code, raw = srv.call(t, "GET", "/api/v1/endpoints/nope/activity", "")
	if _, same := srv.call(t, "GET", "/api/v1/endpoints/nope", ""); code != 404 || !bytes.Equal(raw, same) ||
		!strings.Contains(string(raw), `"code":"not_found"`) {
		t.Fatalf("unknown endpoint: %d %s", code, raw)
	}

	// A serving replica on the same database reports what it answered itself.
	rcfg := testConfig(filepath.Join(dir, "replica"))
	rcfg.DB, rcfg.Artifacts, rcfg.Serving.Refresh = cfg.DB, cfg.Artifacts, 50*time.Millisecond
	replica := start(t, rcfg, true)
	replica.waitServing(t, "scorer")
	if a := replica.activity(t, "scorer", ""); a.Scope != v1.ActivityScope || len(a.Buckets) != 0 || len(a.Recent) != 0 {
		t.Fatalf("replica before any request: %+v", a)
	}
	if code, raw := replica.call(t, "POST", "/endpoints/scorer/invocations", split("[9.5,1,2,3]"), "X-Request-Id", "on-replica"); code != 200 {
		t.Fatalf("replica invocation: %d %s", code, raw)
	}
	ra := replica.activity(t, "scorer", "?minutes=1440")
	if len(ra.Buckets) != 1 || ra.Buckets[0].Requests != 1 || len(ra.Recent) != 1 || ra.Recent[0].RequestID != "on-replica" {
		t.Fatalf("replica activity %+v", ra)
	}
	if code, raw := replica.call(t, "POST", "/api/v1/endpoints/scorer/activity", "{}"); code != 405 {
		t.Fatalf("POST on a replica: %d %s", code, raw)
	}
	if code, _ := replica.call(t, "GET", "/api/v1/endpoints/nope/activity", ""); code != 404 {
		t.Fatalf("unknown endpoint on a replica: %d", code)
	}

	// A server with serving disabled knows the endpoint but does not serve it.
	ncfg := testConfig(filepath.Join(dir, "noserving"))
	ncfg.DB, ncfg.Artifacts, ncfg.Serving.Enabled = cfg.DB, cfg.Artifacts, false
	ncfg.Batch.Workers = 0
	none := start(t, ncfg, false)
	if a := none.activity(t, "scorer", ""); a.Scope != v1.ActivityNotServed || a.Buckets == nil || len(a.Buckets) != 0 || len(a.Recent) != 0 {
		t.Fatalf("server without serving: %+v", a)
	}
}
