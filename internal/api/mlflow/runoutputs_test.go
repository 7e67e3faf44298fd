package mlflow

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestRunOutputs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("outputs")
	run := e.createRun(exp)
	m1 := str(get(e.createModel(`{"experiment_id":"`+exp+`","source_run_id":"`+run+`"}`), "info", "model_id"))
	m2 := str(get(e.createModel(`{"experiment_id":"`+exp+`"}`), "info", "model_id"))

	// A run without outputs has no "outputs" at all.
	if r := e.ok("GET", api+"/runs/get?run_id="+run, ""); get(r, "run", "outputs") != nil {
		t.Fatalf("outputs before logging: %v", get(r, "run", "outputs"))
	}
	e.ok("POST", api+"/runs/outputs", `{"run_id":"`+run+`","models":[{"model_id":"`+m1+`","step":0},{"model_id":"`+m2+`","step":"7"}]}`)
	outs, _ := get(e.ok("GET", api+"/runs/get?run_id="+run, ""), "run", "outputs", "model_outputs").([]any)
	got := map[string]any{}
	for _, o := range outs {
		got[str(get(o, "model_id"))] = get(o, "step")
	}
	if !reflect.DeepEqual(got, map[string]any{m1: float64(0), m2: float64(7)}) {
		t.Fatalf("model_outputs %v", outs)
	}
	// runs/search carries them too.
	b := e.ok("POST", api+"/runs/search", `{"experiment_ids":["`+exp+`"]}`)
	if l, _ := get(b, "runs", 0, "outputs", "model_outputs").([]any); len(l) != 2 {
		t.Fatalf("search outputs %v", get(b, "runs", 0, "outputs"))
	}

	other := e.createRun(exp)
	for _, tt := range []struct {
		body   string
		status int
		code   string
		msg    string
	}{
		{`{"run_id":`, 400, codeInvalidParameterValue, "Malformed request body"},
		{`{"models":[{"model_id":"` + m1 + `"}]}`, 400, codeInvalidParameterValue, "'run_id'"},
		{`{"run_id":"` + other + `"}`, 400, codeInvalidParameterValue, "'models'"},
		{`{"run_id":"` + other + `","models":[{"model_id":"` + m1 + `"},{"step":1}]}`, 400, codeInvalidParameterValue, "'models[1].model_id'"},
		{`{"run_id":"` + other + `","models":[{"model_id":"` + m1 + `","step":1.5}]}`, 400, codeInvalidParameterValue, "64-bit integer"},
		{`{"run_id":"` + strings.Repeat("ab", 16) + `","models":[{"model_id":"` + m1 + `"}]}`, 404, codeResourceDoesNotExist, ""},
		{`{"run_id":"` + other + `","models":[{"model_id":"` + m1 + `"},{"model_id":"` + unknownModel + `"}]}`, 404, codeResourceDoesNotExist, ""},
	} {
		e.fail("POST", api+"/runs/outputs", tt.body, tt.status, tt.code, tt.msg)
	}
	if r := e.ok("GET", api+"/runs/get?run_id="+other, ""); get(r, "run", "outputs") != nil {
		t.Fatalf("failed calls logged outputs: %v", get(r, "run", "outputs"))
	}
}

// Metrics logged to a run with a model_id show in that model's data.metrics.
func TestModelMetricsFromRunLogging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("metrics")
	run := e.createRun(exp)
	id := str(get(e.createModel(`{"experiment_id":"`+exp+`"}`), "info", "model_id"))
	e.ok("POST", api+"/runs/log-batch", jsonOf(t, map[string]any{"run_id": run, "metrics": []map[string]any{
		{"key": "loss", "value": 0.5, "timestamp": 10, "step": 1, "model_id": id, "dataset_name": "eval", "dataset_digest": "abc"},
		{"key": "loss", "value": 0.25, "timestamp": 20, "step": 2, "model_id": id},
		{"key": "other", "value": 1, "timestamp": 10}, // no model
	}}))
	e.ok("POST", api+"/runs/log-metric", `{"run_id":"`+run+`","key":"acc","value":"NaN","timestamp":30,"model_id":"`+id+`"}`)

	ms, _ := get(e.getModel(id), "data", "metrics").([]any)
	type point struct {
		Key, RunID, ModelID, Dataset, Digest string
		Value                                any
		Step, Timestamp                      float64
	}
	var got []point
	for _, m := range ms {
		got = append(got, point{str(get(m, "key")), str(get(m, "run_id")), str(get(m, "model_id")),
			str(get(m, "dataset_name")), str(get(m, "dataset_digest")), get(m, "value"),
			get(m, "step").(float64), get(m, "timestamp").(float64)})
	}
	want := []point{
		{"acc", run, id, "", "", "NaN", 0, 30},
		{"loss", run, id, "eval", "abc", 0.5, 1, 10},
		{"loss", run, id, "", "", 0.25, 2, 20},
	}
	sort.Slice(got, func(i, j int) bool {
		return got[i].Key < got[j].Key || (got[i].Key == got[j].Key && got[i].Step < got[j].Step)
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("model metrics\n%+v\nwant\n%+v", got, want)
	}
}

func historyOf(t *testing.T, e *env, run string) []map[string]any {
	t.Helper()
	tags, _ := get(e.ok("GET", api+"/runs/get?run_id="+run, ""), "run", "data", "tags").([]any)
	for _, tg := range tags {
		if get(tg, "key") == logModelHistoryTag {
			var h []map[string]any
			if err := json.Unmarshal([]byte(str(get(tg, "value"))), &h); err != nil {
				t.Fatalf("history %q: %v", get(tg, "value"), err)
			}
			return h
		}
	}
	return nil
}

func TestLogModelHistory(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run := e.createRun("0")
	model := func(path string) string {
		return jsonOf(t, map[string]any{
			"run_id": run, "artifact_path": path, "utc_time_created": "2024-01-02 03:04:05.000006",
			"model_uuid": "u-" + path, "mlflow_version": "3.1.0", "signature": map[string]any{"inputs": "[]"},
			"flavors": map[string]any{
				"python_function": map[string]any{"loader_module": "mlflow.sklearn", "config": map[string]any{"x": 1}},
				"sklearn":         map[string]any{"sklearn_version": "1.5", "pickled_model": "model.pkl"},
			},
		})
	}
	body := func(run, modelJSON string) string {
		return jsonOf(t, map[string]any{"run_id": run, "model_json": modelJSON})
	}
	e.ok("POST", api+"/runs/log-model", body(run, model("model")))
	h := historyOf(t, e, run)
	want := map[string]any{
		"run_id": run, "artifact_path": "model", "utc_time_created": "2024-01-02 03:04:05.000006", "model_uuid": "u-model",
		"flavors": map[string]any{
			"python_function": map[string]any{"loader_module": "mlflow.sklearn"},
			"sklearn":         map[string]any{"sklearn_version": "1.5", "pickled_model": "model.pkl"},
		},
	}
	if len(h) != 1 || !reflect.DeepEqual(h[0], want) {
		t.Fatalf("history %v\nwant [%v]", h, want)
	}
	e.ok("POST", api+"/runs/log-model", body(run, model("second")))
	if h = historyOf(t, e, run); len(h) != 2 || h[0]["artifact_path"] != "model" || h[1]["artifact_path"] != "second" {
		t.Fatalf("history after a second model %v", h)
	}

	for _, tt := range []struct{ body, msg string }{
		{`{"run_id":"` + run + `"}`, "'model_json'"},
		{`{"model_json":"{}"}`, "'run_id'"},
		{body(run, "{not json"), "is not a valid JSON"},
		{body(run, "[1]"), "is not a valid JSON"},
		{body(run, `{"run_id":"x","flavors":{}}`), "missing mandatory fields: {'artifact_path', 'utc_time_created'}"},
		{body(run, `{"run_id":"x","flavors":[],"artifact_path":"a","utc_time_created":"t"}`), "'flavors' must be a JSON object"},
	} {
		e.fail("POST", api+"/runs/log-model", tt.body, 400, codeInvalidParameterValue, tt.msg)
	}
	e.fail("POST", api+"/runs/log-model", body(strings.Repeat("ab", 16), model("m")), 404, codeResourceDoesNotExist, "")
	// A deleted run is not written to, and a history tag that is no list is not overwritten.
	e.ok("POST", api+"/runs/delete", `{"run_id":"`+run+`"}`)
	e.fail("POST", api+"/runs/log-model", body(run, model("third")), 400, codeInvalidParameterValue, "")
	e.ok("POST", api+"/runs/restore", `{"run_id":"`+run+`"}`)
	if h = historyOf(t, e, run); len(h) != 2 {
		t.Fatalf("failed calls changed the history: %v", h)
	}
	bad := e.createRun("0")
	e.ok("POST", api+"/runs/set-tag", `{"run_id":"`+bad+`","key":"`+logModelHistoryTag+`","value":"oops"}`)
	e.fail("POST", api+"/runs/log-model", body(bad, model("m")), 400, codeInvalidParameterValue, "not overwriting")
}

// Concurrent log-model calls on one run keep every model.
func TestLogModelConcurrent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run := e.createRun("0")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mj := jsonOf(t, map[string]any{"run_id": run, "artifact_path": string(rune('a' + i)), "utc_time_created": "t", "flavors": map[string]any{}})
			if r := e.do("POST", api+"/runs/log-model", jsonOf(t, map[string]any{"run_id": run, "model_json": mj})); r.status != 200 {
				t.Errorf("%d %s", r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	if h := historyOf(t, e, run); len(h) != 8 {
		t.Fatalf("%d models in the history, want 8", len(h))
	}
}

func TestModelHistoryEntryNumbers(t *testing.T) {
	t.Parallel()
	// MLflow keeps str(utc_time_created) and a null model_uuid when there is none.
	b, err := modelHistoryEntry(`{"run_id":null,"artifact_path":"a","utc_time_created":1.5,"flavors":{"f":"plain"}}`)
	if err != nil || string(b) != `{"artifact_path":"a","utc_time_created":"1.5","model_uuid":null,"flavors":{"f":"plain"}}` {
		t.Fatalf("%s %v", b, err)
	}
}
