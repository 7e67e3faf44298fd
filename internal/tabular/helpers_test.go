package tabular

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// readAll reads every batch of r, checks each, and joins them (the column types must
// agree across batches).
func readAll(t *testing.T, r Reader, batch int) (*Table, []int) {
	t.Helper()
	var all *Table
	var sizes []int
	for {
		b, err := r.Next(batch)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("batch %d: %v", len(sizes), err)
		}
		sizes = append(sizes, b.Rows())
		if all == nil {
			all = b
			continue
		}
		if err := appendTable(all, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Next(batch); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v, want io.EOF", err)
	}
	if all == nil {
		all = &Table{}
	}
	return all, sizes
}

func appendTable(dst, src *Table) error {
	if len(dst.Columns) != len(src.Columns) {
		return errors.New("batches differ in columns")
	}
	n := dst.Rows()
	for j := range dst.Columns {
		d, s := &dst.Columns[j], &src.Columns[j]
		if d.Name != s.Name || d.Type != s.Type {
			return errors.New("batches differ in column " + d.Name)
		}
		if s.Null != nil && d.Null == nil {
			d.Null = make([]bool, n)
		}
		if d.Null != nil {
			if s.Null != nil {
				d.Null = append(d.Null, s.Null...)
			} else {
				d.Null = append(d.Null, make([]bool, s.Len())...)
			}
		}
		d.Floats = append(d.Floats, s.Floats...)
		d.Ints = append(d.Ints, s.Ints...)
		d.Bools = append(d.Bools, s.Bools...)
		d.Strings = append(d.Strings, s.Strings...)
	}
	return nil
}

// tableJSON renders t as the .expected.json files do, decoded into plain values.
func tableJSON(t *testing.T, tb *Table) any {
	t.Helper()
	type col struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Values []any  `json:"values"`
	}
	out := struct {
		Columns []col `json:"columns"`
	}{Columns: []col{}}
	for j := range tb.Columns {
		c := &tb.Columns[j]
		vals := make([]any, c.Len())
		for i := range vals {
			if c.IsNull(i) {
				if c.Type == Float64 && !math.IsNaN(c.Floats[i]) {
					t.Errorf("column %s row %d: null double holds %v, want NaN", c.Name, i, c.Floats[i])
				}
				continue
			}
			switch c.Type {
			case Float64:
				f := c.Floats[i]
				switch {
				case math.IsNaN(f):
					vals[i] = "NaN"
				case math.IsInf(f, 1):
					vals[i] = "inf"
				case math.IsInf(f, -1):
					vals[i] = "-inf"
				default:
					vals[i] = f
				}
			case Int64:
				vals[i] = c.Ints[i]
			case Bool:
				vals[i] = c.Bools[i]
			case String:
				vals[i] = c.Strings[i]
			}
		}
		out.Columns = append(out.Columns, col{c.Name, c.Type.String(), vals})
	}
	return normJSON(t, out)
}

func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b)
}

// decodeJSON keeps numbers as text, so large integers compare exactly.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return canonNumbers(out)
}

// canonNumbers rewrites json.Numbers so that 3, 3.0 and 3e0 compare equal but large
// integers keep every digit.
func canonNumbers(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = canonNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = canonNumbers(x[k])
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		f, _ := x.Float64()
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return strconv.FormatInt(int64(f), 10)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v
}

func loadExpected(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path + ".expected.json")
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b)
}

func compareJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	t.Errorf("%s: %s", what, firstDiff("", got, want))
}

// firstDiff names the first place where two decoded JSON values differ.
func firstDiff(at string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %v, want an object", at, got)
		}
		for _, k := range []string{"columns", "name", "type", "values"} {
			if !reflect.DeepEqual(g[k], w[k]) {
				label := at + "." + k
				if name, ok := w["name"].(string); ok {
					label = at + "(" + name + ")." + k
				}
				return firstDiff(label, g[k], w[k])
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got %v, want an array", at, got)
		}
		for i := range min(len(g), len(w)) {
			if !reflect.DeepEqual(g[i], w[i]) {
				return firstDiff(fmt.Sprintf("%s[%d]", at, i), g[i], w[i])
			}
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d entries, want %d", at, len(g), len(w))
		}
	}
	return fmt.Sprintf("%s: got %v, want %v", at, got, want)
}

func testdata(name string) string { return filepath.Join("testdata", name) }
