package mlflow

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const artAPI = "/api/2.0/mlflow-artifacts"

func TestArtifactProxy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("PUT", artAPI+"/artifacts/1/run/artifacts/model/model.json", `{"a":1}`)
	e.ok("PUT", artAPI+"/artifacts/1/run/artifacts/plot.png", "PNGDATA")
	e.ok("PUT", artAPI+"/artifacts/1/run/artifacts/notes", "plain")

	tests := []struct{ path, ctype, body string }{
		{"1/run/artifacts/model/model.json", "application/json", `{"a":1}`},
		{"1/run/artifacts/plot.png", "image/png", "PNGDATA"},
		{"1/run/artifacts/notes", "application/octet-stream", "plain"},
	}
	for _, tt := range tests {
		r := e.do("GET", artAPI+"/artifacts/"+tt.path, "")
		if r.status != 200 || r.header.Get("Content-Type") != tt.ctype || string(r.raw) != tt.body ||
			!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("GET %s: %d %v %q", tt.path, r.status, r.header, r.raw)
		}
	}

	list := e.ok("GET", artAPI+"/artifacts?path="+url.QueryEscape("1/run/artifacts"), "")
	files := map[string]any{}
	for _, f := range list["files"].([]any) {
		files[str(get(f, "path"))] = get(f, "is_dir")
		if get(f, "path") == "plot.png" && get(f, "file_size") != float64(7) {
			t.Fatalf("plot size %v", f)
		}
	}
	if len(files) != 3 || files["model"] != true || files["plot.png"] != false || files["notes"] != false {
		t.Fatalf("listing %v", list)
	}
	if l := e.ok("GET", artAPI+"/artifacts?path=nothing/here", ""); l["files"] != nil {
		t.Fatalf("missing dir lists %v", l)
	}

	e.ok("DELETE", artAPI+"/artifacts/1/run/artifacts/model", "")
	e.fail("GET", artAPI+"/artifacts/1/run/artifacts/model/model.json", "", 404, codeResourceDoesNotExist, "")
	e.fail("GET", artAPI+"/artifacts/1/run/artifacts/absent.txt", "", 404, codeResourceDoesNotExist, "")
	e.ok("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/notes", "")
}

func TestArtifactPathTraversal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	paths := []struct{ method, path string }{
		{"PUT", artAPI + "/artifacts/a/../../escape.txt"},
		{"PUT", artAPI + "/artifacts/a/%2e%2e/%2e%2e/escape.txt"},
		{"PUT", artAPI + "/artifacts/a%2F..%2F..%2Fescape.txt"},
		{"PUT", artAPI + "/artifacts/a/%252e%252e/escape.txt"},
		{"PUT", artAPI + "/artifacts/%2Fetc%2Fpasswd"},
		{"PUT", artAPI + "/artifacts/a%5C..%5Cescape.txt"},
		{"GET", artAPI + "/artifacts/../../etc/passwd"},
		{"GET", artAPI + "/artifacts?path=" + url.QueryEscape("../x")},
		{"GET", artAPI + "/artifacts?path=" + url.QueryEscape("/etc")},
		{"GET", artAPI + "/artifacts?path=%252e%252e"},
		{"DELETE", artAPI + "/artifacts/..%2F.."},
		{"DELETE", artAPI + "/artifacts/"},
		{"POST", artAPI + "/mpu/create/..%2Fx"},
		{"GET", api + "/artifacts/list?run_id=" + repeatHex() + "&path=" + url.QueryEscape("../../x")},
	}
	for _, p := range paths {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			body := ""
			if p.method == "PUT" {
				body = "evil"
			} else if p.method == "POST" {
				body = `{"path":"f","num_parts":1}`
			}
			// Go's client would clean "..": send the path exactly as written.
			req, err := http.NewRequest(p.method, e.srv.URL, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			u, q, _ := strings.Cut(p.path, "?")
			req.URL.Opaque = u
			req.URL.RawQuery = q
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 400 || !bytes.Contains(raw, []byte(codeInvalidParameterValue)) {
				t.Fatalf("%d %s", res.StatusCode, raw)
			}
		})
	}
	entries, err := e.art.List(t.Context(), "")
	if err != nil || len(entries) != 0 {
		t.Fatalf("bucket after refused writes: %v %v", entries, err)
	}
	// mpu "path" is a client's local file name: only its base name is used.
	c := e.ok("POST", artAPI+"/mpu/create/dir", `{"path":"/home/u/../../data.bin","num_parts":1}`)
	if u := str(get(c, "credentials", 0, "url")); !strings.Contains(u, "/mpu/upload-part/dir/data.bin?") {
		t.Fatalf("credential url %q", u)
	}
}

func TestRunArtifactList(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run := e.ok("POST", api+"/runs/create", `{"experiment_id":"0"}`)["run"]
	id, uri := str(get(run, "info", "run_id")), str(get(run, "info", "artifact_uri"))
	root := strings.TrimPrefix(uri, "mlflow-artifacts:/")
	e.ok("PUT", artAPI+"/artifacts/"+root+"/a.txt", "A")
	e.ok("PUT", artAPI+"/artifacts/"+root+"/sub/b.txt", "BB")

	l := e.ok("GET", api+"/artifacts/list?run_id="+id, "")
	if l["root_uri"] != uri || len(l["files"].([]any)) != 2 || get(l, "files", 0, "path") != "a.txt" || get(l, "files", 1, "path") != "sub" {
		t.Fatalf("run listing %v", l)
	}
	l = e.ok("GET", api+"/artifacts/list?run_id="+id+"&path=sub", "")
	if get(l, "files", 0, "path") != "sub/b.txt" || get(l, "files", 0, "file_size") != float64(2) {
		t.Fatalf("sub listing %v", l)
	}
	e.fail("GET", api+"/artifacts/list?run_id="+repeatHex(), "", 404, codeResourceDoesNotExist, "")
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	parts := []string{strings.Repeat("a", 5<<20), strings.Repeat("b", 5<<20), "tail"}
	c := e.ok("POST", artAPI+"/mpu/create/1/r/artifacts", `{"path":"/tmp/local/big.bin","num_parts":3}`)
	creds := c["credentials"].([]any)
	if str(c["upload_id"]) == "" || len(creds) != 3 {
		t.Fatalf("create %v", c)
	}
	var done []map[string]any
	for i, cr := range creds {
		u := str(get(cr, "url"))
		if !strings.HasPrefix(u, e.srv.URL+artAPI+"/mpu/upload-part/1/r/artifacts/big.bin?") {
			t.Fatalf("credential url %q", u)
		}
		req, _ := http.NewRequest("PUT", u, strings.NewReader(parts[i]))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("ETag") == "" {
			t.Fatalf("part %d: %d etag %q", i, res.StatusCode, res.Header.Get("ETag"))
		}
		done = append(done, map[string]any{"part_number": get(cr, "part_number"), "etag": res.Header.Get("ETag"), "url": u})
	}
	e.ok("POST", artAPI+"/mpu/complete/1/r/artifacts", jsonOf(t, map[string]any{
		"path": "/tmp/local/big.bin", "upload_id": c["upload_id"], "parts": done}))
	r := e.do("GET", artAPI+"/artifacts/1/r/artifacts/big.bin", "")
	if r.status != 200 || string(r.raw) != strings.Join(parts, "") {
		t.Fatalf("assembled file: %d, %d bytes", r.status, len(r.raw))
	}

	// Abort leaves nothing; bad calls are refused.
	c = e.ok("POST", artAPI+"/mpu/create/x", `{"path":"f.bin","num_parts":1}`)
	e.ok("POST", artAPI+"/mpu/abort/x", jsonOf(t, map[string]any{"path": "f.bin", "upload_id": c["upload_id"]}))
	e.fail("GET", artAPI+"/artifacts/x/f.bin", "", 404, codeResourceDoesNotExist, "")
	e.fail("POST", artAPI+"/mpu/create/x", `{"path":"f.bin","num_parts":0}`, 400, codeInvalidParameterValue, "num_parts")
	e.fail("POST", artAPI+"/mpu/create/x", `{"num_parts":1}`, 400, codeInvalidParameterValue, "'path'")
	e.fail("POST", artAPI+"/mpu/complete/x", `{"path":"f.bin","upload_id":"u"}`, 400, codeInvalidParameterValue, "'parts'")
	e.fail("POST", artAPI+"/mpu/abort/x", `{"path":"f.bin"}`, 400, codeInvalidParameterValue, "'upload_id'")
	e.fail("PUT", artAPI+"/mpu/upload-part/x/f.bin?upload_id=u&part_number=0", "x", 400, codeInvalidParameterValue, "part_number")
}

// genReader yields n deterministic pseudo-random bytes without holding them.
type genReader struct {
	n, off int64
	state  uint64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for i := range p {
		g.state = g.state*6364136223846793005 + 1442695040888963407
		p[i] = byte(g.state >> 56)
	}
	g.off += int64(len(p))
	return len(p), nil
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestArtifactStreaming uploads 200 MB generated on the fly and checks that
// neither the upload nor the download holds it in memory.
func TestArtifactStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 400 MB")
	}
	e := setup(t)
	const size = 200 << 20
	want := sha256.New()
	src := io.TeeReader(&genReader{n: size, state: 42}, want)

	before := heapInUse()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the heap while data flows
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	req, _ := http.NewRequest("PUT", e.srv.URL+artAPI+"/artifacts/big/data.bin", src)
	req.ContentLength = size
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	res, err = http.Get(e.srv.URL + artAPI + "/artifacts/big/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, res.Body)
	res.Body.Close()
	close(stop)
	<-sampled
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("download: %d bytes, err %v, hash match %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	if grew := int64(peak) - int64(before); grew > 32<<20 {
		t.Fatalf("heap grew by %d MB while streaming 200 MB", grew>>20)
	}
	t.Logf("heap before %d MB, peak %d MB", before>>20, peak>>20)
}

// One byte range is answered with 206 and those bytes; what RFC 9110 says to ignore gets
// the whole file; a range past the end gets 416.
func TestArtifactRangeDownload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const body = "0123456789"
	e.ok("PUT", artAPI+"/artifacts/1/run/artifacts/digits.txt", body)
	url := artAPI + "/artifacts/1/run/artifacts/digits.txt"
	for _, c := range []struct {
		rng, ifRange string
		status       int
		want, cr     string
	}{
		{"bytes=2-5", "", 206, "2345", "bytes 2-5/10"},
		{"bytes=7-", "", 206, "789", "bytes 7-9/10"},
		{"bytes=-3", "", 206, "789", "bytes 7-9/10"},
		{"bytes=-30", "", 206, body, "bytes 0-9/10"},
		{"bytes=8-100", "", 206, "89", "bytes 8-9/10"},
		{"bytes=10-", "", 416, "", "bytes */10"},
		{"bytes=0-1,4-5", "", 200, body, ""},
		{"bytes=5-2", "", 200, body, ""},
		{"items=0-1", "", 200, body, ""},
		{"bytes=x-1", "", 200, body, ""},
		{"bytes=0-1", `"etag"`, 200, body, ""},
	} {
		hdr := []string{"Range", c.rng}
		if c.ifRange != "" {
			hdr = append(hdr, "If-Range", c.ifRange)
		}
		r := e.do("GET", url, "", hdr...)
		if r.status != c.status || string(r.raw) != c.want || r.header.Get("Content-Range") != c.cr {
			t.Errorf("Range %q: %d %q %q, want %d %q %q", c.rng, r.status, r.raw, r.header.Get("Content-Range"), c.status, c.want, c.cr)
		}
		if r.status == 206 && (r.header.Get("Content-Length") != strconv.Itoa(len(c.want)) ||
			r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("Accept-Ranges") != "bytes") {
			t.Errorf("Range %q: headers %v", c.rng, r.header)
		}
	}
	e.fail("GET", artAPI+"/artifacts/1/run/artifacts/absent.txt", "", 404, codeResourceDoesNotExist, "")
	if r := e.do("GET", artAPI+"/artifacts/1/run/artifacts/absent.txt", "", "Range", "bytes=0-1"); r.status != 404 {
		t.Errorf("range of a missing file: %d %s", r.status, r.raw)
	}
}

func FuzzParseByteRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=-5", "bytes=3-", "bytes=9-2", "bytes=+1-2", "bytes=-", "bytes=0-1,2-3"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return
		}
		off, n, ok := parseByteRange(header, size)
		if !ok || n == 0 {
			return
		}
		if off < 0 || n < 0 || off+n > size {
			t.Fatalf("%q of %d: offset %d length %d", header, size, off, n)
		}
	})
}
