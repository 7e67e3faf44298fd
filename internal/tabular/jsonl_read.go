package tabular

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// maxJSONLine bounds one line of JSON Lines input (one row).
const maxJSONLine = 256 << 20

// jsonKind is what a JSON Lines column holds; it is fixed by the first non-null value
// and must not change later in the file (numbers may still be long in one batch and
// double in another).
type jsonKind uint8

const (
	kindUnset jsonKind = iota
	kindNumber
	kindBool
	kindString
)

func (k jsonKind) String() string {
	switch k {
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindString:
		return "a string"
	}
	return "null"
}

type jsonlReader struct {
	sc    *bufio.Scanner
	line  int64 // number of the last line read, from 1 (plus ReadOptions.LineOffset)
	names []string
	kinds []jsonKind
	index map[string]int
	err   error // sticky: io.EOF or the first error
	row   int64 // non-blank lines read so far, bad ones included
	bad   func(row int64, raw, reason string)
	// newKinds lists the columns whose kind the row being parsed fixed, so that a bad
	// row can be undone (only kept when bad is set).
	newKinds []int

	// Per batch.
	cols    []jsonColumn
	rowSeen []int // per column, the last row of the batch that set it, plus one
}

// jsonColumn collects one column of a batch: null has one entry per row, and the slice
// for kind as many; ints is used while every number is an integer literal that fits
// int64, floats after that.
type jsonColumn struct {
	kind   jsonKind // kindUnset while every value in the batch is null
	allInt bool
	ints   []int64
	floats []float64
	bools  []bool
	strs   []string
	null   []bool
}

func newJSONLReader(r io.Reader, opts ReadOptions) *jsonlReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxJSONLine)
	return &jsonlReader{sc: sc, index: map[string]int{}, bad: opts.BadRow, line: opts.LineOffset}
}

func (r *jsonlReader) Next(maxRows int) (*Table, error) {
	if err := checkMaxRows(maxRows); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	r.cols = make([]jsonColumn, len(r.names))
	r.rowSeen = make([]int, len(r.names))
	rows := 0
	for rows < maxRows {
		if !r.sc.Scan() {
			err := r.sc.Err()
			switch {
			case err == nil:
				r.err = io.EOF
			case errors.Is(err, bufio.ErrTooLong):
				r.err = fmt.Errorf("jsonl: line %d is longer than %d MiB", r.line+1, maxJSONLine>>20)
			default:
				r.err = fmt.Errorf("jsonl: after line %d: %w", r.line, err)
			}
			break
		}
		r.line++
		b := r.sc.Bytes()
		if r.line == 1 { // the file's first line: it may begin with a byte-order mark
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(bytes.TrimLeft(b, " \t\r")) == 0 {
			continue
		}
		columns := len(r.names)
		r.newKinds = r.newKinds[:0]
		if err := r.parseRow(b, rows); err != nil {
			if r.bad != nil {
				r.undoRow(rows, columns)
				r.bad(r.row, string(b), fmt.Sprintf("jsonl: line %d: %v", r.line, err))
				r.row++
				continue
			}
			r.err = fmt.Errorf("jsonl: line %d: %w", r.line, err)
			return nil, r.err
		}
		rows++
		r.row++
		for j := range r.cols { // keys absent from this row are null
			if r.rowSeen[j] != rows {
				r.cols[j].add(jsonValue{})
			}
		}
	}
	if r.err != nil && r.err != io.EOF {
		return nil, r.err
	}
	if rows == 0 {
		return nil, io.EOF
	}
	if len(r.names) == 0 { // a Table without columns cannot hold rows
		r.err = fmt.Errorf("jsonl: line %d: the objects so far have no keys, so there are no columns to read", r.line)
		return nil, r.err
	}
	t := &Table{Columns: make([]Column, len(r.names))}
	for j := range r.cols {
		t.Columns[j] = r.cols[j].finish(r.names[j], r.kinds[j])
	}
	r.cols = nil
	return t, nil
}

func (r *jsonlReader) Close() error { return nil }

// column returns the index of the column for key, adding it (null in the batch's
// earlier rows) when the key is new.
func (r *jsonlReader) column(key []byte, row int) int {
	if j, ok := r.index[string(key)]; ok {
		return j
	}
	name := string(key)
	j := len(r.names)
	r.index[name] = j
	r.names = append(r.names, name)
	r.kinds = append(r.kinds, kindUnset)
	r.cols = append(r.cols, jsonColumn{null: make([]bool, row, max(row, 16))})
	for i := range row {
		r.cols[j].null[i] = true
	}
	r.rowSeen = append(r.rowSeen, 0)
	return j
}

// set stores a value for column j in row (a later duplicate key in the same object
// replaces the earlier value, as encoding/json does).
func (r *jsonlReader) set(j, row int, v jsonValue, key []byte) error {
	c := &r.cols[j]
	if r.rowSeen[j] == row+1 {
		c.dropLast()
	}
	r.rowSeen[j] = row + 1
	if v.kind != kindUnset && r.bad != nil {
		// Reporting bad rows, a value of another kind does not make its row bad: the
		// row "x" in a column of numbers may be the bad one as well as the numbers.
		// The batch's column holds every value's text instead (as a CSV column with
		// "x" does), and the model's signature tells which rows it cannot take.
		if c.kind != kindUnset && c.kind != v.kind && c.kind != kindString {
			c.toText()
		}
	} else if v.kind != kindUnset {
		if k := r.kinds[j]; k != kindUnset && k != v.kind {
			return fmt.Errorf("key %q: %s, but earlier rows hold %s in this column", key, v.kind, k)
		}
		if r.kinds[j] == kindUnset && r.bad != nil {
			r.newKinds = append(r.newKinds, j)
		}
		r.kinds[j] = v.kind
	}
	c.add(v)
	return nil
}

// add appends one row's value (kindUnset: null).
func (c *jsonColumn) add(v jsonValue) {
	if v.kind == kindUnset {
		c.null = append(c.null, true)
		c.appendZero()
		return
	}
	c.null = append(c.null, false)
	if c.kind == kindUnset { // the batch's first value: earlier rows were null
		c.kind, c.allInt = v.kind, true
		for range len(c.null) - 1 {
			c.appendZero()
		}
	}
	if c.kind == kindString && v.kind != kindString { // a column of mixed kinds (see set)
		c.strs = append(c.strs, v.text())
		return
	}
	switch v.kind {
	case kindNumber:
		if c.allInt && !v.isInt {
			c.toFloats()
		}
		switch {
		case c.allInt:
			c.ints = append(c.ints, v.i)
		case v.isInt:
			c.floats = append(c.floats, float64(v.i))
		default:
			c.floats = append(c.floats, v.f)
		}
	case kindBool:
		c.bools = append(c.bools, v.b)
	case kindString:
		c.strs = append(c.strs, v.s)
	}
}

func (c *jsonColumn) appendZero() {
	switch c.kind {
	case kindNumber:
		if c.allInt {
			c.ints = append(c.ints, 0)
		} else {
			c.floats = append(c.floats, math.NaN())
		}
	case kindBool:
		c.bools = append(c.bools, false)
	case kindString:
		c.strs = append(c.strs, "")
	}
}

func (c *jsonColumn) dropLast() {
	n := len(c.null) - 1
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

// toFloats turns the integers so far into doubles (NaN where null).
func (c *jsonColumn) toFloats() {
	c.allInt = false
	c.floats = make([]float64, len(c.ints), max(2*len(c.ints), 16))
	for i, x := range c.ints {
		if c.null[i] {
			c.floats[i] = math.NaN()
		} else {
			c.floats[i] = float64(x)
		}
	}
	c.ints = nil
}

// toText turns the values so far into their text ("" where null), for a column whose
// rows hold values of different kinds.
func (c *jsonColumn) toText() {
	strs := make([]string, len(c.null), max(2*len(c.null), 16))
	for i := range strs {
		if c.null[i] {
			continue
		}
		switch {
		case c.kind == kindBool:
			strs[i] = strconv.FormatBool(c.bools[i])
		case c.allInt:
			strs[i] = strconv.FormatInt(c.ints[i], 10)
		default:
			strs[i] = strconv.FormatFloat(c.floats[i], 'g', -1, 64)
		}
	}
	c.kind, c.allInt, c.strs = kindString, false, strs
	c.ints, c.floats, c.bools = nil, nil, nil
}

// text is a scalar's text, for a column of mixed kinds.
func (v jsonValue) text() string {
	switch {
	case v.kind == kindString:
		return v.s
	case v.kind == kindBool:
		return strconv.FormatBool(v.b)
	case v.isInt:
		return strconv.FormatInt(v.i, 10)
	}
	return strconv.FormatFloat(v.f, 'g', -1, 64)
}

// finish returns the batch's column; sticky is the kind earlier batches gave it.
func (c *jsonColumn) finish(name string, sticky jsonKind) Column {
	n := len(c.null)
	col := Column{Name: name}
	hasNull := false
	for _, isNull := range c.null {
		if isNull {
			hasNull = true
			break
		}
	}
	if hasNull {
		col.Null = c.null
	}
	switch c.kind {
	case kindBool:
		col.Type, col.Bools = Bool, c.bools
	case kindString:
		col.Type, col.Strings = String, c.strs
	case kindNumber:
		if c.allInt && !hasNull {
			col.Type, col.Ints = Int64, c.ints
			return col
		}
		if c.allInt { // integers with nulls are doubles with NaN, as in pandas
			c.toFloats()
		}
		col.Type, col.Floats = Float64, c.floats
	default: // every value in the batch is null: keep the type earlier batches had
		switch sticky {
		case kindString:
			col.Type, col.Strings = String, make([]string, n)
			return col
		case kindBool:
			col.Type, col.Bools = Bool, make([]bool, n)
			return col
		}
		col.Type = Float64
		col.Floats = make([]float64, n)
		for i := range col.Floats {
			col.Floats[i] = math.NaN()
		}
	}
	return col
}
