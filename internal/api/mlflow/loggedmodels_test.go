package mlflow

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
)

const unknownModel = "m-00000000000000000000000000000000"

// createModel creates a logged model from a JSON body and returns it.
func (e *env) createModel(body string) map[string]any {
	e.t.Helper()
	m, _ := e.ok("POST", api+"/logged-models", body)["model"].(map[string]any)
	if m == nil {
		e.t.Fatalf("create %s: no model", body)
	}
	return m
}

func (e *env) getModel(id string) map[string]any {
	e.t.Helper()
	m, _ := e.ok("GET", api+"/logged-models/"+id, "")["model"].(map[string]any)
	return m
}

// kv turns a list of {key, value} objects into a map.
func kv(v any) map[string]string {
	out := map[string]string{}
	l, _ := v.([]any)
	for _, x := range l {
		out[str(get(x, "key"))] = str(get(x, "value"))
	}
	return out
}

func TestLoggedModelLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("lm")
	run := e.createRun(exp)
	m := e.createModel(`{"experiment_id":"` + exp + `","name":"clf","model_type":"classifier","source_run_id":"` + run + `",
		"params":[{"key":"lr","value":"0.1"},{"key":"a b!","value":"odd keys are fine"}],"tags":[{"key":"team","value":"risk"}]}`)
	id := str(get(m, "info", "model_id"))
	if !strings.HasPrefix(id, "m-") || len(id) != 34 {
		t.Fatalf("model id %q", id)
	}
	info := m["info"].(map[string]any)
	want := map[string]any{
		"experiment_id": exp, "name": "clf", "model_type": "classifier", "source_run_id": run,
		"status": "LOGGED_MODEL_PENDING", "artifact_uri": "mlflow-artifacts:/" + exp + "/models/" + id + "/artifacts",
	}
	for k, v := range want {
		if info[k] != v {
			t.Fatalf("info.%s = %v, want %v (%v)", k, info[k], v, info)
		}
	}
	created, _ := info["creation_timestamp_ms"].(float64)
	if created <= 0 || info["last_updated_timestamp_ms"] != created {
		t.Fatalf("timestamps %v", info)
	}
	if p := kv(get(m, "data", "params")); !reflect.DeepEqual(p, map[string]string{"lr": "0.1", "a b!": "odd keys are fine"}) {
		t.Fatalf("params %v", p)
	}
	if tg := kv(get(m, "info", "tags")); !reflect.DeepEqual(tg, map[string]string{"team": "risk"}) {
		t.Fatalf("tags %v", tg)
	}
	if got := e.getModel(id); !reflect.DeepEqual(got, m) {
		t.Fatalf("get %v\nwant %v", got, m)
	}

	e.ok("POST", api+"/logged-models/"+id+"/params", `{"model_id":"`+id+`","params":[{"key":"depth","value":"4"}]}`)
	e.ok("PATCH", api+"/logged-models/"+id+"/tags", `{"tags":[{"key":"stage","value":"eval"},{"key":"team","value":"x"},{"key":"team","value":"fraud"},{"key":"a/b","value":"slash"}]}`)
	e.ok("DELETE", api+"/logged-models/"+id+"/tags/stage", "")
	e.ok("DELETE", api+"/logged-models/"+id+"/tags/a/b", "") // keys may hold slashes
	got := e.getModel(id)
	if p := kv(get(got, "data", "params")); !reflect.DeepEqual(p, map[string]string{"lr": "0.1", "a b!": "odd keys are fine", "depth": "4"}) {
		t.Fatalf("params after log %v", p)
	}
	if tg := kv(get(got, "info", "tags")); !reflect.DeepEqual(tg, map[string]string{"team": "fraud"}) {
		t.Fatalf("tags after set/delete %v", tg)
	}

	// The status by name, then by number, through both prefixes.
	f := e.ok("PATCH", api+"/logged-models/"+id, `{"model_id":"`+id+`","status":"LOGGED_MODEL_READY"}`)
	if get(f, "model", "info", "status") != "LOGGED_MODEL_READY" || get(f, "model", "info", "model_id") != id {
		t.Fatalf("finalized %v", f)
	}
	e.ok("PATCH", "/ajax-api/2.0/mlflow/logged-models/"+id, `{"status":3}`)
	if st := get(e.getModel(id), "info", "status"); st != "LOGGED_MODEL_UPLOAD_FAILED" {
		t.Fatalf("status after finalize 3: %v", st)
	}

	// The client sends the model id again in the DELETE body.
	e.ok("DELETE", api+"/logged-models/"+id, `{"model_id":"`+id+`"}`)
	e.fail("GET", api+"/logged-models/"+id, "", 404, codeResourceDoesNotExist, "")
	e.fail("DELETE", api+"/logged-models/"+id, "", 404, codeResourceDoesNotExist, "")
}

func TestCreateLoggedModelDefaults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	m := e.createModel(`{"experiment_id":"0"}`)
	info := m["info"].(map[string]any)
	if str(info["name"]) == "" || info["status"] != "LOGGED_MODEL_PENDING" {
		t.Fatalf("unnamed model %v", info)
	}
	// Empty fields are left out, as protobuf's JSON does.
	for _, k := range []string{"source_run_id", "model_type", "status_message", "tags"} {
		if _, ok := info[k]; ok {
			t.Fatalf("info.%s present in %v", k, info)
		}
	}
	if d, ok := m["data"].(map[string]any); !ok || len(d) != 0 {
		t.Fatalf("data %v", m["data"])
	}
}

func TestLoggedModelErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("errs")
	id := str(get(e.createModel(`{"experiment_id":"`+exp+`","name":"keep","tags":[{"key":"t","value":"1"}],"params":[{"key":"p","value":"1"}]}`), "info", "model_id"))
	before := e.getModel(id)
	lm := "/logged-models/" + id
	tests := []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"POST", "/logged-models", `{"experiment_id":`, 400, codeInvalidParameterValue, "Malformed request body"},
		{"POST", "/logged-models", `{"name":"x"}`, 400, codeInvalidParameterValue, "Missing value for required parameter 'experiment_id'"},
		{"POST", "/logged-models", `{"experiment_id":"abc"}`, 400, codeInvalidParameterValue, "Invalid experiment ID"},
		{"POST", "/logged-models", `{"experiment_id":"999"}`, 404, codeResourceDoesNotExist, ""},
		{"POST", "/logged-models", `{"experiment_id":"0","name":"a/b"}`, 400, codeInvalidParameterValue, "Invalid model name"},
		{"POST", "/logged-models", `{"experiment_id":"0","name":"v1.2"}`, 400, codeInvalidParameterValue, "cannot contain"},
		{"POST", "/logged-models", `{"experiment_id":"0","source_run_id":"../x"}`, 400, codeInvalidParameterValue, "source_run_id"},
		{"POST", "/logged-models", `{"experiment_id":"0","params":[{"value":"v"}]}`, 400, codeInvalidParameterValue, "'params[0].key'"},
		{"POST", "/logged-models", `{"experiment_id":"0","tags":[{"key":"` + longString(251) + `"}]}`, 400, codeInvalidParameterValue, "maximum length of 250"},
		{"GET", "/logged-models/" + unknownModel, "", 404, codeResourceDoesNotExist, ""},
		{"PATCH", "/logged-models/" + unknownModel, `{"status":"LOGGED_MODEL_READY"}`, 404, codeResourceDoesNotExist, ""},
		{"DELETE", "/logged-models/" + unknownModel, "", 404, codeResourceDoesNotExist, ""},
		{"PATCH", "/logged-models/" + unknownModel + "/tags", `{"tags":[{"key":"k","value":"v"}]}`, 404, codeResourceDoesNotExist, ""},
		{"PATCH", "/logged-models/" + unknownModel + "/tags", `{}`, 404, codeResourceDoesNotExist, ""},
		{"DELETE", "/logged-models/" + unknownModel + "/tags/k", "", 404, codeResourceDoesNotExist, ""},
		{"POST", "/logged-models/" + unknownModel + "/params", `{"params":[{"key":"k","value":"v"}]}`, 404, codeResourceDoesNotExist, ""},
		{"POST", "/logged-models/" + unknownModel + "/params", `{}`, 404, codeResourceDoesNotExist, ""},
		{"GET", "/logged-models/" + unknownModel + "/artifacts/directories", "", 404, codeResourceDoesNotExist, ""},
		{"PATCH", lm, `{}`, 400, codeInvalidParameterValue, "Missing value for required parameter 'status'"},
		{"PATCH", lm, `{"status":"DONE"}`, 400, codeInvalidParameterValue, "LoggedModelStatus"},
		{"PATCH", lm, `{"status":7}`, 400, codeInvalidParameterValue, "LoggedModelStatus"},
		{"PATCH", lm, `{"status":"LOGGED_MODEL_PENDING"}`, 400, codeInvalidParameterValue, "finalized as"},
		{"PATCH", lm, `{"status":0}`, 400, codeInvalidParameterValue, "LOGGED_MODEL_STATUS_UNSPECIFIED"},
		{"PATCH", lm, `{"model_id":"` + unknownModel + `","status":"LOGGED_MODEL_READY"}`, 400, codeInvalidParameterValue, "does not match"},
		{"PATCH", lm + "/tags", `{"tags":[{"key":"t","value":"2"},{"value":"v"}]}`, 400, codeInvalidParameterValue, "'tags[1].key'"},
		{"PATCH", lm + "/tags", `{"tags":"x"}`, 400, codeInvalidParameterValue, "Malformed request body"},
		{"POST", lm + "/params", `{"params":[{"key":"q","value":"1"},{"key":""}]}`, 400, codeInvalidParameterValue, "'params[1].key'"},
		{"POST", lm + "/params", `{"model_id":"m-other","params":[{"key":"q","value":"1"}]}`, 400, codeInvalidParameterValue, "does not match"},
		{"DELETE", lm + "/tags/", "", 400, codeInvalidParameterValue, "tag_key"},
		{"POST", lm, `{}`, 405, codeEndpointNotFound, "use GET, PATCH, DELETE"},
		{"PUT", lm, `{}`, 405, codeEndpointNotFound, ""},
		{"GET", "/logged-models", "", 405, codeEndpointNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			e.with(t).fail(tt.method, api+tt.path, tt.body, tt.status, tt.code, tt.msg)
		})
	}
	if after := e.getModel(id); !reflect.DeepEqual(after, before) {
		t.Fatalf("failed calls changed the model:\n%v\nwas\n%v", after, before)
	}
	// Writing nothing to a model that exists is fine.
	e.ok("PATCH", api+lm+"/tags", `{}`)
	e.ok("POST", api+lm+"/params", `{"model_id":"`+id+`"}`)
}

func TestLoggedModelStatusDecode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"LOGGED_MODEL_READY"`: core.LoggedModelReady, `2`: core.LoggedModelReady, `"2"`: core.LoggedModelReady,
		`"LOGGED_MODEL_UPLOAD_FAILED"`: core.LoggedModelFailed, `3`: core.LoggedModelFailed,
		`"LOGGED_MODEL_PENDING"`: core.LoggedModelPending, `1`: core.LoggedModelPending,
		`"LOGGED_MODEL_STATUS_UNSPECIFIED"`: "", `0`: "",
	} {
		var v loggedModelStatus
		if err := json.Unmarshal([]byte(in), &v); err != nil || !v.Set || v.V != want {
			t.Fatalf("%s: %+v %v, want %q", in, v, err, want)
		}
	}
	for _, in := range []string{`"READY"`, `4`, `-1`, `"ready"`, `1.5`, `true`} {
		var v loggedModelStatus
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Fatalf("%s decoded as %+v", in, v)
		}
	}
	var v loggedModelStatus
	if err := json.Unmarshal([]byte(`null`), &v); err != nil || v.Set {
		t.Fatalf("null: %+v %v", v, err)
	}
}

// names lists the names of a search answer, in order.
func names(b map[string]any) []string {
	var out []string
	l, _ := b["models"].([]any)
	for _, m := range l {
		out = append(out, str(get(m, "info", "name")))
	}
	return out
}

func TestSearchLoggedModels(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("search")
	other := e.createExperiment("other")
	run := e.createRun(exp)
	ids := map[string]string{}
	for _, n := range []string{"bravo", "alpha", "charlie"} {
		ids[n] = str(get(e.createModel(`{"experiment_id":"`+exp+`","name":"`+n+`","tags":[{"key":"who","value":"`+n+`"}]}`), "info", "model_id"))
	}
	e.createModel(`{"experiment_id":"` + other + `","name":"elsewhere"}`)
	// acc per model: on dataset "eval" alpha 0.9, bravo 0.5; charlie 0.99 on "train" only.
	e.ok("POST", api+"/runs/log-batch", jsonOf(t, map[string]any{"run_id": run, "metrics": []map[string]any{
		{"key": "acc", "value": 0.9, "timestamp": 1, "model_id": ids["alpha"], "dataset_name": "eval", "dataset_digest": "d1"},
		{"key": "acc", "value": 0.5, "timestamp": 1, "model_id": ids["bravo"], "dataset_name": "eval", "dataset_digest": "d1"},
		{"key": "acc", "value": 0.99, "timestamp": 1, "model_id": ids["charlie"], "dataset_name": "train", "dataset_digest": "d2"},
	}}))
	e.ok("PATCH", api+"/logged-models/"+ids["bravo"], `{"status":"LOGGED_MODEL_READY"}`)

	searchNames := func(body string) []string {
		t.Helper()
		return names(e.ok("POST", api+"/logged-models/search", body))
	}
	x := `"experiment_ids":["` + exp + `"]`
	tests := []struct {
		body string
		want []string
	}{
		{`{` + x + `,"order_by":[{"field_name":"name"}]}`, []string{"alpha", "bravo", "charlie"}},
		{`{` + x + `,"order_by":[{"field_name":"name","ascending":false}]}`, []string{"charlie", "bravo", "alpha"}},
		{`{"experiment_ids":["` + exp + `","` + other + `"],"order_by":[{"field_name":"name"}]}`, []string{"alpha", "bravo", "charlie", "elsewhere"}},
		{`{` + x + `,"order_by":[{"field_name":"metrics.acc","ascending":false}]}`, []string{"charlie", "alpha", "bravo"}},
		{`{` + x + `,"order_by":[{"field_name":"metrics.acc","ascending":false,"dataset_name":"eval"}]}`, []string{"alpha", "bravo", "charlie"}},
		{`{` + x + `,"filter":"metrics.acc > 0.6","order_by":[{"field_name":"name"}]}`, []string{"alpha", "charlie"}},
		{`{` + x + `,"filter":"metrics.acc > 0.6","datasets":[{"dataset_name":"eval"}]}`, []string{"alpha"}},
		{`{` + x + `,"filter":"name = 'bravo'"}`, []string{"bravo"}},
		{`{` + x + `,"filter":"tags.who = 'charlie'"}`, []string{"charlie"}},
		{`{` + x + `,"filter":"status = 'READY'"}`, []string{"bravo"}},
		{`{` + x + `,"filter":"name = 'nobody'"}`, nil},
	}
	for _, tt := range tests {
		if got := searchNames(tt.body); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.body, got, tt.want)
		}
	}
	// Paging: max_results 1 walks the three models with next_page_token.
	var seen []string
	token := ""
	for i := 0; i < 4; i++ {
		b := e.ok("POST", api+"/logged-models/search", `{`+x+`,"max_results":1,"order_by":[{"field_name":"name"}],"page_token":"`+token+`"}`)
		seen = append(seen, names(b)...)
		token = str(b["next_page_token"])
		if token == "" {
			break
		}
	}
	if !reflect.DeepEqual(seen, []string{"alpha", "bravo", "charlie"}) || token != "" {
		t.Fatalf("pages %v, last token %q", seen, token)
	}
	// The models carry their metrics, with run and dataset.
	b := e.ok("POST", api+"/logged-models/search", `{`+x+`,"filter":"name = 'alpha'"}`)
	if m := get(b, "models", 0, "data", "metrics", 0); get(m, "key") != "acc" || get(m, "value") != 0.9 ||
		get(m, "run_id") != run || get(m, "model_id") != ids["alpha"] || get(m, "dataset_name") != "eval" || get(m, "dataset_digest") != "d1" {
		t.Fatalf("metric %v", m)
	}
	// An empty answer still has the models list, and no token.
	if r := e.do("POST", api+"/logged-models/search", `{`+x+`,"filter":"name = 'nobody'"}`); string(r.raw) != `{"models":[]}`+"\n" {
		t.Fatalf("empty answer %s", r.raw)
	}
}

func TestSearchLoggedModelsErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	badFilter := "metrics.auc >> 1"
	_, perr := search.ParseLoggedModelFilter(badFilter)
	if perr == nil {
		t.Fatalf("the parser accepts %q", badFilter)
	}
	x := `"experiment_ids":["0"]`
	tests := []struct{ body, msg string }{
		{`{`, "Malformed request body"},
		{`{}`, "Missing value for required parameter 'experiment_ids'"},
		{`{"experiment_ids":[]}`, "Missing value for required parameter 'experiment_ids'"},
		{`{"experiment_ids":["x"]}`, "Invalid experiment ID"},
		{`{` + x + `,"max_results":-1}`, "positive integer"},
		{`{` + x + `,"max_results":1001}`, "at most 1000"},
		{`{` + x + `,"filter":` + jsonOf(t, badFilter) + `}`, core.ErrorMessage(perr)},
		{`{` + x + `,"order_by":[{"field_name":"nope"}]}`, "Invalid order by field name: nope"},
		{`{` + x + `,"order_by":[{"field_name":"params.lr"}]}`, "Only metrics are supported"},
		{`{` + x + `,"order_by":[{"field_name":"metrics."}]}`, "Invalid order by field name"},
		{`{` + x + `,"datasets":[{"dataset_digest":"d"}]}`, "`dataset_name` in the `datasets` clause must be specified."},
		{`{` + x + `,"page_token":"garbage"}`, ""},
	}
	for _, tt := range tests {
		e.fail("POST", api+"/logged-models/search", tt.body, 400, codeInvalidParameterValue, tt.msg)
	}
	// Attribute aliases and a max_results of 0 (MLflow's "not given") are accepted.
	for _, f := range []string{"creation_time", "creation_timestamp", "last_updated_timestamp", "model_id", "status"} {
		e.ok("POST", api+"/logged-models/search", `{`+x+`,"max_results":0,"order_by":[{"field_name":"`+f+`"}]}`)
	}
	// The UI's prefix serves the same search.
	e.ok("POST", "/ajax-api/2.0/mlflow/logged-models/search", `{`+x+`}`)
}

func TestLoggedModelArtifacts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("files")
	m := e.createModel(`{"experiment_id":"` + exp + `"}`)
	id, root := str(get(m, "info", "model_id")), str(get(m, "info", "artifact_uri"))
	key, ok := proxiedKey(root)
	if !ok {
		t.Fatalf("artifact uri %q is not proxied", root)
	}
	e.ok("PUT", artAPI+"/artifacts/"+key+"/MLmodel", "flavors: {}\n")
	e.ok("PUT", artAPI+"/artifacts/"+key+"/sub/w.bin", "12345")
	e.ok("PUT", artAPI+"/artifacts/"+exp+"/secret.txt", "not the model's") // beside the model

	list := func(q string) (string, map[string]any) {
		t.Helper()
		b := e.ok("GET", api+"/logged-models/"+id+"/artifacts/directories"+q, "")
		files := map[string]any{}
		l, _ := b["files"].([]any)
		for _, f := range l {
			files[str(get(f, "path"))] = []any{get(f, "is_dir"), get(f, "file_size")}
		}
		return str(b["root_uri"]), files
	}
	gotRoot, files := list("")
	if gotRoot != root || !reflect.DeepEqual(files, map[string]any{
		"MLmodel": []any{false, float64(12)}, "sub": []any{true, nil}}) {
		t.Fatalf("root listing %q %v", gotRoot, files)
	}
	if _, files = list("?artifact_directory_path=sub&page_token=ignored"); !reflect.DeepEqual(files, map[string]any{"sub/w.bin": []any{false, float64(5)}}) {
		t.Fatalf("sub listing %v", files)
	}
	if _, files = list("?artifact_directory_path=missing"); len(files) != 0 {
		t.Fatalf("missing folder %v", files)
	}
	for _, p := range []string{"..", "../..", "sub/../..", "%2e%2e", "/abs"} {
		e.fail("GET", api+"/logged-models/"+id+"/artifacts/directories?artifact_directory_path="+url.QueryEscape(p), "",
			400, codeInvalidParameterValue, "Invalid path")
	}
}
