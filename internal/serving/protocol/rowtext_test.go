package protocol

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// TestRowText: the log's text of each input row, taken from the request's bytes, is
// valid JSON with the row's values under the table's column names, whatever the shape.
func TestRowText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       []string
	}{
		{"split", `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[0.1234567890123456, 2, "x\"y"], [1e-7, -3, null]]}}`,
			[]string{`{"a":0.1234567890123456,"b":2,"c":"x\"y"}`, `{"a":1e-7,"b":-3,"c":null}`}},
		{"split without columns", `{"dataframe_split": {"data": [[1.5, true]]}}`, []string{`{"0":1.5,"1":true}`}},
		{"records, a key left out and one repeated", `{"dataframe_records": [{"a": 1, "b": "é"}, {"a": 2, "a": 3}]}`,
			[]string{`{"a":1,"b":"é"}`, `{"a":3,"b":null}`}},
		{"NaN and infinities are null", `{"dataframe_split": {"columns": ["a"], "data": [[NaN], [Infinity], [-Infinity], [-0.5]]}}`,
			[]string{`{"a":null}`, `{"a":null}`, `{"a":null}`, `{"a":-0.5}`}},
		{"instances", `{"instances": [{"a": 1.25, "b": 2}]}`, []string{`{"a":1.25,"b":2}`}},
		{"inputs as columns", `{"inputs": {"a": [1, 2], "b": ["u", "v"]}}`, []string{`{"a":1,"b":"u"}`, `{"a":2,"b":"v"}`}},
		{"key needing escapes", `{"dataframe_split": {"columns": ["a\"b"], "data": [[ 7 ]]}}`, []string{`{"a\"b":7}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := DecodeJSON([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if req.Text == nil {
				t.Fatal("no row text")
			}
			ends := make([]int, req.Table.Rows())
			buf := req.Text.AppendRows(nil, ends)
			var got []string
			start := 0
			for _, e := range ends {
				got = append(got, string(buf[start:e]))
				start = e
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			checkAgainstTable(t, req.Table, got)
		})
	}
}

// checkAgainstTable compares each row's text with the decoded table: same columns,
// same numbers.
func checkAgainstTable(t *testing.T, tab *tabular.Table, rows []string) {
	t.Helper()
	for i, row := range rows {
		var m map[string]any
		if err := json.Unmarshal([]byte(row), &m); err != nil {
			t.Fatalf("row %d %s is not JSON: %v", i, row, err)
		}
		if len(m) != len(tab.Columns) {
			t.Fatalf("row %d has %d keys, the table %d columns", i, len(m), len(tab.Columns))
		}
		for _, col := range tab.Columns {
			v, ok := m[col.Name]
			if !ok {
				t.Fatalf("row %d lacks column %q", i, col.Name)
			}
			switch col.Type {
			case tabular.Float64:
				f := col.Floats[i]
				if math.IsNaN(f) || math.IsInf(f, 0) {
					if v != nil {
						t.Errorf("row %d %s: %v, want null", i, col.Name, v)
					}
				} else if v != f {
					t.Errorf("row %d %s: %v, want %v", i, col.Name, v, f)
				}
			case tabular.Int64:
				if col.IsNull(i) != (v == nil) || v != nil && v != float64(col.Ints[i]) {
					t.Errorf("row %d %s: %v, want %v", i, col.Name, v, col.Ints[i])
				}
			}
		}
	}
}

// TestRowTextAbsent: CSV has no JSON text of its own; the log formats the values.
func TestRowTextAbsent(t *testing.T) {
	t.Parallel()
	req, err := DecodeCSV([]byte("a,b\n1,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if req.Text != nil {
		t.Fatal("CSV request has row text")
	}
}
