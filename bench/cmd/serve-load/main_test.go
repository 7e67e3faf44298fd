package main

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", []time.Duration{7}, 99, 7},
		{"median of ten is the 5th", ten, 50, 5},
		{"p90 of ten", ten, 90, 9},
		{"p99 of ten is the max", ten, 99, 10},
		{"p100 is the max", ten, 100, 10},
		{"tiny p is the min", ten, 0.1, 1},
		{"p0 clamps to the min", ten, 0, 1},
		{"p50 of 100", hundred, 50, 50},
		{"p99 of 100", hundred, 99, 99},
		{"p99.9 of 100 rounds up", hundred, 99.9, 100},
		{"p above 100 clamps to the max", hundred, 150, 100},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: percentile(p=%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	r := result{latencies: []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond},
		errors: 1, firstError: "HTTP 500: boom", elapsed: 2 * time.Second}
	s := r.summary()
	want := summary{Requests: 4, Errors: 1, Seconds: 2, RPS: 2, P50: 2, P90: 4, P99: 4, Max: 4, FirstError: "HTTP 500: boom"}
	if s != want {
		t.Errorf("summary = %+v, want %+v", s, want)
	}
}

// An end-to-end run against a local server: -n requests exactly, bodies round-robin over a
// folder, the Content-Type passed on, and non-2xx answers counted with the first body kept.
func TestRunCountsRequestsAndErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[string(b)]++
		mu.Unlock()
		if r.Header.Get("Content-Type") != "text/csv" {
			http.Error(w, "wrong content type", http.StatusUnsupportedMediaType)
			return
		}
		if string(b) == "bad" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"predictions":[0.5]}`)
	}))
	defer srv.Close()

	dir := t.TempDir()
	for name, body := range map[string]string{"a": "good-1", "b": "good-2", "c": "bad"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config{url: srv.URL, contentType: "text/csv", conns: 4, total: 30, timeout: 5 * time.Second}
	if err := cfg.loadBodies("", dir); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	s := run(cfg).summary()
	if s.Requests != 30 || s.Errors != 10 {
		t.Errorf("requests %d errors %d, want 30 and 10 (every third body is bad)", s.Requests, s.Errors)
	}
	if !strings.HasPrefix(s.FirstError, "HTTP 400: bad body") {
		t.Errorf("first_error = %q", s.FirstError)
	}
	if s.RPS <= 0 || s.P50 <= 0 || s.P50 > s.P99 || s.P99 > s.Max {
		t.Errorf("implausible figures: %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"good-1": 10, "good-2": 10, "bad": 10}; !maps.Equal(seen, want) {
		t.Errorf("bodies seen %v, want %v", seen, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := config{url: "http://x", conns: 1, duration: time.Second, bodies: [][]byte{nil}}
	for _, tc := range []struct {
		name   string
		change func(*config)
		want   string
	}{
		{"no url", func(c *config) { c.url = "" }, "-url"},
		{"no connections", func(c *config) { c.conns = 0 }, "-c 0"},
		{"no duration nor count", func(c *config) { c.duration = 0 }, "-d 0s"},
		{"negative count", func(c *config) { c.total = -1 }, "-n -1"},
	} {
		c := ok
		tc.change(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	if err := ok.validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	var c config
	if err := c.loadBodies("a", "b"); err == nil {
		t.Error("-body and -body-dir together should fail")
	}
}
