package mlflow

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// createVersion registers source under name (runID may be "") and returns the version.
func (e *env) createVersion(name, source, runID string) map[string]any {
	e.t.Helper()
	req := map[string]any{"name": name, "source": source}
	if runID != "" {
		req["run_id"] = runID
	}
	return e.ok("POST", api+"/model-versions/create", jsonOf(e.t, req))["model_version"].(map[string]any)
}

func (e *env) runArtifactURI(runID string) string {
	e.t.Helper()
	return str(get(e.ok("GET", api+"/runs/get?run_id="+runID, ""), "run", "info", "artifact_uri"))
}

// loggedModel creates a logged model in experiment exp through the store.
func (e *env) loggedModel(exp, runID string) core.LoggedModel {
	e.t.Helper()
	m, err := e.st.CreateLoggedModel(context.Background(), core.LoggedModel{ExperimentID: exp, Name: "lm", SourceRunID: runID})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) loggedModelTag(id, key string) string {
	e.t.Helper()
	m, err := e.st.GetLoggedModel(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range m.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func TestModelVersionLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("e")
	run := e.createRun(exp)
	e.createRegModel("m")
	body := `{"name":"m","source":"runs:/` + run + `/model","run_id":"` + run + `","description":"d1","run_link":"http://x/run",` +
		`"tags":[{"key":"flavor","value":"sklearn"}]}`
	r := e.do("POST", api+"/model-versions/create", body, "Authorization", "Basic Ym9iOnk=") // bob:y
	mv := r.body["model_version"]
	if r.status != 200 || get(mv, "name") != "m" || get(mv, "version") != "1" || get(mv, "current_stage") != "None" ||
		get(mv, "status") != "READY" || get(mv, "source") != "runs:/"+run+"/model" || get(mv, "run_id") != run ||
		get(mv, "user_id") != "bob" || get(mv, "description") != "d1" || get(mv, "run_link") != "http://x/run" ||
		tagsOf(get(mv, "tags"))["flavor"] != "sklearn" || get(mv, "creation_timestamp") == nil {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	// The source's run id stands in for a missing run_id.
	if v2 := e.createVersion("m", "runs:/"+run+"/model", ""); get(v2, "version") != "2" || get(v2, "run_id") != run {
		t.Fatalf("v2: %v", v2)
	}
	// An artifact URI inside the run.
	uri := e.runArtifactURI(run)
	if v3 := e.createVersion("m", uri+"/other", run); get(v3, "version") != "3" || get(v3, "source") != uri+"/other" {
		t.Fatalf("v3: %v", v3)
	}

	for _, p := range []string{api, ajax} {
		got := e.ok("GET", p+"/model-versions/get?name=m&version=1", "")["model_version"]
		if get(got, "version") != "1" || get(got, "description") != "d1" {
			t.Fatalf("get on %s: %v", p, got)
		}
		d := e.ok("GET", p+"/model-versions/get-download-uri?name=m&version=1", "")
		if d["artifact_uri"] != uri+"/model" {
			t.Fatalf("download uri: %v", d)
		}
	}
	if d := e.ok("GET", api+"/model-versions/get-download-uri?name=m&version=3", ""); d["artifact_uri"] != uri+"/other" {
		t.Fatalf("download uri v3: %v", d)
	}
	e.fail("GET", api+"/model-versions/get?name=m&version=x", "", 400, codeInvalidParameterValue, "Parameter 'version' must be an integer, got 'x'.")
	e.fail("GET", api+"/model-versions/get?name=m", "", 400, codeInvalidParameterValue, "Missing value for required parameter 'version'")
	e.fail("GET", api+"/model-versions/get?version=1", "", 400, codeInvalidParameterValue, "Missing value for required parameter 'name'")
	e.fail("GET", api+"/model-versions/get?name=m&version=9", "", 404, codeResourceDoesNotExist, "")
	e.fail("GET", api+"/model-versions/get?name=nope&version=1", "", 404, codeResourceDoesNotExist, "")
	e.fail("GET", api+"/model-versions/get-download-uri?name=m&version=9", "", 404, codeResourceDoesNotExist, "")
	e.fail("GET", api+"/model-versions/get-download-uri?name=m&version=1.5", "", 400, codeInvalidParameterValue, "must be an integer")

	u := e.ok("PATCH", api+"/model-versions/update", `{"name":"m","version":"1","description":"d2"}`)["model_version"]
	if get(u, "description") != "d2" || get(u, "version") != "1" {
		t.Fatalf("update: %v", u)
	}
	e.fail("PATCH", api+"/model-versions/update", `{"name":"m","version":"9","description":"x"}`, 404, codeResourceDoesNotExist, "")

	e.ok("POST", api+"/model-versions/set-tag", `{"name":"m","version":"1","key":"checked","value":"yes"}`)
	e.ok("DELETE", api+"/model-versions/delete-tag", `{"name":"m","version":"1","key":"flavor"}`)
	if got := e.ok("GET", api+"/model-versions/get?name=m&version=1", "")["model_version"]; len(tagsOf(get(got, "tags"))) != 1 || tagsOf(get(got, "tags"))["checked"] != "yes" {
		t.Fatalf("tags: %v", get(got, "tags"))
	}
	e.ok("DELETE", api+"/model-versions/delete-tag?name=m&version=1&key=checked", "")
	if got := e.ok("GET", api+"/model-versions/get?name=m&version=1", "")["model_version"]; get(got, "tags") != nil {
		t.Fatalf("tags after query-form delete: %v", get(got, "tags"))
	}
	e.fail("POST", api+"/model-versions/set-tag", `{"name":"m","version":"9","key":"k","value":"v"}`, 404, codeResourceDoesNotExist, "")
	e.fail("POST", api+"/model-versions/set-tag", `{"name":"m","version":"a","key":"k","value":"v"}`, 400, codeInvalidParameterValue, "got 'a'")
	e.fail("POST", api+"/model-versions/set-tag", `{"name":"m","version":"1","key":"../k","value":"v"}`, 400, codeInvalidParameterValue, "resolve to")
	e.fail("DELETE", api+"/model-versions/delete-tag", `{"name":"m","version":"1"}`, 400, codeInvalidParameterValue, "'key'")

	e.ok("DELETE", api+"/model-versions/delete", `{"name":"m","version":"2"}`)
	e.fail("GET", api+"/model-versions/get?name=m&version=2", "", 404, codeResourceDoesNotExist, "")
	e.fail("DELETE", api+"/model-versions/delete", `{"name":"m","version":"2"}`, 404, codeResourceDoesNotExist, "")
	e.fail("DELETE", api+"/model-versions/delete", `{"name":"m","version":"two"}`, 400, codeInvalidParameterValue, "got 'two'")
	e.ok("DELETE", api+"/model-versions/delete?name=m&version=3", "")
	// Numbers are not reused.
	if v := e.createVersion("m", "runs:/"+run+"/model", run); get(v, "version") != "4" {
		t.Fatalf("after deletes: %v", v)
	}
}

func TestModelVersionStages(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run := e.createRun("0")
	e.createRegModel("m")
	for i := 0; i < 3; i++ {
		e.createVersion("m", "runs:/"+run+"/model", run)
	}
	stage := func(v, st string, archive bool) map[string]any {
		return e.ok("POST", api+"/model-versions/transition-stage", jsonOf(t, map[string]any{
			"name": "m", "version": v, "stage": st, "archive_existing_versions": archive}))["model_version"].(map[string]any)
	}
	if mv := stage("1", "production", false); get(mv, "current_stage") != "Production" {
		t.Fatalf("stage: %v", mv)
	}
	stage("2", "Staging", false)
	stage("3", "Production", true)
	stages := map[string]string{}
	for _, mv := range asList(e.ok("GET", api+"/model-versions/search?filter="+url.QueryEscape("name = 'm'"), "")["model_versions"]) {
		stages[str(get(mv, "version"))] = str(get(mv, "current_stage"))
	}
	if stages["1"] != "Archived" || stages["2"] != "Staging" || stages["3"] != "Production" {
		t.Fatalf("stages: %v", stages)
	}
	latest := func(method, path, body string) map[string]string {
		out := map[string]string{}
		for _, mv := range asList(e.ok(method, path, body)["model_versions"]) {
			out[str(get(mv, "current_stage"))] = str(get(mv, "version"))
		}
		return out
	}
	if l := latest("POST", api+"/registered-models/get-latest-versions", `{"name":"m"}`); len(l) != 3 || l["Archived"] != "1" || l["Staging"] != "2" || l["Production"] != "3" {
		t.Fatalf("latest: %v", l)
	}
	if l := latest("POST", api+"/registered-models/get-latest-versions", `{"name":"m","stages":["staging"]}`); len(l) != 1 || l["Staging"] != "2" {
		t.Fatalf("latest staging: %v", l)
	}
	if l := latest("GET", ajax+"/registered-models/get-latest-versions?name=m&stages=Staging&stages=Production", ""); len(l) != 2 || l["Production"] != "3" {
		t.Fatalf("latest by GET: %v", l)
	}
	if m := e.ok("GET", api+"/registered-models/get?name=m", "")["registered_model"]; len(asList(get(m, "latest_versions"))) != 3 {
		t.Fatalf("registered model latest_versions: %v", get(m, "latest_versions"))
	}
	e.fail("POST", api+"/registered-models/get-latest-versions", `{"name":"m","stages":["Prod"]}`, 400, codeInvalidParameterValue,
		"Invalid Model Version stage: Prod. Value must be one of None, Staging, Production, Archived.")
	e.fail("POST", api+"/registered-models/get-latest-versions", `{"name":"nope"}`, 404, codeResourceDoesNotExist, "")

	for _, tt := range []struct{ body, msg string }{
		{`{"name":"m","version":"2","stage":"Prod"}`, "Invalid Model Version stage: Prod"},
		{`{"name":"m","version":"2"}`, "'stage'"},
		{`{"name":"m","version":"2","stage":"Archived","archive_existing_versions":true}`, "'Archived' is not an Active stage"},
		{`{"name":"m","version":"2","stage":"Staging","archive_existing_versions":"maybe"}`, "Invalid boolean value"},
		{`{"name":"m","version":"x","stage":"Staging"}`, "got 'x'"},
	} {
		e.fail("POST", api+"/model-versions/transition-stage", tt.body, 400, codeInvalidParameterValue, tt.msg)
	}
	e.fail("POST", api+"/model-versions/transition-stage", `{"name":"m","version":"9","stage":"Staging"}`, 404, codeResourceDoesNotExist, "")
	if mv := e.ok("GET", api+"/model-versions/get?name=m&version=2", "")["model_version"]; get(mv, "current_stage") != "Staging" {
		t.Fatalf("refused transitions changed v2: %v", mv)
	}
}

func TestSearchModelVersions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run1, run2 := e.createRun("0"), e.createRun("0")
	e.createRegModel("a")
	e.createRegModel("b")
	for i := 0; i < 3; i++ {
		e.createVersion("a", "runs:/"+run1+"/model", run1)
	}
	e.createVersion("b", "runs:/"+run2+"/model", run2)
	versions := func(filter string, extra ...string) string {
		v := url.Values{"filter": {filter}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		var out []string
		for _, mv := range asList(e.ok("GET", api+"/model-versions/search?"+v.Encode(), "")["model_versions"]) {
			out = append(out, str(get(mv, "name"))+"/"+str(get(mv, "version")))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct{ got, want string }{
		{versions("name = 'a'", "order_by", "version_number ASC"), "a/1 a/2 a/3"},
		{versions("name = 'a' AND version_number > 1", "order_by", "version_number DESC"), "a/3 a/2"},
		{versions("run_id = '" + run2 + "'"), "b/1"},
		{versions("", "order_by", "name DESC", "order_by", "version_number ASC"), "b/1 a/1 a/2 a/3"},
		{versions("name = 'nobody'"), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	p1 := e.ok("GET", api+"/model-versions/search?max_results=3&order_by=name&order_by=version_number", "")
	if len(asList(p1["model_versions"])) != 3 || p1["next_page_token"] == nil {
		t.Fatalf("page 1: %v", p1)
	}
	p2 := e.ok("GET", api+"/model-versions/search?max_results=3&order_by=name&order_by=version_number&page_token="+url.QueryEscape(str(p1["next_page_token"])), "")
	if l := asList(p2["model_versions"]); len(l) != 1 || get(l, 0, "name") != "b" {
		t.Fatalf("page 2: %v", p2)
	}
	for _, tt := range []struct{ query, msg string }{
		{"filter=" + url.QueryEscape("version_number = 'x'"), "version_number"},
		{"filter=" + url.QueryEscape("metrics.x > 1"), "Invalid entity type"},
		{"order_by=" + url.QueryEscape("tags.x"), ""},
		{"order_by=bogus", "Invalid order by key"},
		{"max_results=200001", "It must be at most 200000"},
	} {
		e.fail("GET", api+"/model-versions/search?"+tt.query, "", 400, codeInvalidParameterValue, tt.msg)
	}
}

func TestCreateModelVersionValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("e")
	run, other := e.createRun(exp), e.createRun(exp)
	uri := e.runArtifactURI(run)
	e.createRegModel("m")
	lm := e.loggedModel(exp, run)
	for _, tt := range []struct {
		req    map[string]any
		status int
		code   string
		msg    string
	}{
		{map[string]any{"source": "runs:/" + run + "/m"}, 400, codeInvalidParameterValue, "Missing value for required parameter 'name'"},
		{map[string]any{"name": "m"}, 400, codeInvalidParameterValue, "Missing value for required parameter 'source'"},
		{map[string]any{"name": "a/b", "source": "s3://b/x"}, 400, codeInvalidParameterValue, "cannot contain '/' or ':'"},
		{map[string]any{"name": "nope", "source": "runs:/" + run + "/m", "run_id": run}, 404, codeResourceDoesNotExist, ""},
		{map[string]any{"name": "m", "source": "s3://b/x", "tags": []map[string]string{{"key": "a b!", "value": "v"}}}, 400, codeInvalidParameterValue, "Names may only contain"},
		// Relative paths, however encoded.
		{map[string]any{"name": "m", "source": "s3://b/x/../../etc"}, 400, codeInvalidParameterValue, "an absolute path must be provided"},
		{map[string]any{"name": "m", "source": "s3://b/x/%2e%2e/y"}, 400, codeInvalidParameterValue, "an absolute path must be provided"},
		{map[string]any{"name": "m", "source": "s3://b/x/./y"}, 400, codeInvalidParameterValue, "an absolute path must be provided"},
		{map[string]any{"name": "m", "source": "mlflow-artifacts:/" + strings.TrimPrefix(uri, "mlflow-artifacts:/") + "/%252e%252e/x", "run_id": run}, 400, codeInvalidParameterValue, "absolute path"},
		// Lineage: the source must lie in the resources the request names.
		{map[string]any{"name": "m", "source": "runs:/" + run + "/m", "run_id": other}, 400, codeInvalidParameterValue, "The run_id request parameter must identify the resource that contains the source."},
		{map[string]any{"name": "m", "source": "runs://host/" + run + "/m", "run_id": run}, 400, codeInvalidParameterValue, "run_id request parameter"},
		{map[string]any{"name": "m", "source": uri + "/model", "run_id": other}, 400, codeInvalidParameterValue, "run_id request parameter"},
		{map[string]any{"name": "m", "source": uri + "/model"}, 400, codeInvalidParameterValue, "run_id request parameter"},
		{map[string]any{"name": "m", "source": uri + "/model", "run_id": "0123456789abcdef0123456789abcdef"}, 400, codeInvalidParameterValue, "run_id request parameter"},
		{map[string]any{"name": "m", "source": "/tmp/model", "run_id": run}, 400, codeInvalidParameterValue, "To use a local path as a model version source"},
		{map[string]any{"name": "m", "source": "file:///tmp/model"}, 400, codeInvalidParameterValue, "To use a local path"},
		{map[string]any{"name": "m", "source": "models:/" + lm.ID, "model_id": "m-0123"}, 400, codeInvalidParameterValue, "The model_id request parameter must identify"},
		{map[string]any{"name": "m", "source": "runs:/" + run + "/m", "model_id": lm.ID}, 400, codeInvalidParameterValue, "model_id request parameter"},
		{map[string]any{"name": "m", "source": uri + "/model", "model_id": lm.ID}, 400, codeInvalidParameterValue, "model_id request parameter"},
		{map[string]any{"name": "m", "source": "models://host/" + lm.ID}, 400, codeInvalidParameterValue, "must use the active model registry"},
		{map[string]any{"name": "m", "source": "models:/a/b/c"}, 400, codeInvalidParameterValue, "model_id request parameter"},
		{map[string]any{"name": "m", "source": "models:/m/7"}, 404, codeResourceDoesNotExist, ""},
		{map[string]any{"name": "m", "source": "dummy-source", "tags": []map[string]string{{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "x", "value": "1"}, {"key": "mlflow.prompt.is_prompt", "value": "false"}}},
			400, codeInvalidParameterValue, "To use a local path"},
		{map[string]any{"name": "m", "source": "s3://b/x", "tags": []map[string]string{{"key": "mlflow.prompt.is_prompt", "value": "TRUE"}}}, 400, codeInvalidParameterValue, "Invalid prompt source: 's3://b/x'"},
	} {
		e.fail("POST", api+"/model-versions/create", jsonOf(t, tt.req), tt.status, tt.code, tt.msg)
	}
	if l := e.ok("GET", api+"/model-versions/search", ""); len(l) != 0 {
		t.Fatalf("refused creates left versions: %v", l)
	}
	// What is allowed: object-store URIs, a models:/ copy, a prompt placeholder.
	if v := e.createVersion("m", "s3://bucket/models/x", ""); get(v, "version") != "1" || get(v, "run_id") != nil {
		t.Fatalf("s3 source: %v", v)
	}
	e.createVersion("m", "runs:/"+run+"/model", run)
	e.ok("POST", api+"/registered-models/alias", `{"name":"m","alias":"champion","version":"2"}`)
	cp := e.createVersion("m", "models:/m@champion", "")
	if get(cp, "source") != "models:/m/2" || get(cp, "run_id") != run {
		t.Fatalf("copy by alias: %v", cp)
	}
	if d := e.ok("GET", api+"/model-versions/get-download-uri?name=m&version=3", ""); d["artifact_uri"] != uri+"/model" {
		t.Fatalf("copy's files: %v", d)
	}
	e.fail("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "m", "source": "models:/m/2", "run_id": other}),
		400, codeInvalidParameterValue, "must match the referenced model version")
	if v := e.createVersion("m", "models:/m/latest", run); get(v, "source") != "models:/m/3" {
		t.Fatalf("copy of latest: %v", v)
	}
	p := e.ok("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "m", "source": "dummy-source",
		"tags": []map[string]string{{"key": "mlflow.prompt.is_prompt", "value": "true"}}}))["model_version"]
	if get(p, "source") != "dummy-source" {
		t.Fatalf("prompt version: %v", p)
	}
}

func TestModelVersionsTagOnLoggedModel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("e")
	run := e.createRun(exp)
	lm := e.loggedModel(exp, run)
	e.createRegModel("a")
	e.createRegModel("b")
	mv := e.ok("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "a", "source": "models:/" + lm.ID, "model_id": lm.ID}))["model_version"]
	if get(mv, "model_id") != lm.ID || get(mv, "run_id") != run || get(mv, "source") != "models:/"+lm.ID {
		t.Fatalf("version of a logged model: %v", mv)
	}
	if d := e.ok("GET", api+"/model-versions/get-download-uri?name=a&version=1", ""); d["artifact_uri"] != lm.ArtifactURI {
		t.Fatalf("download uri %v, want %s", d, lm.ArtifactURI)
	}
	if got := e.loggedModelTag(lm.ID, tagModelVersions); got != `[{"name": "a", "version": 1}]` {
		t.Fatalf("tag after one registration: %q", got)
	}
	// Without model_id (taken from the source), into another model.
	e.createVersion("b", "models:/"+lm.ID, "")
	// An artifact URI inside the logged model, with model_id.
	e.ok("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "a", "source": lm.ArtifactURI + "/sub", "model_id": lm.ID}))
	want := `[{"name": "a", "version": 1}, {"name": "b", "version": 1}, {"name": "a", "version": 2}]`
	if got := e.loggedModelTag(lm.ID, tagModelVersions); got != want {
		t.Fatalf("tag after three registrations: %q", got)
	}
	// A run-based version leaves logged models alone.
	e.createVersion("a", "runs:/"+run+"/model", run)
	if got := e.loggedModelTag(lm.ID, tagModelVersions); got != want {
		t.Fatalf("tag changed by a run registration: %q", got)
	}
	e.fail("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "a", "source": "models:/m-00000000000000000000000000000000"}),
		404, codeResourceDoesNotExist, "")
}

func TestAppendModelVersion(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		old, want string
		changed   bool
	}{
		{"", `[{"name": "m", "version": 2}]`, true},
		{`[]`, `[{"name": "m", "version": 2}]`, true},
		{`[{"name":"m","version":1}]`, `[{"name": "m", "version": 1}, {"name": "m", "version": 2}]`, true},
		{`[{"name": "m", "version": 2}]`, `[{"name": "m", "version": 2}]`, false},
		{`[{"name": "m", "version": "2"}]`, `[{"name": "m", "version": "2"}]`, false},
		{`[{"name": "x\"y", "version": "2"}]`, `[{"name": "x\"y", "version": "2"}, {"name": "m", "version": 2}]`, true},
	} {
		got, changed, err := appendModelVersion(tt.old, "m", 2)
		if err != nil || got != tt.want || changed != tt.changed {
			t.Errorf("%s: %q %v %v", tt.old, got, changed, err)
		}
	}
	if _, _, err := appendModelVersion(`{"not":"a list"}`, "m", 1); err == nil {
		t.Error("malformed tag accepted")
	}
}

func TestSourceHelpers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		uri                 string
		scheme, host, path_ string
	}{
		{"mlflow-artifacts:/1/r/artifacts", "mlflow-artifacts", "", "/1/r/artifacts"},
		{"MLFLOW-ARTIFACTS://h:5000/1/x?q#f", "mlflow-artifacts", "h:5000", "/1/x"},
		{"/tmp/a:b", "", "", "/tmp/a:b"},
		{"s3://bucket", "s3", "bucket", ""},
		{"models:/m@champion", "models", "", "/m@champion"},
	} {
		if s, h, p := splitURI(tt.uri); s != tt.scheme || h != tt.host || p != tt.path_ {
			t.Errorf("splitURI(%q) = %q %q %q", tt.uri, s, h, p)
		}
	}
	for uri, want := range map[string]modelURI{
		"models:/m-abc":       {modelID: "m-abc"},
		"models:/name/12":     {name: "name", version: "12"},
		"models:/name/LATEST": {name: "name"},
		"models:/name/prod":   {name: "name", stage: "prod"},
		"models:/a@b@c":       {name: "a@b", alias: "c"},
	} {
		if got, err := parseModelURI(uri); err != nil || got != want {
			t.Errorf("parseModelURI(%q) = %+v %v", uri, got, err)
		}
	}
	for _, bad := range []string{"models:/", "models:/a/b/c", "models:/a/ ", "models:/a@", "runs:/x"} {
		if _, err := parseModelURI(bad); err == nil {
			t.Errorf("parseModelURI(%q) accepted", bad)
		}
	}
	within := []struct {
		src, root string
		want      bool
	}{
		{"mlflow-artifacts:/1/r/artifacts/model", "mlflow-artifacts:/1/r/artifacts", true},
		{"mlflow-artifacts:/1/r/artifacts", "mlflow-artifacts:/1/r/artifacts", true},
		{"mlflow-artifacts:/1/r/artifacts2", "mlflow-artifacts:/1/r/artifacts", false},
		{"mlflow-artifacts:/1/r/art%69facts/x", "mlflow-artifacts:/1/r/artifacts", true},
		{"mlflow-artifacts://h/1/r/artifacts/x", "mlflow-artifacts:/1/r/artifacts", false},
		{"mlflow-artifacts:/x", "mlflow-artifacts:/", false},
	}
	for _, tt := range within {
		if got := uriWithin(tt.src, tt.root); got != tt.want {
			t.Errorf("uriWithin(%q, %q) = %v", tt.src, tt.root, got)
		}
	}
	for src, want := range map[string]bool{
		"http://h/api/2.0/mlflow-artifacts/artifacts/1/x": true,
		"https://h/p/api/2.0/mlflow-artifacts/artifacts":  true,
		"http://h/api/2.0/mlflow/artifacts/x":             false,
		"s3://b/api/2.0/mlflow-artifacts/artifacts/x":     false,
	} {
		if isProxiedSource(src) != want {
			t.Errorf("isProxiedSource(%q) != %v", src, want)
		}
	}
	for uri, want := range map[string]bool{"/tmp/x": true, "rel/x": true, "file:///x": true, "file://localhost/x": true,
		"file://remote/x": false, "s3://b/x": false} {
		if isLocalURI(uri) != want {
			t.Errorf("isLocalURI(%q) != %v", uri, want)
		}
	}
	if !localWithin("file:///data/runs/1/artifacts/model", "/data/runs/1/artifacts") || localWithin("/data/runs/10/x", "/data/runs/1") {
		t.Error("localWithin")
	}
	if pyUnquote("a%2Fb%zz%4", false) != "a/b%zz%4" || pyUnquote("a+b%2B", true) != "a b+" {
		t.Error("pyUnquote")
	}
}

func TestApprovedVersionFilesAreLocked(t *testing.T) {
	t.Parallel()
	e := setup(t)
	exp := e.createExperiment("e")
	run := e.createRun(exp)
	lm, free := e.loggedModel(exp, run), e.loggedModel(exp, run)
	key := strings.TrimPrefix(lm.ArtifactURI, "mlflow-artifacts:/")
	freeKey := strings.TrimPrefix(free.ArtifactURI, "mlflow-artifacts:/")
	e.ok("PUT", artAPI+"/artifacts/"+key+"/MLmodel", "flavors: {}")
	e.createRegModel("m")
	e.ok("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "m", "source": "models:/" + lm.ID, "model_id": lm.ID}))
	e.ok("POST", api+"/model-versions/create", jsonOf(t, map[string]any{"name": "m", "source": "models:/" + free.ID, "model_id": free.ID}))

	// Pending: still writable.
	e.ok("PUT", artAPI+"/artifacts/"+key+"/MLmodel", "flavors: {sklearn: {}}")
	if _, err := e.st.SetApproval(context.Background(), "m", 1, core.ApprovalApproved, "alice", "reviewed"); err != nil {
		t.Fatal(err)
	}
	const msg = "belongs to approved version 1 of model 'm' and cannot be changed; register a new version instead"
	e.fail("PUT", artAPI+"/artifacts/"+key+"/MLmodel", "tampered", 400, codeInvalidParameterValue, msg)
	e.fail("PUT", artAPI+"/artifacts/"+key+"/new.bin", "added", 400, codeInvalidParameterValue, msg)
	e.fail("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/"+key+"/MLmodel", "tampered", 400, codeInvalidParameterValue, msg)
	e.fail("DELETE", artAPI+"/artifacts/"+key+"/MLmodel", "", 400, codeInvalidParameterValue, msg)
	// Deleting a folder that holds the files is a change to them too.
	e.fail("DELETE", artAPI+"/artifacts/"+exp+"/models", "", 400, codeInvalidParameterValue, "approved version 1")
	e.fail("DELETE", artAPI+"/artifacts/"+exp, "", 400, codeInvalidParameterValue, "approved version 1")
	// Multipart: every step that writes.
	e.fail("POST", artAPI+"/mpu/create/"+key, `{"path":"/tmp/big.bin","num_parts":1}`, 400, codeInvalidParameterValue, msg)
	e.fail("PUT", artAPI+"/mpu/upload-part/"+key+"/big.bin?upload_id=0123456789abcdef0123456789abcdef&part_number=1", "part", 400, codeInvalidParameterValue, msg)
	e.fail("POST", artAPI+"/mpu/complete/"+key, `{"path":"big.bin","upload_id":"0123456789abcdef0123456789abcdef","parts":[{"part_number":1,"etag":"x"}]}`,
		400, codeInvalidParameterValue, msg)

	r := e.do("GET", artAPI+"/artifacts/"+key+"/MLmodel", "")
	if r.status != 200 || string(r.raw) != "flavors: {sklearn: {}}" {
		t.Fatalf("approved file changed: %d %q", r.status, r.raw)
	}
	if l := e.ok("GET", artAPI+"/artifacts?path="+url.QueryEscape(key), ""); len(asList(l["files"])) != 1 {
		t.Fatalf("approved folder changed: %v", l)
	}

	// The unapproved version's files, a sibling folder and the run's own files stay writable.
	e.ok("PUT", artAPI+"/artifacts/"+freeKey+"/MLmodel", "x")
	e.ok("DELETE", artAPI+"/artifacts/"+freeKey+"/MLmodel", "")
	runKey := strings.TrimPrefix(e.runArtifactURI(run), "mlflow-artifacts:/")
	e.ok("PUT", artAPI+"/artifacts/"+runKey+"/notes.txt", "x")
	e.ok("PUT", artAPI+"/artifacts/"+key+"-sibling/x", "x")
	c := e.ok("POST", artAPI+"/mpu/create/"+freeKey, `{"path":"big.bin","num_parts":1}`)
	e.ok("POST", artAPI+"/mpu/abort/"+freeKey, jsonOf(t, map[string]any{"path": "big.bin", "upload_id": c["upload_id"]}))

	// A rejected version's files are not locked.
	if _, err := e.st.SetApproval(context.Background(), "m", 2, core.ApprovalRejected, "alice", "no"); err != nil {
		t.Fatal(err)
	}
	e.ok("PUT", artAPI+"/artifacts/"+freeKey+"/MLmodel", "y")
}
