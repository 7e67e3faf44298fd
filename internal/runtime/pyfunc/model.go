// Package pyfunc runs MLflow models natively with the semantics of MLflow's
// `mlflow.pyfunc.load_model(uri).predict(df)`: it reads the MLmodel file, picks the native
// runtime from the flavor, enforces the signature on the input table, evaluates the tree
// ensemble and shapes the output as the logged model class's predict would.
package pyfunc

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/lightgbm"
	"github.com/plinth-ml/plinth/internal/runtime/mlmodel"
	"github.com/plinth-ml/plinth/internal/runtime/xgboost"
)

// Supported names the flavors and files Plinth evaluates natively, for error messages.
const Supported = "xgboost (model.json / model.ubj / model.xgb saved as JSON or UBJSON by xgboost ≥1.6) and " +
	"lightgbm (a Booster's text model.lgb, or an LGBMClassifier/LGBMRegressor saved as skops)"

// maxModelFile bounds the model file read into memory (the largest real tree models are
// a few hundred MB as JSON).
const maxModelFile = 2 << 30

// Model is a loaded MLflow model that Plinth can evaluate.
type Model struct {
	Dir    string
	Meta   *mlmodel.Model
	Flavor string // "xgboost" or "lightgbm"
	// Class is the logged Python class (xgboost.sklearn.XGBClassifier, lightgbm.basic.Booster, …).
	Class    string
	Ensemble runtime.Ensemble
	// classifier is true for scikit-learn classifier wrappers, whose predict returns labels.
	classifier bool
	// labels are the classes a scikit-learn classifier predicts, by class index; nil means
	// the index itself (xgboost's classifiers are trained on 0…k-1).
	labels *labelSet
	// codes maps each categorical feature's category names to codes (nil for features
	// without stored names), built once at load rather than per request.
	codes []map[string]int
}

// Load reads the MLflow model in dir (a folder with an MLmodel file).
func Load(dir string) (*Model, error) {
	meta, err := mlmodel.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Dir: dir, Meta: meta}
	switch {
	case meta.Flavors["xgboost"] != nil:
		err = m.loadXGBoost()
	case meta.Flavors["lightgbm"] != nil:
		err = m.loadLightGBM()
	default:
		return nil, unsupported(meta)
	}
	if err != nil {
		return nil, err
	}
	m.indexCategories()
	return m, nil
}

// indexCategories builds the name → code maps of the categorical features.
func (m *Model) indexCategories() {
	feats := m.Ensemble.Features()
	m.codes = make([]map[string]int, len(feats))
	for j, f := range feats {
		if f.Categorical && len(f.Categories) > 0 {
			m.codes[j] = make(map[string]int, len(f.Categories))
			for k, name := range f.Categories {
				m.codes[j][name] = k
			}
		}
	}
}

// unsupported names the model's flavors and what Plinth can run.
func unsupported(meta *mlmodel.Model) error {
	var names []string
	for _, n := range meta.FlavorNames() {
		if n != "python_function" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		names = []string{"python_function only"}
	}
	return fmt.Errorf("this model's flavor (%s) cannot run natively in Plinth; supported: %s",
		strings.Join(names, ", "), Supported)
}

func (m *Model) loadXGBoost() error {
	m.Flavor = "xgboost"
	m.Class = m.Meta.FlavorString("xgboost", "model_class")
	if m.Class == "" {
		m.Class = "xgboost.core.Booster" // models saved before MLflow 1.22 have no model_class
	}
	if !strings.HasPrefix(m.Class, "xgboost.") {
		return fmt.Errorf("xgboost flavor: model class %s is not an xgboost model", m.Class)
	}
	b, err := m.readData("xgboost")
	if err != nil {
		return err
	}
	ens, err := xgboost.Load(b)
	if err != nil {
		return err
	}
	m.Ensemble = ens
	m.classifier = strings.HasSuffix(m.Class, "Classifier")
	return nil
}

func (m *Model) loadLightGBM() error {
	m.Flavor = "lightgbm"
	m.Class = m.Meta.FlavorString("lightgbm", "model_class")
	if m.Class == "" {
		m.Class = "lightgbm.basic.Booster"
	}
	b, err := m.readData("lightgbm")
	if err != nil {
		return err
	}
	text := b
	if m.Class != "lightgbm.basic.Booster" {
		// The scikit-learn wrappers are saved as skops (MLflow ≥3.x default) or pickle.
		if !strings.HasPrefix(m.Class, "lightgbm.sklearn.") {
			return fmt.Errorf("lightgbm flavor: model class %s is not a lightgbm model", m.Class)
		}
		if m.Meta.FlavorString("lightgbm", "serialization_format") != "skops" && !isZip(b) {
			return fmt.Errorf("lightgbm flavor: %s is pickled (%s), which Plinth cannot read without Python; "+
				"log it with serialization_format=\"skops\" or log its booster: mlflow.lightgbm.log_model(model.booster_, …)",
				m.Class, m.Meta.FlavorString("lightgbm", "data"))
		}
		sk, err := readSkopsLightGBM(b)
		if err != nil {
			return fmt.Errorf("lightgbm flavor: %s: %w", m.Meta.FlavorString("lightgbm", "data"), err)
		}
		text, m.labels = sk.booster, sk.classes
		m.classifier = strings.HasSuffix(m.Class, "Classifier")
	}
	ens, err := lightgbm.Load(text)
	if err != nil {
		return err
	}
	m.Ensemble = ens
	if m.classifier && m.labels != nil && m.labels.len() != max(2, ens.Width(runtime.Transformed)) {
		return fmt.Errorf("lightgbm flavor: %d class labels for a model with %d outputs", m.labels.len(), ens.Width(runtime.Transformed))
	}
	return nil
}

func (m *Model) readData(flavor string) ([]byte, error) {
	path, err := m.Meta.DataPath(m.Dir, flavor)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s flavor: the model file %s is missing from the model folder", flavor, m.Meta.FlavorString(flavor, "data"))
		}
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s flavor: %s is a folder, not a model file", flavor, m.Meta.FlavorString(flavor, "data"))
	}
	if st.Size() > maxModelFile {
		return nil, fmt.Errorf("%s flavor: model file of %d bytes is larger than the %d accepted", flavor, st.Size(), maxModelFile)
	}
	return os.ReadFile(path)
}

func isZip(b []byte) bool { return len(b) >= 4 && string(b[:4]) == "PK\x03\x04" }

// ErrNoInputExample is InputExample's answer for a model logged without one.
var ErrNoInputExample = errors.New("the model was logged without an input example")

// InputExample returns the model's saved input example as a body for MLflow's scoring
// protocol ({"dataframe_split": …} or {"dataframe_records": …}): serving_input_example.json
// when mlflow wrote one, else the input example wrapped in its pandas orient.
func (m *Model) InputExample() ([]byte, error) {
	if m.Meta.InputExample == "" {
		return nil, ErrNoInputExample
	}
	read := func(name string) ([]byte, error) {
		p, err := mlmodel.Within(m.Dir, name)
		if err != nil {
			return nil, fmt.Errorf("MLmodel: input example path: %w", err)
		}
		return os.ReadFile(p)
	}
	if b, err := read("serving_input_example.json"); err == nil {
		return b, nil
	}
	b, err := read(m.Meta.InputExample)
	if err != nil {
		return nil, fmt.Errorf("input example: %w", err)
	}
	key := "dataframe_split"
	if m.Meta.InputExampleOrient == "records" {
		key = "dataframe_records"
	}
	return []byte(`{"` + key + `": ` + string(b) + `}`), nil
}
