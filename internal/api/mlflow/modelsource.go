package mlflow

import (
	"context"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// Prompts are registered models tagged mlflow.prompt.is_prompt; their versions carry
// a placeholder source instead of model files.
const tagIsPrompt = "mlflow.prompt.is_prompt"

var promptSources = map[string]bool{"dummy-source": true, "prompt-template": true}

func isPrompt(tags []core.Tag) bool {
	v := "false"
	for _, t := range tags {
		if t.Key == tagIsPrompt {
			v = t.Value
		}
	}
	return strings.EqualFold(v, "true")
}

// resolveSource checks a new version's source against its run_id and model_id as
// MLflow's server does before registering (_validate_source_run/_model): a source
// must not climb out of its folder, and one that names tracked files must lie in
// the artifacts of the run or logged model the request names, so that a version
// cannot claim (and, once approved, lock) files that are not its own. It also fills
// what the source implies: the ids of "runs:/<id>/…" and "models:/<id>" when the
// request left them out (MLflow refuses those instead), and for a registered model
// source the referenced version's number and ids. (The store then finds the files.)
func (s *server) resolveSource(ctx context.Context, mv *core.ModelVersion, hasRunID, hasModelID, prompt bool) error {
	if prompt {
		if !promptSources[mv.Source] {
			return invalidf("Invalid prompt source: '%s'. Prompt sources must use an MLflow placeholder.", mv.Source)
		}
		return nil
	}
	scheme, host, _ := splitURI(mv.Source)
	if scheme == "models" {
		if host != "" {
			return invalidf("Invalid model version source: '%s'. Registered model sources must use the active model registry.", mv.Source)
		}
		u, err := parseModelURI(mv.Source)
		if err != nil {
			return invalidSource(mv.Source, "model_id")
		}
		if u.modelID == "" {
			return s.resolveRegistrySource(ctx, mv, u, hasRunID, hasModelID)
		}
		if mv.ModelID == "" {
			mv.ModelID = u.modelID
		}
		if mv.ModelID != u.modelID {
			return invalidSource(mv.Source, "model_id")
		}
	}
	if mv.ModelID != "" {
		return s.checkModelSource(ctx, mv)
	}
	return s.checkRunSource(ctx, mv)
}

func invalidSource(source, idField string) error {
	return invalidf("Invalid model version source: '%s'. The %s request parameter must identify the resource that contains the source.", source, idField)
}

// checkModelSource is MLflow's _validate_source_model.
func (s *server) checkModelSource(ctx context.Context, mv *core.ModelVersion) error {
	if isLocalURI(mv.Source) {
		m, err := s.st.GetLoggedModel(ctx, mv.ModelID)
		if err == nil && localWithin(mv.Source, m.ArtifactURI) {
			return nil
		}
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		return invalidf("Invalid model version source: '%s'. To use a local path as a model version source, the model_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the model_id.", mv.Source)
	}
	if err := checkSourcePath(mv.Source); err != nil {
		return err
	}
	scheme, _, _ := splitURI(mv.Source)
	if scheme == "runs" {
		return invalidSource(mv.Source, "model_id")
	}
	if isProxiedSource(mv.Source) {
		m, err := s.st.GetLoggedModel(ctx, mv.ModelID)
		if err == nil && uriWithin(mv.Source, m.ArtifactURI) {
			return nil
		}
		if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
			return err
		}
		return invalidSource(mv.Source, "model_id")
	}
	return nil
}

// checkRunSource is MLflow's _validate_source_run.
func (s *server) checkRunSource(ctx context.Context, mv *core.ModelVersion) error {
	if isLocalURI(mv.Source) {
		if mv.RunID != "" {
			run, err := s.st.GetRun(ctx, mv.RunID)
			if err == nil && localWithin(mv.Source, run.Info.ArtifactURI) {
				return nil
			}
			if err != nil && core.ErrorCode(err) != core.ENOTFOUND {
				return err
			}
		}
		return invalidf("Invalid model version source: '%s'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.", mv.Source)
	}
	if err := checkSourcePath(mv.Source); err != nil {
		return err
	}
	scheme, host, p := splitURI(mv.Source)
	switch {
	case scheme == "runs":
		runID, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if host != "" || runID == "" {
			return invalidSource(mv.Source, "run_id")
		}
		if mv.RunID == "" {
			mv.RunID = runID
		}
		if mv.RunID != runID {
			return invalidSource(mv.Source, "run_id")
		}
	case isProxiedSource(mv.Source):
		if mv.RunID == "" {
			return invalidSource(mv.Source, "run_id")
		}
		run, err := s.st.GetRun(ctx, mv.RunID)
		if core.ErrorCode(err) == core.ENOTFOUND || (err == nil && !uriWithin(mv.Source, run.Info.ArtifactURI)) {
			return invalidSource(mv.Source, "run_id")
		}
		return err
	}
	return nil
}

// resolveRegistrySource registers a copy of another version ("models:/name/3",
// "models:/name@champion", "models:/name/Production", "models:/name/latest"):
// the source becomes "models:/name/<version>", so that it keeps naming the same
// files when the alias or stage moves on.
func (s *server) resolveRegistrySource(ctx context.Context, mv *core.ModelVersion, u modelURI, hasRunID, hasModelID bool) error {
	if err := checkModelName("name", u.name); err != nil {
		return invalidSource(mv.Source, "model_id")
	}
	var src core.ModelVersion
	var err error
	switch {
	case u.version != "":
		var n int64
		if n, err = strconv.ParseInt(u.version, 10, 64); err != nil {
			return invalidSource(mv.Source, "model_id")
		}
		src, err = s.st.GetModelVersion(ctx, u.name, n)
	case u.alias != "":
		src, err = s.st.GetModelVersionByAlias(ctx, u.name, u.alias)
	case u.stage != "":
		var stage string
		if stage, err = canonicalStage(u.stage); err == nil {
			src, err = s.latestVersionOf(ctx, u.name, []string{stage})
		}
	default:
		src, err = s.latestVersionOf(ctx, u.name, nil)
	}
	if err != nil {
		return err
	}
	if (hasRunID && mv.RunID != src.RunID) || (hasModelID && mv.ModelID != src.ModelID) {
		return invalidf("Invalid model version source: '%s'. The run_id and model_id request parameters must match the referenced model version.", mv.Source)
	}
	mv.Source = "models:/" + src.Name + "/" + strconv.FormatInt(src.Version, 10)
	mv.RunID, mv.ModelID = src.RunID, src.ModelID
	return nil
}

// checkSourcePath is MLflow's _validate_non_local_source_contains_relative_paths:
// after decoding, the path must be absolute and already clean, without ".." or NUL.
func checkSourcePath(source string) error {
	decoded := source
	for i := 0; i < 10; i++ {
		d := pyUnquote(decoded, true)
		if d == decoded {
			break
		}
		decoded = d
	}
	_, _, p := splitURI(decoded)
	p = strings.TrimRight(p, "/")
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	bad := strings.ContainsRune(p, 0) || !strings.HasPrefix(p, "/") || path.Clean(p) != p
	for _, seg := range strings.Split(decoded, "/") {
		bad = bad || seg == ".."
	}
	if bad {
		return invalidf("Invalid model version source: '%s'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.", decoded)
	}
	return nil
}

// splitURI splits a URI as Python's urlparse does, as far as the checks here need:
// a lower-cased scheme, the authority after "//", and the path before any ?query or #fragment.
func splitURI(uri string) (scheme, host, p string) {
	rest := uri
	if i := strings.IndexByte(uri, ':'); i > 0 && validScheme(uri[:i]) {
		scheme, rest = strings.ToLower(uri[:i]), uri[i+1:]
	}
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host, rest = rest[:end], rest[end:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return scheme, host, rest
}

func validScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// isLocalURI is MLflow's is_local_uri: a bare path or a file: URI on this host.
func isLocalURI(uri string) bool {
	scheme, host, _ := splitURI(uri)
	switch scheme {
	case "":
		return true
	case "file":
		h := strings.ToLower(host)
		if i := strings.LastIndexByte(h, '@'); i >= 0 {
			h = h[i+1:]
		}
		return h == "" || h == "." || strings.HasPrefix(h, "localhost") || strings.HasPrefix(h, "127.0.0.1")
	}
	return false
}

// localWithin reports whether the local source lies in the local artifact root.
func localWithin(source, root string) bool {
	if !isLocalURI(root) {
		return false
	}
	src, err1 := filepath.Abs(localPath(source))
	dir, err2 := filepath.Abs(localPath(root))
	return err1 == nil && err2 == nil && (src == dir || strings.HasPrefix(src, strings.TrimSuffix(dir, "/")+"/"))
}

// localPath is MLflow's local_file_uri_to_path: the path of a file: URI, or the
// bare path, percent-decoded.
func localPath(uri string) string {
	if scheme, _, p := splitURI(uri); scheme != "" {
		uri = p
	}
	return pyUnquote(uri, false)
}

// isProxiedSource is MLflow's _is_mlflow_artifact_source: files behind the artifact
// proxy, as an mlflow-artifacts: URI or an http(s) URL of the proxy's download route.
func isProxiedSource(source string) bool {
	scheme, _, parts := uriParts(source)
	if scheme == "mlflow-artifacts" {
		return true
	}
	if scheme != "http" && scheme != "https" {
		return false
	}
	route := []string{"api", "2.0", "mlflow-artifacts", "artifacts"}
	for i := 0; i+len(route) <= len(parts); i++ {
		if equalParts(parts[i:i+len(route)], route) {
			return true
		}
	}
	return false
}

// uriWithin is MLflow's _is_uri_within_root: same scheme and authority, and the
// root's decoded path segments begin the source's.
func uriWithin(source, root string) bool {
	ss, sh, sp := uriParts(source)
	rs, rh, rp := uriParts(root)
	return ss == rs && sh == rh && len(rp) > 0 && len(sp) >= len(rp) && equalParts(sp[:len(rp)], rp)
}

func uriParts(uri string) (scheme, host string, parts []string) {
	scheme, host, p := splitURI(uri)
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		for i := 0; i < 10; i++ {
			d := pyUnquote(seg, false)
			if d == seg {
				break
			}
			seg = d
		}
		parts = append(parts, seg)
	}
	return scheme, strings.ToLower(host), parts
}

func equalParts(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pyUnquote decodes %XX escapes (and, with plus, '+' as a space) as Python's
// urllib.parse.unquote(_plus) does: malformed escapes are left as they are.
func pyUnquote(s string, plus bool) string {
	if !strings.ContainsRune(s, '%') && !(plus && strings.ContainsRune(s, '+')) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// modelURI is a parsed models:/ URI: one model id, or a name with at most one of
// version, stage or alias (none means the latest version).
type modelURI struct {
	modelID, name, version, stage, alias string
}

// parseModelURI parses "models:/<model id>", "models:/<name>/<version|stage|latest>"
// and "models:/<name>@<alias>" as MLflow's _parse_model_uri.
func parseModelURI(uri string) (modelURI, error) {
	scheme, _, p := splitURI(uri)
	bad := core.Errorf(core.EINVALID, "Not a proper models:/ URI: %s. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.", uri)
	if scheme != "models" || !strings.HasPrefix(p, "/") || len(p) <= 1 {
		return modelURI{}, bad
	}
	parts := strings.Split(strings.TrimLeft(p, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return modelURI{}, bad
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return modelURI{}, bad
		case strings.Trim(suffix, "0123456789") == "":
			return modelURI{name: name, version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return modelURI{name: name}, nil
		}
		return modelURI{name: name, stage: suffix}, nil
	}
	if i := strings.LastIndexByte(parts[0], '@'); i >= 0 {
		if strings.TrimSpace(parts[0][i+1:]) == "" {
			return modelURI{}, bad
		}
		return modelURI{name: parts[0][:i], alias: parts[0][i+1:]}, nil
	}
	return modelURI{modelID: parts[0]}, nil
}
