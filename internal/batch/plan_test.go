package batch

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
	"github.com/plinth-ml/plinth/internal/testutil/pyenv"
)

func TestPlanParquetFolder(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "2024", "a.parquet"), tabular.Parquet, g.table(0, 350), 100)   // 100,100,100,50
	writeTable(t, filepath.Join(dir, "2024", "b.parquet"), tabular.Parquet, g.table(350, 950), 300) // 300,300
	writeTable(t, filepath.Join(dir, "2025", "c.parquet"), tabular.Parquet, g.table(950, 960), 100) // 10
	writeTable(t, filepath.Join(dir, "empty.parquet"), tabular.Parquet, g.table(0, 0), 100)
	for _, hidden := range []string{"_SUCCESS", ".crc", "_rejects/part-00000.parquet", ".staging/x.parquet"} {
		writeFile(t, filepath.Join(dir, hidden), "not data")
	}
	in := openLoc(t, dir)
	files, shards := planFolder(t, in, g.model, []string{"id"}, 250)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, " "); got != "2024/a.parquet 2024/b.parquet 2025/c.parquet empty.parquet" {
		t.Fatalf("inputs %s", got)
	}
	want := []string{
		"0 2024/a.parquet groups [0,2) rows 0+200",
		"1 2024/a.parquet groups [2,4) rows 200+150",
		"2 2024/b.parquet groups [0,1) rows 0+300",
		"3 2024/b.parquet groups [1,2) rows 300+300",
		"4 2025/c.parquet groups [0,1) rows 0+10",
	}
	if len(shards) != len(want) {
		t.Fatalf("%d shards, want %d: %+v", len(shards), len(want), shards)
	}
	for i, s := range shards {
		got := fmt.Sprintf("%d %s groups [%d,%d) rows %d+%d", s.Index, s.File, s.RowGroupStart, s.RowGroupEnd, s.FirstRow, s.Rows)
		if got != want[i] || s.Format != "parquet" || s.JobID != "" {
			t.Errorf("shard %d: %s (%s), want %s", i, got, s.Format, want[i])
		}
	}
	// One shard per file when the limit is above every file.
	_, shards = planFolder(t, in, g.model, nil, 1000)
	if len(shards) != 3 || shards[0].RowGroupEnd != 4 || shards[0].Rows != 350 {
		t.Errorf("with a limit of 1000 rows: %+v", shards)
	}
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlanRefusesASchemaThatCannotFit(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	full := g.table(0, 10)
	noB := &tabular.Table{Columns: []tabular.Column{full.Columns[0], full.Columns[1], full.Columns[3], full.Columns[4]}} // id a c d
	writeTable(t, filepath.Join(dir, "ok", "a.parquet"), tabular.Parquet, full, 0)
	writeTable(t, filepath.Join(dir, "ok", "b.csv"), tabular.CSV, full, 0)
	writeTable(t, filepath.Join(dir, "nob", "x.parquet"), tabular.Parquet, noB, 0)
	writeTable(t, filepath.Join(dir, "nob-csv", "x.csv"), tabular.CSV, noB, 0)
	writeTable(t, filepath.Join(dir, "nob-jsonl", "x.jsonl"), tabular.JSONLines, noB, 0)
	writeFile(t, filepath.Join(dir, "broken", "x.jsonl"), "not json\n[1]\n")
	writeFile(t, filepath.Join(dir, "empty", "x.csv"), "")
	writeFile(t, filepath.Join(dir, "notparquet", "x.parquet"), "PAR1 this is not parquet PAR1")

	cases := []struct {
		dir  string
		pass []string
		want []string // in the error
	}{
		{"ok", []string{"id", "customer"}, []string{"ok/a.parquet", "passthrough column(s) customer are not in the file"}},
		{"nob", nil, []string{"nob/x.parquet", "missing column(s) b", "the file's columns: id, a, c, d"}},
		{"nob-csv", []string{"id"}, []string{"x.csv", "missing column(s) b"}},
		{"nob-jsonl", nil, []string{"x.jsonl", "missing column(s) b"}},
		{"broken", nil, []string{"x.jsonl", "none of its 2 lines"}},
		{"empty", nil, []string{"holds no rows to score"}},
		{"notparquet", nil, []string{"x.parquet", "parquet"}},
	}
	for _, c := range cases {
		in := openLoc(t, filepath.Join(dir, c.dir))
		files, err := ListInputs(bg, in, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Plan(bg, in, files, g.model, c.pass, 0)
		if err == nil {
			t.Errorf("%s: planned", c.dir)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.dir, err, w)
			}
		}
	}
	// Text files: one shard each, FirstRow 0 and Rows unknown.
	in := openLoc(t, filepath.Join(dir, "ok"))
	_, shards := planFolder(t, in, g.model, []string{"id"}, 0)
	if len(shards) != 2 || shards[1] != (core.BatchShard{Index: 1, File: "b.csv", Format: "csv"}) {
		t.Errorf("shards %+v", shards)
	}
}

// localAsRemote hides a local bucket's type, so Parquet is read by ranged requests and
// a prefetched range, as from S3; it counts the bytes fetched.
type localAsRemote struct {
	*blob.Local
	fetched, requests atomic.Int64
}

func (l *localAsRemote) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	l.fetched.Add(n)
	l.requests.Add(1)
	return l.Local.GetRange(ctx, key, off, n)
}

// A file written by pyarrow (dictionary pages, several data pages per chunk, pandas
// metadata) is planned by its row groups and read by ranges exactly.
func TestPyarrowFileByRanges(t *testing.T) {
	t.Parallel()
	py := pyenv.Python(t)
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	script := `
import json, sys
import pandas as pd, pyarrow as pa, pyarrow.parquet as pq
c = json.load(open(sys.argv[1]))["input"]
rows = [c["data"][i % len(c["data"])] for i in range(1000)]
df = pd.DataFrame(rows, columns=c["columns"])
df.insert(0, "key", ["k%03d" % (i % 37) for i in range(1000)])
df.insert(0, "id", range(1000))
pq.write_table(pa.Table.from_pandas(df), sys.argv[2], row_group_size=128, data_page_size=512, use_dictionary=True)
`
	path := filepath.Join(dir, "in", "py.parquet")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if out, err := exec.Command(py, "-c", script, filepath.Join(goldenModels, "xgb-booster", "expected.json"), path).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	local, err := blob.OpenLocalDir(filepath.Join(dir, "in"))
	if err != nil {
		t.Fatal(err)
	}
	remote := &localAsRemote{Local: local}
	in := Location{URI: filepath.Join(dir, "in"), Bucket: remote}
	out, rej := openLoc(t, filepath.Join(dir, "out")), openLoc(t, filepath.Join(dir, "rej"))
	files, shards := planFolder(t, in, g.model, []string{"id", "key"}, 300)
	if len(shards) != 4 || shards[3].RowGroupStart != 6 || shards[3].RowGroupEnd != 8 || shards[3].FirstRow != 768 || shards[3].Rows != 232 {
		t.Fatalf("shards %+v", shards)
	}
	file, _ := os.Open(path)
	defer file.Close()
	pf, err := tabular.OpenParquet(file, files[0].Size)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		before, calls := remote.fetched.Load(), remote.requests.Load()
		res, err := RunShard(bg, g.model, in, out, rej, s, ShardOptions{Passthrough: []string{"id", "key"}, BatchRows: 100, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		// A block for the magic bytes, one for the footer, then the row groups at once.
		var span int64
		for _, rg := range pf.RowGroups()[s.RowGroupStart:s.RowGroupEnd] {
			span += rg.Bytes
		}
		fetched, requests := remote.fetched.Load()-before, remote.requests.Load()-calls
		if requests > 3 || fetched > span+2*files[0].Size {
			t.Errorf("shard %d: %d requests for %d bytes; its row groups hold %d", s.Index, requests, fetched, span)
		}
		got := readFile(t, filepath.Join(dir, "out", res.Part), tabular.Parquet)
		if got.Rows() != int(s.Rows) {
			t.Fatalf("shard %d: %d rows, want %d", s.Index, got.Rows(), s.Rows)
		}
		for i := range got.Rows() {
			id := got.Columns[0].Ints[i]
			if id != s.FirstRow+int64(i) || got.Columns[1].Strings[i] != fmt.Sprintf("k%03d", id%37) {
				t.Fatalf("shard %d row %d: id %d, key %s", s.Index, i, id, got.Columns[1].Strings[i])
			}
			g.checkRow(t, id, 0, got.Columns[2].Floats[i])
		}
	}
}
