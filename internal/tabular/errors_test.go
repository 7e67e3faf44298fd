package tabular

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestFormatFromPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, override string
		want           Format
		err            string
	}{
		{path: "a.csv", want: CSV},
		{path: "dir.v2/A.CSV", want: CSV},
		{path: "a.jsonl", want: JSONLines},
		{path: "a.ndjson", want: JSONLines},
		{path: "a.parquet", want: Parquet},
		{path: "a.pq", want: Parquet},
		{path: "a.txt", override: "csv", want: CSV},
		{path: "-", override: "jsonl", want: JSONLines},
		{path: "a.csv", override: "Parquet", want: Parquet},
		{path: "a.json", err: "name the file .jsonl"},
		{path: "a.txt", err: `unknown file extension ".txt"; pass --format csv|jsonl|parquet`},
		{path: "-", err: "pass --format csv|jsonl|parquet"},
		{path: "a.csv", override: "xlsx", err: `unknown format "xlsx": pass --format csv|jsonl|parquet`},
		{path: "a.csv", override: "json", err: "pass --format jsonl"},
	} {
		got, err := FormatFromPath(tc.path, tc.override)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FormatFromPath(%q, %q): error %v, want %q", tc.path, tc.override, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FormatFromPath(%q, %q) = %v, %v; want %v", tc.path, tc.override, got, err, tc.want)
		}
	}
}

// TestReadErrors checks that bad input fails with the line (or column) at fault.
func TestReadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		f     Format
		input string
		err   string
	}{
		{"csv empty", CSV, "", "csv: the input is empty; the first line must be a header row"},
		{"csv long row", CSV, "a,b\n1,2\n3,4,5\n", "csv: line 3 has 3 fields, but the header has 2"},
		{"csv short row", CSV, "a,b\n1,2\n\n3\n", "csv: line 4 has 1 fields, but the header has 2"},
		{"csv row after quoted newline", CSV, "a,b\n\"x\ny\",2\n3\n", "csv: line 4 has 1 fields"},
		{"jsonl invalid", JSONLines, "{\"a\":1}\n\n{\"a\":2,}\n", "jsonl: line 3: invalid JSON at byte 8"},
		{"jsonl nested object", JSONLines, "{\"a\":1}\n{\"a\":2,\"b\":{\"c\":1}}\n", `jsonl: line 2: key "b": an object values are not supported`},
		{"jsonl nested array", JSONLines, "{\"a\":[1]}\n", `jsonl: line 1: key "a": an array values are not supported`},
		{"jsonl not an object", JSONLines, "[1,2]\n", "jsonl: line 1: want a JSON object"},
		{"jsonl scalar", JSONLines, "{\"a\":1}\n3\n", "jsonl: line 2: want a JSON object"},
		{"jsonl mixed types", JSONLines, "{\"a\":1}\n{\"a\":null}\n{\"a\":\"x\"}\n", `jsonl: line 3: key "a": a string, but earlier rows hold a number`},
		{"parquet garbage", Parquet, "this is not a parquet file at all", "parquet:"},
		{"parquet tiny", Parquet, "PAR1", "too short for a Parquet file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewReader(strings.NewReader(tc.input), tc.f, ReadOptions{TempDir: t.TempDir()})
			if err == nil {
				defer r.Close()
				for err == nil {
					_, err = r.Next(2)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// TestJSONLTyping covers how JSON values become column types.
func TestJSONLTyping(t *testing.T) {
	t.Parallel()
	input := "\ufeff" + `{"i":1,"f":1,"big":1,"b":true,"s":"x","n":null}` + "\n" +
		"   \r\n" + // blank lines are skipped
		`{"i":-2,"f":2.5,"big":99999999999999999999,"b":false,"s":"\u00e9\"","late":1}` + "\n" +
		`{"i":3,"f":1e2,"big":3,"s":"y","s":"z"}` + "\r\n"
	r, _ := NewReader(strings.NewReader(input), JSONLines, ReadOptions{})
	got, _ := readAll(t, r, 10)
	want := map[string]any{"columns": []any{
		map[string]any{"name": "i", "type": "long", "values": []any{1, -2, 3}},
		map[string]any{"name": "f", "type": "double", "values": []any{1, 2.5, 100}},
		map[string]any{"name": "big", "type": "double", "values": []any{1, 1e20, 3}},
		map[string]any{"name": "b", "type": "boolean", "values": []any{true, false, nil}},
		map[string]any{"name": "s", "type": "string", "values": []any{"x", "é\"", "z"}},
		map[string]any{"name": "n", "type": "double", "values": []any{nil, nil, nil}},
		map[string]any{"name": "late", "type": "double", "values": []any{nil, 1, nil}},
	}}
	compareJSON(t, "jsonl", tableJSON(t, got), normJSON(t, want))
}

// TestJSONLColumnsAcrossBatches: a key first seen in a later batch adds a column there,
// and earlier keys stay (null) in later batches.
func TestJSONLColumnsAcrossBatches(t *testing.T) {
	t.Parallel()
	r, _ := NewReader(strings.NewReader("{\"a\":1}\n{\"a\":2}\n{\"b\":\"x\"}\n{\"a\":3}\n"), JSONLines, ReadOptions{})
	first, err := r.Next(2)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Next(1)
	if err != nil {
		t.Fatal(err)
	}
	compareJSON(t, "first", tableJSON(t, first), normJSON(t, map[string]any{"columns": []any{
		map[string]any{"name": "a", "type": "long", "values": []any{1, 2}}}}))
	compareJSON(t, "second", tableJSON(t, second), normJSON(t, map[string]any{"columns": []any{
		map[string]any{"name": "a", "type": "double", "values": []any{nil}},
		map[string]any{"name": "b", "type": "string", "values": []any{"x"}}}}))
	third, err := r.Next(2)
	if err != nil {
		t.Fatal(err)
	}
	compareJSON(t, "third", tableJSON(t, third), normJSON(t, map[string]any{"columns": []any{
		map[string]any{"name": "a", "type": "long", "values": []any{3}},
		map[string]any{"name": "b", "type": "string", "values": []any{nil}}}})) // b keeps its type
}

func TestHeaderOnly(t *testing.T) {
	t.Parallel()
	r, err := NewReader(strings.NewReader("a,b\n"), CSV, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb, err := r.Next(5); err != io.EOF {
		t.Errorf("Next on a header-only CSV: %v, %v; want io.EOF", tb, err)
	}
}

func TestCSVHeader(t *testing.T) {
	t.Parallel()
	r, err := NewReader(strings.NewReader("\ufeff,a,a,a.1,\n1,2,3,4,5\n"), CSV, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := r.Next(10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range tb.Columns {
		names = append(names, c.Name)
	}
	// As pandas: "Unnamed: i" for empty names, ".k" for repeats.
	if got, want := strings.Join(names, "|"), "Unnamed: 0|a|a.2|a.1|Unnamed: 4"; got != want {
		t.Errorf("names %s, want %s", got, want)
	}
	// More cases, checked against pandas 3.1's read_csv.
	for header, want := range map[string]string{
		"a,a.1,a,a":       "a|a.1|a.2|a.3",
		"a,a,a":           "a|a.1|a.2",
		"Unnamed: 1,,a":   "Unnamed: 1|Unnamed: 1.1|a",
		"x,x,x.1,x.1,x.2": "x|x.3|x.1|x.1.1|x.2",
	} {
		if got := strings.Join(headerNames(strings.Split(header, ",")), "|"); got != want {
			t.Errorf("header %s: names %s, want %s", header, got, want)
		}
	}
	r, _ = NewReader(strings.NewReader("a;b\n1;x\n"), CSV, ReadOptions{Comma: ';'})
	tb, err = r.Next(10)
	if err != nil || tb.Column("b") == nil || tb.Column("b").Strings[0] != "x" {
		t.Errorf("semicolon CSV: %v %+v", err, tb)
	}
}

// TestParquetCorrupt flips bytes all over a valid file: reading must fail or succeed,
// never panic.
func TestParquetCorrupt(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testdata("pandas.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(data); i += 7 {
		bad := bytes.Clone(data)
		bad[i] ^= 0x5a
		r, err := NewReader(bytes.NewReader(bad), Parquet, ReadOptions{})
		if err != nil {
			continue
		}
		for err == nil {
			_, err = r.Next(4)
		}
		r.Close()
	}
	for _, n := range []int{len(data) / 2, len(data) - 1, 20} { // truncated
		if _, err := NewReader(bytes.NewReader(data[:n]), Parquet, ReadOptions{}); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// A wide header must not make the reader reserve columns × batch cells before any row.
func TestCSVWideHeaderReservesLittle(t *testing.T) {
	header := strings.Repeat("a,", 200000) + "a\n"
	r, err := NewReader(strings.NewReader(header+strings.Repeat("1,", 200000)+"1\n"), CSV, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tb, err := r.Next(65536)
	runtime.ReadMemStats(&after)
	if err != nil || tb.Rows() != 1 {
		t.Fatalf("rows %v, %v", tb, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<20 {
		t.Fatalf("reading one row of 200,001 columns allocated %d MB", grew>>20)
	}
}
