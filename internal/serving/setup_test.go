package serving

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// env is a serving process on a real SQLite store and local buckets: models are uploaded
// to the artifact bucket as mlflow log_model leaves them and registered by reference.
type env struct {
	dir       string
	st        store.Store
	artifacts blob.Bucket
	preds     blob.Bucket
	log       *predlog.Log
	m         *Manager
	reg       *prometheus.Registry
	srv       *httptest.Server
	versions  int
}

type envOptions struct {
	noLog   bool
	maxBody int64
	buffer  int64
	timeout time.Duration
}

func setup(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "plinth.db"), store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	art, err := blob.Open(ctx, filepath.Join(dir, "artifacts"), blob.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	preds, err := blob.Open(ctx, filepath.Join(dir, "predictions"), blob.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, st: st, artifacts: art, preds: preds, reg: prometheus.NewRegistry()}
	opt := ManagerOptions{Refresh: 50 * time.Millisecond, MaxBody: o.maxBody, RequestTimeout: o.timeout, Metrics: e.reg, Version: "test"}
	if !o.noLog {
		e.log, err = predlog.Open(predlog.Options{Dir: filepath.Join(dir, "wal"), Bucket: preds, Prefix: ".",
			MaxBufferBytes: o.buffer, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		e.log.Start(ctx)
		t.Cleanup(e.log.Stop)
		opt.Log = e.log
	}
	e.m = NewManager(st, NewLoader(st, art, filepath.Join(dir, "cache")), opt)
	e.srv = httptest.NewServer(e.m.Handler())
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.m.Stop)
	return e
}

// register uploads a golden model's folder and registers it as the next version of model.
func (e *env) register(t *testing.T, model, fixture string) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := e.st.GetRegisteredModel(ctx, model); err != nil {
		if _, err := e.st.CreateRegisteredModel(ctx, core.RegisteredModel{Name: model}); err != nil {
			t.Fatal(err)
		}
	}
	e.versions++
	key := fmt.Sprintf("1/models/m-%s-%d/artifacts", model, e.versions)
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
		return e.artifacts.Put(ctx, key+"/"+filepath.ToSlash(rel), f, -1)
	})
	if err != nil {
		t.Fatal(err)
	}
	mv, err := e.st.CreateModelVersion(ctx, core.ModelVersion{Name: model, Source: "mlflow-artifacts:/" + key})
	if err != nil {
		t.Fatal(err)
	}
	return mv.Version
}

func (e *env) alias(t *testing.T, model, alias string, version int64) {
	t.Helper()
	if err := e.st.SetRegisteredModelAlias(context.Background(), model, alias, version); err != nil {
		t.Fatal(err)
	}
}

func (e *env) create(t *testing.T, ep core.Endpoint) {
	t.Helper()
	if ep.LogSampleRate == 0 {
		ep.LogSampleRate = 1
	}
	if _, err := e.st.CreateEndpoint(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
}

// start runs the manager and waits until every endpoint's primary serves.
func (e *env) start(t *testing.T) {
	t.Helper()
	e.m.Start(context.Background())
	e.waitFor(t, "endpoints ready", e.m.Ready)
}

func (e *env) waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serving returns the version the endpoint's target with role serves ("" when none).
func (e *env) serving(name, role string) string {
	s, ok := e.m.State(name)
	if !ok {
		return ""
	}
	for _, tg := range s.Targets {
		if tg.Role == role {
			return tg.Version
		}
	}
	return ""
}

func (e *env) do(t *testing.T, method, path, ctype, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(raw)
}

// logged flushes the prediction log and reads every record back from the Parquet files.
func (e *env) logged(t *testing.T) []predlog.Record {
	t.Helper()
	ctx := context.Background()
	if err := e.log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := predlog.ListObjects(ctx, e.preds, "")
	if err != nil {
		t.Fatal(err)
	}
	var all []predlog.Record
	for _, k := range keys {
		recs, err := predlog.ReadObject(ctx, e.preds, k)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	return all
}
