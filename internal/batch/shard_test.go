package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/tabular"
)

var bg = context.Background()

// Golden MLflow model folders (python/fixtures/mlflow_models.py) with mlflow's own
// pyfunc predictions for their input rows.
const goldenModels = "../runtime/testdata/mlflow"

type golden struct {
	model   *pyfunc.Model
	columns []string
	data    [][]*float64 // nil: missing
	predict [][]any      // mlflow's predict output per row
}

func loadGolden(t testing.TB, name string) *golden {
	t.Helper()
	m, err := pyfunc.Load(filepath.Join(goldenModels, name, "model"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(goldenModels, name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Input struct {
			Columns []string     `json:"columns"`
			Data    [][]*float64 `json:"data"`
		} `json:"input"`
		Predict [][]any `json:"predict"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &golden{model: m, columns: c.Input.Columns, data: c.Input.Data, predict: c.Predict}
}

// table returns rows [from, to) of an input made of the golden rows over and over, with
// an id column (the row's position) first.
func (g *golden) table(from, to int) *tabular.Table {
	n := to - from
	t := &tabular.Table{Columns: []tabular.Column{{Name: "id", Type: tabular.Int64, Ints: make([]int64, n)}}}
	for _, name := range g.columns {
		t.Columns = append(t.Columns, tabular.Column{Name: name, Type: tabular.Float64, Floats: make([]float64, n), Null: make([]bool, n)})
	}
	for i := range n {
		row := from + i
		t.Columns[0].Ints[i] = int64(row)
		for j, v := range g.data[row%len(g.data)] {
			c := &t.Columns[j+1]
			if v == nil {
				c.Floats[i], c.Null[i] = math.NaN(), true
			} else {
				c.Floats[i] = *v
			}
		}
	}
	return t
}

// checkRow compares output k of input row `row` with mlflow's.
func (g *golden) checkRow(t testing.TB, row int64, k int, got any) {
	t.Helper()
	want := g.predict[int(row)%len(g.predict)][k]
	switch w := want.(type) {
	case float64:
		var gv float64
		switch v := got.(type) {
		case float64:
			gv = v
		case int64:
			gv = float64(v)
		default:
			t.Fatalf("row %d: prediction %v (%T), mlflow %v", row, got, got, w)
		}
		if math.Abs(gv-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Fatalf("row %d: prediction %v, mlflow %v", row, gv, w)
		}
	default:
		t.Fatalf("row %d: unexpected golden value %v", row, want)
	}
}

func writeTable(t testing.TB, path string, f tabular.Format, tb *tabular.Table, rowGroupRows int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	w, err := tabular.NewWriterWith(file, f, tabular.WriteOptions{RowGroupRows: rowGroupRows})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(tb); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFile reads a whole table file.
func readFile(t testing.TB, path string, f tabular.Format) *tabular.Table {
	t.Helper()
	r, err := tabular.OpenFile(path, f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var all *tabular.Table
	for {
		b, err := r.Next(1 << 20)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if all == nil {
			all = b
			continue
		}
		for j := range all.Columns {
			all.Columns[j] = concatColumns([]tabular.Column{all.Columns[j], b.Columns[j]})
		}
	}
	if all == nil {
		all = &tabular.Table{}
	}
	return all
}

func openLoc(t testing.TB, uri string) Location {
	t.Helper()
	loc, err := OpenLocation(bg, uri, blob.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loc.Bucket.Close() })
	return loc
}

// planFolder lists and plans the input folder.
func planFolder(t testing.TB, in Location, m *pyfunc.Model, pass []string, maxRows int64) ([]core.BatchInputFile, []core.BatchShard) {
	t.Helper()
	files, err := ListInputs(bg, in, "")
	if err != nil {
		t.Fatal(err)
	}
	shards, err := Plan(bg, in, files, m, pass, maxRows)
	if err != nil {
		t.Fatal(err)
	}
	return files, shards
}

func value(c *tabular.Column, i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch c.Type {
	case tabular.Int64:
		return c.Ints[i]
	case tabular.Bool:
		return c.Bools[i]
	case tabular.String:
		return c.Strings[i]
	}
	return c.Floats[i]
}

// Every output row holds its input's id and mlflow's prediction for that row, and the
// output equals model.Predict on the same rows.
func TestRunShardMatchesPredict(t *testing.T) {
	t.Parallel()
	// xgb-tensor takes its features by position: the id column is kept out of its input.
	for _, name := range []string{"xgb-booster", "xgb-classifier", "lgb-booster", "xgb-tensor"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := loadGolden(t, name)
			dir := t.TempDir()
			writeTable(t, filepath.Join(dir, "in", "a.parquet"), tabular.Parquet, g.table(0, 700), 64)
			writeTable(t, filepath.Join(dir, "in", "b.csv"), tabular.CSV, g.table(700, 900), 0)
			writeTable(t, filepath.Join(dir, "in", "c.jsonl"), tabular.JSONLines, g.table(900, 1000), 0)
			in, out := openLoc(t, filepath.Join(dir, "in")), openLoc(t, filepath.Join(dir, "out"))
			rej := openLoc(t, filepath.Join(dir, "out", "_rejects"))
			_, shards := planFolder(t, in, g.model, []string{"id"}, 200)
			if len(shards) != 6 { // 700 rows in groups of 64: 192+192+192+124, then the two text files
				t.Fatalf("%d shards: %+v", len(shards), shards)
			}
			var progress []int64
			seen := make([]bool, 1000)
			for _, s := range shards {
				res, err := RunShard(bg, g.model, in, out, rej, s, ShardOptions{
					Passthrough: []string{"id"}, BatchRows: 50, TempDir: t.TempDir(),
					Progress: func(rows int64) { progress = append(progress, rows) },
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.RowsRejected != 0 || res.RejectsPart != "" || res.RowsIn != res.RowsOut {
					t.Fatalf("shard %d: %+v", s.Index, res)
				}
				if s.Rows > 0 && res.RowsIn != s.Rows {
					t.Fatalf("shard %d read %d rows, planned %d", s.Index, res.RowsIn, s.Rows)
				}
				part := filepath.Join(dir, "out", res.Part)
				got := readFile(t, part, tabular.Parquet)
				if got.Rows() != int(res.RowsOut) || got.Columns[0].Name != "id" || !strings.HasPrefix(got.Columns[1].Name, "prediction") {
					t.Fatalf("part %s: %d rows, first columns %s, %s", res.Part, got.Rows(), got.Columns[0].Name, got.Columns[1].Name)
				}
				st, _ := os.Stat(part)
				if st.Size() != res.PartBytes || !strings.HasPrefix(res.PartDigest, "sha256:") {
					t.Fatalf("part %s: %d bytes, output says %d (%s)", res.Part, st.Size(), res.PartBytes, res.PartDigest)
				}
				// The same rows through Predict in one call.
				ids := got.Columns[0].Ints
				features := g.tableOf(ids)
				features.Columns = features.Columns[1:] // without the id
				want, err := g.model.Predict(features, pyfunc.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i, id := range ids {
					if seen[id] {
						t.Fatalf("row %d written twice", id)
					}
					seen[id] = true
					if len(got.Columns) != 1+len(want.Columns) {
						t.Fatalf("%d output columns, Predict gives %d", len(got.Columns)-1, len(want.Columns))
					}
					for k := range want.Columns {
						if a, b := value(&got.Columns[1+k], i), value(&want.Columns[k], i); a != b {
							t.Fatalf("row %d: RunShard %v, Predict %v", id, a, b)
						}
						g.checkRow(t, id, k, value(&got.Columns[1+k], i))
					}
				}
			}
			for id, ok := range seen {
				if !ok {
					t.Fatalf("row %d missing from the output", id)
				}
			}
			if len(progress) == 0 || progress[0] != 50 {
				t.Errorf("progress %v", progress)
			}
		})
	}
}

// tableOf returns the input rows with the given ids.
func (g *golden) tableOf(ids []int64) *tabular.Table {
	parts := make([]*tabular.Table, len(ids))
	for i, id := range ids {
		parts[i] = g.table(int(id), int(id)+1)
	}
	out := &tabular.Table{Columns: make([]tabular.Column, len(parts[0].Columns))}
	for j := range out.Columns {
		cols := make([]tabular.Column, len(parts))
		for i := range parts {
			cols[i] = parts[i].Columns[j]
		}
		out.Columns[j] = concatColumns(cols)
	}
	return out
}

func TestRunShardIsIdempotentAndCSVOutput(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "in.parquet"), tabular.Parquet, g.table(0, 300), 100)
	if err := os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("id,a,b,c,d\n1,1,2,3,4\n2,x,2,3,4\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"parquet", "csv"} {
		for _, file := range []string{"in.parquet", "bad.csv"} {
			in := openLoc(t, filepath.Join(dir, file))
			out, rej := openLoc(t, filepath.Join(dir, "out-"+format)), openLoc(t, filepath.Join(dir, "rej-"+format))
			_, shards := planFolder(t, in, g.model, []string{"id"}, 1000)
			opt := ShardOptions{Passthrough: []string{"id"}, OutputFormat: format, PredictKind: pyfunc.Margin, TempDir: t.TempDir()}
			first, err := RunShard(bg, g.model, in, out, rej, shards[0], opt)
			if err != nil {
				t.Fatal(err)
			}
			again, err := RunShard(bg, g.model, in, out, rej, shards[0], opt)
			if err != nil {
				t.Fatal(err)
			}
			if first != again {
				t.Fatalf("%s %s: second run %+v, first %+v", format, file, again, first)
			}
			if want := PartName(0, format); first.Part != want {
				t.Fatalf("part %q, want %q", first.Part, want)
			}
			if file == "bad.csv" && (first.RowsRejected != 2 || first.RejectsPart != "part-00000.parquet" || first.RowsIn != 3) {
				t.Fatalf("bad.csv: %+v", first)
			}
			if left, _ := os.ReadDir(opt.TempDir); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		}
		got := readFile(t, filepath.Join(dir, "out-"+format, PartName(0, format)), map[string]tabular.Format{"csv": tabular.CSV, "parquet": tabular.Parquet}[format])
		if got.Rows() != 1 || got.Columns[1].Name != "margin" {
			t.Fatalf("%s output: %d rows, %v", format, got.Rows(), got.Columns)
		}
	}
}

func TestRunShardCancelled(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "in.parquet"), tabular.Parquet, g.table(0, 2000), 100)
	in, out := openLoc(t, filepath.Join(dir, "in.parquet")), openLoc(t, filepath.Join(dir, "out"))
	_, shards := planFolder(t, in, g.model, nil, 0)
	ctx, cancel := context.WithCancel(bg)
	tmp := t.TempDir()
	_, err := RunShard(ctx, g.model, in, out, out, shards[0], ShardOptions{
		BatchRows: 100, TempDir: tmp,
		Progress: func(rows int64) {
			if rows >= 500 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunShard = %v, want cancelled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", PartName(0, "parquet"))); !os.IsNotExist(err) {
		t.Fatalf("a cancelled shard left its part: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// One bad value in a large batch is found by halving, and every other row is scored.
func TestRunShardFindsOneBadRowInABigBatch(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	tb := g.table(0, 20000)
	// A string column: every value parses as a number except one.
	b := &tb.Columns[2]
	strs := make([]string, len(b.Floats))
	for i, v := range b.Floats {
		strs[i] = json.Number(formatFloat(v)).String()
	}
	strs[12345] = "twelve"
	*b = tabular.Column{Name: b.Name, Type: tabular.String, Strings: strs, Null: b.Null}
	writeTable(t, filepath.Join(dir, "in.parquet"), tabular.Parquet, tb, 0)
	in, out := openLoc(t, filepath.Join(dir, "in.parquet")), openLoc(t, filepath.Join(dir, "out"))
	rej := openLoc(t, filepath.Join(dir, "rej"))
	_, shards := planFolder(t, in, g.model, []string{"id"}, 0)
	res, err := RunShard(bg, g.model, in, out, rej, shards[0], ShardOptions{Passthrough: []string{"id"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != 20000 || res.RowsOut != 19999 || res.RowsRejected != 1 {
		t.Fatalf("%+v", res)
	}
	rows := readFile(t, filepath.Join(dir, "rej", res.RejectsPart), tabular.Parquet)
	if rows.Rows() != 1 || rows.Columns[1].Ints[0] != 12345 || rows.Columns[2].Strings[0] != `column b: "twelve" is not a number` {
		t.Fatalf("rejects: %v", rows.Columns)
	}
	got := readFile(t, filepath.Join(dir, "out", res.Part), tabular.Parquet)
	for i, id := range got.Columns[0].Ints {
		if id == 12345 || (i < 12345 && id != int64(i)) || (i >= 12345 && id != int64(i+1)) {
			t.Fatalf("output row %d has id %d", i, id)
		}
	}
}

func formatFloat(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// procStatus reads a field of /proc/self/status in kB (0 where there is none).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return 0
}

// TestRunShardThroughput scores a large Parquet file as one shard and reports rows/s
// and memory. It runs only when PLINTH_BATCH_BENCH names a folder holding model/ (an
// MLflow XGBoost model), in.parquet (an id column and the model's features) and
// optionally expected_first2000.json (mlflow's predictions for the first rows).
func TestRunShardThroughput(t *testing.T) {
	dir := os.Getenv("PLINTH_BATCH_BENCH")
	if dir == "" {
		t.Skip("set PLINTH_BATCH_BENCH to a folder with model/ and in.parquet")
	}
	m, err := pyfunc.Load(filepath.Join(dir, "model"))
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	in, out := openLoc(t, filepath.Join(dir, "in.parquet")), openLoc(t, outDir)
	_, shards := planFolder(t, in, m, []string{"id"}, 1<<40)
	runtime.GC()
	rssBefore, hwmBefore := procStatus("VmRSS"), procStatus("VmHWM")
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
		}
	}()
	start := time.Now()
	res, err := RunShard(bg, m, in, out, out, shards[0], ShardOptions{Passthrough: []string{"id"}, TempDir: t.TempDir()})
	took := time.Since(start)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	hwmAfter := procStatus("VmHWM")
	t.Logf("%d rows in %v: %.0f rows/s; part %d bytes", res.RowsOut, took.Round(time.Millisecond), float64(res.RowsOut)/took.Seconds(), res.PartBytes)
	t.Logf("RSS before %d MiB (peak so far %d MiB), peak after %d MiB: growth %d MiB; peak Go heap in use %d MiB",
		rssBefore>>10, hwmBefore>>10, hwmAfter>>10, (hwmAfter-rssBefore)>>10, peakHeap.Load()>>20)
	if b, err := os.ReadFile(filepath.Join(dir, "expected_first2000.json")); err == nil {
		var want []float64
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got := readFile(t, filepath.Join(outDir, res.Part), tabular.Parquet)
		for i, w := range want {
			if got.Columns[0].Ints[i] != int64(i) || math.Abs(got.Columns[1].Floats[i]-w) > 1e-6 {
				t.Fatalf("row %d: id %d, prediction %v; mlflow %v", i, got.Columns[0].Ints[i], got.Columns[1].Floats[i], w)
			}
		}
		t.Logf("the first %d predictions match mlflow's", len(want))
	}
}
