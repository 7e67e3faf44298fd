package mlflow

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("runs")
	b := e.ok("POST", api+"/runs/create", `{"experiment_id":"`+exp+`","user_id":"carol","run_name":"first",
		"start_time":1700000000000,"tags":[{"key":"t1","value":"v1"}]}`)
	run := b["run"]
	id := str(get(run, "info", "run_id"))
	if len(id) != 32 || get(run, "info", "run_uuid") != id || get(run, "info", "status") != "RUNNING" ||
		get(run, "info", "user_id") != "carol" || get(run, "info", "run_name") != "first" ||
		get(run, "info", "artifact_uri") != "mlflow-artifacts:/"+exp+"/"+id+"/artifacts" ||
		get(run, "info", "start_time") != float64(1700000000000) {
		t.Fatalf("created run %v", run)
	}
	if !hasTag(run, "mlflow.runName", "first") || !hasTag(run, "t1", "v1") {
		t.Fatalf("tags %v", get(run, "data", "tags"))
	}

	e.ok("POST", api+"/runs/log-parameter", `{"run_id":"`+id+`","run_uuid":"`+id+`","key":"lr","value":"0.1"}`)
	e.ok("POST", api+"/runs/set-tag", `{"run_id":"`+id+`","key":"t2","value":"v2"}`)
	e.ok("POST", api+"/runs/delete-tag", `{"run_id":"`+id+`","key":"t1"}`)
	// A metric's model_id must name a logged model (MLflow's foreign key).
	model := str(get(e.createModel(`{"experiment_id":"`+exp+`"}`), "info", "model_id"))
	for k, v := range map[string]string{"m_num": `1.5`, "m_nan": `"NaN"`, "m_inf": `"Infinity"`, "m_ninf": `"-Infinity"`} {
		e.ok("POST", api+"/runs/log-metric", `{"run_id":"`+id+`","key":"`+k+`","value":`+v+`,"timestamp":5,"step":2,
			"model_id":"`+model+`","dataset_name":"ds","dataset_digest":"abc"}`)
	}
	e.ok("POST", api+"/runs/log-inputs", `{"run_id":"`+id+`","datasets":[{"tags":[{"key":"mlflow.data.context","value":"train"}],
		"dataset":{"name":"iris","digest":"d1","source_type":"local","source":"{}","schema":"{}"}}]}`)

	run = e.ok("GET", api+"/runs/get?run_id="+id, "")["run"]
	if !hasTag(run, "t2", "v2") || hasTag(run, "t1", "v1") {
		t.Fatalf("tags after set/delete %v", get(run, "data", "tags"))
	}
	if get(run, "data", "params", 0, "key") != "lr" || get(run, "data", "params", 0, "value") != "0.1" {
		t.Fatalf("params %v", get(run, "data", "params"))
	}
	metrics := map[string]any{}
	for _, m := range get(run, "data", "metrics").([]any) {
		metrics[str(get(m, "key"))] = get(m, "value")
		if get(m, "step") != float64(2) || get(m, "timestamp") != float64(5) {
			t.Fatalf("metric %v", m)
		}
	}
	want := map[string]any{"m_num": 1.5, "m_nan": "NaN", "m_inf": "Infinity", "m_ninf": "-Infinity"}
	if len(metrics) != len(want) {
		t.Fatalf("metrics %v", metrics)
	}
	for k, v := range want {
		if metrics[k] != v {
			t.Fatalf("metrics %v, want %v", metrics, want)
		}
	}
	if get(run, "inputs", "dataset_inputs", 0, "dataset", "name") != "iris" ||
		get(run, "inputs", "dataset_inputs", 0, "tags", 0, "value") != "train" {
		t.Fatalf("inputs %v", get(run, "inputs"))
	}

	info := e.ok("POST", api+"/runs/update", `{"run_id":"`+id+`","run_uuid":"`+id+`","status":"FINISHED","end_time":1700000001000,"run_name":"renamed"}`)["run_info"]
	if get(info, "status") != "FINISHED" || get(info, "end_time") != float64(1700000001000) || get(info, "run_name") != "renamed" {
		t.Fatalf("updated %v", info)
	}
	if run = e.ok("GET", api+"/runs/get?run_id="+id, "")["run"]; !hasTag(run, "mlflow.runName", "renamed") {
		t.Fatalf("runName tag not renamed: %v", get(run, "data", "tags"))
	}

	e.ok("POST", api+"/runs/delete", `{"run_id":"`+id+`"}`)
	if get(e.ok("GET", api+"/runs/get?run_id="+id, ""), "run", "info", "lifecycle_stage") != "deleted" {
		t.Fatal("run not deleted")
	}
	// Logging to a deleted run is refused as MLflow refuses it.
	e.fail("POST", api+"/runs/log-metric", `{"run_id":"`+id+`","key":"m","value":1,"timestamp":1}`, 400, codeInvalidParameterValue, "")
	e.fail("POST", api+"/runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"p","value":"1"}]}`, 400, codeInvalidParameterValue, "")
	e.ok("POST", api+"/runs/restore", `{"run_id":"`+id+`"}`)
	e.ok("POST", api+"/runs/log-metric", `{"run_id":"`+id+`","key":"m","value":1,"timestamp":1}`)
}

func hasTag(run any, k, v string) bool {
	tags, _ := get(run, "data", "tags").([]any)
	for _, t := range tags {
		if get(t, "key") == k && get(t, "value") == v {
			return true
		}
	}
	return false
}

func TestRunUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, body string
		hdr        []string
		want       string
	}{
		{"client user kept without credentials", `{"user_id":"dave"}`, nil, "dave"},
		{"anonymous without either", `{}`, nil, "anonymous"},
		{"basic auth wins", `{"user_id":"dave"}`, []string{"Authorization", "Basic ZXZlOnB3"}, "eve"},
		{"bearer token", `{}`, []string{"Authorization", "Bearer tok"}, "token:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", api+"/runs/create", tt.body, tt.hdr...)
			if r.status != 200 || !strings.HasPrefix(str(get(r.body, "run", "info", "user_id")), tt.want) {
				t.Fatalf("%d %s, want user %q", r.status, r.raw, tt.want)
			}
			// Experiment "0" is the default, and a random name is given.
			if get(r.body, "run", "info", "experiment_id") != "0" || get(r.body, "run", "info", "run_name") == "" {
				t.Fatalf("run %s", r.raw)
			}
		})
	}
	if runUser("", "") != "anonymous" || runUser("anonymous", "x") != "x" || runUser("a", "x") != "a" {
		t.Fatal("runUser")
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createRun("0")
	unknown := strings.Repeat("ab", 16)
	tests := []struct {
		name, path, body string
		status           int
		code, msg        string
	}{
		{"get unknown", "/runs/get?run_id=" + unknown, "", 404, codeResourceDoesNotExist, ""},
		{"get bad id", "/runs/get?run_id=" + url.QueryEscape("../x"), "", 400, codeInvalidParameterValue, "run_id"},
		{"get missing id", "/runs/get", "", 400, codeInvalidParameterValue, "Missing value for required parameter 'run_id'"},
		{"create unknown experiment", "/runs/create", `{"experiment_id":"999"}`, 404, codeResourceDoesNotExist, ""},
		{"create conflicting names", "/runs/create", `{"run_name":"a","tags":[{"key":"mlflow.runName","value":"b"}]}`, 400, codeInvalidParameterValue, "different values"},
		{"update bad status", "/runs/update", `{"run_id":"` + id + `","status":"DONE"}`, 400, codeInvalidParameterValue, "RunStatus"},
		{"update unknown", "/runs/update", `{"run_id":"` + unknown + `","status":"FAILED"}`, 404, codeResourceDoesNotExist, ""},
		{"delete unknown", "/runs/delete", `{"run_id":"` + unknown + `"}`, 404, codeResourceDoesNotExist, ""},
		{"metric missing value", "/runs/log-metric", `{"run_id":"` + id + `","key":"m","timestamp":1}`, 400, codeInvalidParameterValue, "'value'"},
		{"metric missing timestamp", "/runs/log-metric", `{"run_id":"` + id + `","key":"m","value":1}`, 400, codeInvalidParameterValue, "'timestamp'"},
		{"metric bad value", "/runs/log-metric", `{"run_id":"` + id + `","key":"m","value":"abc","timestamp":1}`, 400, codeInvalidParameterValue, "not a double"},
		{"metric bad name", "/runs/log-metric", `{"run_id":"` + id + `","key":"m!","value":1,"timestamp":1}`, 400, codeInvalidParameterValue, "Names may only contain"},
		{"metric path name", "/runs/log-metric", `{"run_id":"` + id + `","key":"a//b","value":1,"timestamp":1}`, 400, codeInvalidParameterValue, "resolve to 'a/b'"},
		{"metric negative timestamp", "/runs/log-metric", `{"run_id":"` + id + `","key":"m","value":1,"timestamp":-1}`, 400, codeInvalidParameterValue, "nonnegative"},
		{"metric fractional step", "/runs/log-metric", `{"run_id":"` + id + `","key":"m","value":1,"timestamp":1,"step":1.5}`, 400, codeInvalidParameterValue, "64-bit integer"},
		{"metric unknown run", "/runs/log-metric", `{"run_id":"` + unknown + `","key":"m","value":1,"timestamp":1}`, 404, codeResourceDoesNotExist, ""},
		{"param key too long", "/runs/log-parameter", `{"run_id":"` + id + `","key":"` + longString(251) + `","value":"v"}`, 400, codeInvalidParameterValue, "maximum length of 250"},
		{"param missing key", "/runs/log-parameter", `{"run_id":"` + id + `","value":"v"}`, 400, codeInvalidParameterValue, "'key'"},
		{"tag bad key", "/runs/set-tag", `{"run_id":"` + id + `","key":"/abs","value":"v"}`, 400, codeInvalidParameterValue, "key"},
		{"inputs missing digest", "/runs/log-inputs", `{"run_id":"` + id + `","datasets":[{"dataset":{"name":"n","source_type":"s","source":"x"}}]}`, 400, codeInvalidParameterValue, "digest"},
		{"inputs digest too long", "/runs/log-inputs", `{"run_id":"` + id + `","datasets":[{"dataset":{"name":"n","digest":"` + longString(37) + `","source_type":"s","source":"x"}}]}`, 400, codeInvalidParameterValue, "maximum length of 36"},
		{"search invalid filter", "/runs/search", `{"experiment_ids":["0"],"filter":"metrics.x > 'a' OR 1"}`, 400, codeInvalidParameterValue, ""},
		{"search invalid order", "/runs/search", `{"experiment_ids":["0"],"order_by":["metrics.x SIDEWAYS"]}`, 400, codeInvalidParameterValue, ""},
		{"search too many", "/runs/search", `{"experiment_ids":["0"],"max_results":50001}`, 400, codeInvalidParameterValue, "at most 50000"},
		{"search bad experiment id", "/runs/search", `{"experiment_ids":["x"]}`, 400, codeInvalidParameterValue, "Invalid experiment ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.body == "" {
				method = "GET"
			}
			e.with(t).fail(method, api+tt.path, tt.body, tt.status, tt.code, tt.msg)
		})
	}
	// None of the failed writes left anything behind.
	run := e.ok("GET", api+"/runs/get?run_id="+id, "")["run"]
	if get(run, "data", "metrics") != nil || get(run, "data", "params") != nil || get(run, "inputs", "dataset_inputs") != nil {
		t.Fatalf("failed writes left data: %v", run)
	}
}

func TestLogBatch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createRun("0")
	metrics := make([]map[string]any, 0, 1000)
	for i := 0; i < 990; i++ {
		metrics = append(metrics, map[string]any{"key": "loss", "value": float64(i) / 10, "timestamp": 1000 + i, "step": i})
	}
	e.ok("POST", api+"/runs/log-batch", jsonOf(t, map[string]any{
		"run_id":  id,
		"metrics": metrics,
		"params":  []map[string]any{{"key": "p1", "value": "a"}, {"key": "p2", "value": longString(7000)}},
		"tags":    []map[string]any{{"key": "t", "value": "x"}},
	}))
	run := e.ok("GET", api+"/runs/get?run_id="+id, "")["run"]
	if get(run, "data", "metrics", 0, "value") != 98.9 {
		t.Fatalf("latest loss %v", get(run, "data", "metrics"))
	}
	for _, p := range get(run, "data", "params").([]any) {
		if get(p, "key") == "p2" && len(str(get(p, "value"))) != maxParamValueLength {
			t.Fatalf("long param value not truncated to %d: %d", maxParamValueLength, len(str(get(p, "value"))))
		}
	}

	// A bad item anywhere refuses the whole batch.
	bad := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"bad metric last", map[string]any{"metrics": []map[string]any{
			{"key": "ok", "value": 1, "timestamp": 1}, {"key": "bad key!", "value": 1, "timestamp": 1}}}, "metrics[1].name"},
		{"missing metric value", map[string]any{"metrics": []map[string]any{{"key": "ok", "timestamp": 1}}}, "metrics[0].value"},
		{"missing tag key", map[string]any{"params": []map[string]any{{"key": "new", "value": "1"}},
			"tags": []map[string]any{{"value": "1"}}}, "tags[0].key"},
		{"duplicate params", map[string]any{"params": []map[string]any{{"key": "d", "value": "1"}, {"key": "d", "value": "2"}}}, "Duplicate parameter keys"},
		{"param changed", map[string]any{"metrics": []map[string]any{{"key": "new", "value": 1, "timestamp": 1}},
			"params": []map[string]any{{"key": "p1", "value": "changed"}}}, ""},
		{"too many metrics", map[string]any{"metrics": repeatMetric(1001)}, "at most 1000 metrics"},
		{"too many params", map[string]any{"params": repeatKV(101)}, "at most 100 params"},
		{"too many tags", map[string]any{"tags": repeatKV(101)}, "at most 100 tags"},
		{"too many in total", map[string]any{"metrics": repeatMetric(950), "params": repeatKV(51)}, "at most 1000 metrics, params, and tags"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["run_id"] = id
			e.with(t).fail("POST", api+"/runs/log-batch", jsonOf(t, tt.body), 400, codeInvalidParameterValue, tt.msg)
		})
	}
	run = e.ok("GET", api+"/runs/get?run_id="+id, "")["run"]
	if n := len(get(run, "data", "metrics").([]any)); n != 1 {
		t.Fatalf("%d metric keys after refused batches, want 1", n)
	}
	if n := len(get(run, "data", "params").([]any)); n != 2 {
		t.Fatalf("%d params after refused batches, want 2", n)
	}
	h := e.ok("GET", api+"/metrics/get-history?run_id="+id+"&metric_key=loss", "")
	if n := len(h["metrics"].([]any)); n != 990 {
		t.Fatalf("history has %d points, want 990", n)
	}
	e.fail("POST", api+"/runs/log-batch", `{"metrics":[]}`, 400, codeInvalidParameterValue, "'run_id'")
}

func repeatMetric(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"key": "k", "value": 1, "timestamp": 1, "step": i}
	}
	return out
}

func repeatKV(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"key": fmt.Sprintf("k%d", i), "value": "v"}
	}
	return out
}

func TestSearchRuns(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("search")
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = e.createRun(exp)
		e.ok("POST", api+"/runs/log-batch", jsonOf(t, map[string]any{"run_id": ids[i],
			"metrics": []map[string]any{{"key": "acc", "value": float64(i) / 10, "timestamp": 1}},
			"params":  []map[string]any{{"key": "model", "value": map[bool]string{true: "tree", false: "linear"}[i%2 == 0]}}}))
	}
	e.ok("POST", api+"/runs/delete", `{"run_id":"`+ids[4]+`"}`)

	runIDs := func(b map[string]any) []string {
		var out []string
		runs, _ := b["runs"].([]any)
		for _, r := range runs {
			out = append(out, str(get(r, "info", "run_id")))
		}
		return out
	}
	tests := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"metric filter and order", map[string]any{"filter": "metrics.acc > 0.05", "order_by": []string{"metrics.acc DESC"}}, []string{ids[3], ids[2], ids[1]}},
		{"param filter", map[string]any{"filter": "params.model = 'tree'", "order_by": []string{"metrics.acc"}}, []string{ids[0], ids[2]}},
		{"deleted only", map[string]any{"run_view_type": "DELETED_ONLY"}, []string{ids[4]}},
		{"all", map[string]any{"run_view_type": "ALL", "order_by": []string{"metrics.acc"}}, ids},
		{"nothing", map[string]any{"filter": "metrics.acc > 5"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["experiment_ids"] = []string{exp}
			got := runIDs(e.with(t).ok("POST", api+"/runs/search", jsonOf(t, tt.body)))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	var all []string
	token := ""
	for i := 0; i < 10; i++ {
		b := e.ok("POST", api+"/runs/search", jsonOf(t, map[string]any{"experiment_ids": []string{exp}, "max_results": 2, "page_token": token}))
		all = append(all, runIDs(b)...)
		if token = str(b["next_page_token"]); token == "" {
			break
		}
	}
	if len(all) != 4 {
		t.Fatalf("paged %d runs, want 4", len(all))
	}
}
