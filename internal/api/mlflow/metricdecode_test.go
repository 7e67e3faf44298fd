package mlflow

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

var metricListSeeds = []string{
	`[{"key":"loss","value":0.5,"timestamp":1700000000000,"step":3}]`,
	`[{"key":"a","value":"NaN","timestamp":"5","step":"1e3"},{"key":"b","value":"-Infinity","timestamp":1}]`,
	`[ { "key" : "sp ace" , "value" : -1.5e-7 , "timestamp" : 0 } ]`,
	`[{"key":"esc\"aped","value":1,"timestamp":1}]`,
	`[{"key":"é","value":1,"timestamp":1,"model_id":"m","dataset_name":"d","dataset_digest":"x"}]`,
	`[{"KEY":"upper","Value":2,"timestamp":1}]`,
	`[{"key":"u","value":1,"timestamp":1,"extra":{"nested":[1,2,{"x":"]"}]}}]`,
	`[{"key":null,"value":null,"timestamp":null,"step":null,"model_id":null}]`,
	`[{"key":"k","value":true,"timestamp":1}]`,
	`[{"key":"k","value":1.5,"timestamp":1.5}]`,
	`[{"key":"k","value":"abc","timestamp":1}]`,
	`[{"key":"dup","key":"last","value":1,"value":2,"timestamp":1}]`,
	`[1, "x", null, {"key":"k"}]`,
	`[]`, `null`, `{}`, `"str"`, `[[]]`,
}

// TestMetricListMatchesEncodingJSON decodes every seed both ways.
func TestMetricListMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range metricListSeeds {
		checkMetricList(t, []byte(s))
	}
}

// FuzzMetricList checks that the hand-written decoder gives exactly what
// encoding/json gives, value for value, and fails where it fails.
func FuzzMetricList(f *testing.F) {
	for _, s := range metricListSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkMetricList)
}

func checkMetricList(t *testing.T, b []byte) {
	if !json.Valid(b) {
		return // encoding/json validates the whole body before any UnmarshalJSON runs
	}
	var want []metricIn
	wantErr := json.Unmarshal(b, &want)
	var got metricList
	gotErr := json.Unmarshal(b, &got)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("%s: encoding/json error %v, metricList error %v", b, wantErr, gotErr)
	}
	if wantErr == nil && !sameMetricIns(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", b, got, want)
	}
}

// sameMetricIns is reflect.DeepEqual with NaN equal to NaN.
func sameMetricIns(a, b []metricIn) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x.Value.V) && math.IsNaN(y.Value.V) {
			x.Value.V, y.Value.V = 0, 0
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

var logBatchSeeds = []string{
	`{"run_id":"0123456789abcdef0123456789abcdef","metrics":[{"key":"m","value":1,"timestamp":1,"step":0}],"params":[{"key":"p","value":"v"}],"tags":[{"key":"t","value":"v"}]}`,
	`{"run_id":"r","metrics":[],"params":[],"tags":[]}`,
	` { "metrics" : [ { "key":"a","value":"NaN","timestamp":"5"} ] , "run_id" : "r" } `,
	`{"run_id":"r","metrics":[{"key":"a","value":1,"timestamp":1}],"metrics":[{"key":"b","value":2,"timestamp":2}]}`,
	`{"run_id":"r","params":[{"value":"v","key":"k"},{"key":"k2"}]}`,
	`{"run_id":"r","metrics":[{"key":"a","value":01,"timestamp":1}]}`,
	`{"run_id":"r","metrics":[{"key":"a","value":1.,"timestamp":1}]}`,
	`{"run_id":"r","metrics":[{"key":"a","value":-0.5e+3,"timestamp":1e2}]}`,
	`{"run_id":"r","metrics":null}`,
	`{"run_id":null}`,
	`{"Run_ID":"r"}`,
	`{"run_id":"r"} x`,
	`{"run_id":"r","extra":1}`,
	`{}`,
}

// FuzzLogBatchFast checks the whole-body fast path against encoding/json: whatever it
// accepts must be valid JSON and decode to exactly what encoding/json decodes.
func FuzzLogBatchFast(f *testing.F) {
	for _, s := range logBatchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkLogBatchFast(t, b) })
}

func TestLogBatchFastMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	accepted := 0
	for _, s := range logBatchSeeds {
		if checkLogBatchFast(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 4 {
		t.Fatalf("the fast path took only %d of the plain seeds", accepted)
	}
}

func checkLogBatchFast(t *testing.T, b []byte) bool {
	var got logBatchRequest
	if !got.decodeFast(b) {
		return false
	}
	if !json.Valid(b) {
		t.Fatalf("fast path accepted invalid JSON %q", b)
	}
	var want logBatchRequest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, err)
	}
	if got.RunID != want.RunID || !reflect.DeepEqual(got.Params, want.Params) || !reflect.DeepEqual(got.Tags, want.Tags) ||
		!sameMetricIns(got.Metrics, want.Metrics) {
		t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
	}
	return true
}
