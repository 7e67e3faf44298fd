package protocol

import (
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// Table turns the request's inputs into the table the runtime takes:
//   - one input of shape [N, k]: a matrix, k columns named by featureNames when it has
//     k names, else "0"…"k-1" (as pandas labels a 2-d array's columns);
//   - one or several inputs of shape [N] or [N, 1]: one column per input, named by the
//     input (MLServer's pandas codec does the same), all with the same N.
//
// Anything else (several inputs where one is [N, k>1], more than 2 dimensions, a scalar)
// is an *Error with status 400. FP* is Float64, INT*/UINT* Int64, BOOL Bool, BYTES String.
func (r *InferRequest) Table(featureNames []string) (*tabular.Table, error) {
	if len(r.Inputs) == 0 {
		return nil, v2Error("the inference request has no inputs")
	}
	if in := &r.Inputs[0]; len(r.Inputs) == 1 && len(in.Shape) == 2 {
		return matrixTable(in, featureNames), nil
	}
	t := &tabular.Table{Columns: make([]tabular.Column, len(r.Inputs))}
	for j := range r.Inputs {
		in := &r.Inputs[j]
		if !(len(in.Shape) == 1 || len(in.Shape) == 2 && in.Shape[1] == 1) {
			if len(r.Inputs) == 1 {
				return nil, v2Error("input %q has shape %v; Plinth takes a [rows, features] tensor, or one [rows] tensor per feature", in.Name, in.Shape)
			}
			return nil, v2Error("input %q has shape %v, but with several inputs each must be one feature column, of shape [rows] or [rows, 1]", in.Name, in.Shape)
		}
		if in.Shape[0] != r.Inputs[0].Shape[0] {
			return nil, v2Error("input %q has %d rows, but input %q has %d", in.Name, in.Shape[0], r.Inputs[0].Name, r.Inputs[0].Shape[0])
		}
		t.Columns[j] = inputColumn(in, in.Name)
	}
	return t, nil
}

func matrixTable(in *InferInput, featureNames []string) *tabular.Table {
	k := int(in.Shape[1])
	names := featureNames
	if len(names) != k {
		names = make([]string, k)
		for j := range names {
			names[j] = strconv.Itoa(j)
		}
	}
	t := &tabular.Table{Columns: make([]tabular.Column, k)}
	for j := range t.Columns {
		t.Columns[j] = tabular.Column{Name: names[j], Type: columnType(in.Datatype)}
	}
	switch columnType(in.Datatype) {
	case tabular.Float64:
		cols := transpose(in.Floats, k)
		var nulls [][]bool
		if in.Null != nil {
			nulls = transpose(in.Null, k)
		}
		for j := range t.Columns {
			t.Columns[j].Floats = cols[j]
			if nulls != nil {
				t.Columns[j].Null = nulls[j]
			}
		}
	case tabular.Bool:
		for j, col := range transpose(in.Bools, k) {
			t.Columns[j].Bools = col
		}
	case tabular.String:
		for j, col := range transpose(in.Strings, k) {
			t.Columns[j].Strings = col
		}
	default:
		for j, col := range transpose(in.Ints, k) {
			t.Columns[j].Ints = col
		}
	}
	return t
}

func columnType(datatype string) tabular.Type {
	switch {
	case strings.HasPrefix(datatype, "FP"):
		return tabular.Float64
	case datatype == "BOOL":
		return tabular.Bool
	case datatype == "BYTES":
		return tabular.String
	}
	return tabular.Int64
}

// inputColumn is a one-column input as a column.
func inputColumn(in *InferInput, name string) tabular.Column {
	col := tabular.Column{Name: name, Type: columnType(in.Datatype)}
	switch col.Type {
	case tabular.Float64:
		col.Floats, col.Null = in.Floats, in.Null
	case tabular.Bool:
		col.Bools = in.Bools
	case tabular.String:
		col.Strings = in.Strings
	default:
		col.Ints = in.Ints
	}
	return col
}

// transpose splits row-major values of k columns into k column slices that share one
// allocation.
func transpose[T any](v []T, k int) [][]T {
	if k <= 0 {
		return nil
	}
	n := len(v) / k
	all := make([]T, n*k)
	cols := make([][]T, k)
	for j := range cols {
		col := all[j*n : (j+1)*n : (j+1)*n]
		for i := range col {
			col[i] = v[i*k+j]
		}
		cols[j] = col
	}
	return cols
}
