package mlflow

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/testutil/pyenv"
)

// TestMLflowClient drives the server with the real mlflow Python client when
// one is available: PLINTH_MLFLOW_PYTHON, else the project's .venv (which
// `make test` creates). The Python suite in python/ covers the client in depth.
func TestMLflowClient(t *testing.T) {
	py := pyenv.Python(t)
	t.Parallel()
	e := setup(t)
	cmd := exec.CommandContext(t.Context(), py, "testdata/client_probe.py", e.srv.URL, t.TempDir())
	cmd.Env = append(os.Environ(), "PLINTH_EXPECT_VERSION=0.1.0", "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "client probe ok") {
		t.Fatalf("client probe failed: %v\n%s", err, out)
	}
}
