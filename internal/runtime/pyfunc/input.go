package pyfunc

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/mlmodel"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// InputError is a problem with the caller's data (a missing column, a value of the wrong
// type), as opposed to a broken model; serving maps it to a 400.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputErr(format string, a ...any) error { return &InputError{msg: fmt.Sprintf(format, a...)} }

// source is where one model feature's values come from.
type source struct {
	col *tabular.Column // nil: every value missing (an optional column that was not sent)
	// typ is the signature's type for the column ("" without a signature): it decides
	// which conversions are allowed, as MLflow's schema enforcement does.
	typ string
}

// plan matches the model's features with the table's columns, by the signature first
// (names, else positions), else by the model's feature names, else by position.
func (m *Model) plan(t *tabular.Table) ([]source, error) {
	feats := m.Ensemble.Features()
	var inputs *mlmodel.Schema
	if m.Meta.Signature != nil {
		inputs = m.Meta.Signature.Inputs
	}
	switch {
	case inputs != nil && inputs.IsTensor():
		return m.planTensor(t, inputs.Tensors[0], feats)
	case inputs != nil && len(inputs.Columns) > 0 && inputs.HasNames():
		return m.planNamed(t, inputs.Columns, feats)
	case inputs != nil && len(inputs.Columns) > 0:
		if len(t.Columns) != len(inputs.Columns) {
			return nil, inputErr("the model's signature takes %d unnamed columns; the input has %d", len(inputs.Columns), len(t.Columns))
		}
		specs := make([]mlmodel.ColSpec, len(t.Columns))
		for i := range specs {
			specs[i] = inputs.Columns[i]
			specs[i].Name = t.Columns[i].Name
		}
		return m.planNamed(t, specs, feats)
	}
	if names := featureNames(feats); names != nil && hasAll(t, names) {
		out := make([]source, len(feats))
		for i, n := range names {
			out[i] = source{col: t.Column(n)}
		}
		return out, nil
	}
	if len(t.Columns) != len(feats) {
		if names := featureNames(feats); names != nil {
			return nil, inputErr("the input lacks the model's feature column(s) %s, and has %d columns where the model takes %d by position",
				list(missing(t, names)), len(t.Columns), len(feats))
		}
		return nil, inputErr("the model takes %d features by position; the input has %d columns", len(feats), len(t.Columns))
	}
	out := make([]source, len(feats))
	for i := range out {
		out[i] = source{col: &t.Columns[i]}
	}
	return out, nil
}

func (m *Model) planNamed(t *tabular.Table, specs []mlmodel.ColSpec, feats []runtime.Feature) ([]source, error) {
	var absent []string
	bySpec := make([]source, len(specs))
	for i, sp := range specs {
		var c *tabular.Column
		if i < len(t.Columns) && t.Columns[i].Name == sp.Name {
			c = &t.Columns[i] // callers usually send the signature's order: no search
		} else {
			c = t.Column(sp.Name)
		}
		if c == nil && sp.Required {
			absent = append(absent, sp.Name)
		}
		bySpec[i] = source{col: c, typ: sp.Type}
	}
	if len(absent) > 0 {
		return nil, inputErr("the input is missing column(s) %s that the model's signature requires", list(absent))
	}
	// The signature's columns in its order are what the library receives; they meet the
	// model's features by name when the model has names for all of them.
	if names := featureNames(feats); names != nil {
		if sameNames(names, specs) {
			return bySpec, nil
		}
		index := make(map[string]int, len(specs))
		for i, sp := range specs {
			index[sp.Name] = i
		}
		out := make([]source, len(feats))
		ok := true
		for i, n := range names {
			j, found := index[n]
			if !found {
				ok = false
				break
			}
			out[i] = bySpec[j]
		}
		if ok {
			return out, nil
		}
	}
	if len(specs) != len(feats) {
		return nil, fmt.Errorf("the model's signature has %d input columns but the model takes %d features", len(specs), len(feats))
	}
	return bySpec, nil
}

// sameNames reports whether the signature lists exactly the features, in their order.
func sameNames(names []string, specs []mlmodel.ColSpec) bool {
	if len(names) != len(specs) {
		return false
	}
	for i := range names {
		if names[i] != specs[i].Name {
			return false
		}
	}
	return true
}

func (m *Model) planTensor(t *tabular.Table, spec mlmodel.TensorSpec, feats []runtime.Feature) ([]source, error) {
	if len(spec.Shape) != 2 {
		return nil, fmt.Errorf("the model's tensor signature has shape %v; Plinth takes 2-d tensors (rows × features)", spec.Shape)
	}
	if want := spec.Shape[1]; want > 0 && len(t.Columns) != want {
		return nil, inputErr("the model's signature takes tensors of %d values per row; the input has %d columns", want, len(t.Columns))
	}
	if len(t.Columns) != len(feats) {
		return nil, inputErr("the model takes %d features per row; the input has %d columns", len(feats), len(t.Columns))
	}
	typ := "double"
	if spec.DType == "float32" || spec.DType == "float16" {
		typ = "float"
	}
	out := make([]source, len(feats))
	for i := range out {
		out[i] = source{col: &t.Columns[i], typ: typ}
	}
	return out, nil
}

// matrix turns the table into the row-major feature matrix the ensemble takes.
func (m *Model) matrix(t *tabular.Table) ([]float64, int, error) {
	plan, err := m.plan(t)
	if err != nil {
		return nil, 0, err
	}
	feats := m.Ensemble.Features()
	n, w := t.Rows(), len(feats)
	x := make([]float64, n*w)
	for j, src := range plan {
		if err := fill(x, w, j, src, feats[j], m.codes[j]); err != nil {
			return nil, 0, err
		}
	}
	return x, n, nil
}

// fill converts one column into column j of x, the way MLflow's schema enforcement and
// the library's own input handling would; codes maps category names of a categorical
// feature to its codes (nil when the model stores no names).
func fill(x []float64, w, j int, src source, f runtime.Feature, codes map[string]int) error {
	n := len(x) / max(w, 1)
	if src.col == nil {
		for i := 0; i < n; i++ {
			x[i*w+j] = math.NaN()
		}
		return nil
	}
	c := src.col
	switch src.typ {
	case "", "double", "float", "long", "integer", "boolean", "string":
	default:
		return inputErr("column %s is declared %s in the model's signature; tree models take numbers, booleans and category names", c.Name, src.typ)
	}
	intOnly := src.typ == "long" || src.typ == "integer"
	for i := 0; i < n; i++ {
		v := math.NaN()
		if !c.IsNull(i) {
			switch c.Type {
			case tabular.Float64:
				v = c.Floats[i]
				if intOnly && v != math.Trunc(v) {
					return inputErr("column %s: %v in row %d is not an integer, and the model's signature declares it %s", c.Name, v, i+1, src.typ)
				}
			case tabular.Int64:
				v = float64(c.Ints[i])
			case tabular.Bool:
				if c.Bools[i] {
					v = 1
				} else {
					v = 0
				}
			case tabular.String:
				s := c.Strings[i]
				if codes != nil {
					if k, ok := codes[s]; ok {
						v = float64(k)
					} // an unseen category is missing, as in the libraries
					break
				}
				p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil {
					if f.Categorical {
						return inputErr("column %s: %q in row %d is a category name, but the model file stores no category names; send the category codes", c.Name, s, i+1)
					}
					return inputErr("column %s: %q in row %d is not a number", c.Name, s, i+1)
				}
				v = p
			}
		} else if intOnly {
			return inputErr("column %s: row %d is missing, and the model's signature declares it %s, which cannot hold missing values (declare it double)", c.Name, i+1, src.typ)
		}
		if src.typ == "float" {
			v = float64(float32(v)) // the library receives float32 values
		}
		x[i*w+j] = v
	}
	return nil
}

func featureNames(feats []runtime.Feature) []string {
	names := make([]string, len(feats))
	for i, f := range feats {
		if f.Name == "" {
			return nil
		}
		names[i] = f.Name
	}
	return names
}

func hasAll(t *tabular.Table, names []string) bool { return len(missing(t, names)) == 0 }

func missing(t *tabular.Table, names []string) []string {
	var out []string
	for _, n := range names {
		if t.Column(n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// list shows names for a message, shortened after ten.
func list(names []string) string {
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}
