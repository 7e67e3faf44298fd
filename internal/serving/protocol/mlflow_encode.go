package protocol

import (
	"fmt"
	"strconv"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// EncodePredictions writes a table of model outputs as MLflow's scoring server answers
// a numpy result (pyfunc's predict for xgboost and lightgbm models returns numpy
// arrays): {"predictions": [...]}, a flat list for one column, a list of row lists for
// several (a 2-d array's tolist()). The bytes are Python's json.dumps output for the
// same values — ", " and ": " separators, floats as Python's repr ("1.0", "1e-05"),
// non-ASCII as \u escapes — except that NaN and ±Infinity are written as null (Python
// writes bare NaN/Infinity, which is not JSON). Missing values are null.
func EncodePredictions(t *tabular.Table) ([]byte, error) {
	n, err := checkTable(t)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 32+n*len(t.Columns)*20)
	b = append(b, `{"predictions": [`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		if len(t.Columns) == 1 {
			b = appendCell(b, &t.Columns[0], i, true)
			continue
		}
		b = append(b, '[')
		for j := range t.Columns {
			if j > 0 {
				b = append(b, ", "...)
			}
			b = appendCell(b, &t.Columns[j], i, true)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...), nil
}

// checkTable returns the table's row count after checking that every column has it.
func checkTable(t *tabular.Table) (int, error) {
	if t == nil {
		return 0, fmt.Errorf("protocol: no output table")
	}
	n := t.Rows()
	for j := range t.Columns {
		c := &t.Columns[j]
		if c.Len() != n {
			return 0, fmt.Errorf("protocol: output column %q has %d values, the first column %d", c.Name, c.Len(), n)
		}
		if c.Null != nil && len(c.Null) != n {
			return 0, fmt.Errorf("protocol: output column %q has %d null flags for %d values", c.Name, len(c.Null), n)
		}
	}
	return n, nil
}

// appendCell writes row i of c as a JSON value.
func appendCell(b []byte, c *tabular.Column, i int, ascii bool) []byte {
	if c.IsNull(i) {
		return append(b, "null"...)
	}
	switch c.Type {
	case tabular.Int64:
		return strconv.AppendInt(b, c.Ints[i], 10)
	case tabular.Bool:
		return strconv.AppendBool(b, c.Bools[i])
	case tabular.String:
		return appendString(b, c.Strings[i], ascii)
	}
	return appendFloat(b, c.Floats[i])
}
