package mlflow

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// proxyScheme is the URI scheme of artifacts stored behind this server:
// mlflow-artifacts:/X (or mlflow-artifacts://host/X) is bucket key X.
const proxyScheme = blob.ProxyScheme

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

var errInvalidPath = invalidf("Invalid path")

// artifactKey turns a client's artifact path into a bucket key. Like MLflow's
// validate_path_is_safe it decodes the path until it no longer changes before
// checking it, so percent-encoded tricks (%2e%2e, %252e%252e) are caught; the
// key itself is the path as received (already decoded once), cleaned by blob.
func artifactKey(p string) (string, error) {
	decoded := p
	for i := 0; i < 5; i++ {
		d, err := url.PathUnescape(decoded)
		if err != nil || d == decoded {
			break
		}
		decoded = d
	}
	if strings.ContainsAny(decoded, "#\\") || strings.HasPrefix(decoded, "/") {
		return "", errInvalidPath
	}
	for _, seg := range strings.Split(decoded, "/") {
		if seg == ".." {
			return "", errInvalidPath
		}
	}
	key, err := blob.CleanKey(p)
	if err != nil {
		return "", invalidf("Invalid path: %s", core.ErrorMessage(err))
	}
	return key, nil
}

// proxiedKey maps a run's mlflow-artifacts URI to its bucket key; ok is false
// for artifacts stored elsewhere (an experiment created with s3://…).
func proxiedKey(uri string) (string, bool) { return blob.ProxiedKey(uri) }

func joinKey(dir, name string) string {
	if dir == "" {
		return name
	}
	if name == "" {
		return dir
	}
	return dir + "/" + name
}

type wireFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// fileInfos renders a listing with paths relative to base, as MLflow does.
func fileInfos(entries []blob.Entry, base string) []wireFileInfo {
	out := make([]wireFileInfo, 0, len(entries))
	for _, e := range entries {
		fi := wireFileInfo{Path: joinKey(base, path.Base(e.Path)), IsDir: e.IsDir}
		if !e.IsDir {
			size := e.Size
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	return out
}

// listRunArtifacts is /api/2.0/mlflow/artifacts/list: a run's artifacts.
func (s *server) listRunArtifacts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID     string `json:"run_id"`
		RunUUID   string `json:"run_uuid"`
		Path      string `json:"path"`
		PageToken string `json:"page_token"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, req.RunUUID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rel, err := artifactKey(req.Path)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := s.st.GetRun(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		RootURI string         `json:"root_uri"`
		Files   []wireFileInfo `json:"files,omitempty"`
	}{RootURI: run.Info.ArtifactURI}
	if root, ok := proxiedKey(run.Info.ArtifactURI); ok {
		entries, err := s.art.List(r.Context(), joinKey(root, rel))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		resp.Files = fileInfos(entries, rel)
	}
	writeJSON(w, resp)
}

// listArtifacts is GET /mlflow-artifacts/artifacts?path=…: names relative to path.
func (s *server) listArtifacts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path string `json:"path"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, err := artifactKey(req.Path)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, err := s.art.List(r.Context(), key)
	s.reply(w, r, struct {
		Files []wireFileInfo `json:"files,omitempty"`
	}{fileInfos(entries, "")}, err)
}

func (s *server) pathKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key, err := artifactKey(r.PathValue("path"))
	if err == nil && key == "" {
		err = invalidf("Invalid path: an artifact path is required")
	}
	if err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return key, true
}

func (s *server) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("path") == "" { // ".../artifacts/" is the listing
		s.listArtifacts(w, r)
		return
	}
	key, ok := s.pathKey(w, r)
	if !ok {
		return
	}
	if s.serveRange(w, r, key) {
		return
	}
	rc, size, err := s.art.Get(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	setDownloadHeaders(h, key)
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s.copyDownload(w, r, key, rc)
}

// serveRange answers a request for one byte range with 206 and only those bytes (a
// preview of a large file reads its first megabyte, not the object), or 416 when the
// range starts past the end. It reports false, having written nothing, when the whole
// file is to be sent instead: no Range, several ranges, a header it cannot read, an
// If-Range (there are no validators to check it against), or a store that cannot read
// ranges — all of which RFC 9110 answers with the whole representation.
func (s *server) serveRange(w http.ResponseWriter, r *http.Request, key string) bool {
	header := r.Header.Get("Range")
	st, canStat := s.art.(blob.Statter)
	rr, canRange := s.art.(blob.RangeReader)
	if header == "" || r.Header.Get("If-Range") != "" || !canStat || !canRange {
		return false
	}
	info, err := st.Stat(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	off, n, ok := parseByteRange(header, info.Size)
	if !ok {
		return false
	}
	h := w.Header()
	if n == 0 {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	}
	rc, err := rr.GetRange(r.Context(), key, off, n)
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	defer rc.Close()
	setDownloadHeaders(h, key)
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, info.Size))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusPartialContent)
	if r.Method != http.MethodHead {
		s.copyDownload(w, r, key, rc)
	}
	return true
}

// parseByteRange reads a Range header of one byte range against an object of size
// bytes: "bytes=A-B", "bytes=A-" or "bytes=-N". ok is false when the header is to be
// ignored (another unit, several ranges, malformed); n is 0 for a range that starts at
// or past the end (416). B past the end is cut to the end, as RFC 9110 says.
func parseByteRange(header string, size int64) (off, n int64, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if first == "" { // the last N bytes
		suffix, err := strconv.ParseInt(last, 10, 64)
		if err != nil || suffix < 0 || last[0] == '+' {
			return 0, 0, false
		}
		if suffix == 0 || size == 0 {
			return 0, 0, true
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 || first[0] == '+' {
		return 0, 0, false
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start || last[0] == '+' {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, true
	}
	return start, end - start + 1, true
}

// setDownloadHeaders sets the type and disposition of an artifact download.
func setDownloadHeaders(h http.Header, key string) {
	h.Set("Accept-Ranges", "bytes")
	ctype := mime.TypeByExtension(path.Ext(key))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	// Served as an attachment and never sniffed, so an uploaded page cannot run in our origin.
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)}))
	h.Set("X-Content-Type-Options", "nosniff")
}

// copyDownload streams an artifact's bytes after the headers were sent.
func (s *server) copyDownload(w http.ResponseWriter, r *http.Request, key string, rc io.Reader) {
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are gone; abort so the client sees a truncated transfer, not a short file.
		s.log.WarnContext(r.Context(), "artifact download interrupted",
			"key", key, "request_id", httpx.RequestIDFrom(r.Context()), "error", err)
		panic(http.ErrAbortHandler)
	}
}

// bodyReader remembers the error that ended reading a request body, so a
// size-limit breach is reported as such whatever the bucket wraps it in.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (s *server) uploadBody(w http.ResponseWriter, r *http.Request) (*bodyReader, int64) {
	httpx.LimitBody(w, r, s.opts.MaxUploadBytes)
	size := r.ContentLength
	if size < 0 {
		size = -1
	}
	return &bodyReader{r: r.Body}, size
}

func (s *server) uploadError(body *bodyReader, err error) error {
	if body.err != nil && httpx.IsTooLarge(body.err) {
		return core.Errorf(core.ETOOLARGE, "artifact upload exceeds the limit of %d bytes", s.opts.MaxUploadBytes)
	}
	return err
}

// checkNotApproved refuses to change files of an approved model version: they are
// what was reviewed, so a change needs a new version (and a new approval). The
// refusal is ECONFLICT (400 INVALID_PARAMETER_VALUE), as for the other approval
// rules and MLflow's writes to finished things: nobody may make this change, so it
// is not a permission (403) problem. One indexed query; reads are never checked.
func (s *server) checkNotApproved(ctx context.Context, key string) error {
	mv, ok, err := s.st.ApprovedVersionAt(ctx, key)
	if err != nil || !ok {
		return err
	}
	return core.Errorf(core.ECONFLICT, "artifact '%s' belongs to approved version %d of model '%s' and cannot be changed; register a new version instead",
		key, mv.Version, mv.Name)
}

// writable answers the refusal when key may not be written, and reports whether it may.
func (s *server) writable(w http.ResponseWriter, r *http.Request, key string) bool {
	if err := s.checkNotApproved(r.Context(), key); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

func (s *server) uploadArtifact(w http.ResponseWriter, r *http.Request) {
	key, ok := s.pathKey(w, r)
	if !ok || !s.writable(w, r, key) {
		return
	}
	body, size := s.uploadBody(w, r)
	if err := s.art.Put(r.Context(), key, body, size); err != nil {
		s.writeError(w, r, s.uploadError(body, err))
		return
	}
	writeJSON(w, empty)
}

func (s *server) deleteArtifact(w http.ResponseWriter, r *http.Request) {
	key, ok := s.pathKey(w, r)
	if !ok || !s.writable(w, r, key) {
		return
	}
	s.finish(w, r, s.art.Delete(r.Context(), key))
}

// mpuKey is the object a multipart call names: the directory in the URL plus
// the base name of the client's local file, which the client sends as "path".
func (s *server) mpuKey(w http.ResponseWriter, r *http.Request, local string) (string, bool) {
	dir, err := artifactKey(r.PathValue("path"))
	if err == nil && local == "" {
		err = missing("path")
	}
	var name string
	if err == nil {
		name = local[strings.LastIndexAny(local, `/\`)+1:]
		if name == "" || name == "." || name == ".." {
			err = invalidValue("path", local, "the path must name a file")
		}
	}
	var key string
	if err == nil {
		key, err = artifactKey(joinKey(dir, name))
	}
	if err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return key, true
}

type wireCredential struct {
	URL        string            `json:"url"`
	PartNumber int               `json:"part_number"`
	Headers    map[string]string `json:"headers"`
}

func (s *server) createMultipart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path     string   `json:"path"`
		NumParts optInt64 `json:"num_parts"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, ok := s.mpuKey(w, r, req.Path)
	if !ok {
		return
	}
	if !req.NumParts.Set || req.NumParts.V < 1 || req.NumParts.V > maxParts {
		s.writeError(w, r, invalidValue("num_parts", req.NumParts.V, fmt.Sprintf("it must be between 1 and %d", maxParts)))
		return
	}
	if !s.writable(w, r, key) {
		return
	}
	uploadID, err := s.art.CreateMultipart(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The client PUTs each part to the URL we give; point it back at this
	// server so multipart works the same on local and S3 buckets.
	base := requestBase(r) + "/api/2.0/mlflow-artifacts/mpu/upload-part/" + escapeKey(key)
	creds := make([]wireCredential, req.NumParts.V)
	for i := range creds {
		q := url.Values{"upload_id": {uploadID}, "part_number": {strconv.Itoa(i + 1)}}
		creds[i] = wireCredential{URL: base + "?" + q.Encode(), PartNumber: i + 1, Headers: map[string]string{}}
	}
	writeJSON(w, struct {
		UploadID    string           `json:"upload_id"`
		Credentials []wireCredential `json:"credentials"`
	}{uploadID, creds})
}

// requestBase is the scheme and host the client reached us at.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// uploadPart is PUT /mlflow-artifacts/mpu/upload-part/<key>?upload_id=…&part_number=N,
// the URL that createMultipart hands out. The part's ETag goes back in the header.
func (s *server) uploadPart(w http.ResponseWriter, r *http.Request) {
	key, ok := s.pathKey(w, r)
	if !ok || !s.writable(w, r, key) {
		return
	}
	q := r.URL.Query()
	uploadID := q.Get("upload_id")
	if uploadID == "" {
		s.writeError(w, r, missing("upload_id"))
		return
	}
	n, err := strconv.Atoi(q.Get("part_number"))
	if err != nil || n < 1 || n > maxParts {
		s.writeError(w, r, invalidValue("part_number", q.Get("part_number"), fmt.Sprintf("it must be an integer between 1 and %d", maxParts)))
		return
	}
	body, size := s.uploadBody(w, r)
	etag, err := s.art.UploadPart(r.Context(), key, uploadID, n, body, size)
	if err != nil {
		s.writeError(w, r, s.uploadError(body, err))
		return
	}
	if !strings.HasPrefix(etag, `"`) {
		etag = `"` + etag + `"`
	}
	w.Header().Set("ETag", etag)
	writeJSON(w, empty)
}

func (s *server) completeMultipart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path     string `json:"path"`
		UploadID string `json:"upload_id"`
		Parts    []struct {
			PartNumber optInt64 `json:"part_number"`
			ETag       string   `json:"etag"`
		} `json:"parts"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, ok := s.mpuKey(w, r, req.Path)
	if !ok {
		return
	}
	var err error
	if req.UploadID == "" {
		err = missing("upload_id")
	} else if len(req.Parts) == 0 {
		err = missing("parts")
	}
	parts := make([]blob.Part, len(req.Parts))
	for i, p := range req.Parts {
		if err == nil && (!p.PartNumber.Set || p.PartNumber.V < 1 || p.PartNumber.V > maxParts) {
			err = invalidValue(fmt.Sprintf("parts[%d].part_number", i), p.PartNumber.V, "")
		}
		parts[i] = blob.Part{Number: int(p.PartNumber.V), ETag: strings.Trim(p.ETag, `"`)}
	}
	if err == nil {
		err = s.checkNotApproved(r.Context(), key)
	}
	if err == nil {
		err = s.art.CompleteMultipart(r.Context(), key, req.UploadID, parts)
	}
	s.finish(w, r, err)
}

func (s *server) abortMultipart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path     string `json:"path"`
		UploadID string `json:"upload_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, ok := s.mpuKey(w, r, req.Path)
	if !ok {
		return
	}
	if req.UploadID == "" {
		s.writeError(w, r, missing("upload_id"))
		return
	}
	s.finish(w, r, s.art.AbortMultipart(r.Context(), key, req.UploadID))
}
