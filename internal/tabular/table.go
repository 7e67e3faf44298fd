// Package tabular holds data in typed columns and reads and writes it as CSV, JSON Lines
// and Parquet, in batches, so model inputs and outputs of any size stream through.
package tabular

// Type is a column's element type, after reading (CSV values are inferred the way
// pandas.read_csv does: integers, then floats, then booleans, else strings).
type Type uint8

const (
	Float64 Type = iota
	Int64
	Bool
	String
)

func (t Type) String() string {
	switch t {
	case Int64:
		return "long"
	case Bool:
		return "boolean"
	case String:
		return "string"
	}
	return "double"
}

// Column is one named column; exactly the slice for its Type is used, and Null (when
// not nil) marks missing values (their slot in the typed slice is the zero value; the
// readers in this package put NaN there in a double column, as pandas has it, but
// code must still ask IsNull).
type Column struct {
	Name    string
	Type    Type
	Floats  []float64
	Ints    []int64
	Bools   []bool
	Strings []string
	Null    []bool
}

// Len is the number of values in the column.
func (c *Column) Len() int {
	switch c.Type {
	case Int64:
		return len(c.Ints)
	case Bool:
		return len(c.Bools)
	case String:
		return len(c.Strings)
	}
	return len(c.Floats)
}

// IsNull reports whether row i is missing.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// Table is a batch of rows held as columns of equal length.
type Table struct {
	Columns []Column
}

// Rows is the number of rows (0 for a table without columns).
func (t *Table) Rows() int {
	if len(t.Columns) == 0 {
		return 0
	}
	return t.Columns[0].Len()
}

// Column returns the column with the name, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}
