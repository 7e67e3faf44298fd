package protocol

import (
	"encoding/json"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

func floatCol(name string, v ...float64) tabular.Column {
	return tabular.Column{Name: name, Type: tabular.Float64, Floats: v}
}

func intCol(name string, v ...int64) tabular.Column {
	return tabular.Column{Name: name, Type: tabular.Int64, Ints: v}
}

func strCol(name string, v ...string) tabular.Column {
	return tabular.Column{Name: name, Type: tabular.String, Strings: v}
}

func boolCol(name string, v ...bool) tabular.Column {
	return tabular.Column{Name: name, Type: tabular.Bool, Bools: v}
}

func tableOf(cols ...tabular.Column) *tabular.Table { return &tabular.Table{Columns: cols} }

func TestEncodePredictions(t *testing.T) {
	t.Parallel()
	// The float and string lines are Python's json.dumps of the same values.
	pyFloats := []float64{0.0, math.Copysign(0, -1), 1.0, -1.0, 0.5, 0.1, 1e-4, 0.00011, 9.999e-5, 1e-5, 1.5e-7,
		123456789.0, 1e15, 9999999999999998.0, 1e16, 1.2345678901234567e17, 1e21, 1e100, 5e-324,
		1.7976931348623157e308, 0.3177512288093567, 2.5, 100.0, 1 << 53, -1234.5678}
	withNull := floatCol("p", 1.5, math.NaN(), math.Inf(1), math.Inf(-1), 2)
	withNull.Null = []bool{false, true, false, false, false}
	nullLabels := strCol("prediction", "a", "")
	nullLabels.Null = []bool{false, true}
	tests := []struct {
		name string
		t    *tabular.Table
		want string
	}{
		{"labels", tableOf(intCol("prediction", 2, 1, 0)), `{"predictions": [2, 1, 0]}`},
		{"floats as Python writes them", tableOf(floatCol("prediction", pyFloats...)),
			`{"predictions": [0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.0001, 0.00011, 9.999e-05, 1e-05, 1.5e-07, 123456789.0, ` +
				`1000000000000000.0, 9999999999999998.0, 1e+16, 1.2345678901234566e+17, 1e+21, 1e+100, 5e-324, ` +
				`1.7976931348623157e+308, 0.3177512288093567, 2.5, 100.0, 9007199254740992.0, -1234.5678]}`},
		{"strings escaped as Python's ensure_ascii", tableOf(strCol("prediction", "café", "😀", `a"b\c`, "\n\r\t\b\f", "\x00\x1f\x7f", "é\u2028", "plain", "\xff")),
			`{"predictions": ["caf\u00e9", "\ud83d\ude00", "a\"b\\c", "\n\r\t\b\f", "\u0000\u001f\u007f", "\u00e9\u2028", "plain", "\ufffd"]}`},
		{"NaN, infinities and missing values are null", tableOf(withNull), `{"predictions": [1.5, null, null, null, 2.0]}`},
		{"missing labels", tableOf(nullLabels), `{"predictions": ["a", null]}`},
		{"booleans", tableOf(boolCol("prediction", true, false)), `{"predictions": [true, false]}`},
		{"several columns are row lists", tableOf(floatCol("proba_0", 0.25, 1), floatCol("proba_1", 0.75, 0)),
			`{"predictions": [[0.25, 0.75], [1.0, 0.0]]}`},
		{"mixed columns", tableOf(strCol("label", "x"), floatCol("score", 0.5), intCol("n", 3)),
			`{"predictions": [["x", 0.5, 3]]}`},
		{"no rows", tableOf(floatCol("prediction")), `{"predictions": []}`},
		{"no columns", tableOf(), `{"predictions": []}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := EncodePredictions(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("\n got: %s\nwant: %s", b, tc.want)
			}
			if !json.Valid(b) {
				t.Errorf("not valid JSON: %s", b)
			}
		})
	}
}

func TestEncodePredictionsErrors(t *testing.T) {
	t.Parallel()
	if _, err := EncodePredictions(nil); err == nil {
		t.Error("nil table: no error")
	}
	if _, err := EncodePredictions(tableOf(floatCol("a", 1, 2), floatCol("b", 1))); err == nil || !strings.Contains(err.Error(), `"b" has 1 values`) {
		t.Errorf("ragged table: %v", err)
	}
	bad := floatCol("a", 1)
	bad.Null = []bool{false, true}
	if _, err := EncodePredictions(tableOf(bad)); err == nil {
		t.Error("null flags of another length: no error")
	}
}

// Decoding what EncodePredictions writes as a dataframe_split request gives the table
// back, for every column type, with missing values.
func TestMLflowRoundTrip(t *testing.T) {
	t.Parallel()
	f := floatCol("f", 0.1, 1e-7, math.NaN(), -3.5)
	f.Null = []bool{false, false, true, false}
	s := strCol("s", "é", "", "x\"y", "")
	s.Null = []bool{false, false, false, true}
	b := boolCol("b", true, false, false, true)
	b.Null = []bool{false, false, true, false}
	in := tableOf(f, intCol("i", -1, 0, 1<<62, 7), s, b)
	enc, err := EncodePredictions(in)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.TrimSuffix(strings.TrimPrefix(string(enc), `{"predictions": `), "}")
	body := `{"dataframe_split": {"columns": ["f", "i", "s", "b"], "data": ` + rows + `}}`
	req, err := DecodeJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(req.Table), describe(in); got != want {
		t.Errorf("round trip\n got: %s\nwant: %s", got, want)
	}
}

func TestErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		status      int
		contentType string
		body        string
	}{
		{"invalid input", invalidInput("Dataframe split format must be a dictionary. Got list."), 400, "application/json",
			`{"error_code": "BAD_REQUEST", "message": "Invalid input. Dataframe split format must be a dictionary. Got list.", "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}`},
		{"schema error", SchemaError(errString("the input is missing column(s) b")), 400, "application/json",
			`{"error_code": "INVALID_PARAMETER_VALUE", "message": "the input is missing column(s) b", "sqlstate": "KAM01", "error_class": "SCHEMA_ENFORCEMENT_FAILED"}`},
		{"bad request wraps", BadRequest(errString("café")), 400, "application/json",
			`{"error_code": "BAD_REQUEST", "message": "caf\u00e9", "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}`},
		{"415 is plain text", unsupportedMediaType("The scoring server only supports UTF-8"), 415, "text/plain; charset=utf-8",
			"The scoring server only supports UTF-8"},
		{"unknown error hides its detail", errString("disk on fire"), 500, "application/json",
			`{"error_code": "INTERNAL_ERROR", "message": "internal error", "sqlstate": "XXM00", "error_class": "CLIENT_INTERNAL_ERROR"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, ct, body := ErrorBody(tc.err)
			if status != tc.status || ct != tc.contentType || string(body) != tc.body {
				t.Errorf("got %d %q %s\nwant %d %q %s", status, ct, body, tc.status, tc.contentType, tc.body)
			}
		})
	}
	// BadRequest and SchemaError keep an *Error as it is.
	orig := invalidInput("x")
	if BadRequest(orig) != orig || SchemaError(orig) != orig {
		t.Error("an *Error was rewrapped")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestCheckContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		kind   Kind
		msg    string // for 415
	}{
		{"application/json", KindJSON, ""},
		{"application/json; charset=utf-8", KindJSON, ""},
		{"application/json;charset=UTF-8", KindJSON, ""},
		{`application/json; charset="utf-8"`, KindJSON, ""},
		{"Application/JSON", KindJSON, ""},
		{"application/json;", KindJSON, ""},
		{"text/csv", KindCSV, ""},
		{"text/csv; charset=utf-8", KindCSV, ""},
		{"application/csv", KindCSV, ""},
		{"text/csv; charset=latin-1", 0, "The scoring server only supports UTF-8"},
		{"application/json; format=pandas-split", 0, "Unrecognized content type parameters: format. IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0."},
		{"application/json; format=pandas-split; charset=ascii", 0, "The scoring server only supports UTF-8"},
		{"text/plain", 0, "This predictor only supports the following content types: Types: ['text/csv', 'application/csv', 'application/json']. Got 'text/plain'."},
		{"", 0, "Got ''."},
		{"application/vnd.apache.parquet", 0, "This predictor only supports"},
	}
	for _, tc := range tests {
		kind, err := CheckContentType(tc.header)
		if tc.msg == "" {
			if err != nil || kind != tc.kind {
				t.Errorf("%q: %v, %v; want %v", tc.header, kind, err, tc.kind)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: no error", tc.header)
			continue
		}
		e := protocolError(t, err)
		if e.Status != http.StatusUnsupportedMediaType || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%q: %d %q, want 415 …%s…", tc.header, e.Status, e.Message, tc.msg)
		}
	}
}

func TestDecodeCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want, err string
	}{
		{"typed columns", "a,b,c,d\n1,2.5,x,True\n2,,y,False\n", `a:long=[1 2] b:double=[2.5 null] c:string=["x" "y"] d:boolean=[true false]`, ""},
		{"no trailing newline", "a\n1", `a:long=[1]`, ""},
		{"byte-order mark and CRLF", "\ufeffa,b\r\n1,2\r\n", `a:long=[1] b:long=[2]`, ""},
		{"quoted newline", "a,b\n\"x\ny\",2\n", `a:string=["x\ny"] b:long=[2]`, ""},
		{"pandas index column", ",a\n0,1.5\n", `Unnamed: 0:long=[0] a:double=[1.5]`, ""},
		{"header only", "a,b\n", `a:double=[] b:double=[]`, ""},
		{"empty", "", "", "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: 'the input is empty"},
		{"ragged line", "a,b\n1,2\n3\n", "", "Error: 'line 3 has 1 fields, but the header has 2'"},
		{"invalid UTF-8", "a\n\xff\n", "", "Invalid input. Ensure that input is a valid UTF-8 encoded string."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeCSV([]byte(tc.body))
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error; table %s", describe(req.Table))
				}
				e := protocolError(t, err)
				if e.Status != 400 || e.Code != CodeBadRequest || !strings.Contains(e.Message, tc.err) {
					t.Errorf("got %d %s %q\nwant 400 BAD_REQUEST …%s…", e.Status, e.Code, e.Message, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, req.Table)
			if req.Format != FormatCSV {
				t.Errorf("format %q", req.Format)
			}
			if got := describe(req.Table); got != tc.want {
				t.Errorf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// A CSV body gets one type per column even when it is larger than a reader batch.
func TestDecodeCSVOneBatch(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a\n")
	for i := 0; i < tabular.DefaultBatchRows+10; i++ {
		b.WriteString("1\n")
	}
	b.WriteString("2.5\n")
	req, err := DecodeCSV([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	c := req.Table.Columns[0]
	if c.Type != tabular.Float64 || c.Len() != tabular.DefaultBatchRows+11 {
		t.Errorf("column %v with %d rows", c.Type, c.Len())
	}
}

// A wide header over many blank lines must not make the reader set aside a batch of
// (columns × lines) cells.
func TestDecodeCSVWideHeaderBounded(t *testing.T) {
	body := strings.Repeat(",", 50000) + "\n" + strings.Repeat("\n", 50000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	req, err := DecodeCSV([]byte(body))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Table.Columns) != 50001 || req.Table.Rows() != 0 {
		t.Errorf("table %d×%d", req.Table.Rows(), len(req.Table.Columns))
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("allocated %d MiB for a %d KiB body", got>>20, len(body)>>10)
	}
}
