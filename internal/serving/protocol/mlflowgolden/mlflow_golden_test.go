package mlflowgolden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
)

// The golden cases are MLflow's own answers to /invocations requests on the MLflow models
// under internal/runtime/testdata/mlflow (testdata/gen_invocations.py records them).
// Each request goes through this package and the native runtime, and the answer must be
// MLflow's: byte for byte for predictions, and the same status and message for errors
// raised by the protocol layer.

type goldenCase struct {
	Name         string `json:"name"`
	Model        string `json:"model"`
	ContentType  string `json:"content_type"`
	Body         string `json:"body"`
	Compare      string `json:"compare"`
	Status       int    `json:"status"`
	ResponseType string `json:"response_type"`
	Response     string `json:"response"`
}

const mlflowModels = "../../../runtime/testdata/mlflow"

var (
	modelsMu sync.Mutex
	models   = map[string]*pyfunc.Model{}
)

func loadModel(t *testing.T, name string) *pyfunc.Model {
	t.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if m := models[name]; m != nil {
		return m
	}
	m, err := pyfunc.Load(filepath.Join(mlflowModels, name, "model"))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	models[name] = m
	return m
}

// serve answers one /invocations request as a handler would.
func serve(t *testing.T, m func() *pyfunc.Model, contentType string, body []byte) (int, string, []byte) {
	kind, err := protocol.CheckContentType(contentType)
	if err != nil {
		return protocol.ErrorBody(err)
	}
	var req *protocol.Request
	if kind == protocol.KindCSV {
		req, err = protocol.DecodeCSV(body)
	} else {
		req, err = protocol.DecodeJSON(body)
	}
	if err != nil {
		return protocol.ErrorBody(err)
	}
	out, err := m().Predict(req.Table, pyfunc.Options{})
	if err != nil {
		return protocol.ErrorBody(protocol.SchemaError(err))
	}
	b, err := protocol.EncodePredictions(out)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return 200, "application/json", b
}

func TestMLflowGolden(t *testing.T) {
	raw, err := os.ReadFile("../testdata/mlflow_invocations.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 40 {
		t.Fatalf("only %d golden cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			status, ctype, body := serve(t, func() *pyfunc.Model { return loadModel(t, c.Model) }, c.ContentType, []byte(c.Body))
			if status != c.Status {
				t.Fatalf("status %d, MLflow %d\nbody: %s\nMLflow: %s", status, c.Status, body, c.Response)
			}
			if !strings.HasPrefix(ctype, c.ResponseType) {
				t.Errorf("content type %q, MLflow %q", ctype, c.ResponseType)
			}
			compareGolden(t, c, body)
		})
	}
}

func compareGolden(t *testing.T, c goldenCase, body []byte) {
	t.Helper()
	if c.Compare == "exact" || c.Compare == "status" {
		if c.Compare == "exact" && string(body) != c.Response {
			t.Errorf("body\n got: %s\nwant: %s", body, c.Response)
		}
		return
	}
	var got, want struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if err := json.Unmarshal([]byte(c.Response), &want); err != nil {
		t.Fatalf("golden body: %v", err)
	}
	if got.Code != want.Code {
		t.Errorf("error_code %s, MLflow %s", got.Code, want.Code)
	}
	g, w := got.Message, want.Message
	switch {
	case strings.HasPrefix(c.Compare, "prefix:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(c.Compare, "prefix:"))
		g, w = g[:min(n, len(g))], w[:min(n, len(w))]
	case strings.HasPrefix(c.Compare, "cut:"):
		w, _, _ = strings.Cut(w, strings.TrimPrefix(c.Compare, "cut:"))
	}
	if g != w {
		t.Errorf("message\n got: %s\nwant: %s", g, w)
	}
}
