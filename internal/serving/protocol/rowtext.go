package protocol

import (
	"github.com/plinth-ml/plinth/internal/tabular"
)

// RowText is a JSON request's own text of its input cells. The prediction log keeps
// each input row as a JSON object; writing it from the request's bytes instead of
// formatting the decoded numbers again costs a copy per cell, where formatting a
// double in its shortest form costs about as much as the model's answer for a row.
type RowText struct {
	body  []byte
	keys  [][]byte   // `"name":` per column
	spans [][]uint64 // per column and row: lo<<32 | hi in body; 0 for a cell left out
}

// AppendRows appends the first len(ends) rows as JSON objects {"name": value, …} and
// sets ends[i] to the length of dst after row i, like tabular.AppendRowsJSON: each
// value is the request's text, and cells the request left out, NaN and ±Infinity
// (which JSON lacks) are null.
func (t *RowText) AppendRows(dst []byte, ends []int) []byte {
	return t.AppendRowsFrom(dst, 0, ends)
}

// AppendRowsFrom is AppendRows of the len(ends) rows from row from on.
func (t *RowText) AppendRowsFrom(dst []byte, from int, ends []int) []byte {
	for k := range ends {
		i := from + k
		dst = append(dst, '{')
		for j, key := range t.keys {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, key...)
			sp := t.spans[j][i]
			v := t.body[sp>>32 : uint32(sp)]
			if len(v) == 0 || v[0] == 'N' || v[0] == 'I' || len(v) > 1 && v[1] == 'I' { // NaN, Infinity, -Infinity
				v = nullText
			}
			dst = append(dst, v...)
		}
		dst = append(dst, '}')
		ends[k] = len(dst)
	}
	return dst
}

var nullText = []byte("null")

// table types b's columns and keeps their text for the request's RowText.
func (d *decoder) table(b *builder) *tabular.Table {
	t := b.table()
	rows := t.Rows()
	for j := range b.spans {
		if len(b.spans[j]) != rows {
			return t // not one text per cell: the log formats the values instead
		}
	}
	keys := make([][]byte, len(t.Columns))
	for j := range t.Columns {
		keys[j] = append(appendString(nil, t.Columns[j].Name, false), ':')
	}
	d.text, d.textOf = &RowText{body: d.s.b, keys: keys, spans: b.spans}, t
	return t
}
