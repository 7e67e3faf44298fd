package blob

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestCleanKey(t *testing.T) {
	ok := map[string]string{
		"":                  "",
		".":                 "",
		"./":                "",
		"a":                 "a",
		"a/b/c":             "a/b/c",
		"a//b/./c":          "a/b/c",
		"a/b/":              "a/b",
		"./a/./b/.":         "a/b",
		"...":               "...",
		"a/..b/c..":         "a/..b/c..",
		".hidden/x":         ".hidden/x",
		"with space/é ✓":    "with space/é ✓",
		"model:v1/C:x":      "model:v1/C:x", // a colon is fine past the first segment or letter
		"ab:c":              "ab:c",
		".plinth-uploadsX":  ".plinth-uploadsX",
		"x/.plinth-uploads": "x/.plinth-uploads", // reserved only at the root
		"%2e%2e/x":          "%2e%2e/x",          // not decoded here: a literal name
	}
	for in, want := range ok {
		got, err := CleanKey(in)
		if err != nil || got != want {
			t.Errorf("CleanKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"/abs", "//double", "..", "../x", "a/../b", "a/b/..", "a/./../..",
		`a\b`, `\\server\share`, "C:", "c:/x", "Z:rel", "./d:/x",
		"nul\x00", "line\nbreak", "cr\r", "del\x7f", "c1\u0085", "bad\xffutf8",
		".plinth-uploads", ".plinth-uploads/tmp/x", "./.Plinth-Uploads/mp",
		strings.Repeat("a", MaxKeyLen+1),
	}
	for _, in := range bad {
		got, err := CleanKey(in)
		if core.ErrorCode(err) != core.EINVALID {
			t.Errorf("CleanKey(%q) = %q, %v; want an EINVALID error", in, got, err)
		} else if core.ErrorMessage(err) == "" {
			t.Errorf("CleanKey(%q): empty message", in)
		}
	}
	if _, err := CleanKey(strings.Repeat("a", MaxKeyLen)); err != nil {
		t.Errorf("a key of exactly MaxKeyLen bytes: %v", err)
	}
}

func TestObjectKeyRefusesRoot(t *testing.T) {
	for _, in := range []string{"", ".", "./", "a/.."} {
		if _, err := objectKey(in); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("objectKey(%q) = %v, want EINVALID", in, err)
		}
	}
}

func FuzzCleanKey(f *testing.F) {
	for _, s := range []string{"a/b", "a//b/./c", "../x", "/abs", `a\b`, "C:/x", ".", "..", "a/..",
		"....//..", ".plinth-uploads/x", "x\x00y", "é/ü"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/srv/artifacts")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanKey(in)
		if err != nil {
			if core.ErrorCode(err) != core.EINVALID {
				t.Fatalf("CleanKey(%q): error %v is not EINVALID", in, err)
			}
			return
		}
		if again, err := CleanKey(out); err != nil || again != out {
			t.Fatalf("CleanKey not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		if out == "" {
			return
		}
		if strings.HasPrefix(out, "/") || strings.HasSuffix(out, "/") || strings.ContainsRune(out, '\\') {
			t.Fatalf("CleanKey(%q) = %q: not a clean relative key", in, out)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("CleanKey(%q) = %q: bad segment %q", in, out, seg)
			}
		}
		for _, r := range out {
			if unicode.IsControl(r) {
				t.Fatalf("CleanKey(%q) = %q: control character", in, out)
			}
		}
		if isDriveLetter(out) || strings.EqualFold(strings.Split(out, "/")[0], reservedDir) {
			t.Fatalf("CleanKey(%q) = %q: drive letter or reserved folder", in, out)
		}
		joined := filepath.Join(root, filepath.FromSlash(out))
		if !strings.HasPrefix(joined, root+string(filepath.Separator)) {
			t.Fatalf("CleanKey(%q) = %q escapes the root: %s", in, out, joined)
		}
	})
}
