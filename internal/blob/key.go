package blob

import (
	"strings"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
)

// MaxKeyLen is the longest key accepted, in bytes (S3's own limit).
const MaxKeyLen = 1024

// reservedDir is the top-level folder where the local bucket stages temporary
// files and multipart parts. CleanKey refuses it so no user key can reach it.
const reservedDir = ".plinth-uploads"

// CleanKey validates an artifact key and returns its canonical form:
// slash-separated, relative, without empty or "." segments and without a
// trailing slash ("a//b/./c/" becomes "a/b/c"). The empty key (or ".") is the
// root and cleans to "". It refuses, with a core EINVALID error, anything that
// could name a file outside the root: absolute paths, ".." segments,
// backslashes, Windows drive letters, NUL and other control characters,
// invalid UTF-8, over-long keys and the reserved staging folder.
func CleanKey(key string) (string, error) {
	if key == "" {
		return "", nil
	}
	if len(key) > MaxKeyLen {
		return "", core.Errorf(core.EINVALID, "artifact path is longer than %d bytes", MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return "", core.Errorf(core.EINVALID, "artifact path %q is not valid UTF-8", key)
	}
	for _, r := range key {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return "", core.Errorf(core.EINVALID, "artifact path %q contains a control character", key)
		case r == '\\':
			return "", core.Errorf(core.EINVALID, "artifact path %q contains a backslash; use '/' to separate folders", key)
		}
	}
	if key[0] == '/' {
		return "", core.Errorf(core.EINVALID, "artifact path %q is absolute; it must be relative", key)
	}
	segs := strings.Split(key, "/")
	out := segs[:0]
	for _, s := range segs {
		switch s {
		case "", ".":
			continue
		case "..":
			return "", core.Errorf(core.EINVALID, "artifact path %q contains '..'", key)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "", nil
	}
	if isDriveLetter(out[0]) {
		return "", core.Errorf(core.EINVALID, "artifact path %q starts with a drive letter; it must be relative", key)
	}
	if strings.EqualFold(out[0], reservedDir) {
		return "", core.Errorf(core.EINVALID, "artifact path %q uses the reserved folder %s", key, reservedDir)
	}
	return strings.Join(out, "/"), nil
}

// isDriveLetter reports whether a segment looks like "C:" or "C:foo", which
// Windows resolves against a drive rather than the current folder.
func isDriveLetter(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// objectKey cleans a key that must name an object, so the root is refused.
func objectKey(key string) (string, error) {
	k, err := CleanKey(key)
	if err != nil {
		return "", err
	}
	if k == "" {
		return "", core.Errorf(core.EINVALID, "artifact path must not be empty")
	}
	return k, nil
}

// joinKey joins a cleaned directory key and a child name.
func joinKey(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// ProxyScheme is the URI scheme of files kept behind Plinth's artifact proxy:
// mlflow-artifacts:/X (or mlflow-artifacts://host:port/X) is key X of the artifact bucket.
const ProxyScheme = "mlflow-artifacts:"

// ProxiedKey maps an mlflow-artifacts URI to its bucket key; ok is false for any other
// URI (files stored elsewhere, e.g. an experiment created with s3://…) or an unsafe key.
func ProxiedKey(uri string) (key string, ok bool) {
	rest, found := strings.CutPrefix(uri, ProxyScheme)
	if !found {
		return "", false
	}
	if strings.HasPrefix(rest, "//") { // mlflow-artifacts://host:port/path
		rest = rest[2:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
	}
	key, err := CleanKey(strings.TrimLeft(rest, "/"))
	return key, err == nil
}
