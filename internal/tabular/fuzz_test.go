package tabular

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"testing"
)

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		data, err := os.ReadFile(testdata(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(3))
	}
}

// FuzzCSVReader: any input reads or fails cleanly; what reads is a valid table that
// the CSV writer writes and the reader reads back with the same shape.
func FuzzCSVReader(f *testing.F) {
	addSeeds(f, "pandas_mixed.csv", "infer_cases.csv")
	f.Add([]byte("a,b\n1,\"x\ny\"\n\"\",NA\n"), uint8(1))
	f.Add([]byte("a\n\n\"\"\n1e5\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		r, err := NewReader(bytes.NewReader(data), CSV, ReadOptions{})
		if err != nil {
			return
		}
		for {
			tb, err := r.Next(int(batch%7) + 1)
			if err != nil {
				return
			}
			if err := tb.Validate(); err != nil {
				t.Fatal(err)
			}
			if tb.Rows() == 0 {
				t.Fatal("empty batch")
			}
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, CSV)
			if err := w.Write(tb); err != nil {
				t.Fatal(err)
			}
			w.Close()
			back, err := NewReader(&buf, CSV, ReadOptions{})
			if err != nil {
				t.Fatalf("rereading %q: %v", buf.String(), err)
			}
			again, err := back.Next(tb.Rows() + 1)
			if err != nil {
				t.Fatalf("rereading %q: %v", buf.String(), err)
			}
			if again.Rows() != tb.Rows() || len(again.Columns) != len(tb.Columns) {
				t.Fatalf("rewritten as %q: %d×%d, was %d×%d", buf.String(), again.Rows(), len(again.Columns), tb.Rows(), len(tb.Columns))
			}
		}
	})
}

// FuzzJSONLReader: any input reads or fails cleanly; what reads survives a trip
// through the JSON Lines writer unchanged (except ±Inf, which JSON writes as null).
func FuzzJSONLReader(f *testing.F) {
	addSeeds(f, "pandas_mixed.jsonl")
	f.Add([]byte("{\"a\":1,\"b\":\"\\ud83d\\ude00\"}\n\n{\"a\":2.5e400,\"c\":null}\n"), uint8(1))
	f.Add([]byte("{\"a\":\"\xff\"}\r\n{\"a\":[1]}\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		r, err := NewReader(bytes.NewReader(data), JSONLines, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			tb, err := r.Next(int(batch%7) + 1)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				return
			}
			if err := tb.Validate(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, JSONLines)
			if err := w.Write(tb); err != nil {
				t.Fatal(err)
			}
			w.Close()
			written := buf.String()
			back, _ := NewReader(&buf, JSONLines, ReadOptions{})
			again, err := back.Next(tb.Rows() + 1)
			if err != nil {
				t.Fatalf("rereading %q: %v", written, err)
			}
			infToNull(tb)
			compareJSON(t, "rewritten as "+written, tableJSON(t, again), tableJSON(t, tb))
		}
	})
}

// infToNull makes ±Inf null, and a column of nulls a double column (as JSON cannot
// say which type a column of nulls had).
func infToNull(tb *Table) {
	for j := range tb.Columns {
		c := &tb.Columns[j]
		allNull := c.Null != nil
		for i := range c.Null {
			allNull = allNull && c.Null[i]
		}
		if allNull {
			n := c.Len()
			*c = Column{Name: c.Name, Type: Float64, Floats: make([]float64, n), Null: c.Null}
			for i := range c.Floats {
				c.Floats[i] = math.NaN()
			}
		}
		if c.Type != Float64 {
			continue
		}
		for i, f := range c.Floats {
			if math.IsInf(f, 0) {
				if c.Null == nil {
					c.Null = make([]bool, len(c.Floats))
				}
				c.Null[i] = true
				c.Floats[i] = math.NaN()
			}
		}
	}
}
