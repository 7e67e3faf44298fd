package tabular

import (
	"fmt"
	"io"
)

// Writer writes tables in batches to one output.
type Writer interface {
	// Write appends the rows of t. Every batch must have the same column names in the
	// same order as the first (for Parquet, also the same types, except that long
	// values are accepted into a double column).
	Write(t *Table) error
	// Close flushes what is buffered (for Parquet, the last row group and the footer).
	// It does not close the underlying io.Writer.
	Close() error
}

// WriteOptions tunes a Writer; the zero value is what NewWriter uses.
type WriteOptions struct {
	// RowGroupRows is the number of rows per Parquet row group (the last may be
	// shorter); 0 means DefaultRowGroupRows.
	RowGroupRows int
}

// DefaultRowGroupRows balances reading speed (bigger groups) against the memory the
// writer holds until a group is flushed.
const DefaultRowGroupRows = 1 << 16

// NewWriter writes tables in format f to w.
func NewWriter(w io.Writer, f Format) (Writer, error) {
	return NewWriterWith(w, f, WriteOptions{})
}

// NewWriterWith is NewWriter with options.
func NewWriterWith(w io.Writer, f Format, opts WriteOptions) (Writer, error) {
	if opts.RowGroupRows < 0 {
		return nil, fmt.Errorf("row group size %d: want at least 1 row", opts.RowGroupRows)
	}
	if opts.RowGroupRows == 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	switch f {
	case CSV:
		return newCSVWriter(w), nil
	case JSONLines:
		return newJSONLWriter(w), nil
	case Parquet:
		return newParquetWriter(w, opts), nil
	}
	return nil, fmt.Errorf("unknown table format %v; %s", f, formatHint)
}

// schemaCheck holds the column names of the first batch and checks later batches.
type schemaCheck struct {
	names  []string
	closed bool
}

func (s *schemaCheck) check(t *Table) (first bool, err error) {
	if s.closed {
		return false, fmt.Errorf("write after Close")
	}
	if err := t.Validate(); err != nil {
		return false, err
	}
	if s.names == nil {
		s.names = make([]string, len(t.Columns))
		seen := make(map[string]bool, len(t.Columns))
		for i := range t.Columns {
			name := t.Columns[i].Name
			if seen[name] {
				return false, fmt.Errorf("column %q appears twice", name)
			}
			seen[name] = true
			s.names[i] = name
		}
		return true, nil
	}
	if len(t.Columns) != len(s.names) {
		return false, fmt.Errorf("batch has %d columns, but the first batch had %d (%v)", len(t.Columns), len(s.names), s.names)
	}
	for i := range t.Columns {
		if t.Columns[i].Name != s.names[i] {
			return false, fmt.Errorf("batch column %d is %q, but in the first batch it was %q", i+1, t.Columns[i].Name, s.names[i])
		}
	}
	return false, nil
}

// Validate checks that every column holds its type's slice, all of the same length,
// and a Null slice of that length when it has one.
func (t *Table) Validate() error {
	rows := t.Rows()
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Type > String {
			return fmt.Errorf("column %q: unknown type %d", c.Name, c.Type)
		}
		if n := c.Len(); n != rows {
			return fmt.Errorf("column %q has %d values, but column %q has %d", c.Name, n, t.Columns[0].Name, rows)
		}
		if c.Null != nil && len(c.Null) != rows {
			return fmt.Errorf("column %q has %d null flags for %d values", c.Name, len(c.Null), rows)
		}
	}
	return nil
}
