package mlflow

import (
	"net/url"
	"strings"
	"testing"
)

const ajax = "/ajax-api/2.0/mlflow"

func (e *env) createRegModel(name string) map[string]any {
	e.t.Helper()
	return e.ok("POST", api+"/registered-models/create", `{"name":"`+name+`"}`)["registered_model"].(map[string]any)
}

// modelNames lists the registered models a search finds, in order.
func (e *env) modelNames(query string) []string {
	e.t.Helper()
	b := e.ok("GET", api+"/registered-models/search?"+query, "")
	var names []string
	for _, m := range asList(b["registered_models"]) {
		names = append(names, str(get(m, "name")))
	}
	return names
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func tagsOf(v any) map[string]string {
	out := map[string]string{}
	for _, t := range asList(v) {
		out[str(get(t, "key"))] = str(get(t, "value"))
	}
	return out
}

func TestRegisteredModelLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := `{"name":"fraud","description":"first","tags":[{"key":"team","value":"a"},{"key":"team","value":"risk"},{"key":"tier","value":"1"}]}`
	r := e.do("POST", api+"/registered-models/create", body, "Authorization", "Basic YWxpY2U6eA==") // alice:x
	m := r.body["registered_model"]
	if r.status != 200 || get(m, "name") != "fraud" || get(m, "description") != "first" || get(m, "user_id") != "alice" ||
		get(m, "creation_timestamp") == nil || get(m, "creation_timestamp") != get(m, "last_updated_timestamp") {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if tags := tagsOf(get(m, "tags")); len(tags) != 2 || tags["team"] != "risk" || tags["tier"] != "1" {
		t.Fatalf("a repeated tag key keeps its last value: %v", tags)
	}
	e.fail("POST", api+"/registered-models/create", `{"name":"fraud"}`, 400, codeResourceAlreadyExists, "fraud")

	// GET reads the query string, on both prefixes.
	for _, p := range []string{api, ajax} {
		got := e.ok("GET", p+"/registered-models/get?name=fraud", "")["registered_model"]
		if get(got, "name") != "fraud" || get(got, "description") != "first" || get(got, "latest_versions") != nil {
			t.Fatalf("get on %s: %v", p, got)
		}
	}
	e.fail("GET", api+"/registered-models/get?name=nope", "", 404, codeResourceDoesNotExist, "nope")
	e.fail("GET", api+"/registered-models/get", "", 400, codeInvalidParameterValue, "Missing value for required parameter 'name'")

	u := e.ok("PATCH", api+"/registered-models/update", `{"name":"fraud","description":"second"}`)["registered_model"]
	if get(u, "description") != "second" {
		t.Fatalf("update: %v", u)
	}
	e.fail("PATCH", api+"/registered-models/update", `{"name":"nope","description":"x"}`, 404, codeResourceDoesNotExist, "")

	e.ok("POST", api+"/registered-models/set-tag", `{"name":"fraud","key":"owner","value":"ml"}`)
	e.ok("DELETE", api+"/registered-models/delete-tag", `{"name":"fraud","key":"tier"}`)
	e.ok("DELETE", api+"/registered-models/delete-tag?name=fraud&key=team", "") // the query form
	got := e.ok("GET", api+"/registered-models/get?name=fraud", "")["registered_model"]
	if tags := tagsOf(get(got, "tags")); len(tags) != 1 || tags["owner"] != "ml" {
		t.Fatalf("tags after set/delete: %v", tags)
	}
	e.fail("POST", api+"/registered-models/set-tag", `{"name":"nope","key":"k","value":"v"}`, 404, codeResourceDoesNotExist, "")
	e.fail("POST", api+"/registered-models/set-tag", `{"name":"fraud","value":"v"}`, 400, codeInvalidParameterValue, "'key'")
	e.fail("POST", api+"/registered-models/set-tag", `{"name":"fraud","key":"a/../b","value":"v"}`, 400, codeInvalidParameterValue, "resolve to 'b'")
	e.fail("POST", api+"/registered-models/set-tag", jsonOf(t, map[string]string{"name": "fraud", "key": "big", "value": strings.Repeat("x", 100_001)}),
		400, codeInvalidParameterValue, "'value' exceeds the maximum length of 100000")
	e.ok("POST", api+"/registered-models/set-tag", jsonOf(t, map[string]string{"name": "fraud", "key": "big", "value": strings.Repeat("x", 100_000)}))
	e.fail("DELETE", api+"/registered-models/delete-tag", `{"name":"nope","key":"k"}`, 404, codeResourceDoesNotExist, "")

	e.createRegModel("taken")
	e.fail("POST", api+"/registered-models/rename", `{"name":"fraud","new_name":"taken"}`, 400, codeResourceAlreadyExists, "")
	e.fail("POST", api+"/registered-models/rename", `{"name":"fraud"}`, 400, codeInvalidParameterValue, "'new_name'")
	e.fail("POST", api+"/registered-models/rename", `{"name":"fraud","new_name":"a/b"}`, 400, codeInvalidParameterValue, "cannot contain '/' or ':'")
	e.fail("POST", api+"/registered-models/rename", `{"name":"nope","new_name":"x"}`, 404, codeResourceDoesNotExist, "")
	rn := e.ok("POST", api+"/registered-models/rename", `{"name":"fraud","new_name":"fraud-v2"}`)["registered_model"]
	if get(rn, "name") != "fraud-v2" || get(rn, "description") != "second" {
		t.Fatalf("rename: %v", rn)
	}
	e.fail("GET", api+"/registered-models/get?name=fraud", "", 404, codeResourceDoesNotExist, "")

	e.ok("DELETE", api+"/registered-models/delete", `{"name":"fraud-v2"}`)
	e.fail("GET", api+"/registered-models/get?name=fraud-v2", "", 404, codeResourceDoesNotExist, "")
	e.fail("DELETE", api+"/registered-models/delete", `{"name":"fraud-v2"}`, 404, codeResourceDoesNotExist, "")
	e.ok("DELETE", api+"/registered-models/delete?name=taken", "")
	if names := e.modelNames(""); len(names) != 0 {
		t.Fatalf("models left: %v", names)
	}
	e.fail("GET", api+"/registered-models/create", "", 405, codeEndpointNotFound, "")
	e.fail("POST", api+"/registered-models/delete", `{"name":"x"}`, 405, codeEndpointNotFound, "")
}

func TestRegisteredModelValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tt := range []struct{ body, msg string }{
		{`{}`, "Missing value for required parameter 'name'"},
		{`{"name":"   "}`, "Missing value for required parameter 'name'"},
		{`{"name":"a/b"}`, "Invalid model name 'a/b'. Names cannot contain '/' or ':'."},
		{`{"name":"a:b"}`, "Names cannot contain '/' or ':'"},
		{`{"name":".."}`, "This name would resolve to '..'"},
		{`{"name":"."}`, "would resolve to '.'"},
		{`{"name":"m","tags":[{"key":"ok","value":"1"},{"key":"bad key!","value":"1"}]}`, "Names may only contain alphanumerics"},
		{`{"name":"m","tags":[{"key":"","value":"1"}]}`, "'key'"},
		{`{"name":"m","tags":[{"key":"` + strings.Repeat("k", 251) + `","value":"1"}]}`, "'key' exceeds the maximum length of 250"},
		{`{"name":"m","tags":"x"}`, "Malformed request body"},
		{`{"name":`, "Malformed request body"},
	} {
		e.fail("POST", api+"/registered-models/create", tt.body, 400, codeInvalidParameterValue, tt.msg)
	}
	if names := e.modelNames(""); len(names) != 0 {
		t.Fatalf("refused creates left models: %v", names)
	}
	r := e.ok("GET", api+"/registered-models/search", "")
	if len(r) != 0 {
		t.Fatalf("empty search answers {}: %v", r)
	}
}

func TestSearchRegisteredModels(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, m := range []struct{ name, team string }{{"m-a", "risk"}, {"m-b", "growth"}, {"m-c", "risk"}, {"other", "risk"}} {
		e.ok("POST", api+"/registered-models/create", `{"name":"`+m.name+`","tags":[{"key":"team","value":"`+m.team+`"}]}`)
	}
	q := func(filter string, extra ...string) string {
		v := url.Values{"filter": {filter}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return v.Encode()
	}
	for _, tt := range []struct {
		query string
		want  string
	}{
		{q("name LIKE 'm-%'"), "m-a m-b m-c"},
		{q("name LIKE 'm-%' AND tags.team = 'risk'"), "m-a m-c"},
		{q("name ILIKE 'M-B'"), "m-b"},
		{q("tags.team = 'risk'", "order_by", "name DESC"), "other m-c m-a"},
		{q("", "order_by", "name ASC"), "m-a m-b m-c other"},
		{q("name = 'nope'"), ""},
	} {
		if got := strings.Join(e.modelNames(tt.query), " "); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.query, got, tt.want)
		}
	}
	// A query string may encode spaces as %20 or as + (Python's requests does the latter).
	for _, raw := range []string{"filter=name%20LIKE%20%27m-%25%27&order_by=name%20DESC", "filter=name+LIKE+%27m-%25%27&order_by=name+DESC"} {
		if got := strings.Join(e.modelNames(raw), " "); got != "m-c m-b m-a" {
			t.Errorf("%s: %q", raw, got)
		}
	}
	// Pages.
	p1 := e.ok("GET", api+"/registered-models/search?"+q("name LIKE 'm-%'", "max_results", "2", "order_by", "name"), "")
	tok := str(p1["next_page_token"])
	if len(asList(p1["registered_models"])) != 2 || tok == "" {
		t.Fatalf("page 1: %v", p1)
	}
	p2 := e.ok("GET", api+"/registered-models/search?"+q("name LIKE 'm-%'", "max_results", "2", "order_by", "name", "page_token", tok), "")
	if l := asList(p2["registered_models"]); len(l) != 1 || get(l, 0, "name") != "m-c" || p2["next_page_token"] != nil {
		t.Fatalf("page 2: %v", p2)
	}
	for _, tt := range []struct{ query, msg string }{
		{q("name = 'x' OR name = 'y'"), ""},
		{q("version_number = 1"), "Invalid attribute key"},
		{q("params.x = 'y'"), "Invalid entity type"},
		{q("", "order_by", "version_number"), "Invalid order by key"},
		{q("", "order_by", "name", "order_by", "name DESC"), "`order_by` contains duplicate fields"},
		{q("", "max_results", "1001"), "It must be at most 1000"},
		{q("", "max_results", "0"), "max_results"},
		{q("", "max_results", "abc"), "Malformed query string"},
		{q("", "page_token", "garbage!"), ""},
	} {
		e.fail("GET", api+"/registered-models/search?"+tt.query, "", 400, codeInvalidParameterValue, tt.msg)
	}
}

func TestAliases(t *testing.T) {
	t.Parallel()
	e := setup(t)
	run := e.createRun("0")
	e.createRegModel("m")
	for i := 0; i < 3; i++ {
		e.createVersion("m", "runs:/"+run+"/model", run)
	}
	e.ok("POST", api+"/registered-models/alias", `{"name":"m","alias":"champion","version":"2"}`)
	e.ok("POST", api+"/registered-models/alias", `{"name":"m","alias":"challenger","version":3}`) // a JSON number works too
	for _, p := range []string{api, ajax} {
		mv := e.ok("GET", p+"/registered-models/alias?name=m&alias=champion", "")["model_version"]
		if get(mv, "version") != "2" || get(mv, "aliases", 0) != "champion" || len(asList(get(mv, "aliases"))) != 1 {
			t.Fatalf("alias on %s: %v", p, mv)
		}
	}
	m := e.ok("GET", api+"/registered-models/get?name=m", "")["registered_model"]
	aliases := map[string]any{}
	for _, a := range asList(get(m, "aliases")) {
		aliases[str(get(a, "alias"))] = get(a, "version")
	}
	if len(aliases) != 2 || aliases["champion"] != "2" || aliases["challenger"] != "3" {
		t.Fatalf("registered model aliases: %v", get(m, "aliases"))
	}
	// "latest" is the newest version; it cannot be set.
	if mv := e.ok("GET", api+"/registered-models/alias?name=m&alias=Latest", "")["model_version"]; get(mv, "version") != "3" {
		t.Fatalf("latest: %v", mv)
	}
	// Moving an alias.
	e.ok("POST", api+"/registered-models/alias", `{"name":"m","alias":"champion","version":"1"}`)
	if mv := e.ok("GET", api+"/registered-models/alias?name=m&alias=champion", "")["model_version"]; get(mv, "version") != "1" {
		t.Fatalf("moved alias: %v", mv)
	}

	for _, tt := range []struct {
		body   string
		status int
		code   string
		msg    string
	}{
		{`{"name":"m","alias":"latest","version":"1"}`, 400, codeInvalidParameterValue, "'latest' alias name (case insensitive) is reserved."},
		{`{"name":"m","alias":"LATEST","version":"1"}`, 400, codeInvalidParameterValue, "is reserved"},
		{`{"name":"m","alias":"v3","version":"1"}`, 400, codeInvalidParameterValue, "Version alias name 'v3' is reserved."},
		{`{"name":"m","alias":"V12","version":"1"}`, 400, codeInvalidParameterValue, "is reserved"},
		{`{"name":"m","alias":"a b","version":"1"}`, 400, codeInvalidParameterValue, "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-)."},
		{`{"name":"m","alias":"` + strings.Repeat("a", 256) + `","version":"1"}`, 400, codeInvalidParameterValue, "'Registered model alias name' exceeds the maximum length of 255"},
		{`{"name":"m","version":"1"}`, 400, codeInvalidParameterValue, "'alias'"},
		{`{"name":"m","alias":"x","version":"one"}`, 400, codeInvalidParameterValue, "Parameter 'version' must be an integer, got 'one'."},
		{`{"name":"m","alias":"x"}`, 400, codeInvalidParameterValue, "'version'"},
		{`{"name":"m","alias":"x","version":"9"}`, 404, codeResourceDoesNotExist, ""},
		{`{"name":"nope","alias":"x","version":"1"}`, 404, codeResourceDoesNotExist, ""},
	} {
		e.fail("POST", api+"/registered-models/alias", tt.body, tt.status, tt.code, tt.msg)
	}
	// "v1x" and "version2" are ordinary names.
	e.ok("POST", api+"/registered-models/alias", `{"name":"m","alias":"v1x","version":"1"}`)
	e.ok("DELETE", api+"/registered-models/alias", `{"name":"m","alias":"v1x"}`)

	// As MLflow: an unknown alias of a known model is a bad value, an unknown model is missing.
	e.fail("GET", api+"/registered-models/alias?name=m&alias=nobody", "", 400, codeInvalidParameterValue, "Registered model alias nobody not found.")
	e.fail("GET", api+"/registered-models/alias?name=nope&alias=champion", "", 404, codeResourceDoesNotExist, "")
	e.fail("GET", api+"/registered-models/alias?name=m&alias="+url.QueryEscape("a b"), "", 400, codeInvalidParameterValue, "Invalid alias name")

	e.ok("DELETE", api+"/registered-models/alias", `{"name":"m","alias":"champion"}`)
	e.ok("DELETE", api+"/registered-models/alias?name=m&alias=challenger", "")
	e.fail("GET", api+"/registered-models/alias?name=m&alias=champion", "", 400, codeInvalidParameterValue, "alias champion not found")
	if m := e.ok("GET", api+"/registered-models/get?name=m", "")["registered_model"]; get(m, "aliases") != nil {
		t.Fatalf("aliases left: %v", get(m, "aliases"))
	}
	// As in MLflow, deleting an alias that is not set is a no-op, but the model must exist.
	e.ok("DELETE", api+"/registered-models/alias", `{"name":"m","alias":"champion"}`)
	e.fail("DELETE", api+"/registered-models/alias", `{"name":"nope","alias":"champion"}`, 404, codeResourceDoesNotExist, "")
	e.fail("DELETE", api+"/registered-models/alias", `{"name":"m","alias":"a b"}`, 400, codeInvalidParameterValue, "Invalid alias name")
}

func TestDecodeHelpers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int64
		err  string
	}{
		{`{"version":"3"}`, 3, ""},
		{`{"version":" 3 "}`, 3, ""},
		{`{"version":7}`, 7, ""},
		{`{"version":"3.0"}`, 0, "got '3.0'"},
		{`{"version":""}`, 0, "Missing value"},
		{`{}`, 0, "Missing value"},
		{`{"version":null}`, 0, "Missing value"},
		{`{"version":"99999999999999999999"}`, 0, "must be an integer"},
	} {
		var req versionRequest
		err := decodeBody([]byte(tt.in), &req)
		var v int64
		if err == nil {
			v, err = parseVersion(req.Version)
		}
		if (tt.err == "" && (err != nil || v != tt.want)) || (tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err))) {
			t.Errorf("%s: %d %v", tt.in, v, err)
		}
	}
	var b struct {
		B optBool `json:"b"`
	}
	for in, want := range map[string]bool{`{"b":true}`: true, `{"b":"False"}`: false, `{"b":"true"}`: true} {
		if err := decodeBody([]byte(in), &b); err != nil || b.B.V != want || !b.B.Set {
			t.Errorf("%s: %+v %v", in, b.B, err)
		}
	}
	if err := decodeBody([]byte(`{"b":"yes"}`), &b); err == nil {
		t.Error("b=yes accepted")
	}
}
