package tabular

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// appendFloat writes a finite float as Python's repr does (and so pandas' to_csv): the
// shortest digits that read back to the same value, positional for exponents -4..15
// with ".0" on integral values, else exponent form (1e+16, 1.5e-05). Keeping the ".0"
// makes a double column read back as double.
func appendFloat(dst []byte, f float64) []byte {
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	exp := 0
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] == 'e' {
			exp, _ = strconv.Atoi(string(e[i+1:]))
			break
		}
	}
	if exp < -4 || exp >= 16 {
		return append(dst, e...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

// csvWriter writes a header row, then one line per row: nulls and NaN empty, booleans
// True/False, doubles as appendFloat (inf, -inf), fields quoted only when they hold
// the comma, a quote or a line break.
type csvWriter struct {
	w      *bufio.Writer
	schema schemaCheck
	line   []byte
}

func newCSVWriter(w io.Writer) *csvWriter {
	return &csvWriter{w: bufio.NewWriterSize(w, 1<<16)}
}

func (w *csvWriter) Write(t *Table) error {
	first, err := w.schema.check(t)
	if err != nil {
		return err
	}
	if first {
		w.line = w.line[:0]
		for j := range t.Columns {
			if j > 0 {
				w.line = append(w.line, ',')
			}
			w.line = appendCSVField(w.line, t.Columns[j].Name)
		}
		w.line = append(w.line, '\n')
		if _, err := w.w.Write(w.line); err != nil {
			return err
		}
	}
	rows := t.Rows()
	for i := 0; i < rows; i++ {
		w.line = w.line[:0]
		for j := range t.Columns {
			if j > 0 {
				w.line = append(w.line, ',')
			}
			c := &t.Columns[j]
			if c.IsNull(i) {
				continue
			}
			switch c.Type {
			case Float64:
				f := c.Floats[i]
				switch {
				case math.IsNaN(f):
				case math.IsInf(f, 1):
					w.line = append(w.line, "inf"...)
				case math.IsInf(f, -1):
					w.line = append(w.line, "-inf"...)
				default:
					w.line = appendFloat(w.line, f)
				}
			case Int64:
				w.line = strconv.AppendInt(w.line, c.Ints[i], 10)
			case Bool:
				if c.Bools[i] {
					w.line = append(w.line, "True"...)
				} else {
					w.line = append(w.line, "False"...)
				}
			case String:
				w.line = appendCSVField(w.line, c.Strings[i])
			}
		}
		if len(w.line) == 0 && len(t.Columns) == 1 {
			// A lone empty field would be a blank line, which readers skip.
			w.line = append(w.line, '"', '"')
		}
		w.line = append(w.line, '\n')
		if _, err := w.w.Write(w.line); err != nil {
			return err
		}
	}
	return nil
}

func appendCSVField(dst []byte, s string) []byte {
	needQuote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			needQuote = true
			break
		}
	}
	if !needQuote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

func (w *csvWriter) Close() error {
	if w.schema.closed {
		return nil
	}
	w.schema.closed = true
	return w.w.Flush()
}

// jsonlWriter writes one JSON object per row, keys in column order; nulls, NaN and
// ±Inf are null.
type jsonlWriter struct {
	w      *bufio.Writer
	schema schemaCheck
	keys   [][]byte // `"name":` per column
	line   []byte
}

func newJSONLWriter(w io.Writer) *jsonlWriter {
	return &jsonlWriter{w: bufio.NewWriterSize(w, 1<<16)}
}

func (w *jsonlWriter) Write(t *Table) error {
	first, err := w.schema.check(t)
	if err != nil {
		return err
	}
	if first {
		w.keys = make([][]byte, len(t.Columns))
		for j := range t.Columns {
			w.keys[j] = append(appendJSONString(nil, t.Columns[j].Name), ':')
		}
	}
	rows := t.Rows()
	for i := 0; i < rows; i++ {
		w.line = append(appendRowJSON(w.line[:0], t, i, w.keys, true), '\n')
		if _, err := w.w.Write(w.line); err != nil {
			return err
		}
	}
	return nil
}

// AppendRowsJSON appends the first len(ends) rows of t, each as one JSON object
// {"column": value, …}, and sets ends[i] to the length of dst after row i; missing
// values and NaN/±Inf are null. Doubles are written in Go's shortest form (2, 0.5,
// 1e+21), in one pass: this is for logs, where speed matters more than keeping ".0"
// for pandas' type inference (the JSON Lines writer keeps it).
func AppendRowsJSON(dst []byte, t *Table, ends []int) []byte {
	keys := make([][]byte, len(t.Columns))
	for j := range t.Columns {
		keys[j] = append(appendJSONString(nil, t.Columns[j].Name), ':')
	}
	for i := range ends {
		dst = appendRowJSON(dst, t, i, keys, false)
		ends[i] = len(dst)
	}
	return dst
}

// appendRowJSON appends row i of t as a JSON object, each column's `"name":` prepared in
// keys; pyFloats writes doubles as Python's repr does (appendFloat), else in Go's
// shortest form.
func appendRowJSON(dst []byte, t *Table, i int, keys [][]byte, pyFloats bool) []byte {
	dst = append(dst, '{')
	for j := range t.Columns {
		if j > 0 {
			dst = append(dst, ',')
		}
		c := &t.Columns[j]
		dst = append(dst, keys[j]...)
		if c.IsNull(i) {
			dst = append(dst, "null"...)
			continue
		}
		switch c.Type {
		case Float64:
			f := c.Floats[i]
			switch {
			case math.IsNaN(f) || math.IsInf(f, 0):
				dst = append(dst, "null"...)
			case pyFloats:
				dst = appendFloat(dst, f)
			default:
				dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
			}
		case Int64:
			dst = strconv.AppendInt(dst, c.Ints[i], 10)
		case Bool:
			dst = strconv.AppendBool(dst, c.Bools[i])
		case String:
			dst = appendJSONString(dst, c.Strings[i])
		}
	}
	return append(dst, '}')
}

func (w *jsonlWriter) Close() error {
	if w.schema.closed {
		return nil
	}
	w.schema.closed = true
	return w.w.Flush()
}

// appendJSONString writes s as a JSON string; bytes that are not UTF-8 become U+FFFD,
// as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
