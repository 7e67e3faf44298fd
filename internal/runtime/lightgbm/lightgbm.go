// Package lightgbm evaluates LightGBM models natively from their text format
// (Booster.save_model / model_to_string, "version=v2" to "v4"), with the library's own
// decision rules, summation order and output transforms, so results match lightgbm's
// predict to the last bit or within 1e-6 where the output goes through exp.
//
// Load compiles the trees into one flat array of 16-byte nodes: each split's children
// side by side, the common paths in neighbouring slots, leaves that lead to themselves
// (see tree.go). Eval lays each row out in "views" (as given, NaN read as -Inf, …) so
// that every numerical split, whatever its missing-value rule, is one comparison
// without branches. It takes blocks of rows one tree at a time, eight rows walking the
// tree in lockstep; a lone row walks eight trees in lockstep, so that their cache misses
// overlap. Leaves are added in tree order either way, so sums are the library's bits.
package lightgbm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// Model is a compiled LightGBM model. It is immutable after Load and safe for concurrent use.
type Model struct {
	features      []runtime.Feature
	numOutputs    int // trees per iteration = classes (1 for binary and regression)
	numIterations int
	averageOutput bool // random forest: the sum is divided by the number of iterations
	objective     objective
	version       string

	trees      []tree
	nodes      []node      // every tree's slots (see tree.go), then the sink
	rootGroups []rootGroup // the trees' roots for walkRow
	leafValue  []float64
	catBits    []uint32
	linear     []linearLeaf // per leaf, when any tree is linear
	linFeature []int32
	linCoeff   []float64

	pandasCategorical [][]string

	hasSlow   bool      // some split needs slowDecision
	views     int       // views of a row in an extended row: 2, or 4 with missing type Zero
	blockRows int       // rows per block in Eval, so that the block's extended rows stay in L1
	scratch   sync.Pool // *scratch
}

var _ runtime.Ensemble = (*Model)(nil)

// Load parses and compiles a LightGBM text model. Every count in the file is checked
// against the data that backs it before anything of that size is allocated, and the tree
// structure is validated so that evaluation always terminates.
func Load(data []byte) (*Model, error) {
	fm, err := parseText(data)
	if err != nil {
		return nil, fmt.Errorf("lightgbm: %w", err)
	}
	m, err := compile(fm)
	if err != nil {
		return nil, fmt.Errorf("lightgbm: %w", err)
	}
	return m, nil
}

func compile(fm *fileModel) (*Model, error) {
	h := fm.header
	m := &Model{version: h["version"], views: 2}
	switch m.version {
	case "", "v2", "v3", "v4":
	default:
		return nil, fmt.Errorf("model format %q not supported (v2, v3, v4)", clip(m.version))
	}
	numClass, err := intValue(h, "num_class")
	if err != nil {
		return nil, err
	}
	perIter := numClass
	if _, ok := h["num_tree_per_iteration"]; ok {
		if perIter, err = intValue(h, "num_tree_per_iteration"); err != nil {
			return nil, err
		}
	}
	if numClass < 1 || perIter != numClass {
		return nil, fmt.Errorf("num_class=%d with num_tree_per_iteration=%d", numClass, perIter)
	}
	m.numOutputs = numClass
	if _, ok := h["average_output"]; ok {
		m.averageOutput = true
	}
	objLine, hasObj := h["objective"]
	if m.objective, err = parseObjective(objLine, hasObj, numClass); err != nil {
		return nil, err
	}
	if err := m.readFeatures(h); err != nil {
		return nil, err
	}

	nt := len(fm.trees)
	if nt == 0 || nt%perIter != 0 {
		return nil, fmt.Errorf("%d trees, want a positive multiple of num_tree_per_iteration=%d", nt, perIter)
	}
	if s, ok := h["tree_sizes"]; ok && countFields(s) != nt {
		return nil, fmt.Errorf("tree_sizes lists %d trees, the file has %d", countFields(s), nt)
	}
	m.numIterations = nt / perIter
	if len(m.features) > maxFeatures {
		return nil, fmt.Errorf("%d features, at most %d supported", len(m.features), maxFeatures)
	}
	b := &builder{m: m, numFeatures: len(m.features), catFeature: make([]bool, len(m.features))}
	for _, t := range fm.trees {
		if err := b.addTree(t); err != nil {
			return nil, fmt.Errorf("tree %d: %w", t.index, err)
		}
	}
	m.rootGroups = rootGroupsFor(m.trees, b.addSink())
	m.blockRows = blockRowsFor(m.views * len(m.features))
	for f, cat := range b.catFeature {
		if cat {
			m.features[f].Categorical = true
		}
	}
	if fm.hasPandas {
		if err := m.readPandasCategorical(fm.pandas); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readFeatures reads feature_names and feature_infos. A categorical feature's info lists
// its category codes ("0:3:1:-1"); a numerical one is "[min:max]"; an unused one "none".
func (m *Model) readFeatures(h map[string]string) error {
	maxIdx, err := intValue(h, "max_feature_idx")
	if err != nil {
		return err
	}
	names, ok := h["feature_names"]
	if !ok {
		return fmt.Errorf("missing feature_names")
	}
	if maxIdx < 0 || countFields(names) != maxIdx+1 {
		return fmt.Errorf("feature_names has %d entries, max_feature_idx=%d", countFields(names), maxIdx)
	}
	m.features = make([]runtime.Feature, 0, maxIdx+1)
	_ = eachField(names, func(_ int, name string) error {
		m.features = append(m.features, runtime.Feature{Name: name})
		return nil
	})
	infos, ok := h["feature_infos"]
	if !ok {
		return nil // not needed for evaluation; categorical splits still mark their features
	}
	if countFields(infos) != len(m.features) {
		return fmt.Errorf("feature_infos has %d entries, want %d", countFields(infos), len(m.features))
	}
	return eachField(infos, func(i int, info string) error {
		if info != "none" && !strings.HasPrefix(info, "[") {
			m.features[i].Categorical = true
		}
		return nil
	})
}

// readPandasCategorical reads the Python package's pandas_categorical line: for each
// pandas category column, in column order, its categories (code i is categories[i]).
// They belong to the categorical features in order; when the counts differ (a category
// column that was never usable, or integer columns declared categorical besides them)
// the mapping is ambiguous and only PandasCategorical reports the lists.
func (m *Model) readPandasCategorical(text string) error {
	var lists [][]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&lists); err != nil {
		return fmt.Errorf("pandas_categorical: %v", err)
	}
	for i, list := range lists {
		cats := make([]string, len(list))
		for j, raw := range list {
			s, err := categoryString(raw)
			if err != nil {
				return fmt.Errorf("pandas_categorical[%d][%d]: %v", i, j, err)
			}
			cats[j] = s
		}
		m.pandasCategorical = append(m.pandasCategorical, cats)
	}
	var catIdx []int
	for i, f := range m.features {
		if f.Categorical {
			catIdx = append(catIdx, i)
		}
	}
	if len(catIdx) == len(m.pandasCategorical) {
		for k, i := range catIdx {
			m.features[i].Categories = m.pandasCategorical[k]
		}
	}
	return nil
}

// categoryString spells a pandas category as text: strings as they are, numbers as the
// JSON wrote them ("10", "1.5"), booleans as "true"/"false".
func categoryString(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	default:
		return "", fmt.Errorf("category %s is not a string, number or boolean", clip(string(raw)))
	}
}

// Features lists the model's input columns; callers must not modify the slice.
func (m *Model) Features() []runtime.Feature { return m.features }

// Width is the number of outputs per row: the number of classes for multiclass models,
// 1 otherwise, for both kinds (LightGBM has no argmax output).
func (m *Model) Width(runtime.Kind) int { return m.numOutputs }

// Objective is the objective's name as the model file spells it ("binary", "multiclass",
// "regression", …); "custom" when the file has no objective line.
func (m *Model) Objective() string { return m.objective.name }

// NumTrees is the number of trees in the model.
func (m *Model) NumTrees() int { return len(m.trees) }

// PandasCategorical returns the categories of each pandas category column the model was
// trained on, in column order (nil when the file has none).
func (m *Model) PandasCategorical() [][]string { return m.pandasCategorical }
