package protocol

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// splitError is pandas' complaint about a dataframe_split value, as MLflow wraps it.
func splitError(format string, a ...any) *Error {
	return invalidInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '%s'", fmt.Sprintf(format, a...))
}

// shapeError is a problem with the shape of the current input field's data.
func (d *decoder) shapeError(format string, a ...any) *Error {
	switch d.format {
	case FormatSplit:
		return splitError(format, a...)
	case FormatRecords:
		return invalidInput("Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: '%s'", fmt.Sprintf(format, a...))
	}
	return invalidInput("%s: %s", d.format, fmt.Sprintf(format, a...))
}

// split reads {"columns": […], "data": [[…], …], "index": […]}, in any key order.
func (d *decoder) split() (*tabular.Table, error) {
	s := &d.s
	if k := s.valueKind(); k != kindObject {
		what := "list"
		if k != kindArray {
			what = "type " + d.pyType()
		}
		return nil, invalidInput("Dataframe split format must be a dictionary. Got %s.", what)
	}
	if err := s.open('{'); err != nil {
		return nil, err
	}
	var (
		keys       []string
		names      []string
		haveNames  bool
		cols       builder
		rows       int
		haveData   bool
		extra      bool
		indexLen   = -1
		contentErr error
	)
	err := s.members(func(k []byte) (err error) {
		if !containsBytes(keys, k) {
			keys = append(keys, splitKeyName(k))
		}
		var cerr error
		switch string(k) {
		case "columns":
			names, cerr, err = tryValue(s, d.columnNames)
			haveNames = names != nil
		case "data":
			haveData = true
			var nm []string
			if haveNames {
				nm = names
			}
			var rc rowsAndCols
			rc, cerr, err = tryValue(s, func(*scanner) (rowsAndCols, error) { return d.rows(nm) })
			cols, rows = rc.b, rc.rows
		case "index":
			indexLen, cerr, err = tryValue(s, countElements)
		default:
			extra = true
			err = s.skip()
		}
		if contentErr == nil {
			contentErr = cerr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !haveData || extra {
		return nil, invalidInput("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got %s.'", pySet(keys))
	}
	if contentErr != nil {
		return nil, contentErr
	}
	width := len(cols.cols)
	switch {
	case !haveNames:
		names = positionalNames(width)
	case rows == 0:
		cols, width = builder{}, len(names)
		for range names {
			cols.addColumn("")
		}
	case len(names) != width:
		return nil, splitError("%d columns passed, passed data had %d columns", len(names), width)
	}
	if indexLen >= 0 && indexLen != rows {
		return nil, splitError("Shape of passed values is (%d, %d), indices imply (%d, %d)", rows, width, indexLen, width)
	}
	for j := range cols.cols {
		cols.cols[j].Name = names[j]
	}
	return d.table(&cols), nil
}

func containsBytes(list []string, b []byte) bool {
	for _, x := range list {
		if x == string(b) {
			return true
		}
	}
	return false
}

// splitKeyName is the key as a string, without allocating for the usual ones.
func splitKeyName(k []byte) string {
	for _, name := range [...]string{"columns", "data", "index"} {
		if string(k) == name {
			return name
		}
	}
	return string(k)
}

// pySet writes names as Python prints a set of strings (in the order given).
func pySet(names []string) string {
	if len(names) == 0 {
		return "set()"
	}
	l := pyList(names)
	return "{" + l[1:len(l)-1] + "}"
}

func positionalNames(n int) []string {
	names := make([]string, n)
	for j := range names {
		names[j] = strconv.Itoa(j)
	}
	return names
}

// columnNames reads the "columns" list. pandas takes any labels; numbers and booleans
// become their text, as the runtime matches columns by name. A name given twice is
// refused: pandas would keep both columns and pick one by accident later.
func (d *decoder) columnNames(s *scanner) ([]string, error) {
	switch k := s.valueKind(); k {
	case kindNull: // pandas' default labels
		var c cell
		_, err := s.scalar(&c)
		return nil, err
	case kindArray:
	default:
		return nil, splitError("columns must be a list of names, got %s", k)
	}
	if err := s.open('['); err != nil {
		return nil, err
	}
	// The names share one string: one allocation instead of one per name.
	buf, ends := d.nameBuf[:0], d.nameEnds[:0]
	defer func() { d.nameBuf, d.nameEnds = buf[:0], ends[:0] }()
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		if s.valueKind() == kindString {
			b, err := s.stringBytes()
			if err != nil {
				return nil, err
			}
			buf = append(buf, b...)
		} else {
			nested, err := s.scalar(&d.c)
			if err != nil {
				return nil, err
			}
			if nested || d.c.kind == kindNull {
				k := d.c.kind
				if nested {
					k = s.valueKind()
				}
				return nil, splitError("column name %d is %s; names must be strings", len(ends)+1, k)
			}
			buf = append(buf, cellText(&d.c)...)
		}
		ends = append(ends, len(buf))
	}
	all := string(buf)
	names := make([]string, len(ends))
	for j, start := 0, 0; j < len(ends); j++ {
		names[j], start = all[start:ends[j]], ends[j]
	}
	if dup, ok := d.firstDuplicate(names); ok {
		return nil, splitError("column name %q appears twice", dup)
	}
	return names, nil
}

// firstDuplicate returns a name that appears twice. Names are compared by a 64-bit
// hash first, sorted, so that the usual case (no duplicates) costs no map.
func (d *decoder) firstDuplicate(names []string) (string, bool) {
	hashes := d.hashes[:0]
	defer func() { d.hashes = hashes[:0] }()
	for _, n := range names {
		h := uint64(14695981039346656037) // FNV-1a
		for i := 0; i < len(n); i++ {
			h = (h ^ uint64(n[i])) * 1099511628211
		}
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	for j := 1; j < len(hashes); j++ {
		if hashes[j] == hashes[j-1] { // a duplicate or a collision: look properly
			seen := make(map[string]bool, len(names))
			for _, n := range names {
				if seen[n] {
					return n, true
				}
				seen[n] = true
			}
			return "", false
		}
	}
	return "", false
}

// countElements reads an array and returns its length (the "index" list: its labels
// are not used, but its length must match the rows, as pandas checks).
func countElements(s *scanner) (int, error) {
	switch k := s.valueKind(); k {
	case kindNull:
		var c cell
		_, err := s.scalar(&c)
		return -1, err
	case kindArray:
	default:
		return 0, splitError("index must be a list, got %s", k)
	}
	if err := s.open('['); err != nil {
		return 0, err
	}
	n := 0
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil || !more {
			return n, err
		}
		if err := s.skip(); err != nil {
			return 0, err
		}
		n++
	}
}

type rowsAndCols struct {
	b    builder
	rows int
}

// rows reads a list of rows (lists of scalars) into columns, or a list of scalars into
// one column. names, when known, fix the width; otherwise the first row does. A row of
// another length is refused (pandas pads short rows with NaN; a short row is more
// likely a mistake than a row of missing values).
func (d *decoder) rows(names []string) (rowsAndCols, error) {
	s := &d.s
	if k := s.valueKind(); k != kindArray {
		return rowsAndCols{}, d.shapeError("data must be a list of rows, got %s", k)
	}
	if err := s.open('['); err != nil {
		return rowsAndCols{}, err
	}
	var cols builder
	rowList := false // rows are lists (else each element is one row of one column)
	n := 0
	dataStart := s.i
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil {
			return rowsAndCols{}, err
		}
		if !more {
			return rowsAndCols{b: cols, rows: n}, nil
		}
		k := s.valueKind()
		if first {
			rowList = k == kindArray
			if !rowList {
				if len(names) > 1 {
					return rowsAndCols{}, d.shapeError("%d columns passed, passed data had 1 columns", len(names))
				}
				cols.addColumn("")
			}
		}
		if !rowList {
			nested, err := s.scalar(&d.c)
			if err != nil {
				return rowsAndCols{}, err
			}
			if nested {
				return rowsAndCols{}, d.shapeError("row %d is %s, but row 1 is a single value", n+1, k)
			}
			cols.add(0, &d.c)
			n++
			continue
		}
		if k != kindArray {
			return rowsAndCols{}, d.shapeError("row %d is %s, but row 1 is a list", n+1, k)
		}
		if n == 0 {
			cells, err := d.firstRow(names)
			if err != nil {
				return rowsAndCols{}, err
			}
			// Room for as many rows as the rest of the body could hold.
			cols = newColumns(cells, (len(s.b)-s.i)/max(s.i-dataStart, 1)+1)
		} else if err := d.row(&cols, names, n); err != nil {
			return rowsAndCols{}, err
		}
		n++
	}
}

// firstRow reads the first row (a list of scalars) into d.cells, so that its columns
// can be made knowing their number and types.
func (d *decoder) firstRow(names []string) ([]cell, error) {
	s := &d.s
	if err := s.open('['); err != nil {
		return nil, err
	}
	cells := d.cells[:0]
	if cells == nil {
		cells = make([]cell, 0, max(len(names), 16))
	}
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		if names != nil && len(cells) >= len(names) {
			return nil, d.widthError(0, len(cells)+countRest(s), len(names), names)
		}
		cells = append(cells, cell{})
		nested, err := s.scalar(&cells[len(cells)-1])
		if err != nil {
			return nil, err
		}
		if nested {
			return nil, d.shapeError("%s, row 1 holds %s; cells must be numbers, strings, booleans or null", columnLabel(names, len(cells)-1), s.valueKind())
		}
	}
	d.cells = cells
	if names != nil && len(cells) != len(names) {
		return nil, d.widthError(0, len(cells), len(names), names)
	}
	return cells, nil
}

// newColumns makes the columns for a first row of cells, with room for rows rows: one
// allocation per type shared by the columns (each column's part capped, so that growing
// one never writes into the next).
func newColumns(cells []cell, rows int) builder {
	rows = max(1, min(rows, 1<<20))
	var nInt, nFloat, nBool, nStr int
	for j := range cells {
		switch c := &cells[j]; {
		case c.kind == kindNumber && c.isInt:
			nInt++
		case c.kind == kindNumber:
			nFloat++
		case c.kind == kindBool:
			nBool++
		case c.kind == kindString:
			nStr++
		}
	}
	ints, floats := make([]int64, nInt*rows), make([]float64, nFloat*rows)
	bools, strs := make([]bool, nBool*rows), make([]string, nStr*rows)
	b := builder{cols: make([]tabular.Column, len(cells)), state: make([]colState, len(cells)), spans: make([][]uint64, len(cells))}
	spans := make([]uint64, len(cells)*rows)
	for j := range cells {
		c, col, st := &cells[j], &b.cols[j], &b.state[j]
		b.spans[j], spans = spans[:0:rows], spans[rows:]
		switch {
		case c.kind == kindNumber && c.isInt:
			st.kind, st.allInt, col.Ints, ints = kindNumber, true, ints[:0:rows], ints[rows:]
		case c.kind == kindNumber:
			st.kind, col.Floats, floats = kindNumber, floats[:0:rows], floats[rows:]
		case c.kind == kindBool:
			st.kind, col.Bools, bools = kindBool, bools[:0:rows], bools[rows:]
		case c.kind == kindString:
			st.kind, col.Strings, strs = kindString, strs[:0:rows], strs[rows:]
		}
		b.add(j, c)
	}
	return b
}

// row reads row number n (a list of scalars) into cols.
func (d *decoder) row(cols *builder, names []string, n int) error {
	s := &d.s
	if err := s.open('['); err != nil {
		return err
	}
	j := 0
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if j >= len(cols.cols) {
			return d.widthError(n, j+countRest(s), len(cols.cols), names)
		}
		nested, err := s.scalar(&d.c)
		if err != nil {
			return err
		}
		if nested {
			return d.shapeError("%s, row %d holds %s; cells must be numbers, strings, booleans or null", columnLabel(names, j), n+1, s.valueKind())
		}
		cols.add(j, &d.c)
		j++
	}
	if j != len(cols.cols) {
		return d.widthError(n, j, len(cols.cols), names)
	}
	return nil
}

// countRest counts the remaining elements of the current array, for a message.
func countRest(s *scanner) int {
	n := 0
	for {
		if err := s.skip(); err != nil {
			return n
		}
		n++
		if more, err := s.more(false, ']'); err != nil || !more {
			return n
		}
	}
}

func (d *decoder) widthError(n, got, width int, names []string) *Error {
	if names != nil && got > width { // pandas' words
		return d.shapeError("%d columns passed, passed data had %d columns (row %d)", width, got, n+1)
	}
	if names != nil {
		return d.shapeError("row %d has %d values, but there are %d columns", n+1, got, width)
	}
	return d.shapeError("row %d has %d values, but row 1 has %d", n+1, got, width)
}

func columnLabel(names []string, j int) string {
	if j < len(names) {
		return fmt.Sprintf("column %q", names[j])
	}
	return fmt.Sprintf("column %d", j+1)
}
