package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// runsReplyByReflection is the search answer as it was written before writeRuns: the
// wire types through encoding/json (writeJSON's settings). writeRuns must match it.
func runsReplyByReflection(t testing.TB, runs []core.Run, next string) []byte {
	t.Helper()
	resp := struct {
		Runs          []wireRun `json:"runs,omitempty"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}{NextPageToken: next}
	for _, r := range runs {
		resp.Runs = append(resp.Runs, toWireRun(r))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkward holds strings that need escapes or are not what they seem.
var awkward = []string{
	"", "plain", `quote " and backslash \`, "line\nfeed\r\ttab\b\f", "\x00\x01\x1f\x7f",
	"<b>&amp;</b>", "é ü 日本 🎉", "\u2028\u2029", "bad utf-8 \xff\xfe end", "\xc3", "\xed\xa0\x80",
	"mlflow.runName", "a/b:c=d?e",
}

func sampleRuns() []core.Run {
	end := int64(1700000009999)
	runs := []core.Run{
		{ // everything present
			Info: core.RunInfo{RunID: "0123456789abcdef0123456789abcdef", RunName: "name \"quoted\"", ExperimentID: "7",
				UserID: "ü-user", Status: core.RunFinished, StartTime: 1700000000000, EndTime: &end,
				ArtifactURI: "s3://bucket/a b/<x>", LifecycleStage: core.LifecycleActive},
			Metrics: []core.Metric{
				{Key: "nan", Value: math.NaN(), Timestamp: 1, Step: 2, RunID: "ignored"},
				{Key: "+inf", Value: math.Inf(1)}, {Key: "-inf", Value: math.Inf(-1)},
				{Key: "whole", Value: 3}, {Key: "negzero", Value: math.Copysign(0, -1)},
				{Key: "tiny", Value: 5e-324}, {Key: "big", Value: 1e300}, {Key: "e15", Value: 1e15},
				{Key: "frac", Value: -0.1, Timestamp: -5, Step: math.MinInt64},
				{Key: "withmodel", Value: 1.5, ModelID: "m-1", DatasetName: "ds", DatasetDigest: "d1"},
			},
			Params: []core.Param{{Key: "lr", Value: "0.01"}, {Key: "empty", Value: ""}},
			Tags:   []core.Tag{{Key: "mlflow.runName", Value: "x"}},
			Inputs: []core.DatasetInput{
				{Tags: []core.Tag{{Key: "mlflow.data.context", Value: "train"}},
					Dataset: core.Dataset{Name: "iris", Digest: "abc", SourceType: "local", Source: "{\"uri\": \"/d\"}",
						Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 150}`}},
				{Dataset: core.Dataset{Name: "no-tags", Digest: "d", SourceType: "s", Source: "src"}},
			},
			Outputs: []core.ModelOutput{{ModelID: "m-1", Step: 3}, {ModelID: "m-2", Step: -1}},
		},
		{Info: core.RunInfo{RunID: "r2"}},                                               // nothing but an id
		{Info: core.RunInfo{RunID: "r3"}, Params: []core.Param{{Key: "k", Value: "v"}}}, // params only
		{Info: core.RunInfo{RunID: "r4"}, Tags: []core.Tag{{Key: "k", Value: "v"}}},     // tags only
		{Info: core.RunInfo{RunID: "r5"}, Metrics: []core.Metric{{Key: "m"}}, Tags: []core.Tag{{Key: "k", Value: "v"}}},
		{Info: core.RunInfo{RunID: "r6"}, Metrics: []core.Metric{}, Params: []core.Param{}, Tags: []core.Tag{},
			Inputs: []core.DatasetInput{}, Outputs: []core.ModelOutput{}}, // empty, not nil
	}
	awk := core.Run{Info: core.RunInfo{RunID: "awkward"}}
	for i, s := range awkward {
		awk.Params = append(awk.Params, core.Param{Key: s + fmt.Sprint(i), Value: s})
		awk.Tags = append(awk.Tags, core.Tag{Key: s, Value: s + s})
		awk.Metrics = append(awk.Metrics, core.Metric{Key: s, Value: float64(i) / 3, DatasetName: s})
	}
	awk.Info.RunName, awk.Info.UserID, awk.Info.ArtifactURI = awkward[3], awkward[8], awkward[10]
	awk.Inputs = []core.DatasetInput{{Tags: []core.Tag{{Key: awkward[4], Value: awkward[7]}},
		Dataset: core.Dataset{Name: awkward[2], Digest: awkward[6], SourceType: awkward[5], Source: awkward[9], Schema: awkward[1]}}}
	return append(runs, awk)
}

func TestWriteRunsMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	runs := sampleRuns()
	for _, tc := range []struct {
		name string
		runs []core.Run
		next string
	}{
		{"sample page", runs, ""},
		{"with next page", runs, "eyJvZmZzZXQiOiAxMDAwfQ=="},
		{"one run", runs[:1], ""},
		{"no runs", nil, ""},
		{"no runs but a token", nil, "tok\"en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			writeRuns(rec, tc.runs, tc.next)
			want := runsReplyByReflection(t, tc.runs, tc.next)
			got := rec.Body.Bytes()
			if !bytes.Equal(got, want) {
				t.Errorf("bytes differ:\n got %s\nwant %s", got, want)
			}
			// What a client sees: the same decoded document (the bytes check implies it;
			// this one says where a difference would matter).
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("writeRuns wrote invalid JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("decoded documents differ")
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cl := rec.Header().Get("Content-Length"); cl != fmt.Sprint(len(got)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(got))
			}
		})
	}
}

// TestRunJSONSizeIsEnough checks the up-front estimate covers a run without escapes,
// so the answer is written without growing its buffer.
func TestRunJSONSizeIsEnough(t *testing.T) {
	t.Parallel()
	for _, r := range sampleRuns()[:6] {
		if got, est := len(appendRunJSON(nil, &r)), runJSONSize(&r); got > est {
			t.Errorf("run %s: %d bytes, estimated %d", r.Info.RunID, got, est)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var all []string
	for c := 0; c < 256; c++ {
		all = append(all, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for r := rune(0x7f); r < 0x3000; r += 7 {
		all = append(all, string(r))
	}
	all = append(all, awkward...)
	all = append(all, "\U0010ffff", "\xf4\x90\x80\x80", "\xe2\x80", "ab\xe2\x80\xa8cd")
	for _, s := range all {
		if got, want := appendJSONString(nil, s), marshalString(s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString([]byte("prefix"), s), append([]byte("prefix"), marshalString(s)...); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

func BenchmarkRunsJSON(b *testing.B) {
	runs := make([]core.Run, 1000)
	for i := range runs {
		r := &runs[i]
		r.Info = core.RunInfo{RunID: fmt.Sprintf("%032x", i), RunName: fmt.Sprintf("seed-%05d", i), ExperimentID: "1",
			UserID: "anonymous", Status: core.RunRunning, StartTime: 1700000000000 + int64(i),
			ArtifactURI: fmt.Sprintf("mlflow-artifacts:/1/%032x/artifacts", i), LifecycleStage: core.LifecycleActive}
		for k := range 20 {
			r.Params = append(r.Params, core.Param{Key: fmt.Sprintf("p%d", k), Value: fmt.Sprint(i * k % 1000)})
		}
		for k := range 10 {
			r.Metrics = append(r.Metrics, core.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(i*k%997) / 997, Timestamp: 1700000000000})
		}
		r.Tags = []core.Tag{{Key: "mlflow.runName", Value: r.Info.RunName}}
	}
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			writeRuns(httptest.NewRecorder(), runs, "")
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			runsReplyByReflection(b, runs, "")
		}
	})
}
