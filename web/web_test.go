package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestHandlerServesTheBuiltUI(t *testing.T) {
	h := handler(fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><script src="/assets/index-abc.js"></script>`)},
		"assets/index-abc.js": {Data: []byte(`console.log(1)`)},
	})
	res, body := get(t, h, "/")
	if res.StatusCode != 200 || !strings.Contains(body, "index-abc.js") ||
		res.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %v %q", res.StatusCode, res.Header, body)
	}
	res, body = get(t, h, "/assets/index-abc.js")
	if res.StatusCode != 200 || body != "console.log(1)" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") ||
		!strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("asset: %d %v %q", res.StatusCode, res.Header, body)
	}
	if res, _ := get(t, h, "/assets/missing.js"); res.StatusCode != 404 {
		t.Fatalf("missing asset: %d", res.StatusCode)
	}
	if res, _ := get(t, h, "/assets/../index.html"); res.StatusCode == 200 && res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("a path out of assets was served as an asset")
	}
}

func TestHandlerWithoutTheUI(t *testing.T) {
	res, body := get(t, handler(fstest.MapFS{".keep": {Data: []byte("x")}}), "/")
	if res.StatusCode != 404 || !strings.Contains(body, "make build") {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
}
