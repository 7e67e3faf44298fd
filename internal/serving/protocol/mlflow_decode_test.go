package protocol

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, format, want string
	}{
		// dataframe_split
		{"split ints and floats", `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [2, 3]]}}`,
			FormatSplit, `a:long=[1 2] b:double=[2.5 3]`},
		{"split 1.0 is a float", `{"dataframe_split": {"columns": ["a"], "data": [[1.0], [2]]}}`,
			FormatSplit, `a:double=[1 2]`},
		{"split exponent is a float", `{"dataframe_split": {"columns": ["a"], "data": [[1e2]]}}`,
			FormatSplit, `a:double=[100]`},
		{"split integers with null are doubles", `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, null], [2, 3]]}}`,
			FormatSplit, `a:long=[1 2] b:double=[null 3]`},
		{"split numbers and strings are text", `{"dataframe_split": {"columns": ["a"], "data": [[1], [2], ["x"], [null]]}}`,
			FormatSplit, `a:string=["1" "2" "x" null]`},
		{"split integers of a float column read as floats in text", `{"dataframe_split": {"columns": ["a"], "data": [[1], [2.5], ["x"]]}}`,
			FormatSplit, `a:string=["1.0" "2.5" "x"]`},
		{"split string first then numbers", `{"dataframe_split": {"columns": ["a"], "data": [["x"], [3], [1e20], [true]]}}`,
			FormatSplit, `a:string=["x" "3" "1e+20" "True"]`},
		{"split booleans and numbers are text", `{"dataframe_split": {"columns": ["a"], "data": [[true], [1]]}}`,
			FormatSplit, `a:string=["True" "1"]`},
		{"split booleans with null", `{"dataframe_split": {"columns": ["a"], "data": [[true], [null], [false]]}}`,
			FormatSplit, `a:boolean=[true null false]`},
		{"split strings with null", `{"dataframe_split": {"columns": ["a"], "data": [[null], ["x"]]}}`,
			FormatSplit, `a:string=[null "x"]`},
		{"split only nulls", `{"dataframe_split": {"columns": ["a"], "data": [[null], [null]]}}`,
			FormatSplit, `a:double=[null null]`},
		{"split without columns", `{"dataframe_split": {"data": [[1, 2], [3, 4]]}}`,
			FormatSplit, `0:long=[1 3] 1:long=[2 4]`},
		{"split columns null", `{"dataframe_split": {"columns": null, "data": [[1, 2]]}}`,
			FormatSplit, `0:long=[1] 1:long=[2]`},
		{"split columns after data", `{"dataframe_split": {"data": [[1, 2]], "columns": ["x", "y"]}}`,
			FormatSplit, `x:long=[1] y:long=[2]`},
		{"split numeric labels", `{"dataframe_split": {"columns": [0, 1.5], "data": [[1, 2]]}}`,
			FormatSplit, `0:long=[1] 1.5:long=[2]`},
		{"split list of scalars is one column", `{"dataframe_split": {"columns": ["a"], "data": [1, 2]}}`,
			FormatSplit, `a:long=[1 2]`},
		{"split no rows", `{"dataframe_split": {"columns": ["a", "b"], "data": []}}`,
			FormatSplit, `a:double=[] b:double=[]`},
		{"split index", `{"dataframe_split": {"index": [10, 11], "columns": ["a"], "data": [[1], [2]]}}`,
			FormatSplit, `a:long=[1 2]`},
		{"split index null", `{"dataframe_split": {"index": null, "columns": ["a"], "data": [[1]]}}`,
			FormatSplit, `a:long=[1]`},
		{"split Python's NaN and Infinity", `{"dataframe_split": {"columns": ["a"], "data": [[NaN], [Infinity], [-Infinity], [1]]}}`,
			FormatSplit, `a:double=[NaN +Inf -Inf 1]`},
		{"split beyond int64 is a double", `{"dataframe_split": {"columns": ["a"], "data": [[9223372036854775807], [9223372036854775808]]}}`,
			FormatSplit, `a:double=[9.223372036854776e+18 9.223372036854776e+18]`},
		{"split int64 extremes", `{"dataframe_split": {"columns": ["a"], "data": [[9223372036854775807], [-9223372036854775808], [-0]]}}`,
			FormatSplit, `a:long=[9223372036854775807 -9223372036854775808 0]`},
		{"split escapes", `{"dataframe_split": {"columns": ["caf\u00e9"], "data": [["\ud83d\ude00\n\"\\\/"], ["\ud800"]]}}`,
			FormatSplit, "café:string=[\"😀\\n\\\"\\\\/\" \"\uFFFD\"]"},
		{"split repeated key: last wins", `{"dataframe_split": {"columns": ["a"], "data": [[1]], "data": [[2], [3]]}}`,
			FormatSplit, `a:long=[2 3]`},
		{"split white space", " \r\n\t{ \"dataframe_split\" : { \"columns\" : [ \"a\" ] , \"data\" : [ [ 1 ] ] } } \n",
			FormatSplit, `a:long=[1]`},
		{"byte-order mark", "\ufeff{\"dataframe_split\": {\"data\": [[1]]}}", FormatSplit, `0:long=[1]`},
		{"split and other keys", `{"dataframe_split": {"data": [[1]]}, "other": [1, {"x": null}], "params": null}`,
			FormatSplit, `0:long=[1]`},
		// dataframe_records
		{"records", `{"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}`,
			FormatRecords, `a:long=[1 2] b:string=["x" "y"]`},
		{"records union of keys, first seen order", `{"dataframe_records": [{"a": 1}, {"b": 2.5, "a": 3}, {"c": true}]}`,
			FormatRecords, `a:double=[1 3 null] b:double=[null 2.5 null] c:boolean=[null null true]`},
		{"records repeated key: last wins", `{"dataframe_records": [{"a": 1, "b": 2, "a": 5}]}`,
			FormatRecords, `a:long=[5] b:long=[2]`},
		{"records empty", `{"dataframe_records": []}`, FormatRecords, ``},
		{"records empty objects", `{"dataframe_records": [{}, {}]}`, FormatRecords, ``},
		// instances and inputs
		{"instances matrix", `{"instances": [[1, 2.5], [3, 4]]}`, FormatInstances, `0:long=[1 3] 1:double=[2.5 4]`},
		{"instances list of scalars", `{"instances": [1, 2, 3]}`, FormatInstances, `0:long=[1 2 3]`},
		{"instances records", `{"instances": [{"a": 1, "b": 2}, {"b": 3, "a": 4}]}`, FormatInstances, `a:long=[1 4] b:long=[2 3]`},
		{"instances columns", `{"instances": {"a": [1, 2], "b": ["x", "y"]}}`, FormatInstances, `a:long=[1 2] b:string=["x" "y"]`},
		{"instances empty", `{"instances": []}`, FormatInstances, ``},
		{"inputs matrix", `{"inputs": [[1, 2]]}`, FormatInputs, `0:long=[1] 1:long=[2]`},
		{"inputs records fill missing keys", `{"inputs": [{"a": 1}, {"b": 2}]}`, FormatInputs, `a:double=[1 null] b:double=[null 2]`},
		{"inputs columns", `{"inputs": {"a": [1.5, null], "b": [true, false]}}`, FormatInputs, `a:double=[1.5 null] b:boolean=[true false]`},
		{"inputs one row of scalars", `{"inputs": {"a": 1, "b": "x"}}`, FormatInputs, `a:long=[1] b:string=["x"]`},
		{"inputs repeated column: last wins in place", `{"inputs": {"a": [1], "b": [2], "a": [3]}}`, FormatInputs, `a:long=[3] b:long=[2]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeJSON([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			checkConsistent(t, req.Table)
			if req.Format != tc.format {
				t.Errorf("format %q, want %q", req.Format, tc.format)
			}
			if got := describe(req.Table); got != tc.want {
				t.Errorf("table\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestDecodeJSONParams(t *testing.T) {
	t.Parallel()
	req, err := DecodeJSON([]byte(`{"params": {"k": 3, "x": [1.5, "s", true, null, {"y": -2e3}], "n": NaN}, "inputs": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"k": json.Number("3"),
		"x": []any{json.Number("1.5"), "s", true, nil, map[string]any{"y": json.Number("-2e3")}},
		"n": json.Number("NaN"),
	}
	if !reflect.DeepEqual(req.Params, want) {
		t.Errorf("params %#v, want %#v", req.Params, want)
	}
	req, err = DecodeJSON([]byte(`{"inputs": [1], "params": null}`))
	if err != nil || req.Params != nil {
		t.Errorf("null params: %v, %v", req.Params, err)
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	t.Parallel()
	const prefix = "Invalid input. "
	const badJSON = prefix + "Ensure that input is a valid JSON formatted string. Error: 'JSONDecodeError('"
	tests := []struct {
		name, body, code, msg string
	}{
		// Malformed JSON: Python's messages and positions.
		{"empty body", ``, CodeBadRequest, badJSON + "Expecting value: line 1 column 1 (char 0)')'"},
		{"truncated", `{"a":`, CodeBadRequest, badJSON + "Expecting value: line 1 column 6 (char 5)')'"},
		{"trailing comma in array", `{"inputs": [1,]}`, CodeBadRequest, "Expecting value: line 1 column 15 (char 14)"},
		{"trailing comma in object", `{"inputs": [1],}`, CodeBadRequest, "Expecting property name enclosed in double quotes: line 1 column 16 (char 15)"},
		{"missing colon", `{"inputs" [1]}`, CodeBadRequest, "Expecting ':' delimiter: line 1 column 11 (char 10)"},
		{"missing comma", "{\"inputs\": [1 2]}", CodeBadRequest, "Expecting ',' delimiter: line 1 column 15 (char 14)"},
		{"single quotes", `{'inputs': [1]}`, CodeBadRequest, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
		{"extra data", `{"inputs": [1]} {}`, CodeBadRequest, "Extra data: line 1 column 17 (char 16)"},
		{"position counts characters and lines", "{\"é\":\n [1,]}", CodeBadRequest, "Expecting value: line 2 column 5 (char 10)"},
		{"unterminated string", `{"inputs": ["abc]}`, CodeBadRequest, "Unterminated string starting at: line 1 column 13 (char 12)"},
		{"control character", "{\"inputs\": [\"a\tb\"]}", CodeBadRequest, "Invalid control character at: line 1 column 15 (char 14)"},
		{"bad escape", `{"inputs": ["\x"]}`, CodeBadRequest, "Invalid \\escape: line 1 column 14 (char 13)"},
		{"bad unicode escape", `{"inputs": ["\u12"]}`, CodeBadRequest, "Invalid \\uXXXX escape"},
		{"invalid UTF-8", "{\"inputs\": [\"\xff\"]}", CodeBadRequest, "Invalid UTF-8 byte in string"},
		{"leading zero", `{"inputs": [01]}`, CodeBadRequest, "Expecting ',' delimiter"},
		{"bare minus", `{"inputs": [-]}`, CodeBadRequest, "Expecting value: line 1 column 13 (char 12)"},
		{"nan is not NaN", `{"inputs": [nan]}`, CodeBadRequest, "Expecting value"},
		{"too deep", `{"x": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `, "inputs": [1]}`, CodeBadRequest, "Nesting deeper than 512 levels"},
		{"syntax error after a bad input field", `{"dataframe_split": 3, "x": tru}`, CodeBadRequest, "Expecting value: line 1 column 29 (char 28)"},
		// Not an object, or not exactly one input field.
		{"list", `[[1, 2]]`, CodeBadRequest, prefix + requiredInputFormat + ". Received a list."},
		{"string", `"x"`, CodeBadRequest, prefix + requiredInputFormat + ". Received unexpected input type '<class 'str'>."},
		{"int", `3`, CodeBadRequest, "'<class 'int'>."},
		{"float", `3.5`, CodeBadRequest, "'<class 'float'>."},
		{"bool", `true`, CodeBadRequest, "'<class 'bool'>."},
		{"null", `null`, CodeBadRequest, "'<class 'NoneType'>."},
		{"no input field", `{"data": [1]}`, CodeBadRequest, requiredInputFormat + ". Received dictionary with input fields: []. IMPORTANT: The MLflow Model scoring protocol"},
		{"two input fields", `{"inputs": [1], "dataframe_split": {"data": [[1]]}}`, CodeBadRequest, "Received dictionary with input fields: ['inputs', 'dataframe_split']."},
		{"two input fields, one bad", `{"inputs": 5, "instances": [1]}`, CodeBadRequest, "Received dictionary with input fields: ['inputs', 'instances']."},
		{"LLM payload", `{"messages": [{"role": "user"}], "inputs": [1]}`, CodeBadRequest, "unwrapped LLM request"},
		{"params not an object", `{"inputs": [1], "params": [1]}`, CodeInvalidParameterValue, "Invalid params: an array, but params must be a JSON object"},
		// dataframe_split.
		{"split list", `{"dataframe_split": [[1]]}`, CodeBadRequest, prefix + "Dataframe split format must be a dictionary. Got list."},
		{"split number", `{"dataframe_split": 1.5}`, CodeBadRequest, "Got type <class 'float'>."},
		{"split without data", `{"dataframe_split": {"columns": ["a"]}}`, CodeBadRequest,
			prefix + "Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {'columns'}.'"},
		{"split extra key", `{"dataframe_split": {"data": [[1]], "foo": 1, "columns": ["a"]}}`, CodeBadRequest,
			"Got {'data', 'foo', 'columns'}.'"},
		{"split empty", `{"dataframe_split": {}}`, CodeBadRequest, "Got set().'"},
		{"split more values than columns", `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2, 3]]}}`, CodeBadRequest,
			prefix + "Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '2 columns passed, passed data had 3 columns (row 1)'"},
		{"split fewer values than columns", `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}`, CodeBadRequest,
			"Error: 'row 2 has 1 values, but there are 2 columns'"},
		{"split ragged rows", `{"dataframe_split": {"data": [[1, 2], [3, 4, 5]]}}`, CodeBadRequest, "Error: 'row 2 has 3 values, but row 1 has 2'"},
		{"split columns after data, wrong count", `{"dataframe_split": {"data": [[1, 2]], "columns": ["a"]}}`, CodeBadRequest,
			"Error: '1 columns passed, passed data had 2 columns'"},
		{"split nested cell", `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, [4]]]}}`, CodeBadRequest,
			`Error: 'column "b", row 2 holds an array; cells must be numbers, strings, booleans or null'`},
		{"split object cell", `{"dataframe_split": {"data": [[{"x": 1}]]}}`, CodeBadRequest, `column 1, row 1 holds an object`},
		{"split duplicate column", `{"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}`, CodeBadRequest, `column name "a" appears twice`},
		{"split columns not a list", `{"dataframe_split": {"columns": "a", "data": [[1]]}}`, CodeBadRequest, `columns must be a list of names, got a string`},
		{"split null column name", `{"dataframe_split": {"columns": [null], "data": [[1]]}}`, CodeBadRequest, `column name 1 is null`},
		{"split index length", `{"dataframe_split": {"columns": ["a"], "data": [[1], [2]], "index": [0]}}`, CodeBadRequest,
			"Error: 'Shape of passed values is (2, 1), indices imply (1, 1)'"},
		{"split index not a list", `{"dataframe_split": {"data": [[1]], "index": 0}}`, CodeBadRequest, "index must be a list, got a number"},
		{"split data not a list", `{"dataframe_split": {"data": {"a": [1]}}}`, CodeBadRequest, "data must be a list of rows, got an object"},
		{"split scalar after rows", `{"dataframe_split": {"data": [[1], 2]}}`, CodeBadRequest, "row 2 is a number, but row 1 is a list"},
		{"split row after scalars", `{"dataframe_split": {"data": [1, [2]]}}`, CodeBadRequest, "row 2 is an array, but row 1 is a single value"},
		{"split scalars with two columns", `{"dataframe_split": {"columns": ["a", "b"], "data": [1]}}`, CodeBadRequest, "2 columns passed, passed data had 1 columns"},
		// dataframe_records.
		{"records object", `{"dataframe_records": {"a": [1]}}`, CodeBadRequest, prefix + "Dataframe records format must be a list of records. Got dictionary."},
		{"records string", `{"dataframe_records": "a"}`, CodeBadRequest, "Got type <class 'str'>."},
		{"records non-object", `{"dataframe_records": [{"a": 1}, 5]}`, CodeBadRequest,
			prefix + "Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: 'record 2 is a number, not an object'"},
		{"records nested", `{"dataframe_records": [{"a": [1]}]}`, CodeBadRequest, `column "a", record 1 holds an array`},
		// instances and inputs.
		{"instances missing key", `{"instances": [{"a": 1, "b": 2}, {"a": 3}]}`, CodeBadRequest,
			prefix + `The length of values for each input/column name are not the same (instances: record 2 lacks "b")`},
		{"instances new key", `{"instances": [{"a": 1}, {"a": 3, "b": 2}]}`, CodeBadRequest, `"b" first appears in record 2`},
		{"instances ragged", `{"instances": [[1, 2], [3]]}`, CodeBadRequest, "instances: row 2 has 1 values, but row 1 has 2"},
		{"instances 3-d", `{"instances": [[[1]]]}`, CodeBadRequest, "instances: column 1, row 1 holds an array"},
		{"instances scalar", `{"instances": 5}`, CodeBadRequest, "instances must be a list of rows or a dictionary of columns, got a number"},
		{"inputs columns of different lengths", `{"inputs": {"a": [1, 2], "b": [3]}}`, CodeBadRequest,
			`not the same (inputs: column "a" has 2 values, column "b" has 1)`},
		{"inputs lists and scalars", `{"inputs": {"a": [1], "b": 3}}`, CodeBadRequest, "some columns are lists and some single values"},
		{"inputs nested column value", `{"inputs": {"a": [[1]]}}`, CodeBadRequest, `inputs: column "a", row 1 holds an array`},
		{"inputs object column value", `{"inputs": {"a": {"b": 1}}}`, CodeBadRequest, `inputs: column "a" holds an object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeJSON([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error; table %s", describe(req.Table))
			}
			e := protocolError(t, err)
			if e.Status != 400 || e.Code != tc.code {
				t.Errorf("status %d code %s, want 400 %s", e.Status, e.Code, tc.code)
			}
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message\n got: %s\nwant: …%s…", e.Message, tc.msg)
			}
		})
	}
}

// A sparse list of records (each with its own key) must not turn a small body into a huge
// table of missing cells.
func TestDecodeJSONSparseRecordsBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"dataframe_records": [`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i) + `": 1}`)
	}
	b.WriteString(`]}`)
	_, err := DecodeJSON([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too sparse") {
		t.Fatalf("err = %v, want a too-sparse error", err)
	}
}
