package tabular

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// bulkPage reads a data page of a flat numeric or boolean column straight from the
// page's typed values (or its dictionary indexes), a run of rows at a time, instead of
// one parquet.Value per row: the result is the same as valueConv.append's, value for
// value and null for null.
//
// A page whose shape is not exactly what the reading needs (an unexpected value kind,
// a count of values that disagrees with the definition levels) is left to the generic
// path, which then behaves on it as it always did.
type bulkPage struct {
	kind   convKind
	rows   int    // rows in the page, nulls included
	row    int    // rows of the page already read
	next   int    // non-null values already read
	defs   []byte // the page's definition levels; nil when no row of the page is null
	maxDef byte   // the level of a row that has a value
	index  []int32
	// The non-null values in order; with index set, the dictionary that index points
	// into. Only the slice for kind is set.
	i32  []int32
	i64  []int64
	f32  []float32
	f64  []float64
	bits []byte // booleans, bit-packed from the least significant bit
}

// bulkKinds are the conversions with a bulk path, with the kind of the page values
// they read.
var bulkKinds = map[convKind]encoding.Kind{
	convFloat:  encoding.Float,
	convDouble: encoding.Double,
	convInt32:  encoding.Int32,
	convUint32: encoding.Int32,
	convInt64:  encoding.Int64,
	convUint64: encoding.Int64,
	convBool:   encoding.Boolean,
}

// load makes b read page, and reports false when the page must go through the generic
// path. maxDef is the column's maximum definition level (0: required, 1: optional).
//
// Optional booleans stay generic: their page's bits end in padding, and the number of
// values that the page header gives cannot be read back to check against the levels.
func (b *bulkPage) load(page parquet.Page, kind convKind, maxDef byte) bool {
	*b = bulkPage{kind: kind, maxDef: maxDef}
	want, ok := bulkKinds[kind]
	if !ok || maxDef > 1 || (kind == convBool && maxDef > 0) {
		return false
	}
	defs := page.DefinitionLevels()
	values := -1 // the non-null values the definition levels call for; -1: every row's
	if maxDef > 0 {
		b.rows = len(defs)
		values = countDefined(defs, maxDef)
		if values < b.rows {
			b.defs = defs
		}
	} else if len(defs) != 0 {
		return false
	}
	data := page.Data()
	if dict := page.Dictionary(); dict != nil {
		if kind == convBool || data.Kind() != encoding.Int32 {
			return false
		}
		b.index = data.Int32()
		if !b.fits(len(b.index), values) {
			return false
		}
		dictData := dict.Page().Data()
		if dictData.Kind() != want {
			return false
		}
		b.setValues(&dictData) // read checks the indexes against it
		return true
	}
	if data.Kind() != want {
		return false
	}
	n := b.setValues(&data)
	if kind == convBool { // required: the page's count is its rows
		n = int(page.NumValues())
		if n < 0 || n > 8*len(b.bits) {
			return false
		}
	}
	return b.fits(n, values)
}

// fits reports whether n values are what the page's rows call for (values: the count
// its definition levels give, or -1 for a required column, whose rows are its values).
func (b *bulkPage) fits(n, values int) bool {
	if values < 0 {
		b.rows = n
		return true
	}
	return n == values
}

// setValues keeps the typed slice of data for b.kind and returns its length.
func (b *bulkPage) setValues(data *encoding.Values) int {
	switch b.kind {
	case convFloat:
		b.f32 = data.Float()
		return len(b.f32)
	case convDouble:
		b.f64 = data.Double()
		return len(b.f64)
	case convInt32, convUint32:
		b.i32 = data.Int32()
		return len(b.i32)
	case convInt64, convUint64:
		b.i64 = data.Int64()
		return len(b.i64)
	}
	b.bits = data.Boolean()
	return 8 * len(b.bits)
}

func (b *bulkPage) done() bool { return b.row == b.rows }

func countDefined(defs []byte, maxDef byte) int {
	return bytes.Count(defs, []byte{maxDef})
}

// read appends up to n rows of the page to col (the first is row `at` of the batch)
// and returns how many it appended.
func (b *bulkPage) read(col *Column, n, at int) (int, error) {
	k := min(n, b.rows-b.row)
	m := k // non-null values among the k rows
	var defs []byte
	if b.defs != nil {
		defs = b.defs[b.row : b.row+k]
		m = countDefined(defs, b.maxDef)
	}
	start := col.Len()
	// A batch usually spans pages: room for n rows at once saves copying, but not past
	// a few pages' rows, so a file cannot claim rows to make us allocate.
	room := min(n, max(k, 4*b.rows))
	var index []int32
	if b.index != nil {
		index = b.index[b.next : b.next+m]
	}
	// The m values go densely to the front of the k new slots, then spread out to
	// their rows from the back, with the null marker in between.
	bad := -1 // a dictionary index out of range, at this place in index
	switch b.kind {
	case convFloat, convDouble:
		col.Floats = grow(col.Floats, k, room)
		seg := col.Floats[start:]
		if b.kind == convFloat {
			bad = floatsFrom(seg[:m], b.f32, b.next, index)
		} else {
			bad = floatsFrom(seg[:m], b.f64, b.next, index)
		}
		spread(seg, m, defs, b.maxDef, math.NaN())
	case convInt32, convUint32, convInt64, convUint64:
		col.Ints = grow(col.Ints, k, room)
		seg := col.Ints[start:]
		switch b.kind {
		case convInt32:
			bad = intsFrom(seg[:m], b.i32, b.next, index)
		case convUint32:
			bad = uintsFrom(seg[:m], b.i32, b.next, index)
		case convInt64:
			bad = intsFrom(seg[:m], b.i64, b.next, index)
		case convUint64:
			bad = intsFrom(seg[:m], b.i64, b.next, index)
			if big := slices.IndexFunc(seg[:m], func(v int64) bool { return v < 0 }); big >= 0 && (bad < 0 || big < bad) {
				return 0, fmt.Errorf("row %d: %d does not fit a signed 64-bit integer", at+rowOfValue(defs, b.maxDef, big)+1, uint64(seg[big]))
			}
		}
		spread(seg, m, defs, b.maxDef, 0)
	case convBool:
		col.Bools = grow(col.Bools, k, room)
		seg := col.Bools[start:]
		for i := range seg[:m] {
			j := b.next + i
			seg[i] = b.bits[j>>3]>>(j&7)&1 != 0
		}
		spread(seg, m, defs, b.maxDef, false)
	}
	if bad >= 0 {
		return 0, fmt.Errorf("dictionary index %d is out of range: the dictionary has %d values", index[bad], b.dictLen())
	}
	if m < k {
		markNulls(col, start, defs, b.maxDef, room)
	}
	b.row += k
	b.next += m
	return k, nil
}

// grow extends s by k elements, making room for `room` when it must reallocate (and
// zeroing memory once: slices.Grow would clear what the allocation already cleared).
func grow[T any](s []T, k, room int) []T {
	if cap(s)-len(s) < k {
		t := make([]T, len(s), len(s)+room)
		copy(t, s)
		s = t
	}
	return s[:len(s)+k]
}

// floatsFrom sets dst to the values from src[next:], or src[index[i]] for a dictionary;
// it returns the place in index of an index out of src's range, or -1.
func floatsFrom[S float32 | float64](dst []float64, src []S, next int, index []int32) int {
	if index != nil {
		for i, j := range index[:len(dst)] {
			if uint(j) >= uint(len(src)) {
				return i
			}
			dst[i] = float64(src[j])
		}
		return -1
	}
	for i, v := range src[next : next+len(dst)] {
		dst[i] = float64(v)
	}
	return -1
}

// intsFrom is floatsFrom for signed integers (and unsigned 64-bit ones, reinterpreted:
// the caller checks them).
func intsFrom[S int32 | int64](dst []int64, src []S, next int, index []int32) int {
	if index != nil {
		for i, j := range index[:len(dst)] {
			if uint(j) >= uint(len(src)) {
				return i
			}
			dst[i] = int64(src[j])
		}
		return -1
	}
	for i, v := range src[next : next+len(dst)] {
		dst[i] = int64(v)
	}
	return -1
}

// uintsFrom is intsFrom for unsigned 32-bit integers stored as int32.
func uintsFrom(dst []int64, src []int32, next int, index []int32) int {
	if index != nil {
		for i, j := range index[:len(dst)] {
			if uint(j) >= uint(len(src)) {
				return i
			}
			dst[i] = int64(uint32(src[j]))
		}
		return -1
	}
	for i, v := range src[next : next+len(dst)] {
		dst[i] = int64(uint32(v))
	}
	return -1
}

// dictLen is the number of values in the dictionary of a dictionary page.
func (b *bulkPage) dictLen() int {
	return max(len(b.f32), len(b.f64), len(b.i32), len(b.i64))
}

// spread moves the m values at the front of seg to the rows whose definition level is
// maxDef and puts null in the other rows (defs nil: no nulls, nothing to move).
func spread[T any](seg []T, m int, defs []byte, maxDef byte, null T) {
	if m == len(seg) {
		return
	}
	j := m - 1
	for i := len(seg) - 1; i >= 0; i-- {
		if defs[i] == maxDef {
			seg[i] = seg[j]
			j--
		} else {
			seg[i] = null
		}
	}
}

// rowOfValue is the row, among defs' rows, of the non-null value number v.
func rowOfValue(defs []byte, maxDef byte, v int) int {
	if defs == nil {
		return v
	}
	for i, d := range defs {
		if d == maxDef {
			if v == 0 {
				return i
			}
			v--
		}
	}
	return len(defs)
}

// markNulls records the nulls of rows start… of col, as markNull would one by one
// (room: as for grow).
func markNulls(col *Column, start int, defs []byte, maxDef byte, room int) {
	if col.Null == nil {
		col.Null = make([]bool, start, start+room)
	}
	pad := start - len(col.Null) // rows since the last null
	col.Null = grow(col.Null, pad+len(defs), pad+room)
	seg := col.Null[start-pad:]
	clear(seg[:pad])
	for i, d := range defs {
		seg[pad+i] = d != maxDef
	}
}

// columnMaxDefinitionLevel is the maximum definition level of the file's leaf column.
func columnMaxDefinitionLevel(f *parquet.File, leaf int) int {
	for _, c := range f.Root().Columns() {
		if c.Leaf() && c.Index() == leaf {
			return c.MaxDefinitionLevel()
		}
	}
	return -1
}
