package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/testutil/pyenv"
)

// bulkFilesPy writes the bulk reader's test files with pyarrow, one per way of laying
// out pages: argv[1] is the folder.
const bulkFilesPy = `
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
n = 10007
rng = np.random.default_rng(6)

def nulls(p):
    return rng.random(n) < p

def nan(x, p=0.02):
    x[rng.random(n) < p] = np.nan
    return x

f32 = nan(rng.standard_normal(n).astype(np.float32))
f64 = nan(rng.standard_normal(n))
cols = [
    ("f32", pa.array(f32, mask=nulls(0.1)), True),                  # nulls and NaN; random
    ("f32_nonull", pa.array(f32), True),                             # nullable, no nulls
    ("f32_req", pa.array(np.nan_to_num(f32)), False),
    ("f32_few", pa.array(rng.integers(0, 20, n).astype(np.float32), mask=nulls(0.3)), True),
    ("f64", pa.array(f64, mask=nulls(0.05)), True),
    ("f64_few_req", pa.array(rng.integers(-5, 5, n) / 4.0), False),
    ("i32", pa.array(rng.integers(-2**31, 2**31, n).astype(np.int32), mask=nulls(0.2)), True),
    ("i32_few", pa.array(rng.integers(-3, 3, n).astype(np.int32)), True),
    ("i64", pa.array(rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64), mask=nulls(0.01)), True),
    ("i64_req", pa.array(np.arange(n, dtype=np.int64) * 3 - 7), False),
    ("i8", pa.array(rng.integers(-128, 128, n).astype(np.int8), mask=nulls(0.1)), True),
    ("i16", pa.array(rng.integers(-2**15, 2**15, n).astype(np.int16)), True),
    ("u8", pa.array(rng.integers(0, 256, n).astype(np.uint8), mask=nulls(0.1)), True),
    ("u16", pa.array(rng.integers(0, 2**16, n).astype(np.uint16)), True),
    ("u32", pa.array(rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32), mask=nulls(0.1)), True),
    ("u32_few_req", pa.array(np.full(n, 2**32 - 1, dtype=np.uint32)), False),
    ("u64", pa.array(rng.integers(0, 2**63 - 1, n, dtype=np.uint64), mask=nulls(0.1)), True),
    ("bool_req", pa.array(rng.random(n) < 0.3), False),
    ("bool", pa.array(rng.random(n) < 0.3, mask=nulls(0.1)), True),
    ("all_null", pa.array([None] * n, type=pa.float64()), True),
    ("null_type", pa.nulls(n), True),
    ("f64_all_null", pa.array(np.zeros(n), mask=np.ones(n, dtype=bool)), True),
    ("s", pa.array([str(v) for v in rng.integers(0, 50, n)], mask=nulls(0.1)), True),
    ("ts", pa.array(rng.integers(0, 2**40, n).astype("datetime64[ms]"), mask=nulls(0.1)), True),
]
table = pa.Table.from_arrays([c for _, c, _ in cols],
    schema=pa.schema([pa.field(name, c.type, nullable=opt) for name, c, opt in cols]))
small = dict(row_group_size=4000, data_page_size=2048, write_batch_size=256,
             dictionary_pagesize_limit=4096)
pq.write_table(table, out + "/dict_v1.parquet", data_page_version="1.0", **small)
pq.write_table(table, out + "/dict_v2.parquet", data_page_version="2.0", compression="zstd", **small)
pq.write_table(table, out + "/plain.parquet", use_dictionary=False, compression="none", **small)
pq.write_table(table, out + "/defaults.parquet")

big = pa.array(np.array([1, 2, 2**63 + 5, 3] * 10, dtype=np.uint64), mask=np.array([False, True, False, False] * 10))
pq.write_table(pa.table({"u64": big}), out + "/u64_overflow.parquet")
`

var bulkFiles = struct {
	once sync.Once
	dir  string
	err  error
}{}

// bulkTestFiles writes the files of bulkFilesPy once per test binary.
func bulkTestFiles(t *testing.T) string {
	t.Helper()
	py := pyenv.Python(t)
	bulkFiles.once.Do(func() {
		dir, err := os.MkdirTemp("", "plinth-parquet-bulk-*")
		if err != nil {
			bulkFiles.err = err
			return
		}
		bulkFiles.dir = dir
		out, err := exec.Command(py, "-c", bulkFilesPy, dir).CombinedOutput()
		if err != nil {
			bulkFiles.err = fmt.Errorf("writing the test files: %v\n%s", err, out)
		}
	})
	if bulkFiles.err != nil {
		t.Fatal(bulkFiles.err)
	}
	return bulkFiles.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bulkFiles.dir != "" {
		os.RemoveAll(bulkFiles.dir)
	}
	os.Exit(code)
}

// openParquetBytes reads data with the bulk path, or only the generic one.
func openParquetBytes(t testing.TB, data []byte, generic bool) *parquetReader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), Parquet, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pr := r.(*parquetReader)
	pr.generic = generic
	return pr
}

// bulkColumns are the test files' columns that must be read in bulk only.
var bulkColumns = []string{
	"f32", "f32_nonull", "f32_req", "f32_few", "f64", "f64_few_req", "i32", "i32_few",
	"i64", "i64_req", "i8", "i16", "u8", "u16", "u32", "u32_few_req", "u64", "bool_req",
	"all_null", "f64_all_null",
}

// TestParquetBulkMatchesGeneric reads pyarrow's files with both paths, in batches
// that cut pages anywhere, and wants the same tables bit for bit.
func TestParquetBulkMatchesGeneric(t *testing.T) {
	dir := bulkTestFiles(t)
	t.Parallel()
	for _, file := range []string{"dict_v1", "dict_v2", "plain", "defaults"} {
		data, err := os.ReadFile(filepath.Join(dir, file+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1, 7, 1000, 4000, 65536} {
			t.Run(fmt.Sprintf("%s/batch%d", file, batch), func(t *testing.T) {
				t.Parallel()
				bulk, generic := openParquetBytes(t, data, false), openParquetBytes(t, data, true)
				defer bulk.Close()
				defer generic.Close()
				for i := 0; ; i++ {
					want, werr := generic.Next(batch)
					got, gerr := bulk.Next(batch)
					if werr != nil || gerr != nil {
						if !errors.Is(werr, io.EOF) || !errors.Is(gerr, io.EOF) {
							t.Fatalf("batch %d: bulk error %v, generic error %v", i, gerr, werr)
						}
						break
					}
					if err := got.Validate(); err != nil {
						t.Fatalf("batch %d: %v", i, err)
					}
					if diff := tableDiff(got, want); diff != "" {
						t.Fatalf("batch %d: %s", i, diff)
					}
				}
				checkPagePaths(t, file, bulk, generic)
			})
		}
	}
}

// checkPagePaths wants the bulk columns read in bulk (with both dictionary and plain
// pages where the file has them) and every other column, and everything with generic
// set, read by the generic path.
func checkPagePaths(t *testing.T, file string, bulk, generic *parquetReader) {
	t.Helper()
	for j, c := range bulk.cols {
		counts, inGeneric := c.counts, generic.cols[j].counts
		if inGeneric.bulk != 0 || inGeneric.generic == 0 {
			t.Errorf("column %s with generic set: pages %+v", c.name, inGeneric)
		}
		if !slices.Contains(bulkColumns, c.name) {
			if counts.bulk != 0 {
				t.Errorf("column %s: pages %+v, want none in bulk", c.name, counts)
			}
			continue
		}
		if counts.generic != 0 || counts.bulk == 0 {
			t.Errorf("column %s: pages %+v, want all in bulk", c.name, counts)
		}
		switch {
		case file == "plain" || c.name == "bool_req":
			if counts.bulkDict != 0 {
				t.Errorf("column %s: pages %+v, want no dictionary pages", c.name, counts)
			}
		case file != "defaults" && (c.name == "f32" || c.name == "i64"):
			// Random values overflow the small dictionary: pages of both kinds.
			if counts.bulkDict == 0 || counts.bulkDict == counts.bulk || counts.bulk < 4 {
				t.Errorf("column %s: pages %+v, want several, of both kinds", c.name, counts)
			}
		case strings.Contains(c.name, "few"):
			if counts.bulkDict != counts.bulk {
				t.Errorf("column %s: pages %+v, want only dictionary pages", c.name, counts)
			}
		}
	}
}

// tableDiff describes the first difference between two tables, comparing doubles by
// their bits and the Null slices as they are (nil or not).
func tableDiff(got, want *Table) string {
	if len(got.Columns) != len(want.Columns) {
		return fmt.Sprintf("%d columns, want %d", len(got.Columns), len(want.Columns))
	}
	for j := range want.Columns {
		g, w := &got.Columns[j], &want.Columns[j]
		if g.Name != w.Name || g.Type != w.Type || g.Len() != w.Len() {
			return fmt.Sprintf("column %d is %s %s of %d rows, want %s %s of %d", j, g.Name, g.Type, g.Len(), w.Name, w.Type, w.Len())
		}
		if (g.Null == nil) != (w.Null == nil) || !slices.Equal(g.Null, w.Null) {
			return fmt.Sprintf("column %s: nulls %v, want %v", g.Name, g.Null, w.Null)
		}
		if len(g.Floats) != len(w.Floats) || len(g.Ints) != len(w.Ints) || len(g.Bools) != len(w.Bools) || len(g.Strings) != len(w.Strings) {
			return fmt.Sprintf("column %s: slices of other types are set", g.Name)
		}
		for i := range w.Floats {
			if math.Float64bits(g.Floats[i]) != math.Float64bits(w.Floats[i]) {
				return fmt.Sprintf("column %s row %d: %v (%#x), want %v (%#x)", g.Name, i, g.Floats[i], math.Float64bits(g.Floats[i]), w.Floats[i], math.Float64bits(w.Floats[i]))
			}
		}
		if i := firstMismatch(g.Ints, w.Ints); i >= 0 {
			return fmt.Sprintf("column %s row %d: %d, want %d", g.Name, i, g.Ints[i], w.Ints[i])
		}
		if i := firstMismatch(g.Bools, w.Bools); i >= 0 {
			return fmt.Sprintf("column %s row %d: %v, want %v", g.Name, i, g.Bools[i], w.Bools[i])
		}
		if i := firstMismatch(g.Strings, w.Strings); i >= 0 {
			return fmt.Sprintf("column %s row %d: %q, want %q", g.Name, i, g.Strings[i], w.Strings[i])
		}
	}
	return ""
}

func firstMismatch[T comparable](got, want []T) int {
	for i := range want {
		if got[i] != want[i] {
			return i
		}
	}
	return -1
}

// TestParquetBulkUint64Overflow: an unsigned 64-bit value past int64's range fails
// with the generic path's message, in every batch size.
func TestParquetBulkUint64Overflow(t *testing.T) {
	dir := bulkTestFiles(t)
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(dir, "u64_overflow.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 3, 100} {
		var errs [2]error
		for k, generic := range []bool{false, true} {
			r := openParquetBytes(t, data, generic)
			for errs[k] == nil {
				_, errs[k] = r.Next(batch)
			}
			r.Close()
		}
		want := `parquet: column "u64": row ` + map[int]string{1: "1", 3: "3", 100: "3"}[batch] + `: 9223372036854775813 does not fit a signed 64-bit integer`
		for k, err := range errs {
			if err == nil || err.Error() != want {
				t.Errorf("batch %d, generic %v: error %v, want %s", batch, k == 1, err, want)
			}
		}
	}
}

// TestBulkHelpers: markNulls records what markNull would one row at a time (and
// finishNulls after them), and a dictionary index out of range is reported, not read.
func TestBulkHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		before []int // rows of col marked null by markNull before the run
		start  int   // rows before the run
		defs   []byte
	}{
		{nil, 0, []byte{1, 0, 1}},
		{nil, 5, []byte{0, 0}},
		{[]int{1}, 4, []byte{1, 1, 0, 1}},
		{[]int{3}, 4, []byte{0}},
		{[]int{0, 2}, 9, []byte{1, 0}},
	} {
		var got, want Column
		for _, at := range tc.before {
			markNull(&got, at)
			markNull(&want, at)
		}
		markNulls(&got, tc.start, tc.defs, 1, len(tc.defs))
		for i, d := range tc.defs {
			if d != 1 {
				markNull(&want, tc.start+i)
			}
		}
		for len(want.Null) < tc.start+len(tc.defs) { // as finishNulls pads it
			want.Null = append(want.Null, false)
		}
		if !slices.Equal(got.Null, want.Null) {
			t.Errorf("%+v: nulls %v, want %v", tc, got.Null, want.Null)
		}
	}
	dst := make([]float64, 3)
	if bad := floatsFrom(dst, []float32{1, 2}, 0, []int32{1, 0, 2}); bad != 2 {
		t.Errorf("floatsFrom: bad index at %d, want 2", bad)
	}
	if bad := intsFrom(make([]int64, 2), []int64{1, 2}, 0, []int32{-1, 0}); bad != 0 {
		t.Errorf("intsFrom: bad index at %d, want 0", bad)
	}
	if bad := uintsFrom(make([]int64, 2), []int32{-1}, 0, []int32{0, 0}); bad != -1 {
		t.Errorf("uintsFrom: bad index at %d, want -1", bad)
	}
}

// TestParquetFooterClaim: a footer length past the file's size fails before the
// library allocates it.
func TestParquetFooterClaim(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testdata("pandas.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	data = slices.Clone(data)
	copy(data[len(data)-8:], []byte{0xf0, 0xff, 0xff, 0xff})
	_, err = NewReader(bytes.NewReader(data), Parquet, ReadOptions{})
	want := fmt.Sprintf("parquet: the footer claims 4294967280 bytes but the file has %d", len(data))
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// FuzzParquetBulk: on any input the bulk path reads or fails cleanly, in batches of the
// generic path's shape and nulls. Values are not compared: on a malformed file the
// library may hand out bytes past a page's data, left in its pooled buffers, which
// differ between two readers (the pyarrow tests compare values).
func FuzzParquetBulk(f *testing.F) {
	addSeeds(f, "pandas.parquet", "pyarrow_types.parquet", "pandas_index.parquet")
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		size := int(batch%9) + 1
		readers := [2]*parquetReader{}
		for k, generic := range []bool{false, true} {
			r, err := NewReader(bytes.NewReader(data), Parquet, ReadOptions{})
			if err != nil {
				return
			}
			defer r.Close()
			readers[k] = r.(*parquetReader)
			readers[k].generic = generic
		}
		for {
			got, gerr := readers[0].Next(size)
			want, werr := readers[1].Next(size)
			if gerr != nil || werr != nil {
				return
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			for j := range want.Columns {
				g, w := &got.Columns[j], &want.Columns[j]
				if g.Name != w.Name || g.Type != w.Type || g.Len() != w.Len() || (g.Null == nil) != (w.Null == nil) || !slices.Equal(g.Null, w.Null) {
					t.Fatalf("column %d: bulk read %s %s, %d rows, nulls %v; generic %s %s, %d rows, nulls %v",
						j, g.Name, g.Type, g.Len(), g.Null, w.Name, w.Type, w.Len(), w.Null)
				}
			}
		}
	})
}

// benchBatchPy writes a file like bench/batch.py's input: an int64 id and 50 float32
// features (standard normal, 2% NaN, not null), row groups of 131,072 rows, snappy,
// pyarrow's other defaults. argv: the path and the number of rows.
const benchBatchPy = `
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

path, rows, group = sys.argv[1], int(sys.argv[2]), 131072
schema = pa.schema([("id", pa.int64())] + [("f%d" % j, pa.float32()) for j in range(50)])
with pq.ParquetWriter(path, schema, compression="snappy") as w:
    for g, lo in enumerate(range(0, rows, group)):
        m = min(group, rows - lo)
        rng = np.random.default_rng([2, 0, g])
        x = rng.standard_normal(size=(m, 50), dtype=np.float32)
        x[rng.random(size=x.shape, dtype=np.float32) < 0.02] = np.nan
        ids = pa.array(np.arange(lo, lo + m, dtype=np.int64))
        w.write_batch(pa.record_batch([ids] + [pa.array(x[:, j]) for j in range(50)], schema=schema),
                      row_group_size=group)
`

// BenchmarkReadParquetFeatures reads 1M rows × 50 float32 features written by pyarrow
// as the batch job does (65,536-row batches), by the generic and the bulk path.
func BenchmarkReadParquetFeatures(b *testing.B) {
	const rows = 1_000_000
	py := pyenv.Python(b)
	path := filepath.Join(b.TempDir(), "features.parquet")
	if out, err := exec.Command(py, "-c", benchBatchPy, path, fmt.Sprint(rows)).CombinedOutput(); err != nil {
		b.Fatalf("writing %s: %v\n%s", path, err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, generic := range []bool{true, false} {
		b.Run(map[bool]string{true: "generic", false: "bulk"}[generic], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(f, Parquet, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				r.(*parquetReader).generic = generic
				n := 0
				for {
					t, err := r.Next(65536)
					if err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					n += t.Rows()
				}
				if n != rows {
					b.Fatalf("read %d rows, want %d", n, rows)
				}
				r.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
