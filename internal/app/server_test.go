package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerEndToEnd boots the real server on port 0 with the embedded default, talks to
// it over HTTP, and checks that cancelling it (what SIGTERM does) shuts it down cleanly.
func TestServerEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + srv.Addr()
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/health"); code != 200 || body != "OK" {
		t.Fatalf("/health: %d %q", code, body)
	}
	if code, body := get("/version"); code != 200 || body != Version {
		t.Fatalf("/version: %d %q", code, body)
	}
	if code, body := get("/api/2.0/mlflow/experiments/get?experiment_id=0"); code != 200 || !strings.Contains(body, `"Default"`) ||
		!strings.Contains(body, "mlflow-artifacts:/0") {
		t.Fatalf("get experiment 0: %d %s", code, body)
	}
	if code, body := get("/api/v1/models"); code != 200 || strings.TrimSpace(body) != `{"models":[]}` {
		t.Fatalf("/api/v1/models: %d %s", code, body)
	}
	if code, body := get("/api/v1/models/nope"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("/api/v1/models/nope: %d %s", code, body)
	}
	// One registry measures both APIs, each by its own route patterns.
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "plinth_http_requests_total") ||
		!strings.Contains(body, `route="GET /api/v1/models/{name}"`) || !strings.Contains(body, `route="GET /health"`) {
		t.Fatalf("/metrics: %d %.200s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := client.Get(base + "/health"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func TestServerStartErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t.TempDir())
	cfg.Artifacts = "ftp://nowhere"
	if _, err := NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil ||
		!strings.Contains(err.Error(), "artifact store") {
		t.Fatalf("bad artifact location: %v", err)
	}
}

// testConfig is the embedded default with every folder under dir, on a free port.
func testConfig(dir string) Config {
	cfg := Defaults()
	cfg.Port = 0
	cfg.DB = "sqlite:" + filepath.Join(dir, "plinth.db")
	cfg.Artifacts = filepath.Join(dir, "artifacts")
	cfg.Serving.CacheDir = filepath.Join(dir, "serving-cache")
	cfg.Serving.LogDir = filepath.Join(dir, "prediction-wal")
	cfg.Serving.Predictions = filepath.Join(dir, "predictions")
	return cfg
}
