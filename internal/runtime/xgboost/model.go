// Package xgboost evaluates XGBoost tree models natively: it reads the JSON and UBJSON
// files that Booster.save_model writes (xgboost ≥1.0 for JSON, ≥1.6 for UBJSON), compiles
// the trees into flat arrays and computes the same predictions as xgboost, bit for bit
// where xgboost's float32 arithmetic can be reproduced.
package xgboost

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// Model is a compiled xgboost gbtree or dart model. It is immutable after Load and safe
// for concurrent use.
type Model struct {
	objective string
	spec      objectiveSpec
	features  []runtime.Feature
	groups    int       // output groups: the number of classes, or 1
	base      []float32 // the base margin of each group

	// The forest: every tree's nodes in one array (see tree.go), tree t starting at
	// roots[t], depths[t] steps deep, adding to output group treeGroup[t].
	nodes          []node
	leafValues     []float32 // per node; set at leaves (dart's weight applied)
	roots          []int32
	depths         []int32
	treeGroup      []int32
	catBits        []uint32 // categorical split sets, see tree.go
	hasCategorical bool

	blockRows int       // rows evaluated together, see eval.go
	scratch   sync.Pool // *block
}

// Load reads a model saved by xgboost's save_model as JSON or UBJSON. The legacy binary
// format (.model/.bst/.xgb files written by default before 2.1) is refused with advice.
func Load(data []byte) (*Model, error) {
	var (
		doc any
		err error
	)
	switch sniff(data) {
	case formatJSON:
		doc, err = parseJSON(data)
	case formatUBJSON:
		doc, err = parseUBJSON(data)
	default:
		return nil, errLegacy(data)
	}
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	return build(doc, len(data))
}

type format uint8

const (
	formatUnknown format = iota
	formatJSON
	formatUBJSON
)

// sniff tells JSON from UBJSON: both start with '{'; JSON continues with whitespace, a
// key's quote or the closing brace, UBJSON with a length marker, '$', '#' or a no-op.
func sniff(data []byte) format {
	d := bytes.TrimLeft(data, " \t\r\n")
	if len(d) == 0 || d[0] != '{' {
		return formatUnknown
	}
	if len(d) == 1 {
		return formatJSON // an error either way; JSON's message is clearer
	}
	switch d[1] {
	case ' ', '\t', '\r', '\n', '"', '}':
		return formatJSON
	case 'i', 'U', 'I', 'l', 'L', '$', '#', 'N':
		return formatUBJSON
	}
	return formatUnknown
}

func errLegacy(data []byte) error {
	what := "not an XGBoost JSON or UBJSON model"
	if bytes.HasPrefix(data, []byte("binf")) || (len(data) > 0 && data[0] != '{') {
		what = "the legacy binary XGBoost format, which Plinth does not read"
	}
	return fmt.Errorf("xgboost: %s; load it with xgboost ≥1.6 and re-save it as JSON or UBJSON "+
		`(booster.save_model("model.ubj"))`, what)
}

// Features lists the model's input columns (feature_names/feature_types from the file;
// f0, f1, … when it names none).
func (m *Model) Features() []runtime.Feature { return m.features }

// Objective is the training objective as xgboost spells it.
func (m *Model) Objective() string { return m.objective }

// Width is the number of outputs per row: one per class for multi-class margins and
// multi:softprob, one for multi:softmax's class index and for everything else.
func (m *Model) Width(k runtime.Kind) int {
	if k == runtime.Transformed && m.spec.transform == argmax {
		return 1
	}
	return m.groups
}

// NumTrees is the number of trees in the model.
func (m *Model) NumTrees() int { return len(m.roots) }

var _ runtime.Ensemble = (*Model)(nil)
