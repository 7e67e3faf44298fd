package mlflow

import (
	"net/http"
	"net/url"
	"testing"
)

func TestExperimentLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := str(e.ok("POST", api+"/experiments/create",
		`{"name":"exp-a","tags":[{"key":"team","value":"ml"}]}`)["experiment_id"])
	if id == "" || id == "0" {
		t.Fatalf("experiment id %q", id)
	}

	exp := e.ok("GET", api+"/experiments/get?experiment_id="+id, "")["experiment"]
	if get(exp, "name") != "exp-a" || get(exp, "artifact_location") != "mlflow-artifacts:/"+id ||
		get(exp, "lifecycle_stage") != "active" || get(exp, "tags", 0, "key") != "team" {
		t.Fatalf("experiment %v", exp)
	}
	if _, isNum := get(exp, "creation_time").(float64); !isNum {
		t.Fatalf("creation_time is not a JSON number: %v", exp)
	}
	byName := e.ok("GET", api+"/experiments/get-by-name?experiment_name=exp-a", "")
	if get(byName, "experiment", "experiment_id") != id {
		t.Fatalf("get-by-name %v", byName)
	}
	def := e.ok("GET", api+"/experiments/get?experiment_id=0", "")
	if get(def, "experiment", "name") != "Default" {
		t.Fatalf("default experiment %v", def)
	}

	e.ok("POST", api+"/experiments/update", `{"experiment_id":"`+id+`","new_name":"exp-b"}`)
	e.ok("POST", api+"/experiments/set-experiment-tag", `{"experiment_id":"`+id+`","key":"k","value":"v"}`)
	e.ok("POST", api+"/experiments/delete-experiment-tag", `{"experiment_id":"`+id+`","key":"team"}`)
	exp = e.ok("GET", api+"/experiments/get-by-name?experiment_name=exp-b", "")["experiment"]
	if tags := get(exp, "tags").([]any); len(tags) != 1 || get(tags, 0, "key") != "k" {
		t.Fatalf("tags after set/delete %v", exp)
	}

	e.ok("POST", api+"/experiments/delete", `{"experiment_id":"`+id+`"}`)
	if get(e.ok("GET", api+"/experiments/get?experiment_id="+id, ""), "experiment", "lifecycle_stage") != "deleted" {
		t.Fatal("experiment not deleted")
	}
	e.ok("POST", api+"/experiments/restore", `{"experiment_id":"`+id+`"}`)
	if get(e.ok("GET", api+"/experiments/get?experiment_id="+id, ""), "experiment", "lifecycle_stage") != "active" {
		t.Fatal("experiment not restored")
	}
}

func TestSearchExperiments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		e.createExperiment(n)
	}
	e.ok("POST", api+"/experiments/delete", `{"experiment_id":"`+e.createExperiment("gone")+`"}`)

	names := func(b map[string]any) []string {
		var out []string
		for _, x := range b["experiments"].([]any) {
			out = append(out, str(get(x, "name")))
		}
		return out
	}
	tests := []struct {
		name, method, q, body string
		want                  []string
	}{
		{"post filter", "POST", "", `{"filter":"name LIKE 'a%'","order_by":["name ASC"]}`, []string{"alpha"}},
		{"post order desc", "POST", "", `{"order_by":["name DESC"],"max_results":2}`, []string{"gamma", "beta"}},
		{"get query", "GET", "?filter=" + url.QueryEscape("name = 'beta'"), "", []string{"beta"}},
		{"get view type", "GET", "?view_type=DELETED_ONLY", "", []string{"gone"}},
		{"post view type number", "POST", "", `{"view_type":2}`, []string{"gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(e.with(t).ok(tt.method, api+"/experiments/search"+tt.q, tt.body))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}

	// Paging: every active experiment exactly once.
	seen := map[string]bool{}
	token := ""
	for i := 0; i < 10; i++ {
		b := e.ok("POST", api+"/experiments/search", jsonOf(t, map[string]any{"max_results": 1, "page_token": token}))
		for _, n := range names(b) {
			if seen[n] {
				t.Fatalf("%s seen twice", n)
			}
			seen[n] = true
		}
		if token = str(b["next_page_token"]); token == "" {
			break
		}
	}
	if len(seen) != 4 { // Default, alpha, beta, gamma
		t.Fatalf("paged through %v", seen)
	}
}

func TestExperimentErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.createExperiment("taken")
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"malformed json", "POST", "/experiments/create", `{"name":`, 400, codeInvalidParameterValue, "Malformed request body"},
		{"not an object", "POST", "/experiments/create", `[1,2]`, 400, codeInvalidParameterValue, "expected a JSON object"},
		{"wrong type", "POST", "/experiments/create", `{"name":5}`, 400, codeInvalidParameterValue, "field 'name'"},
		{"missing name", "POST", "/experiments/create", `{}`, 400, codeInvalidParameterValue, "Missing value for required parameter 'name'"},
		{"name too long", "POST", "/experiments/create", `{"name":"` + string(make([]byte, 0)) + longString(501) + `"}`, 400, codeInvalidParameterValue, "exceeds the maximum length of 500"},
		{"duplicate", "POST", "/experiments/create", `{"name":"taken"}`, 400, codeResourceAlreadyExists, ""},
		{"bad tag key", "POST", "/experiments/create", `{"name":"x","tags":[{"key":"a/../b","value":""}]}`, 400, codeInvalidParameterValue, "key"},
		{"unknown id", "GET", "/experiments/get?experiment_id=999", "", 404, codeResourceDoesNotExist, ""},
		{"non numeric id", "GET", "/experiments/get?experiment_id=abc", "", 400, codeInvalidParameterValue, "Invalid experiment ID 'abc'"},
		{"missing id", "GET", "/experiments/get", "", 400, codeInvalidParameterValue, "'experiment_id'"},
		{"unknown name", "GET", "/experiments/get-by-name?experiment_name=nope", "", 404, codeResourceDoesNotExist, ""},
		{"invalid filter", "POST", "/experiments/search", `{"filter":"name ~ 'x'"}`, 400, codeInvalidParameterValue, ""},
		{"invalid order_by", "POST", "/experiments/search", `{"order_by":["bogus.x"]}`, 400, codeInvalidParameterValue, ""},
		{"max_results too big", "POST", "/experiments/search", `{"max_results":50001}`, 400, codeInvalidParameterValue, "at most 50000"},
		{"max_results zero", "GET", "/experiments/search?max_results=0", "", 400, codeInvalidParameterValue, "positive integer"},
		{"bad view type", "POST", "/experiments/search", `{"view_type":"SOME"}`, 400, codeInvalidParameterValue, "ViewType"},
		{"rename unknown", "POST", "/experiments/update", `{"experiment_id":"999","new_name":"z"}`, 404, codeResourceDoesNotExist, ""},
		{"rename to taken", "POST", "/experiments/update", `{"experiment_id":"0","new_name":"taken"}`, 400, codeResourceAlreadyExists, ""},
		{"delete default", "POST", "/experiments/delete", `{"experiment_id":"0"}`, 400, codeInvalidParameterValue, "default experiment"},
		{"delete unknown", "POST", "/experiments/delete", `{"experiment_id":"999"}`, 404, codeResourceDoesNotExist, ""},
		{"tag without key", "POST", "/experiments/set-experiment-tag", `{"experiment_id":"0","value":"v"}`, 400, codeInvalidParameterValue, "'key'"},
		{"tag value too long", "POST", "/experiments/set-experiment-tag", `{"experiment_id":"0","key":"k","value":"` + longString(20001) + `"}`, 400, codeInvalidParameterValue, "maximum length of 20000"},
		{"tag unknown experiment", "POST", "/experiments/set-experiment-tag", `{"experiment_id":"999","key":"k","value":"v"}`, 404, codeResourceDoesNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.with(t).fail(tt.method, api+tt.path, tt.body, tt.status, tt.code, tt.msg)
		})
	}
	// Nothing of the failed creates exists.
	r := e.do("GET", api+"/experiments/get-by-name?experiment_name=x", "")
	if r.status != http.StatusNotFound {
		t.Fatalf("experiment x exists after a failed create: %s", r.raw)
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}
