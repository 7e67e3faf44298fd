package tabular

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// TestGoldenFiles reads files written by pandas and pyarrow and compares with what
// pandas/pyarrow themselves read from them (testdata/make_testdata.py).
func TestGoldenFiles(t *testing.T) {
	t.Parallel()
	files := []string{
		"pandas_mixed.csv", "infer_cases.csv", "pandas_mixed.jsonl",
		"pandas.parquet", "pandas_index.parquet", "pyarrow_types.parquet",
	}
	for _, name := range files {
		for _, batch := range []int{1000, 3} {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				path := testdata(name)
				f, err := FormatFromPath(path, "")
				if err != nil {
					t.Fatal(err)
				}
				r, err := OpenFile(path, f)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if batch < 1000 && f != Parquet {
					// Text formats type each batch on its own; only check that batches
					// add up to the rows.
					_, sizes := readAllLoose(t, r, batch)
					want := loadExpected(t, path).(map[string]any)["columns"].([]any)[0].(map[string]any)["values"].([]any)
					total := 0
					for _, s := range sizes {
						total += s
					}
					if total != len(want) {
						t.Fatalf("batches %v add up to %d rows, want %d", sizes, total, len(want))
					}
					return
				}
				got, _ := readAll(t, r, batch)
				compareJSON(t, path, tableJSON(t, got), loadExpected(t, path))
			})
		}
	}
}

func readAllLoose(t *testing.T, r Reader, batch int) ([]*Table, []int) {
	t.Helper()
	var tables []*Table
	var sizes []int
	for {
		b, err := r.Next(batch)
		if err != nil {
			if err == io.EOF {
				return tables, sizes
			}
			t.Fatal(err)
		}
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, b)
		sizes = append(sizes, b.Rows())
	}
}

func TestParquetUnsupportedColumns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, want string }{
		{"nested.parquet", `column "tags" is nested`},
		{"decimal.parquet", `column "price": decimal(5, 2) values are not supported`},
	} {
		_, err := OpenFile(testdata(tc.file), Parquet)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.file, err, tc.want)
		}
	}
}

// TestParquetFromStream reads Parquet from a reader that cannot seek, as stdin.
func TestParquetFromStream(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testdata("pandas.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stream := struct{ io.Reader }{bytes.NewReader(data)} // hides ReadAt and Seek
	r, err := NewReader(stream, Parquet, ReadOptions{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, r, 4)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	compareJSON(t, "pandas.parquet from a stream", tableJSON(t, got), loadExpected(t, testdata("pandas.parquet")))
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
