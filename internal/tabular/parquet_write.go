package tabular

import (
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// parquetWriter writes every column as optional (nullable): double → DOUBLE,
// long → INT64, boolean → BOOLEAN, string → BYTE_ARRAY annotated STRING with
// dictionary encoding (the library falls back to plain when a dictionary grows too
// big); Snappy compression, as pandas' default; row groups of opts.RowGroupRows rows.
// A null is a Parquet null; a NaN that is not null stays a NaN.
type parquetWriter struct {
	out     io.Writer
	opts    WriteOptions
	schema  schemaCheck
	types   []Type
	pw      *parquet.Writer
	inGroup int // rows in the row group being built
	vals    []parquet.Value
	err     error // sticky: a failed write leaves the file unusable
}

func newParquetWriter(w io.Writer, opts WriteOptions) *parquetWriter {
	return &parquetWriter{out: w, opts: opts}
}

func (w *parquetWriter) Write(t *Table) (err error) {
	if w.err != nil {
		return w.err
	}
	first, err := w.schema.check(t)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: %v", p)
		}
		if err != nil {
			w.err = err
		}
	}()
	if first {
		w.start(t)
	}
	for j := range t.Columns {
		if err := fitsType(&t.Columns[j], w.types[j]); err != nil {
			return err
		}
	}
	rows := t.Rows()
	for off := 0; off < rows; {
		n := min(rows-off, w.opts.RowGroupRows-w.inGroup)
		for j := range t.Columns {
			w.vals = appendParquetValues(w.vals[:0], &t.Columns[j], w.types[j], j, off, off+n)
			if _, err := w.pw.ColumnWriters()[j].WriteRowValues(w.vals); err != nil {
				return fmt.Errorf("parquet: column %q: %w", t.Columns[j].Name, err)
			}
		}
		off += n
		w.inGroup += n
		if w.inGroup == w.opts.RowGroupRows {
			if err := w.pw.Flush(); err != nil {
				return fmt.Errorf("parquet: %w", err)
			}
			w.inGroup = 0
		}
	}
	return nil
}

func (w *parquetWriter) start(t *Table) {
	fields := make(orderedGroup, len(t.Columns))
	w.types = make([]Type, len(t.Columns))
	for j := range t.Columns {
		var leaf parquet.Node
		switch t.Columns[j].Type {
		case Float64:
			leaf = parquet.Leaf(parquet.DoubleType)
		case Int64:
			leaf = parquet.Int(64)
		case Bool:
			leaf = parquet.Leaf(parquet.BooleanType)
		case String:
			leaf = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		}
		fields[j] = namedField{Node: parquet.Optional(leaf), name: t.Columns[j].Name}
		w.types[j] = t.Columns[j].Type
	}
	w.pw = parquet.NewWriter(w.out, parquet.NewSchema("schema", fields), parquet.Compression(&parquet.Snappy))
}

// fitsType checks that a later batch's column can be written as the file's column
// type. Text inputs are typed per batch, so besides the same type it accepts long
// into double, double holding only whole numbers into long (a batch where an integer
// column had a missing cell), and a column of nulls into anything.
func fitsType(c *Column, want Type) error {
	if c.Type == want || (c.Type == Int64 && want == Float64) {
		return nil
	}
	allNull := c.Null != nil
	for i := 0; allNull && i < len(c.Null); i++ {
		allNull = c.Null[i]
	}
	if allNull {
		return nil
	}
	if c.Type == Float64 && want == Int64 {
		for i, f := range c.Floats {
			if !c.IsNull(i) && (f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64) {
				return fmt.Errorf("parquet: column %q is long in the first batch, but row %d of this batch holds %v", c.Name, i+1, f)
			}
		}
		return nil
	}
	return fmt.Errorf("parquet: column %q is %s in this batch, but %s in the first batch", c.Name, c.Type, want)
}

// appendParquetValues converts rows [from, to) of c, stored as type typ, to values of
// leaf column j (definition level 1 for a value, 0 for a null).
func appendParquetValues(dst []parquet.Value, c *Column, typ Type, j, from, to int) []parquet.Value {
	for i := from; i < to; i++ {
		if c.IsNull(i) {
			dst = append(dst, parquet.Value{}.Level(0, 0, j))
			continue
		}
		var v parquet.Value
		switch c.Type {
		case Float64:
			if typ == Int64 { // whole numbers only: fitsType checked
				v = parquet.Int64Value(int64(c.Floats[i]))
			} else {
				v = parquet.DoubleValue(c.Floats[i])
			}
		case Int64:
			if typ == Float64 {
				v = parquet.DoubleValue(float64(c.Ints[i]))
			} else {
				v = parquet.Int64Value(c.Ints[i])
			}
		case Bool:
			v = parquet.BooleanValue(c.Bools[i])
		case String:
			// A read-only view of the string: the writer copies the bytes it keeps.
			s := c.Strings[i]
			v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
		}
		dst = append(dst, v.Level(0, 1, j))
	}
	return dst
}

func (w *parquetWriter) Close() (err error) {
	if w.schema.closed {
		return nil
	}
	w.schema.closed = true
	if w.err != nil {
		return w.err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: %v", p)
		}
	}()
	if w.pw == nil {
		return errors.New("parquet: nothing was written, and a Parquet file needs at least the columns of one batch")
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// orderedGroup is a Parquet group whose fields keep the table's column order
// (parquet.Group is a map and sorts its fields by name).
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return fmt.Sprintf("group of %d columns", len(g)) }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string { return f.name }

// Value is used only when writing Go values by reflection, which this package does not.
func (f namedField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }
