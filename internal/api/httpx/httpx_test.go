package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"caller id kept", "abc-123", true},
		{"none made", "", false},
		{"control chars replaced", "a\x01b", false},
		{"too long replaced", strings.Repeat("x", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var seen string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestIDFrom(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.in != "" {
				req.Header.Set(RequestIDHeader, tt.in)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(RequestIDHeader)
			if got != seen || got == "" {
				t.Fatalf("response id %q, context id %q", got, seen)
			}
			if tt.keep != (got == tt.in) {
				t.Fatalf("id %q, caller sent %q, keep=%v", got, tt.in, tt.keep)
			}
			if !tt.keep && len(got) != 32 {
				t.Fatalf("made id %q is not 32 hex chars", got)
			}
		})
	}
}

func TestActor(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("s3cret"))
	tests := []struct {
		name, auth, want string
	}{
		{"none", "", core.Anonymous},
		{"basic", "Basic " + basic("alice", "pw"), "alice"},
		{"basic without user", "Basic " + basic("", "pw"), core.Anonymous},
		{"bearer", "Bearer s3cret", "token:" + hex.EncodeToString(sum[:])[:12]},
		{"bearer lower case", "bearer s3cret", "token:" + hex.EncodeToString(sum[:])[:12]},
		{"empty bearer", "Bearer ", core.Anonymous},
		{"other scheme", "Digest foo", core.Anonymous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			h := Actor(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = core.ActorFrom(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Fatalf("actor %q, want %q", got, tt.want)
			}
		})
	}
}

func basic(u, p string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(u, p)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

type logLine struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	RequestID string `json:"request_id"`
	Actor     string `json:"actor"`
	Stack     string `json:"stack"`
	Duration  *int64 `json:"duration"`
}

func parseLog(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("bad log line %q: %v", l, err)
		}
		out = append(out, ll)
	}
	return out
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		level     string
		minLevel  slog.Level
		wantLines int
	}{
		{200, "DEBUG", slog.LevelDebug, 1},
		{200, "", slog.LevelInfo, 0},
		{404, "INFO", slog.LevelInfo, 1},
		{503, "ERROR", slog.LevelInfo, 1},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+tt.minLevel.String(), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.minLevel}))
			h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "hello")
			}), RequestID, Actor, AccessLog(logger))
			req := httptest.NewRequest("POST", "/x/y", nil)
			req.Header.Set(RequestIDHeader, "rid-1")
			req.SetBasicAuth("bob", "pw")
			h.ServeHTTP(httptest.NewRecorder(), req)
			lines := parseLog(t, &buf)
			if len(lines) != tt.wantLines {
				t.Fatalf("got %d lines: %s", len(lines), buf.String())
			}
			if tt.wantLines == 0 {
				return
			}
			l := lines[0]
			if l.Level != tt.level || l.Method != "POST" || l.Path != "/x/y" || l.Status != tt.status ||
				l.Bytes != 5 || l.RequestID != "rid-1" || l.Actor != "bob" || l.Duration == nil {
				t.Fatalf("unexpected log line %+v", l)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}), RequestID, Recover(logger, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, `{"error_code":"INTERNAL_ERROR"}`)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "INTERNAL_ERROR") {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	lines := parseLog(t, &buf)
	if len(lines) != 1 || lines[0].Level != "ERROR" || !strings.Contains(lines[0].Stack, "TestRecover") ||
		lines[0].RequestID == "" {
		t.Fatalf("unexpected log: %s", buf.String())
	}

	// Default body, and a panic after the header was sent aborts the response.
	rec = httptest.NewRecorder()
	Recover(logger, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(1) })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.TrimSpace(rec.Body.String()) != "internal error" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want ErrAbortHandler", v)
		}
	}()
	Recover(logger, nil)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "partial")
		panic(2)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "bad" {
			w.WriteHeader(400)
		}
	})
	// Context-changing middleware between Metrics and the mux must not lose the pattern.
	h := Chain(WithPattern(mux), Metrics(reg), RequestID, Actor)
	for _, p := range []string{"/items/1", "/items/2", "/items/bad", "/nope/x", "/nope/y"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/items/1", nil))
	got := counters(t, reg)
	want := map[string]float64{
		"GET|GET /items/{id}|200": 2,
		"GET|GET /items/{id}|400": 1,
		"GET|unmatched|404":       2,
		"OTHER|unmatched|405":     1,
	}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("series %v, want %v", got, want)
		}
	}
	if n := histograms(t, reg); n != 3 {
		t.Fatalf("%d duration series, want 3", n)
	}
	// A second Metrics on the same registry is a programming error.
	defer func() {
		if recover() == nil {
			t.Fatal("registering twice did not panic")
		}
	}()
	Metrics(reg)
}

func TestSetRoute(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := Metrics(reg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "custom")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a", nil))
	SetRoute(context.Background(), "ignored") // no holder: a no-op
	if got := counters(t, reg); got["GET|custom|200"] != 1 || len(got) != 1 {
		t.Fatalf("series %v", got)
	}
}

// counters returns plinth_http_requests_total as "method|route|status" → value.
func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range family(t, reg, "plinth_http_requests_total") {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		out[l["method"]+"|"+l["route"]+"|"+l["status"]] = m.GetCounter().GetValue()
	}
	return out
}

func histograms(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	return len(family(t, reg, "plinth_http_request_duration_seconds"))
}

func family(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		limit   int64
		tooBig  bool
		wantLen int
	}{
		{"under", "12345", 10, false, 5},
		{"exact", "1234567890", 10, false, 10},
		{"over", "12345678901", 10, true, 0},
		{"no limit", strings.Repeat("x", 100), 0, false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			b, err := ReadLimited(httptest.NewRecorder(), req, tt.limit)
			if IsTooLarge(err) != tt.tooBig {
				t.Fatalf("err %v, tooBig want %v", err, tt.tooBig)
			}
			if !tt.tooBig && (err != nil || len(b) != tt.wantLen) {
				t.Fatalf("read %d bytes, err %v", len(b), err)
			}
		})
	}
	if IsTooLarge(io.ErrUnexpectedEOF) {
		t.Fatal("plain error taken for too large")
	}
}
