package protocol

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedBodies are request bodies from the golden file and a few hand-made ones.
func seedBodies(f *testing.F, extra ...string) {
	raw, err := os.ReadFile("testdata/mlflow_invocations.json")
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Body string `json:"body"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		f.Fatal(err)
	}
	for _, c := range file.Cases {
		f.Add([]byte(c.Body))
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// pythonOnlyJSON reports whether body may hold what Python's json accepts and Go's does
// not (NaN, Infinity, a byte-order mark).
func pythonOnlyJSON(body []byte) bool {
	return bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity")) || bytes.HasPrefix(body, []byte("\ufeff"))
}

func FuzzDecodeJSON(f *testing.F) {
	seedBodies(f,
		`{"dataframe_records": [{"a": 1}, {"b": "x", "a": null}]}`,
		`{"instances": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}`,
		`{"inputs": {"a": [1, 2], "b": [true, false]}, "params": {"x": [1, {"y": null}]}}`,
		`{"dataframe_split": {"columns": ["a"], "data": [[1], ["x"], [2.5], [true]]}}`,
		`{"dataframe_split": {"data": [[1, 2], [3]], "index": [0, 1]}}`,
		`{"inputs": [[1, 2], [3, 4]], "params": 5}`,
		"{\"dataframe_split\": {\"data\": [[\"\\ud83d\\ude00\\u00e9\"]]}}",
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeJSON(body)
		if err != nil {
			e := protocolError(t, err)
			if e.Status != 400 {
				t.Fatalf("status %d", e.Status)
			}
			// Valid JSON must not be called malformed (deep nesting aside).
			if strings.Contains(e.Message, "JSONDecodeError") && json.Valid(body) && utf8.Valid(body) &&
				!strings.Contains(e.Message, "Nesting deeper") {
				t.Fatalf("valid JSON refused as malformed: %s", e.Message)
			}
			return
		}
		if !json.Valid(body) && !pythonOnlyJSON(body) {
			t.Fatalf("malformed JSON accepted: %q", body)
		}
		checkConsistent(t, req.Table)
		if req.Text != nil { // the log's row text: one valid JSON object per row
			ends := make([]int, req.Table.Rows())
			buf := req.Text.AppendRows(nil, ends)
			start := 0
			for i, e := range ends {
				if row := buf[start:e]; utf8.Valid(body) && !json.Valid(row) {
					t.Fatalf("row %d text %q is not JSON", i, row)
				}
				start = e
			}
		}
		switch req.Format {
		case FormatSplit, FormatRecords, FormatInstances, FormatInputs:
		default:
			t.Fatalf("format %q", req.Format)
		}
		if json.Valid(body) && utf8.Valid(body) {
			checkShapeAgainstEncodingJSON(t, body, req)
		}
		out, err := EncodePredictions(req.Table)
		if err != nil || !json.Valid(out) {
			t.Fatalf("encoding the decoded table: %v, %s", err, out)
		}
	})
}

// checkShapeAgainstEncodingJSON compares the decoded table's shape with what
// encoding/json reads from the same body, for the dataframe fields.
func checkShapeAgainstEncodingJSON(t *testing.T, body []byte, req *Request) {
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers beyond float64 are fine here, as in Python
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	rows, cols := -1, -1
	switch v := top[req.Format].(type) {
	case map[string]any:
		if req.Format != FormatSplit {
			return
		}
		data, _ := v["data"].([]any)
		rows = len(data)
		if names, ok := v["columns"].([]any); ok {
			cols = len(names)
		} else if len(data) > 0 {
			if row, ok := data[0].([]any); ok {
				cols = len(row)
			} else {
				cols = 1
			}
		}
	case []any:
		if req.Format != FormatRecords {
			return
		}
		rows = len(v)
		keys := map[string]bool{}
		for _, r := range v {
			for k := range r.(map[string]any) {
				keys[k] = true
			}
		}
		cols = len(keys)
		if cols == 0 {
			rows = 0 // a table without columns has no rows
		}
	}
	if rows >= 0 && (req.Table.Rows() != rows && len(req.Table.Columns) > 0 || cols >= 0 && len(req.Table.Columns) != cols) {
		t.Fatalf("%s: table %d×%d, encoding/json sees %d×%d", req.Format, req.Table.Rows(), len(req.Table.Columns), rows, cols)
	}
}

func FuzzDecodeInferRequest(f *testing.F) {
	for _, s := range []string{
		`{"id": "1", "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}]}`,
		`{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2.5, 3, null]}], "outputs": [{"name": "proba"}]}`,
		`{"inputs": [{"name": "a", "shape": [2], "datatype": "INT8", "data": [1, -2]}, {"name": "b", "shape": [2, 1], "datatype": "BYTES", "data": [["x"], ["y"]]}]}`,
		`{"inputs": [{"data": [true, false], "name": "f", "datatype": "BOOL", "shape": [2]}], "parameters": {"content_type": "pd"}}`,
		`{"inputs": [{"name": "h", "shape": [1, 1, 2], "datatype": "FP16", "data": [[[0.1, 65520]]]}]}`,
		`{"inputs": [{"name": "u", "shape": [0, 3], "datatype": "UINT64", "data": []}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeInferRequest(body)
		if err != nil {
			if e := protocolError(t, err); e.Status != 400 {
				t.Fatalf("status %d", e.Status)
			}
			return
		}
		if !json.Valid(body) && !pythonOnlyJSON(body) {
			t.Fatalf("malformed JSON accepted: %q", body)
		}
		for _, in := range req.Inputs {
			n := int64(1)
			for _, d := range in.Shape {
				n *= d
			}
			got := len(in.Floats) + len(in.Ints) + len(in.Bools) + len(in.Strings)
			if int64(got) != n {
				t.Fatalf("input %q: %d elements for shape %v", in.Name, got, in.Shape)
			}
			if in.Null != nil && len(in.Null) != len(in.Floats) {
				t.Fatalf("input %q: %d null flags for %d values", in.Name, len(in.Null), len(in.Floats))
			}
		}
		tab, err := req.Table(nil)
		if err != nil {
			protocolError(t, err)
			return
		}
		checkConsistent(t, tab)
		out, err := EncodeInferResponse("m", "1", req.ID, tab)
		if err != nil || !json.Valid(out) {
			t.Fatalf("encoding the decoded table: %v, %s", err, out)
		}
	})
}
