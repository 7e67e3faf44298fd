package pyfunc

import "github.com/plinth-ml/plinth/internal/tabular"

// CheckColumns reports whether a table with these column names (in this order) has
// what the model needs, matching columns the way Predict does (signature names, else
// positions, else the model's feature names, else positions). It looks at names only,
// so callers can check a file's schema before reading any rows; value types are
// checked per row by Predict. The error is an *InputError naming the missing columns.
func (m *Model) CheckColumns(names []string) error {
	t := &tabular.Table{Columns: make([]tabular.Column, len(names))}
	for i, n := range names {
		t.Columns[i] = tabular.Column{Name: n, Type: tabular.Float64}
	}
	_, err := m.plan(t)
	return err
}
