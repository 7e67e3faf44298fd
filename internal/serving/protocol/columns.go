package protocol

import (
	"math"
	"strconv"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// builder collects columns of JSON scalars, in place in the table's own columns, and
// types each the way the column reaches the model through pandas:
//   - integer literals only → Int64; any fraction or exponent (1.0 is a float in
//     Python), NaN or ±Infinity → Float64;
//   - integers with nulls → Float64 with NaN, as pandas makes them;
//   - booleans → Bool, strings → String (nulls marked in Null for both);
//   - only nulls → Float64, all NaN and Null;
//   - mixed kinds (numbers and strings, or booleans and either) → String holding each
//     value's text as Python's str() writes it ("1", "2.5", "True"; integers read
//     before the column's first float are written as floats, "1.0"). pandas would keep
//     an object column; a signature cast (astype) then turns such text into numbers,
//     which is what the runtime does with a String column.
type builder struct {
	cols  []tabular.Column // values so far in Ints, Floats, Bools or Strings, and Null
	state []colState
	// spans holds, per column and row, where the cell's text is in the body
	// (lo<<32 | hi), for the prediction log (RowText).
	spans [][]uint64
}

// colState is what a column holds so far.
type colState struct {
	kind   cellKind // kindNull until the first value
	allInt bool     // every number so far is an integer (held in Ints)
	n      int      // rows
}

// addColumn appends an empty column and returns its index.
func (b *builder) addColumn(name string) int {
	b.cols = append(b.cols, tabular.Column{Name: name})
	b.state = append(b.state, colState{})
	b.spans = append(b.spans, nil)
	return len(b.cols) - 1
}

// reset empties column j (a key repeated in a JSON object: the later value wins).
func (b *builder) reset(j int) {
	b.cols[j] = tabular.Column{Name: b.cols[j].Name}
	b.state[j] = colState{}
	b.spans[j] = b.spans[j][:0]
}

func (b *builder) rows(j int) int { return b.state[j].n }

// add appends one value to column j.
func (b *builder) add(j int, v *cell) {
	c, st := &b.cols[j], &b.state[j]
	row := st.n
	st.n++
	b.spans[j] = append(b.spans[j], uint64(v.lo)<<32|uint64(v.hi))
	if v.kind == kindNull {
		if c.Null == nil {
			c.Null = make([]bool, row, max(row+1, capHint(c)))
		}
		c.Null = append(c.Null, true)
		st.appendZero(c)
		return
	}
	if c.Null != nil {
		c.Null = append(c.Null, false)
	}
	if st.kind == kindNull { // the first value: earlier rows were null
		st.kind, st.allInt = v.kind, true
		for range row {
			st.appendZero(c)
		}
	} else if st.kind != v.kind && st.kind != kindString {
		st.toStrings(c)
	}
	switch st.kind {
	case kindNumber:
		switch {
		case st.allInt && v.isInt:
			c.Ints = append(c.Ints, v.i)
		case st.allInt:
			st.toFloats(c)
			c.Floats = append(c.Floats, v.f)
		default:
			c.Floats = append(c.Floats, v.f)
		}
	case kindBool:
		c.Bools = append(c.Bools, v.b)
	case kindString:
		c.Strings = append(c.Strings, cellText(v))
	}
}

func capHint(c *tabular.Column) int {
	return max(cap(c.Ints), cap(c.Floats), cap(c.Bools), cap(c.Strings), 8)
}

func (st *colState) appendZero(c *tabular.Column) {
	switch st.kind {
	case kindNumber:
		if st.allInt {
			c.Ints = append(c.Ints, 0)
		} else {
			c.Floats = append(c.Floats, math.NaN())
		}
	case kindBool:
		c.Bools = append(c.Bools, false)
	case kindString:
		c.Strings = append(c.Strings, "")
	}
}

// dropLast forgets the last row of column j (a key repeated in one JSON object: the
// later value wins, as in Python's dict). A type the dropped value widened it to stays.
func (b *builder) dropLast(j int) {
	c, st := &b.cols[j], &b.state[j]
	st.n--
	b.spans[j] = b.spans[j][:st.n]
	if c.Null != nil {
		c.Null = c.Null[:st.n]
	}
	switch {
	case st.kind == kindNumber && st.allInt:
		c.Ints = c.Ints[:st.n]
	case st.kind == kindNumber:
		c.Floats = c.Floats[:st.n]
	case st.kind == kindBool:
		c.Bools = c.Bools[:st.n]
	case st.kind == kindString:
		c.Strings = c.Strings[:st.n]
	}
}

func (st *colState) toFloats(c *tabular.Column) {
	st.allInt = false
	floats := make([]float64, len(c.Ints), max(2*len(c.Ints), 8))
	for i, x := range c.Ints {
		if c.IsNull(i) {
			floats[i] = math.NaN()
		} else {
			floats[i] = float64(x)
		}
	}
	c.Floats, c.Ints = floats, nil
}

// toStrings turns the values so far into their text (the row being added is counted in
// st.n but not stored yet).
func (st *colState) toStrings(c *tabular.Column) {
	strs := make([]string, 0, max(2*st.n, 8))
	for i := 0; i < st.n-1; i++ {
		switch {
		case c.IsNull(i):
			strs = append(strs, "")
		case st.kind == kindNumber && st.allInt:
			strs = append(strs, strconv.FormatInt(c.Ints[i], 10))
		case st.kind == kindNumber:
			strs = append(strs, pyFloatText(c.Floats[i]))
		case st.kind == kindBool:
			strs = append(strs, pyBoolText(c.Bools[i]))
		}
	}
	st.kind, c.Strings, c.Ints, c.Floats, c.Bools = kindString, strs, nil, nil, nil
}

// cellText is a scalar's text in a String column.
func cellText(v *cell) string {
	switch v.kind {
	case kindNumber:
		if v.isInt {
			return strconv.FormatInt(v.i, 10)
		}
		return pyFloatText(v.f)
	case kindBool:
		return pyBoolText(v.b)
	}
	return v.s
}

func pyBoolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// pyFloatText is Python's str(float): repr, with nan/inf spelled as Python spells them.
func pyFloatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return string(appendFloat(nil, f))
}

// table types every column and returns the table; b must not be used after.
func (b *builder) table() *tabular.Table {
	for j := range b.cols {
		b.state[j].finish(&b.cols[j])
	}
	return &tabular.Table{Columns: b.cols}
}

func (st *colState) finish(c *tabular.Column) {
	switch st.kind {
	case kindNull:
		c.Type, c.Floats = tabular.Float64, make([]float64, st.n)
		for i := range c.Floats {
			c.Floats[i] = math.NaN()
		}
		if st.n == 0 {
			c.Null = nil
		}
	case kindNumber:
		if st.allInt && c.Null == nil {
			c.Type = tabular.Int64
			break
		}
		if st.allInt {
			st.toFloats(c)
		}
		c.Type = tabular.Float64
	case kindBool:
		c.Type = tabular.Bool
	case kindString:
		c.Type = tabular.String
	}
}
