package tabular

import (
	"bytes"
	"encoding/csv"
)

// csvRecordText joins a record's fields back into one CSV line (quoting as needed),
// for the report of a bad row: encoding/csv does not keep the raw text.
func csvRecordText(rec []string, comma rune) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = comma
	_ = w.Write(rec) // a bytes.Buffer does not fail
	w.Flush()
	return string(bytes.TrimRight(b.Bytes(), "\r\n"))
}

// undoRow removes what a row that failed to parse left in the batch: the values it
// set (each column back to `row` values), the columns it introduced and the kinds it
// fixed. columns is how many columns there were before the row.
func (r *jsonlReader) undoRow(row, columns int) {
	for j := range columns {
		r.cols[j].truncate(row)
		if r.rowSeen[j] == row+1 {
			r.rowSeen[j] = 0
		}
	}
	for _, j := range r.newKinds {
		r.kinds[j] = kindUnset
		if j < columns {
			// No row of the file had a value here before this one: the batch's
			// column holds only nulls again.
			c := &r.cols[j]
			c.kind, c.allInt = kindUnset, false
			c.ints, c.floats, c.bools, c.strs = nil, nil, nil, nil
		}
	}
	for _, name := range r.names[columns:] {
		delete(r.index, name)
	}
	r.names, r.kinds = r.names[:columns], r.kinds[:columns]
	r.cols, r.rowSeen = r.cols[:columns], r.rowSeen[:columns]
}

// truncate keeps the column's first n values.
func (c *jsonColumn) truncate(n int) {
	if len(c.null) <= n {
		return
	}
	c.null = c.null[:n]
	switch c.kind {
	case kindNumber:
		if c.allInt {
			c.ints = c.ints[:n]
		} else {
			c.floats = c.floats[:n]
		}
	case kindBool:
		c.bools = c.bools[:n]
	case kindString:
		c.strs = c.strs[:n]
	}
}
