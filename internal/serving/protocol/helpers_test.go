package protocol

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// describe writes a table compactly for comparisons: `a:long=[1 2] b:double=[2.5 null]`.
func describe(t *tabular.Table) string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	for j := range t.Columns {
		c := &t.Columns[j]
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Name + ":" + c.Type.String() + "=[")
		for i := 0; i < c.Len(); i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			if c.IsNull(i) {
				b.WriteString("null")
				continue
			}
			switch c.Type {
			case tabular.Int64:
				b.WriteString(strconv.FormatInt(c.Ints[i], 10))
			case tabular.Bool:
				b.WriteString(strconv.FormatBool(c.Bools[i]))
			case tabular.String:
				b.WriteString(strconv.Quote(c.Strings[i]))
			default:
				b.WriteString(strconv.FormatFloat(c.Floats[i], 'g', -1, 64))
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}

// checkConsistent fails when a decoded table breaks the tabular contract.
func checkConsistent(t testing.TB, tab *tabular.Table) {
	t.Helper()
	if tab == nil {
		t.Fatal("nil table without error")
	}
	n := tab.Rows()
	for j := range tab.Columns {
		c := &tab.Columns[j]
		if c.Len() != n {
			t.Fatalf("column %q has %d values, column 0 has %d", c.Name, c.Len(), n)
		}
		if c.Null != nil && len(c.Null) != n {
			t.Fatalf("column %q has %d null flags for %d rows", c.Name, len(c.Null), n)
		}
		if c.Type == tabular.Float64 {
			for i, f := range c.Floats {
				if c.IsNull(i) && !math.IsNaN(f) {
					t.Fatalf("column %q row %d is null but holds %v", c.Name, i, f)
				}
			}
		}
	}
}

// protocolError returns err as *Error, failing when it is not one.
func protocolError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *protocol.Error", err, err)
	}
	return e
}
