package mlmodel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadDirOfMLflowModels(t *testing.T) {
	t.Parallel()
	m, err := ReadDir("../testdata/mlflow/xgb-classifier/model")
	if err != nil {
		t.Fatal(err)
	}
	if m.FlavorString("xgboost", "model_class") != "xgboost.sklearn.XGBClassifier" || m.FlavorString("python_function", "loader_module") != "mlflow.xgboost" {
		t.Fatalf("flavors: %+v", m.Flavors)
	}
	in := m.Signature.Inputs
	if in.IsTensor() || !in.HasNames() || len(in.Columns) != 4 || in.Columns[0] != (ColSpec{Name: "a", Type: "double", Required: true}) {
		t.Fatalf("inputs: %+v", in)
	}
	if !m.Signature.Outputs.IsTensor() || m.Signature.Outputs.Tensors[0].DType != "int64" {
		t.Fatalf("outputs: %+v", m.Signature.Outputs)
	}
	p, err := m.DataPath("/models/x", "xgboost")
	if err != nil || p != filepath.Join("/models/x", "model.ubj") {
		t.Fatalf("data path %q, %v", p, err)
	}
	tm, err := ReadDir("../testdata/mlflow/xgb-tensor/model")
	if err != nil || !tm.Signature.Inputs.IsTensor() || tm.Signature.Inputs.Tensors[0].Shape[1] != 4 {
		t.Fatalf("tensor signature: %+v %v", tm.Signature, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ doc, want string }{
		"not yaml":       {"flavors: [", "not valid YAML"},
		"no flavors":     {"run_id: x", "no flavors"},
		"bad signature":  {"flavors: {x: {}}\nsignature:\n  inputs: '[{'", "signature"},
		"untyped column": {"flavors: {x: {}}\nsignature:\n  inputs: '[{\"name\": \"a\"}]'", "without a type"},
		"mixed":          {"flavors: {x: {}}\nsignature:\n  inputs: '[{\"type\": \"double\"}, {\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1]}}]'", "mixes"},
	} {
		if _, err := Parse([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	m, err := Parse([]byte("flavors: {xgboost: {data: ../../etc/passwd}}"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DataPath("/models/x", "xgboost"); err == nil {
		t.Fatal("a data path leaving the model folder was accepted")
	}
	if _, err := ReadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no MLmodel") {
		t.Fatalf("empty folder: %v", err)
	}
	big := filepath.Join(t.TempDir(), FileName)
	os.WriteFile(big, make([]byte, maxFileSize+1), 0o644)
	if _, err := ReadDir(filepath.Dir(big)); err == nil {
		t.Fatal("oversized MLmodel accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range []string{"xgb-classifier", "xgb-tensor", "lgb-booster"} {
		if b, err := os.ReadFile(filepath.Join("../testdata/mlflow", c, "model", FileName)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}
