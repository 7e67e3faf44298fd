package tabular

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plinth-ml/plinth/internal/testutil/pyenv"
)

// TestReadBackWithPython checks that pyarrow and pandas read our Parquet, CSV and JSON
// Lines output as we meant it. It runs the Python in PLINTH_MLFLOW_PYTHON (as `make
// test` sets it), else the repository's .venv, and is skipped when neither exists.
func TestReadBackWithPython(t *testing.T) {
	py := pyenv.Python(t)
	t.Parallel()
	want := sampleTable(1000)
	dir := t.TempDir()
	paths := map[Format]string{}
	for _, f := range []Format{Parquet, CSV, JSONLines} {
		paths[f] = filepath.Join(dir, "out."+f.String())
		file, err := os.Create(paths[f])
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriterWith(file, f, WriteOptions{RowGroupRows: 300})
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < 1000; off += 64 {
			if err := w.Write(sliceTable(want, off, min(off+64, 1000))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), py, "testdata/read_back.py", paths[Parquet], paths[CSV], paths[JSONLines])
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_back.py: %v", err)
	}
	got := decodeJSON(t, out).(map[string]any)
	wantJSON := tableJSON(t, want).(map[string]any)

	pqView := got["parquet"].(map[string]any)
	for _, c := range pqView["columns"].([]any) { // every column is written nullable
		c := c.(map[string]any)
		if c["nullable"] != true {
			t.Errorf("parquet column %v is not nullable", c["name"])
		}
		delete(c, "nullable")
	}
	compareJSON(t, "pyarrow reading our Parquet", map[string]any{"columns": pqView["columns"]}, wantJSON)
	compareJSON(t, "row groups", pqView["row_groups"], canonNumbers([]any{"300", "300", "300", "100"}))
	if pqView["compression"] != "SNAPPY" {
		t.Errorf("compression %v, want SNAPPY", pqView["compression"])
	}
	if got["parquet_pandas_rows"] != "1000" {
		t.Errorf("pandas.read_parquet read %v rows, want 1000", got["parquet_pandas_rows"])
	}
	compareJSON(t, "pandas reading our CSV", got["csv"], wantJSON)
	compareJSON(t, "pandas reading our JSON Lines", got["jsonl"], wantJSON)
}
