// Package mlmodel reads MLflow model directories: the MLmodel file (flavors, signature,
// input example) that every `mlflow.<flavor>.log_model` writes at the model's root.
package mlmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the name of the metadata file at the root of an MLflow model.
const FileName = "MLmodel"

// maxFileSize bounds the MLmodel file we are willing to parse (they are a few KB).
const maxFileSize = 4 << 20

// Model is the parsed MLmodel file.
type Model struct {
	// Flavors maps a flavor name ("xgboost", "lightgbm", "python_function", …) to its
	// attributes as written by the flavor (data, model_class, model_format, …).
	Flavors       map[string]map[string]any
	Signature     *Signature
	RunID         string
	ModelID       string
	ModelUUID     string
	MLflowVersion string
	TimeCreated   string
	// InputExample is the saved input example's file, relative to the model root
	// ("" when none was logged), and its pandas orient ("split", "records").
	InputExample       string
	InputExampleOrient string
}

type rawModel struct {
	Flavors       map[string]map[string]any `yaml:"flavors"`
	Signature     *rawSignature             `yaml:"signature"`
	RunID         string                    `yaml:"run_id"`
	ModelID       string                    `yaml:"model_id"`
	ModelUUID     string                    `yaml:"model_uuid"`
	MLflowVersion string                    `yaml:"mlflow_version"`
	TimeCreated   string                    `yaml:"utc_time_created"`
	InputInfo     *struct {
		ArtifactPath string `yaml:"artifact_path"`
		PandasOrient string `yaml:"pandas_orient"`
	} `yaml:"saved_input_example_info"`
}

// The signature's schemas are JSON documents stored as YAML strings.
type rawSignature struct {
	Inputs  string `yaml:"inputs"`
	Outputs string `yaml:"outputs"`
	Params  string `yaml:"params"`
}

// Parse reads an MLmodel file's content.
func Parse(b []byte) (*Model, error) {
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("MLmodel: %d bytes is more than the %d accepted", len(b), maxFileSize)
	}
	var raw rawModel
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("MLmodel: not valid YAML: %w", err)
	}
	if len(raw.Flavors) == 0 {
		return nil, errors.New("MLmodel: no flavors; is this an MLflow model directory?")
	}
	m := &Model{
		Flavors: raw.Flavors, RunID: raw.RunID, ModelID: raw.ModelID, ModelUUID: raw.ModelUUID,
		MLflowVersion: raw.MLflowVersion, TimeCreated: raw.TimeCreated,
	}
	if raw.InputInfo != nil {
		m.InputExample, m.InputExampleOrient = raw.InputInfo.ArtifactPath, raw.InputInfo.PandasOrient
	}
	if raw.Signature != nil {
		sig, err := parseSignature(raw.Signature)
		if err != nil {
			return nil, fmt.Errorf("MLmodel: signature: %w", err)
		}
		m.Signature = sig
	}
	return m, nil
}

// ReadDir reads dir/MLmodel.
func ReadDir(dir string) (*Model, error) {
	path := filepath.Join(dir, FileName)
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s has no MLmodel file; point at the folder mlflow.<flavor>.log_model or save_model wrote", dir)
		}
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is more than the %d accepted", path, st.Size(), maxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// FlavorNames lists the flavors, sorted.
func (m *Model) FlavorNames() []string {
	names := make([]string, 0, len(m.Flavors))
	for n := range m.Flavors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FlavorString returns a string attribute of a flavor ("" when absent or not a string).
func (m *Model) FlavorString(flavor, key string) string {
	s, _ := m.Flavors[flavor][key].(string)
	return s
}

// DataPath returns the flavor's data file inside dir, refusing paths that leave it.
func (m *Model) DataPath(dir, flavor string) (string, error) {
	data := m.FlavorString(flavor, "data")
	if data == "" {
		return "", fmt.Errorf("MLmodel: flavor %s names no data file", flavor)
	}
	p, err := Within(dir, data)
	if err != nil {
		return "", fmt.Errorf("MLmodel: flavor %s data path: %w", flavor, err)
	}
	return p, nil
}

// Within joins rel, a slash-separated path the MLmodel file names, to the model folder dir,
// refusing one that is absolute or climbs out of dir.
func Within(dir, rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%q leaves the model folder", rel)
	}
	return filepath.Join(dir, clean), nil
}

// decodeJSON is json.Unmarshal with a message that says which part failed.
func decodeJSON(what, s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("%s: not valid JSON: %w", what, err)
	}
	return nil
}
