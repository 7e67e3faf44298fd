package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestListInputsLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"b.csv":            "a\n1\n",
		"a/x.jsonl":        `{"a":1}` + "\n",
		"a/y.NDJSON":       `{"a":2}` + "\n",
		"a/z/deep.pq":      "PAR1…",
		"_SUCCESS":         "",
		"_rejects/r.csv":   "a\n",
		".hidden/h.csv":    "a\n",
		"a/.part.csv.crc":  "x",
		"a/_tmp/t.parquet": "x",
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	got, err := ListInputs(bg, openLoc(t, dir), "")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, fmt.Sprintf("%s %s %d %s", f.Path, f.Format, f.Size, f.Digest))
	}
	want := []string{
		"a/x.jsonl jsonl 8 " + sha(files["a/x.jsonl"]),
		"a/y.NDJSON jsonl 8 " + sha(files["a/y.NDJSON"]),
		"a/z/deep.pq parquet 7 " + sha(files["a/z/deep.pq"]),
		"b.csv csv 4 " + sha(files["b.csv"]),
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("inputs:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The input is the file itself: Path is "".
	one, err := ListInputs(bg, openLoc(t, filepath.Join(dir, "b.csv")), "")
	if err != nil || len(one) != 1 || one[0] != (core.BatchInputFile{Path: "", Format: "csv", Size: 4, Digest: sha(files["b.csv"])}) {
		t.Errorf("single file: %+v, %v", one, err)
	}
	// A format given applies to every file, whatever its name.
	writeFile(t, filepath.Join(dir, "noext", "rows"), "a\n1\n")
	forced, err := ListInputs(bg, openLoc(t, "file://"+filepath.Join(dir, "noext")), "csv")
	if err != nil || len(forced) != 1 || forced[0].Format != "csv" || forced[0].Path != "rows" {
		t.Errorf("--format csv: %+v, %v", forced, err)
	}
}

func TestListInputsSaysWhatToDo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mixed", "a.csv"), "a\n1\n")
	writeFile(t, filepath.Join(dir, "mixed", "notes.txt"), "hello")
	writeFile(t, filepath.Join(dir, "hiddenonly", "_SUCCESS"), "")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		uri, format string
		want        []string
	}{
		{filepath.Join(dir, "missing"), "", []string{"does not exist", "give a CSV, JSON Lines or Parquet file"}},
		{filepath.Join(dir, "empty"), "", []string{"holds no files to score"}},
		{filepath.Join(dir, "hiddenonly"), "", []string{"holds no files to score", "names starting with _ or . are skipped"}},
		{filepath.Join(dir, "mixed"), "", []string{"notes.txt", `unknown file extension ".txt"`, "--format csv|jsonl|parquet", "leading _"}},
		{filepath.Join(dir, "mixed"), "xlsx", []string{`unknown format "xlsx"`}},
	}
	for _, c := range cases {
		_, err := ListInputs(bg, openLoc(t, c.uri), c.format)
		if err == nil {
			t.Errorf("%s: no error", c.uri)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.uri, err, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("listing a missing input created it: %v", err)
	}
}
