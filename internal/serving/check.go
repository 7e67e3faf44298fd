package serving

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plinth-ml/plinth/internal/runtime/mlmodel"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
)

// checkCandidate decides whether next may replace cur (nil for a first load): callers
// that fit cur's input signature must fit next's, and next must answer its own input
// example and cur's (what callers actually send) without error.
func checkCandidate(cur, next *pyfunc.Model) error {
	if cur != nil {
		if err := compatibleInputs(cur.Meta.Signature, next.Meta.Signature); err != nil {
			return fmt.Errorf("input signature is not compatible with the version being served: %w", err)
		}
	}
	if err := answersExample(next, next); err != nil {
		return fmt.Errorf("does not answer its own input example: %w", err)
	}
	if cur != nil {
		if err := answersExample(cur, next); err != nil {
			return fmt.Errorf("does not answer the served version's input example: %w", err)
		}
	}
	return nil
}

// answersExample runs the input example saved with from through model; a model saved
// without an example passes.
func answersExample(from, model *pyfunc.Model) error {
	body, err := from.InputExample()
	if errors.Is(err, pyfunc.ErrNoInputExample) {
		return nil
	}
	if err != nil {
		return err
	}
	req, err := protocol.DecodeJSON(body)
	if err != nil {
		return err
	}
	out, err := model.Predict(req.Table, pyfunc.Options{Threads: 1})
	if err != nil {
		return err
	}
	if out.Rows() != req.Table.Rows() {
		return fmt.Errorf("%d rows in, %d predictions out", req.Table.Rows(), out.Rows())
	}
	return nil
}

// compatibleInputs accepts next when every input it requires is one that callers of cur
// send, with a type those values convert to. A version without a signature accepts
// whatever it is given (as MLflow does), so it is compatible with any.
func compatibleInputs(cur, next *mlmodel.Signature) error {
	var c, n *mlmodel.Schema
	if cur != nil {
		c = cur.Inputs
	}
	if next != nil {
		n = next.Inputs
	}
	switch {
	case n == nil:
		return nil
	case c == nil:
		return errors.New("the new version declares an input signature and the served one has none; callers may send other columns")
	case c.IsTensor() != n.IsTensor():
		return errors.New("one signature is column-based and the other tensor-based")
	case n.IsTensor():
		return compatibleTensors(c.Tensors, n.Tensors)
	}
	have := make(map[string]mlmodel.ColSpec, len(c.Columns))
	for _, col := range c.Columns {
		have[col.Name] = col
	}
	var problems []string
	for i, col := range n.Columns {
		if col.Name == "" { // positional: compare by position
			if i >= len(c.Columns) {
				problems = append(problems, fmt.Sprintf("input %d is new", i))
			} else if !convertible(c.Columns[i].Type, col.Type) {
				problems = append(problems, fmt.Sprintf("input %d is %s, was %s", i, col.Type, c.Columns[i].Type))
			}
			continue
		}
		old, ok := have[col.Name]
		switch {
		case !ok && col.Required:
			problems = append(problems, fmt.Sprintf("column %q is required and callers do not send it", col.Name))
		case ok && !convertible(old.Type, col.Type):
			problems = append(problems, fmt.Sprintf("column %q is %s, was %s", col.Name, col.Type, old.Type))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func compatibleTensors(cur, next []mlmodel.TensorSpec) error {
	if len(cur) != len(next) {
		return fmt.Errorf("%d input tensors, was %d", len(next), len(cur))
	}
	for i := range next {
		a, b := cur[i].Shape, next[i].Shape
		if len(a) != len(b) || (len(a) > 0 && a[len(a)-1] != b[len(b)-1]) {
			return fmt.Errorf("input tensor %d has shape %v, was %v", i, b, a)
		}
	}
	return nil
}

// convertible reports whether values valid for type from are accepted as type to:
// numbers among numeric types, except fractions into an integer type.
func convertible(from, to string) bool {
	if from == to {
		return true
	}
	rank := map[string]int{"boolean": 1, "integer": 2, "long": 3, "float": 4, "double": 5}
	f, t := rank[from], rank[to]
	return f > 0 && t > 0 && (t >= 4 || f <= t)
}
