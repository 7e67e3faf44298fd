package tabular

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// sampleTable holds every type, nulls in each, and values that survive a trip through
// text (doubles keep a fraction or ".0", strings do not look like numbers).
func sampleTable(rows int) *Table {
	t := &Table{Columns: []Column{
		{Name: "id", Type: Int64},
		{Name: "x", Type: Float64},
		{Name: "maybe", Type: Float64, Null: make([]bool, rows)},
		{Name: "ok", Type: Bool, Null: make([]bool, rows)},
		{Name: "label", Type: String, Null: make([]bool, rows)},
		{Name: "big", Type: Int64},
	}}
	c := t.Columns
	for i := range rows {
		c[0].Ints = append(c[0].Ints, int64(i))
		c[1].Floats = append(c[1].Floats, []float64{0.1, -2.5, 1e16, 1e-5, 123456.789, 3, math.MaxFloat64, 5e-324}[i%8]/float64(i%3+1))
		if i%4 == 1 {
			c[2].Null[i] = true
			c[2].Floats = append(c[2].Floats, math.NaN())
		} else {
			c[2].Floats = append(c[2].Floats, float64(i)/7)
		}
		c[3].Bools = append(c[3].Bools, i%3 == 0)
		c[3].Null[i] = i%5 == 2
		s := []string{"plain", "with,comma", `a "quote"`, "line\nbreak", "ünïcødé", "tab\there", "x"}[i%7]
		if i%6 == 3 {
			c[4].Null[i] = true
			s = ""
		}
		c[4].Strings = append(c[4].Strings, s)
		c[5].Ints = append(c[5].Ints, math.MaxInt64-int64(i))
	}
	return t
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{CSV, JSONLines, Parquet} {
		for _, rows := range []int{1, 10, 1000} {
			t.Run(fmt.Sprintf("%s/%d", f, rows), func(t *testing.T) {
				t.Parallel()
				want := sampleTable(rows)
				var buf bytes.Buffer
				w, err := NewWriterWith(&buf, f, WriteOptions{RowGroupRows: 300})
				if err != nil {
					t.Fatal(err)
				}
				// Write in uneven batches.
				for off := 0; off < rows; off += 7 {
					if err := w.Write(sliceTable(want, off, min(off+7, rows))); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				r, err := NewReader(bytes.NewReader(buf.Bytes()), f, ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := readAll(t, r, rows)
				compareJSON(t, f.String(), tableJSON(t, got), tableJSON(t, want))
			})
		}
	}
}

// sliceTable returns rows [from, to) of t.
func sliceTable(t *Table, from, to int) *Table {
	out := &Table{Columns: make([]Column, len(t.Columns))}
	for j, c := range t.Columns {
		o := Column{Name: c.Name, Type: c.Type}
		switch c.Type {
		case Float64:
			o.Floats = c.Floats[from:to]
		case Int64:
			o.Ints = c.Ints[from:to]
		case Bool:
			o.Bools = c.Bools[from:to]
		case String:
			o.Strings = c.Strings[from:to]
		}
		if c.Null != nil {
			o.Null = c.Null[from:to]
		}
		out.Columns[j] = o
	}
	return out
}

func TestBatching(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{CSV, JSONLines, Parquet} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w, err := NewWriterWith(&buf, f, WriteOptions{RowGroupRows: 4}) // groups cut across batches
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(sampleTable(10)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(buf.Bytes()), f, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, sizes := readAllLoose(t, r, 3)
			if fmt.Sprint(sizes) != "[3 3 3 1]" {
				t.Errorf("batch sizes %v, want [3 3 3 1]", sizes)
			}
			if _, err := r.Next(0); err == nil {
				t.Error("Next(0) succeeded")
			}
		})
	}
}

func TestFloatText(t *testing.T) {
	t.Parallel()
	// Python's repr of the same floats.
	for f, want := range map[float64]string{
		1: "1.0", math.Copysign(0, -1): "-0.0", 0: "0.0", 0.1: "0.1", 1e16: "1e+16", 1e15: "1000000000000000.0",
		1e-5: "1e-05", 0.0001: "0.0001", 123456789.0: "123456789.0", 1.5e-7: "1.5e-07",
		math.MaxFloat64: "1.7976931348623157e+308", 5e-324: "5e-324", -2.5: "-2.5",
		1.0000000000000002: "1.0000000000000002",
	} {
		if got := string(appendFloat(nil, f)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestTextOutput(t *testing.T) {
	t.Parallel()
	tb := &Table{Columns: []Column{
		{Name: "a", Type: Float64, Floats: []float64{1, math.NaN(), math.Inf(-1), 0.25}, Null: []bool{false, false, false, true}},
		{Name: "b,c", Type: Bool, Bools: []bool{true, false, true, false}},
		{Name: "s", Type: String, Strings: []string{"x", "", "q\"", "\x01é\xff"}},
	}}
	for _, tc := range []struct {
		f    Format
		want string
	}{
		{CSV, "a,\"b,c\",s\n1.0,True,x\n,False,\n-inf,True,\"q\"\"\"\n,False,\x01é\xff\n"},
		{JSONLines, `{"a":1.0,"b,c":true,"s":"x"}` + "\n" + `{"a":null,"b,c":false,"s":""}` + "\n" +
			`{"a":null,"b,c":true,"s":"q\""}` + "\n" + `{"a":null,"b,c":false,"s":"\u0001é\ufffd"}` + "\n"},
	} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, tc.f)
		if err := w.Write(tb); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.f, buf.String(), tc.want)
		}
	}
	// One column of nulls: rows must not become blank lines that readers skip.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, CSV)
	w.Write(&Table{Columns: []Column{{Name: "v", Type: Float64, Floats: []float64{math.NaN(), 1}, Null: []bool{true, false}}}})
	w.Close()
	r, _ := NewReader(&buf, CSV, ReadOptions{})
	got, _ := readAll(t, r, 10)
	if got.Rows() != 2 {
		t.Errorf("CSV of one null column read back %d rows, want 2:\n%s", got.Rows(), buf.String())
	}
}

func TestWriterChecks(t *testing.T) {
	t.Parallel()
	one := func(name string, typ Type) *Table {
		c := Column{Name: name, Type: typ}
		switch typ {
		case Float64:
			c.Floats = []float64{1.5}
		case Int64:
			c.Ints = []int64{1}
		case String:
			c.Strings = []string{"s"}
		}
		return &Table{Columns: []Column{c}}
	}
	for _, f := range []Format{CSV, JSONLines, Parquet} {
		w, _ := NewWriter(&bytes.Buffer{}, f)
		if err := w.Write(one("a", Float64)); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(one("b", Float64)); err == nil || !strings.Contains(err.Error(), `"b", but in the first batch it was "a"`) {
			t.Errorf("%s: renamed column: %v", f, err)
		}
		bad := one("a", Float64)
		bad.Columns = append(bad.Columns, Column{Name: "z", Type: Int64})
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate passed a ragged table")
		}
		if err := w.Write(bad); err == nil {
			t.Errorf("%s: ragged table written", f)
		}
	}
	// Parquet: long into a double column is fine, string is not.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Parquet)
	if err := w.Write(one("a", Float64)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(one("a", Int64)); err != nil {
		t.Errorf("long batch into double column: %v", err)
	}
	if err := w.Write(one("a", String)); err == nil || !strings.Contains(err.Error(), `column "a" is string in this batch, but double in the first batch`) {
		t.Errorf("string batch into double column: %v", err)
	}
	// Per-batch typing of text input: whole doubles into long, nulls into anything.
	buf.Reset()
	w, _ = NewWriter(&buf, Parquet)
	batches := []*Table{
		{Columns: []Column{{Name: "n", Type: Int64, Ints: []int64{1, 2}}, {Name: "s", Type: String, Strings: []string{"x", "y"}}}},
		{Columns: []Column{{Name: "n", Type: Float64, Floats: []float64{math.NaN(), 4}, Null: []bool{true, false}},
			{Name: "s", Type: Float64, Floats: []float64{math.NaN(), math.NaN()}, Null: []bool{true, true}}}},
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(bytes.NewReader(buf.Bytes()), Parquet, ReadOptions{})
	got, _ := readAll(t, r, 10)
	compareJSON(t, "mixed batches", tableJSON(t, got), normJSON(t, map[string]any{"columns": []any{
		map[string]any{"name": "n", "type": "long", "values": []any{1, 2, nil, 4}},
		map[string]any{"name": "s", "type": "string", "values": []any{"x", "y", nil, nil}},
	}}))
	w, _ = NewWriter(&bytes.Buffer{}, Parquet)
	w.Write(batches[0])
	if err := w.Write(&Table{Columns: []Column{{Name: "n", Type: Float64, Floats: []float64{2.5}}, {Name: "s", Type: String, Strings: []string{"z"}}}}); err == nil ||
		!strings.Contains(err.Error(), `column "n" is long in the first batch, but row 1 of this batch holds 2.5`) {
		t.Errorf("fraction into long column: %v", err)
	}
	w, _ = NewWriter(&bytes.Buffer{}, Parquet)
	if err := w.Close(); err == nil {
		t.Error("Parquet Close without a batch succeeded")
	}
}

// TestAppendRowsJSON: the prediction log's row text is valid JSON with each row's own
// values, keys escaped, missing values and non-finite doubles as null.
func TestAppendRowsJSON(t *testing.T) {
	tab := &Table{Columns: []Column{
		{Name: `amount "€"`, Type: Float64, Floats: []float64{0.5, math.NaN(), 1e21}},
		{Name: "n", Type: Int64, Ints: []int64{1, 0, -3}, Null: []bool{false, true, false}},
		{Name: "ok", Type: Bool, Bools: []bool{true, false, true}},
		{Name: "country", Type: String, Strings: []string{"FR", "a\nb", ""}},
	}}
	ends := make([]int, 3)
	got := AppendRowsJSON([]byte("prefix"), tab, ends)
	want := []string{
		`{"amount \"€\"":0.5,"n":1,"ok":true,"country":"FR"}`,
		`{"amount \"€\"":null,"n":null,"ok":false,"country":"a\nb"}`,
		`{"amount \"€\"":1e+21,"n":-3,"ok":true,"country":""}`,
	}
	start := len("prefix")
	for i, w := range want {
		if row := string(got[start:ends[i]]); row != w {
			t.Errorf("row %d: %s, want %s", i, row, w)
		}
		start = ends[i]
	}
}
