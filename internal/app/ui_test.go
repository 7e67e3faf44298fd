package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/web"
)

// The UI takes "/" and "/assets/" for GET only; everything else still reaches the MLflow
// API, whose unknown routes must stay ENDPOINT_NOT_FOUND (the client relies on it).
func TestServerMountsTheUI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := NewServer(ctx, testConfig(t.TempDir()), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Run(ctx)
	base := "http://" + srv.Addr()
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("GET", "/")
	if web.Built() {
		if code != 200 || !strings.Contains(body, `<div id="app">`) {
			t.Fatalf("GET /: %d %.200s", code, body)
		}
	} else if code != 404 || !strings.Contains(body, "make build") {
		t.Fatalf("GET / without the UI: %d %.200s", code, body)
	}
	if code, _ := do("GET", "/assets/nope.js"); code != 404 {
		t.Fatalf("GET a missing asset: %d", code)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/"}, {"GET", "/api/2.0/mlflow/no-such-route"}, {"GET", "/ajax-api/2.0/mlflow/nothing/here"},
	} {
		if code, body := do(c.method, c.path); code != 404 || !strings.Contains(body, "ENDPOINT_NOT_FOUND") {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
}
