package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Model URIs resolve through the server's MLflow API, as the mlflow client resolves them,
// and the files download through its artifact proxy.
const (
	mlflowAPI    = "/api/2.0/mlflow"
	artifactsAPI = "/api/2.0/mlflow-artifacts/artifacts"
	proxyScheme  = "mlflow-artifacts:"
)

// isServerModelURI reports whether uri names a model Plinth's registry or tracking resolve
// (anything else is a local folder).
func isServerModelURI(uri string) bool {
	for _, p := range []string{"models:/", "runs:/", proxyScheme} {
		if strings.HasPrefix(uri, p) {
			return true
		}
	}
	return false
}

// resolveModelURI turns models:/name@alias, models:/name/N (or /latest, or a stage),
// models:/<model_id> and runs:/<run_id>/path into the artifact URI holding the model.
func (c *client) resolveModelURI(ctx context.Context, uri string) (string, error) {
	switch {
	case strings.HasPrefix(uri, proxyScheme):
		return uri, nil
	case strings.HasPrefix(uri, "runs:/"):
		return c.resolveRunURI(ctx, strings.TrimPrefix(uri, "runs:/"))
	}
	rest := strings.Trim(strings.TrimPrefix(uri, "models:/"), "/")
	if rest == "" {
		return "", fmt.Errorf("invalid model URI %q: want models:/NAME@ALIAS, models:/NAME/VERSION or models:/MODEL_ID", uri)
	}
	if name, alias, ok := strings.Cut(rest, "@"); ok && !strings.Contains(alias, "/") {
		var r struct {
			ModelVersion struct {
				Version string `json:"version"`
			} `json:"model_version"`
		}
		q := url.Values{"name": {name}, "alias": {alias}}
		if _, err := c.getJSON(ctx, mlflowAPI+"/registered-models/alias?"+q.Encode(), &r); err != nil {
			return "", err
		}
		return c.downloadURI(ctx, name, r.ModelVersion.Version)
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 { // models:/<model_id>: a logged model
		var r struct {
			Model struct {
				Info struct {
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
			} `json:"model"`
		}
		if _, err := c.getJSON(ctx, mlflowAPI+"/logged-models/"+url.PathEscape(rest), &r); err != nil {
			return "", err
		}
		return r.Model.Info.ArtifactURI, nil
	}
	name, version := rest[:i], rest[i+1:]
	if !isDigits(version) {
		v, err := c.latestVersion(ctx, name, version)
		if err != nil {
			return "", err
		}
		version = v
	}
	return c.downloadURI(ctx, name, version)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// latestVersion is the newest version of a model ("latest") or of one stage ("Production").
func (c *client) latestVersion(ctx context.Context, name, stage string) (string, error) {
	body := map[string]any{"name": name}
	if !strings.EqualFold(stage, "latest") {
		body["stages"] = []string{stage}
	}
	raw, err := c.do(ctx, http.MethodPost, mlflowAPI+"/registered-models/get-latest-versions", body)
	if err != nil {
		return "", err
	}
	var r struct {
		ModelVersions []struct {
			Version string `json:"version"`
		} `json:"model_versions"`
	}
	if err := c.decode(raw, &r); err != nil {
		return "", err
	}
	best := ""
	for _, v := range r.ModelVersions {
		if len(v.Version) > len(best) || (len(v.Version) == len(best) && v.Version > best) {
			best = v.Version
		}
	}
	if best == "" {
		return "", fmt.Errorf("model %s has no version in stage %s", name, stage)
	}
	return best, nil
}

func (c *client) downloadURI(ctx context.Context, name, version string) (string, error) {
	var r struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	if _, err := c.getJSON(ctx, mlflowAPI+"/model-versions/get-download-uri?"+q.Encode(), &r); err != nil {
		return "", err
	}
	return r.ArtifactURI, nil
}

// resolveRunURI resolves runs:/<run_id>/<path>: the logged model of that run named like
// the path's first segment (MLflow 3 logs models outside the run's artifacts), else the
// run's own artifacts.
func (c *client) resolveRunURI(ctx context.Context, rest string) (string, error) {
	runID, rel, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	if runID == "" {
		return "", fmt.Errorf("invalid runs URI: want runs:/RUN_ID/PATH")
	}
	var r struct {
		Run struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
			Outputs struct {
				ModelOutputs []struct {
					ModelID string `json:"model_id"`
				} `json:"model_outputs"`
			} `json:"outputs"`
		} `json:"run"`
	}
	if _, err := c.getJSON(ctx, mlflowAPI+"/runs/get?"+url.Values{"run_id": {runID}}.Encode(), &r); err != nil {
		return "", err
	}
	first, sub, _ := strings.Cut(rel, "/")
	for _, o := range r.Run.Outputs.ModelOutputs {
		var lm struct {
			Model struct {
				Info struct {
					Name        string `json:"name"`
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
			} `json:"model"`
		}
		if _, err := c.getJSON(ctx, mlflowAPI+"/logged-models/"+url.PathEscape(o.ModelID), &lm); err != nil {
			return "", err
		}
		if lm.Model.Info.Name == first {
			return joinURI(lm.Model.Info.ArtifactURI, sub), nil
		}
	}
	return joinURI(r.Run.Info.ArtifactURI, rel), nil
}

func joinURI(base, rel string) string {
	if rel == "" {
		return base
	}
	return strings.TrimRight(base, "/") + "/" + rel
}

// proxyKey is the artifact proxy's path for an mlflow-artifacts: URI.
func proxyKey(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, proxyScheme)
	if !ok {
		return "", fmt.Errorf("the model's files are at %s, which is not behind Plinth's artifact proxy; download them and pass the folder to -m", uri)
	}
	if strings.HasPrefix(rest, "//") { // mlflow-artifacts://host:port/path
		if i := strings.Index(rest[2:], "/"); i >= 0 {
			rest = rest[2+i:]
		} else {
			rest = ""
		}
	}
	key := strings.Trim(rest, "/")
	if key == "" {
		return "", fmt.Errorf("invalid artifact URI %s", uri)
	}
	return key, nil
}

type artifactFile struct {
	Path     string  `json:"path"`
	IsDir    bool    `json:"is_dir"`
	FileSize flexInt `json:"file_size"`
}

// flexInt reads an int64 written as a JSON number or, as protobuf's JSON does, a string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return fmt.Errorf("file_size %s: %w", b, err)
	}
	*n = flexInt(v)
	return nil
}

// listTree lists every file under key, recursively, with paths relative to key.
func (c *client) listTree(ctx context.Context, key, rel string, out *[]artifactFile, depth int) error {
	if depth > 32 {
		return fmt.Errorf("artifact folder %s is nested too deeply", key)
	}
	var r struct {
		Files []artifactFile `json:"files"`
	}
	p := path.Join(key, rel)
	if _, err := c.getJSON(ctx, artifactsAPI+"?"+url.Values{"path": {p}}.Encode(), &r); err != nil {
		return err
	}
	for _, f := range r.Files {
		name := path.Join(rel, path.Base(f.Path))
		if f.IsDir {
			if err := c.listTree(ctx, key, name, out, depth+1); err != nil {
				return err
			}
			continue
		}
		*out = append(*out, artifactFile{Path: name, FileSize: f.FileSize})
	}
	return nil
}

// fetchModel resolves uri and downloads the model's files into dst (an empty folder).
func (c *client) fetchModel(ctx context.Context, uri, dst string, progress io.Writer) error {
	artifactURI, err := c.resolveModelURI(ctx, uri)
	if err != nil {
		return err
	}
	key, err := proxyKey(artifactURI)
	if err != nil {
		return err
	}
	var files []artifactFile
	if err := c.listTree(ctx, key, "", &files, 0); err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s resolves to %s, which holds no files", uri, artifactURI)
	}
	var total int64
	for _, f := range files {
		total += int64(f.FileSize)
	}
	fmt.Fprintf(progress, "downloading %s: %d files, %s\n", uri, len(files), humanBytes(total))
	for _, f := range files {
		local := filepath.Join(dst, filepath.FromSlash(f.Path))
		if !strings.HasPrefix(local, filepath.Clean(dst)+string(filepath.Separator)) {
			return fmt.Errorf("artifact path %q leaves the download folder", f.Path)
		}
		if err := c.download(ctx, path.Join(key, f.Path), local); err != nil {
			return err
		}
	}
	return nil
}

// download streams one artifact into a local file (no size cap: models can be large;
// the request has no client timeout either, only the context).
func (c *client) download(ctx context.Context, key, local string) error {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+artifactsAPI+"/"+strings.Join(segs, "/"), nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		return c.statusError(res, raw)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	f, err := os.Create(local)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("downloading %s: %w", key, err)
	}
	return f.Close()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
