package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

func TestDecodeInferRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		names      []string // featureNames for Table
		want       string   // describe(Table)
	}{
		{"nested matrix (KServe's sklearn example)",
			`{"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}]}`,
			nil, `0:double=[6.800000190734863 6] 1:double=[2.799999952316284 3.4000000953674316] 2:double=[4.800000190734863 4.5] 3:double=[1.399999976158142 1.600000023841858]`},
		{"flat matrix with feature names",
			`{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2.5, 3, 4]}]}`,
			[]string{"a", "b"}, `a:double=[1 3] b:double=[2.5 4]`},
		{"feature names of another length are not used",
			`{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [[1, 2]]}]}`,
			[]string{"a"}, `0:double=[1] 1:double=[2]`},
		{"one column per input (pandas codec style)",
			`{"inputs": [
				{"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 40]},
				{"name": "city", "shape": [2], "datatype": "BYTES", "data": ["Paris", "Oslo"]},
				{"name": "member", "shape": [2, 1], "datatype": "BOOL", "data": [[true], [false]]},
				{"name": "score", "shape": [2], "datatype": "FP64", "data": [0.5, null]}]}`,
			nil, `age:long=[30 40] city:string=["Paris" "Oslo"] member:boolean=[true false] score:double=[0.5 null]`},
		{"one [N] input is one column", `{"inputs": [{"name": "f", "shape": [3], "datatype": "UINT8", "data": [0, 255, 3.0]}]}`,
			nil, `f:long=[0 255 3]`},
		{"one [N, 1] input is a matrix", `{"inputs": [{"name": "f", "shape": [2, 1], "datatype": "INT8", "data": [-128, 127]}]}`,
			[]string{"x"}, `x:long=[-128 127]`},
		{"data before shape and datatype",
			`{"inputs": [{"data": [[1, 2]], "name": "x", "datatype": "INT32", "shape": [1, 2]}]}`,
			nil, `0:long=[1] 1:long=[2]`},
		{"no rows", `{"inputs": [{"name": "x", "shape": [0, 3], "datatype": "FP32", "data": []}]}`,
			nil, `0:double=[] 1:double=[] 2:double=[]`},
		{"no columns", `{"inputs": [{"name": "x", "shape": [2, 0], "datatype": "BYTES", "data": []}]}`, nil, ``},
		{"matrix of strings", `{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "BYTES", "data": [["a", "b"], ["c", "d"]]}]}`,
			nil, `0:string=["a" "c"] 1:string=["b" "d"]`},
		{"matrix of booleans", `{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "BOOL", "data": [true, false]}]}`,
			nil, `0:boolean=[true] 1:boolean=[false]`},
		{"matrix with nulls", `{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, null, null, 4]}]}`,
			nil, `0:double=[1 null] 1:double=[null 4]`},
		{"FP16 rounds as numpy", `{"inputs": [{"name": "h", "shape": [6], "datatype": "FP16", "data": [0.1, 65519, 65520, 1e-8, 3e-8, -2.5e-5]}]}`,
			nil, `h:double=[0.0999755859375 65504 +Inf 0 5.960464477539063e-08 -2.4974346160888672e-05]`},
		{"Python's NaN and Infinity", `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [NaN, -Infinity]}]}`,
			nil, `x:double=[NaN -Inf]`},
		{"unknown keys are ignored", `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1], "extra": {}}], "extra": 1}`,
			nil, `x:double=[1]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeInferRequest([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeInferRequest: %v", err)
			}
			tab, err := req.Table(tc.names)
			if err != nil {
				t.Fatalf("Table: %v", err)
			}
			checkConsistent(t, tab)
			if got := describe(tab); got != tc.want {
				t.Errorf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestDecodeInferRequestFields(t *testing.T) {
	t.Parallel()
	body := `{"id": "req-1", "parameters": {"content_type": "pd", "n": 2},
		"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "parameters": {"p": true}, "data": [[1, 2]]}],
		"outputs": [{"name": "proba", "parameters": {"k": "v"}}, {"name": "prediction"}]}`
	req, err := DecodeInferRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &InferRequest{
		ID:         "req-1",
		Parameters: map[string]any{"content_type": "pd", "n": json.Number("2")},
		Inputs: []InferInput{{Name: "x", Shape: []int64{1, 2}, Datatype: "FP64",
			Parameters: map[string]any{"p": true}, Floats: []float64{1, 2}}},
		Outputs: []RequestedOutput{{Name: "proba", Parameters: map[string]any{"k": "v"}}, {Name: "prediction"}},
	}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("got  %#v\nwant %#v", req, want)
	}
}

func TestDecodeInferRequestErrors(t *testing.T) {
	t.Parallel()
	in := func(s string) string { return `{"inputs": [` + s + `]}` }
	tests := []struct{ name, body, msg string }{
		{"invalid JSON", `{"inputs": [}`, "invalid JSON: Expecting value: line 1 column 13 (char 12)"},
		{"not an object", `[1]`, "the inference request must be a JSON object, got an array"},
		{"no inputs", `{"id": "x"}`, "the inference request has no inputs"},
		{"empty inputs", `{"inputs": []}`, "the inference request has no inputs"},
		{"inputs not an array", `{"inputs": {}}`, "inputs must be an array, got an object"},
		{"input not an object", in(`1`), "inputs[0] must be an object, got a number"},
		{"id not a string", `{"id": 5, "inputs": []}`, "id must be a string, got a number"},
		{"parameters not an object", `{"parameters": [], "inputs": []}`, "parameters must be an object, got an array"},
		{"output without name", `{"outputs": [{}], "inputs": []}`, "outputs[0] has no name"},
		{"no name", in(`{"shape": [1], "datatype": "FP32", "data": [1]}`), "inputs[0] has no name"},
		{"no shape", in(`{"name": "x", "datatype": "FP32", "data": [1]}`), `input "x" has no shape`},
		{"no datatype", in(`{"name": "x", "shape": [1], "data": [1]}`), `input "x" has no datatype`},
		{"no data", in(`{"name": "x", "shape": [1], "datatype": "FP32"}`), `input "x" has no data`},
		{"unknown datatype", in(`{"name": "x", "shape": [1], "datatype": "FLOAT32", "data": [1]}`),
			`input "x": datatype "FLOAT32" is not one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES`},
		{"negative size", in(`{"name": "x", "shape": [-1, 2], "datatype": "FP32", "data": []}`), "inputs[0].shape must hold sizes (integers ≥ 0)"},
		{"fractional size", in(`{"name": "x", "shape": [1.5], "datatype": "FP32", "data": []}`), "inputs[0].shape must hold sizes"},
		{"too many dimensions", in(`{"name": "x", "shape": [` + strings.Repeat("1,", 40) + `1], "datatype": "FP32", "data": [1]}`), "has more than 32 dimensions"},
		{"shape beyond the body", in(`{"name": "x", "shape": [1000000, 1000000], "datatype": "FP32", "data": [1]}`), "holds more elements than the request carries"},
		{"shape overflow", in(`{"name": "x", "shape": [9223372036854775807, 9223372036854775807], "datatype": "FP32", "data": [1]}`), "holds more elements than the request carries"},
		{"flat count", in(`{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}`), `input "x": data has 3 elements, but shape [2 2] holds 4`},
		{"flat too many", in(`{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2, 3]}`), `data has more than the 2 elements of shape [2]`},
		{"data not an array", in(`{"name": "x", "shape": [1], "datatype": "FP32", "data": 1}`), `input "x": data must be an array, got a number`},
		{"nested rows", in(`{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3]]}`), `data has 1 elements on dimension 1, but shape [2 2] says 2`},
		{"nested too many rows", in(`{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}`), `data has more than 1 elements on dimension 0`},
		{"nested deeper than shape", in(`{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [[[1]]]}`), `data is nested deeper than shape [1 1]`},
		{"nested with a 1-d shape", in(`{"name": "x", "shape": [1], "datatype": "FP32", "data": [[1]]}`), `data is nested, but the shape [1] has fewer than 2 dimensions`},
		{"nested mixing values and arrays", in(`{"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [[1], 2]}`), `data on dimension 1 is a number where shape [2 1] wants an array`},
		{"flat mixing values and arrays", in(`{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, [2]]}`), `data is nested deeper than shape [2]`},
		{"string in FP", in(`{"name": "x", "shape": [1], "datatype": "FP64", "data": ["1"]}`), `input "x": FP64 element 1 is a string, not a number`},
		{"number in BOOL", in(`{"name": "x", "shape": [2], "datatype": "BOOL", "data": [true, 1]}`), `BOOL element 2 is a number, not true or false`},
		{"number in BYTES", in(`{"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}`), `BYTES element 1 is a number, not a string`},
		{"null in INT", in(`{"name": "x", "shape": [1], "datatype": "INT64", "data": [null]}`), `INT64 element 1 is null, not an integer`},
		{"fraction in INT", in(`{"name": "x", "shape": [1], "datatype": "INT32", "data": [2.5]}`), `INT32 element 1 is 2.5, not an integer in range`},
		{"INT8 range", in(`{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 128]}`), `INT8 element 2 is 128, outside the range -128…127`},
		{"UINT negative", in(`{"name": "x", "shape": [1], "datatype": "UINT16", "data": [-1]}`), `UINT16 element 1 is -1, outside the range 0…65535`},
		{"UINT64 beyond int64", in(`{"name": "x", "shape": [1], "datatype": "UINT64", "data": [18446744073709551615]}`), `UINT64 element 1 is 1.8446744073709552e+19, not an integer in range`},
		{"duplicate input", in(`{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}`), `input "x" appears twice`},
		{"binary data", in(`{"name": "x", "shape": [1], "datatype": "FP32", "data": [], "parameters": {"binary_data_size": 4}}`), `binary tensor data (binary_data_size) is not supported`},
		{"deferred data checked", in(`{"data": [1, 2], "name": "x", "shape": [3], "datatype": "FP32"}`), `data has 2 elements, but shape [3] holds 3`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeInferRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error: %+v", req)
			}
			e := protocolError(t, err)
			if e.Status != 400 || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %d %q\nwant 400 …%s…", e.Status, e.Message, tc.msg)
			}
		})
	}
}

func TestInferRequestTableErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, msg string }{
		{"matrix among several inputs",
			`{"inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}, {"name": "b", "shape": [1], "datatype": "FP32", "data": [1]}]}`,
			`input "a" has shape [1 2], but with several inputs each must be one feature column, of shape [rows] or [rows, 1]`},
		{"3-d input", `{"inputs": [{"name": "a", "shape": [1, 1, 2], "datatype": "FP32", "data": [1, 2]}]}`,
			`input "a" has shape [1 1 2]; Plinth takes a [rows, features] tensor, or one [rows] tensor per feature`},
		{"scalar input", `{"inputs": [{"name": "a", "shape": [], "datatype": "FP32", "data": [1]}]}`, `input "a" has shape []`},
		{"different row counts",
			`{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]}, {"name": "b", "shape": [1], "datatype": "FP32", "data": [1]}]}`,
			`input "b" has 1 rows, but input "a" has 2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeInferRequest([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = req.Table(nil)
			if err == nil {
				t.Fatal("no error")
			}
			if e := protocolError(t, err); e.Status != 400 || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %d %q\nwant 400 …%s…", e.Status, e.Message, tc.msg)
			}
		})
	}
	if _, err := (&InferRequest{}).Table(nil); err == nil {
		t.Error("no inputs: no error")
	}
}

func TestEncodeInferResponse(t *testing.T) {
	t.Parallel()
	withNull := floatCol("prediction", 0.5, math.NaN(), 2)
	withNull.Null = []bool{false, true, false}
	tests := []struct {
		name, version, id string
		t                 *tabular.Table
		want              string
	}{
		{"one prediction", "3", "r1", tableOf(floatCol("prediction", 0.5, 1)),
			`{"model_name":"m","model_version":"3","id":"r1","outputs":[{"name":"prediction","shape":[2],"datatype":"FP64","data":[0.5,1.0]}]}`},
		{"no version", "", "", tableOf(intCol("prediction", 2, 0)),
			`{"model_name":"m","id":"","outputs":[{"name":"prediction","shape":[2],"datatype":"INT64","data":[2,0]}]}`},
		{"probabilities are one matrix", "1", "x", tableOf(floatCol("proba_cat", 0.25, 0.5), floatCol("proba_dog", 0.75, 0.5)),
			`{"model_name":"m","model_version":"1","id":"x","outputs":[{"name":"proba","shape":[2,2],"datatype":"FP64","data":[0.25,0.75,0.5,0.5]}]}`},
		{"multi-output predictions and labels", "1", "x",
			tableOf(strCol("label", "é"), floatCol("prediction_0", 1), floatCol("prediction_1", 2), floatCol("margin", 3), boolCol("flag", true)),
			`{"model_name":"m","model_version":"1","id":"x","outputs":[{"name":"label","shape":[1],"datatype":"BYTES","data":["é"]},` +
				`{"name":"prediction","shape":[1,2],"datatype":"FP64","data":[1.0,2.0]},` +
				`{"name":"margin","shape":[1],"datatype":"FP64","data":[3.0]},` +
				`{"name":"flag","shape":[1],"datatype":"BOOL","data":[true]}]}`},
		{"columns of another type are not grouped", "", "", tableOf(floatCol("p_a", 1), intCol("p_b", 2)),
			`{"model_name":"m","id":"","outputs":[{"name":"p_a","shape":[1],"datatype":"FP64","data":[1.0]},{"name":"p_b","shape":[1],"datatype":"INT64","data":[2]}]}`},
		{"a group name already taken", "", "", tableOf(floatCol("p_a", 1), floatCol("p_b", 2), floatCol("q", 0), floatCol("p_c", 3), floatCol("p_d", 4)),
			`{"model_name":"m","id":"","outputs":[{"name":"p","shape":[1,2],"datatype":"FP64","data":[1.0,2.0]},{"name":"q","shape":[1],"datatype":"FP64","data":[0.0]},` +
				`{"name":"p_c","shape":[1],"datatype":"FP64","data":[3.0]},{"name":"p_d","shape":[1],"datatype":"FP64","data":[4.0]}]}`},
		{"NaN and missing values are null", "", "", tableOf(withNull),
			`{"model_name":"m","id":"","outputs":[{"name":"prediction","shape":[3],"datatype":"FP64","data":[0.5,null,2.0]}]}`},
		{"no rows", "", "", tableOf(floatCol("proba_0"), floatCol("proba_1")),
			`{"model_name":"m","id":"","outputs":[{"name":"proba","shape":[0,2],"datatype":"FP64","data":[]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := EncodeInferResponse("m", tc.version, tc.id, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("\n got: %s\nwant: %s", b, tc.want)
			}
			if !json.Valid(b) {
				t.Error("not valid JSON")
			}
		})
	}
	if _, err := EncodeInferResponse("m", "", "", tableOf(floatCol("a", 1), floatCol("b"))); err == nil {
		t.Error("ragged table: no error")
	}
}

// An inference response's outputs, sent back as a request's inputs, give the table back.
func TestInferRoundTrip(t *testing.T) {
	t.Parallel()
	f := floatCol("score", 0.1, math.NaN())
	f.Null = []bool{false, true}
	tables := []struct {
		t     *tabular.Table
		names []string
	}{
		{tableOf(floatCol("x_0", 0.1, 1e-7), floatCol("x_1", -2, 1e300), floatCol("x_2", 0, 5)), []string{"x_0", "x_1", "x_2"}},
		{tableOf(intCol("age", -1, 1<<62), strCol("city", "Zürich", "\"q\""), boolCol("member", true, false), f), nil},
	}
	for _, tc := range tables {
		b, err := EncodeInferResponse("m", "1", "id", tc.t)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Replace(string(b), `"outputs"`, `"inputs"`, 1)
		req, err := DecodeInferRequest([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got, err := req.Table(tc.names)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := describe(got), describe(tc.t); g != w {
			t.Errorf("round trip\n got: %s\nwant: %s", g, w)
		}
	}
}

func TestV2Bodies(t *testing.T) {
	t.Parallel()
	out := tableOf(intCol("prediction", 1), floatCol("proba_0", 0.5), floatCol("proba_1", 0.5))
	metas := OutputTensors(out)
	wantMetas := []TensorMeta{{"prediction", "INT64", []int64{-1}}, {"proba", "FP64", []int64{-1, 2}}}
	if !reflect.DeepEqual(metas, wantMetas) {
		t.Errorf("OutputTensors = %v, want %v", metas, wantMetas)
	}
	tests := []struct{ got, want string }{
		{string(ModelMetadata("iris", []string{"1", "2"}, "xgboost", []TensorMeta{{"input-0", "FP64", []int64{-1, 4}}}, metas)),
			`{"name":"iris","versions":["1","2"],"platform":"xgboost","inputs":[{"name":"input-0","datatype":"FP64","shape":[-1,4]}],` +
				`"outputs":[{"name":"prediction","datatype":"INT64","shape":[-1]},{"name":"proba","datatype":"FP64","shape":[-1,2]}]}`},
		{string(ModelMetadata("m", nil, "", nil, nil)), `{"name":"m","platform":"","inputs":[],"outputs":[]}`},
		{string(ServerMetadata("plinth", "0.1.0", nil)), `{"name":"plinth","version":"0.1.0","extensions":[]}`},
		{string(LiveBody(true)), `{"live":true}`},
		{string(ReadyBody(false)), `{"ready":false}`},
		{string(ModelReadyBody("m\"1", true)), `{"name":"m\"1","ready":true}`},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("\n got: %s\nwant: %s", tc.got, tc.want)
		}
		if !json.Valid([]byte(tc.got)) {
			t.Errorf("not valid JSON: %s", tc.got)
		}
	}
	status, body := InferErrorBody(v2Error("input %q has no data", "x"))
	if status != 400 || string(body) != `{"error":"input \"x\" has no data"}` {
		t.Errorf("InferErrorBody = %d %s", status, body)
	}
	status, body = InferErrorBody(errString("secret"))
	if status != 500 || string(body) != `{"error":"internal error"}` {
		t.Errorf("InferErrorBody(other) = %d %s", status, body)
	}
}

// A key repeated in an input object: the last value counts, as in Python's dict.
func TestDecodeInferRequestRepeatedKeys(t *testing.T) {
	t.Parallel()
	body := `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1, null], "data": [3, 4], "shape": [1, 2]}]}`
	req, err := DecodeInferRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in := req.Inputs[0]
	if !reflect.DeepEqual(in.Shape, []int64{1, 2}) || !reflect.DeepEqual(in.Floats, []float64{3, 4}) || in.Null != nil {
		t.Errorf("input %+v", in)
	}
	_, err = DecodeInferRequest([]byte(`{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1, 2], "shape": [3]}]}`))
	if err == nil || !strings.Contains(err.Error(), "data has 2 elements, but shape [3] holds 3") {
		t.Errorf("later shape: %v", err)
	}
}
