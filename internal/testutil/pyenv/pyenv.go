// Package pyenv finds the Python that Go tests drive to check Plinth against the real
// libraries (mlflow, pandas, pyarrow): PLINTH_MLFLOW_PYTHON, as `make test` sets it, else
// the repository's .venv.
package pyenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Python returns the interpreter, or skips the test (also under -short) when there is none.
func Python(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Python")
	}
	py := os.Getenv("PLINTH_MLFLOW_PYTHON")
	if py == "" {
		py = filepath.Join(repoRoot(), ".venv", "bin", "python")
	}
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no Python with mlflow, pandas and pyarrow at %s (make venv, or set PLINTH_MLFLOW_PYTHON)", py)
	}
	return py
}

// repoRoot is the nearest folder above the test's working directory that holds go.mod.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
