package tabular

import (
	"errors"
	"math"
	"strconv"
)

// Text cells are typed the way pandas.read_csv types a column with its defaults:
// all integers → long; integers, floats and missing cells → double (missing → NaN);
// only True/TRUE/true/False/FALSE/false (and missing) → boolean; else string.
// Where pandas differs from this: a boolean column with missing cells is object dtype
// in pandas and boolean-with-nulls here; integers beyond int64 are uint64/object in
// pandas and double here.

// isNA reports whether a cell is one of pandas' default na_values
// (pandas._libs.parsers.STR_NA_VALUES), compared without trimming, as pandas does.
func isNA(s string) bool {
	switch s {
	case "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
		"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}

// trimNumber strips the spaces and tabs pandas tolerates around a number.
func trimNumber(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// parseInt parses a decimal integer as pandas does (sign allowed, surrounding blanks
// ignored); ok is false for anything else, including integers beyond int64.
func parseInt(s string) (int64, bool) {
	t := trimNumber(s)
	if t == "" {
		return 0, false
	}
	// Fast path for short plain digits: no error value is built on failure.
	neg := false
	b := t
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		if len(b) == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(t, 10, 64)
		return v, err == nil
	}
	var v int64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseFloat parses a decimal float the way pandas does: digits, '.', exponent,
// inf/infinity in any case; no hex, underscores or "nan" spellings (those that are
// missing values were caught by isNA; the rest are strings in pandas).
func parseFloat(s string) (float64, bool) {
	t := trimNumber(s)
	if t == "" {
		return 0, false
	}
	body := t
	if body[0] == '-' || body[0] == '+' {
		body = body[1:]
	}
	if body == "" {
		return 0, false
	}
	if c := body[0] | 0x20; c >= 'a' && c <= 'z' {
		if !isInfWord(body) {
			return 0, false
		}
	} else {
		for i := 0; i < len(body); i++ {
			switch c := body[i]; {
			case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
			default:
				return 0, false
			}
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range → ±Inf or 0, as pandas
		return 0, false
	}
	return v, true
}

func isInfWord(s string) bool {
	if len(s) != 3 && len(s) != 8 {
		return false
	}
	const word = "infinity"
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}

func parseBool(s string) (v, ok bool) {
	switch s {
	case "True", "TRUE", "true":
		return true, true
	case "False", "FALSE", "false":
		return false, true
	}
	return false, false
}

// textColumn types one column of text cells as they arrive (while the record is still
// in cache), moving from integers to doubles, or to strings when a cell fits neither
// the column's numbers nor its booleans. It keeps the cells themselves only by
// reference, for the case where the column ends up as strings.
type textColumn struct {
	stage  stage
	ints   []int64
	floats []float64
	bools  []bool
	null   []bool // nil until the first missing cell
	cells  []string
}

type stage uint8

const (
	stageMissing stage = iota // only missing cells so far
	stageInt
	stageFloat
	stageBool
	stageString
)

func (c *textColumn) reset(capHint int) {
	*c = textColumn{cells: c.cells[:0]}
	if cap(c.cells) < capHint {
		c.cells = make([]string, 0, capHint)
	}
}

func (c *textColumn) add(s string) {
	row := len(c.cells)
	c.cells = append(c.cells, s)
	if c.stage == stageString {
		return
	}
	if isNA(s) {
		if c.null == nil {
			c.null = make([]bool, row, cap(c.cells))
		}
		c.null = append(c.null, true)
		switch c.stage {
		case stageInt:
			c.ints = append(c.ints, 0)
		case stageFloat:
			c.floats = append(c.floats, math.NaN())
		case stageBool:
			c.bools = append(c.bools, false)
		}
		return
	}
	if c.null != nil {
		c.null = append(c.null, false)
	}
	switch c.stage {
	case stageInt:
		if v, ok := parseInt(s); ok {
			c.ints = append(c.ints, v)
			return
		}
		if v, ok := parseFloat(s); ok {
			c.toFloats()
			c.floats = append(c.floats, v)
			return
		}
	case stageFloat:
		if v, ok := parseFloat(s); ok {
			c.floats = append(c.floats, v)
			return
		}
	case stageBool:
		if v, ok := parseBool(s); ok {
			c.bools = append(c.bools, v)
			return
		}
	case stageMissing: // the first present cell picks the stage; earlier rows are missing
		if v, ok := parseInt(s); ok {
			c.stage, c.ints = stageInt, make([]int64, row, cap(c.cells))
			c.ints = append(c.ints, v)
			return
		}
		if v, ok := parseFloat(s); ok {
			c.stage, c.floats = stageFloat, nanSlice(row, cap(c.cells))
			c.floats = append(c.floats, v)
			return
		}
		if v, ok := parseBool(s); ok {
			c.stage, c.bools = stageBool, make([]bool, row, cap(c.cells))
			c.bools = append(c.bools, v)
			return
		}
	}
	c.stage, c.ints, c.floats, c.bools = stageString, nil, nil, nil
}

func nanSlice(n, capacity int) []float64 {
	f := make([]float64, n, max(n, capacity))
	for i := range f {
		f[i] = math.NaN()
	}
	return f
}

func (c *textColumn) toFloats() {
	c.stage = stageFloat
	c.floats = make([]float64, len(c.ints), cap(c.ints))
	for i, v := range c.ints {
		if c.null != nil && c.null[i] {
			c.floats[i] = math.NaN()
		} else {
			c.floats[i] = float64(v)
		}
	}
	c.ints = nil
}

// column returns the typed column; c must be reset before the next batch.
func (c *textColumn) column(name string) Column {
	col := Column{Name: name}
	switch c.stage {
	case stageMissing:
		col.Type, col.Floats, col.Null = Float64, nanSlice(len(c.cells), 0), make([]bool, len(c.cells))
		for i := range col.Null {
			col.Null[i] = true
		}
	case stageInt:
		if c.null == nil {
			col.Type, col.Ints = Int64, c.ints
			break
		}
		c.toFloats() // integers with missing cells are doubles with NaN, as in pandas
		col.Type, col.Floats, col.Null = Float64, c.floats, c.null
	case stageFloat:
		col.Type, col.Floats, col.Null = Float64, c.floats, c.null
	case stageBool:
		col.Type, col.Bools, col.Null = Bool, c.bools, c.null
	case stageString:
		col.Type, col.Strings = String, make([]string, len(c.cells))
		for i, s := range c.cells {
			if isNA(s) {
				if col.Null == nil {
					col.Null = make([]bool, len(c.cells))
				}
				col.Null[i] = true
				continue
			}
			col.Strings[i] = s
		}
	}
	return col
}
