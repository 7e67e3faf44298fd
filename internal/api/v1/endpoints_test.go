package v1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

const endpoints = "/api/v1/endpoints"

// created posts body, which must answer 201, and decodes the endpoint.
func (e *env) created(body string) Endpoint {
	e.t.Helper()
	r := e.do("", "POST", endpoints, body)
	if r.status != http.StatusCreated || r.header.Get("Content-Type") != "application/json" {
		e.t.Fatalf("POST %s: %d %s", body, r.status, r.raw)
	}
	var ep Endpoint
	if err := json.Unmarshal(r.raw, &ep); err != nil {
		e.t.Fatalf("POST %s: bad JSON %s: %v", body, r.raw, err)
	}
	return ep
}

func (e *env) stored(name string) core.Endpoint {
	e.t.Helper()
	ep, err := e.st.GetEndpoint(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep
}

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	before := time.Now().Add(-time.Second)

	ep := e.created(`{"name": "fraud-scorer", "model_uri": "models:/fraud@champion",
		"secondary": {"model_uri": "models:/fraud@challenger", "mode": "canary", "percent": 12.5},
		"description": "scores claims", "subject_field": "customer_id", "unknown": [1]}`)
	want := Endpoint{
		Name: "fraud-scorer", ModelURI: "models:/fraud@champion",
		Secondary:   &EndpointTarget{ModelURI: "models:/fraud@challenger", Mode: core.ModeCanary, Percent: 12.5},
		Description: "scores claims", LogSampleRate: 1, SubjectField: "customer_id",
		InvocationsPath: "/endpoints/fraud-scorer/invocations",
		CreatedAt:       ep.CreatedAt, UpdatedAt: ep.UpdatedAt,
	}
	if !reflect.DeepEqual(ep, want) {
		t.Fatalf("created %+v\nwant %+v", ep, want)
	}
	if ep.CreatedAt.Before(before) || ep.CreatedAt.Location() != time.UTC || ep.UpdatedAt != ep.CreatedAt {
		t.Fatalf("times %v %v", ep.CreatedAt, ep.UpdatedAt)
	}
	if got := e.stored("fraud-scorer"); got.LogSampleRate != 1 || got.Secondary == nil || got.Secondary.Percent != 12.5 || got.SubjectField != "customer_id" {
		t.Fatalf("stored %+v", got)
	}
	// No serving side: no "state"; times are RFC 3339 UTC with milliseconds.
	r := e.do("", "GET", endpoints+"/fraud-scorer", "")
	if bytes.Contains(r.raw, []byte(`"state"`)) || len(wireTime.FindAll(r.raw, -1)) != 2 {
		t.Fatalf("wire form: %s", r.raw)
	}
	var got Endpoint
	e.ok("", "GET", endpoints+"/fraud-scorer", "", &got)
	if !reflect.DeepEqual(got, ep) {
		t.Fatalf("get %+v\nwant %+v", got, ep)
	}
	first := ep

	// An explicit 0 sample rate is kept; a shadow has no percent on the wire.
	ep = e.created(`{"name": "a1", "model_uri": "models:/churn/3", "log_sample_rate": 0,
		"secondary": {"model_uri": "models:/churn@next", "mode": "shadow"}}`)
	if ep.LogSampleRate != 0 || ep.Secondary == nil || ep.Secondary.Mode != core.ModeShadow || ep.Description != "" {
		t.Fatalf("a1: %+v", ep)
	}
	r = e.do("", "GET", endpoints+"/a1", "")
	if !bytes.Contains(r.raw, []byte(`"secondary":{"model_uri":"models:/churn@next","mode":"shadow"}`)) ||
		!bytes.Contains(r.raw, []byte(`"log_sample_rate":0,`)) || !bytes.Contains(r.raw, []byte(`"description":"",`)) {
		t.Fatalf("a1 wire form: %s", r.raw)
	}
	e.created(`{"name": "b", "model_uri": "models:/x@y", "secondary": null}`)

	var list EndpointList
	e.ok("", "GET", endpoints, "", &list)
	if len(list.Endpoints) != 3 || list.Endpoints[0].Name != "a1" || list.Endpoints[1].Name != "b" ||
		list.Endpoints[2].Name != "fraud-scorer" || list.Endpoints[1].Secondary != nil || list.Endpoints[2].Secondary == nil {
		t.Fatalf("list %+v", list)
	}

	// PATCH changes only the fields sent.
	time.Sleep(5 * time.Millisecond)
	e.ok("", "PATCH", endpoints+"/fraud-scorer", `{"description": "v2", "name": "fraud-scorer"}`, &got)
	if got.Description != "v2" || got.ModelURI != "models:/fraud@champion" || got.Secondary == nil ||
		got.Secondary.Percent != 12.5 || got.SubjectField != "customer_id" || got.LogSampleRate != 1 ||
		!got.UpdatedAt.After(got.CreatedAt.Time) || !got.CreatedAt.Equal(first.CreatedAt.Time) {
		t.Fatalf("patched description: %+v", got)
	}
	e.ok("", "PATCH", endpoints+"/fraud-scorer", `{"model_uri": "models:/fraud/7", "log_sample_rate": 0.25, "subject_field": "",
		"secondary": {"model_uri": "models:/fraud@shadow", "mode": "shadow"}}`, &got)
	if got.ModelURI != "models:/fraud/7" || got.LogSampleRate != 0.25 || got.SubjectField != "" || got.Description != "v2" ||
		got.Secondary == nil || *got.Secondary != (EndpointTarget{ModelURI: "models:/fraud@shadow", Mode: core.ModeShadow}) {
		t.Fatalf("patched fields: %+v", got)
	}
	// "secondary": null removes the second target.
	e.ok("", "PATCH", endpoints+"/fraud-scorer", `{"secondary": null}`, &got)
	if got.Secondary != nil || got.ModelURI != "models:/fraud/7" {
		t.Fatalf("cleared secondary: %+v", got)
	}
	if s := e.stored("fraud-scorer"); s.Secondary != nil || s.Description != "v2" || s.LogSampleRate != 0.25 {
		t.Fatalf("stored after patches: %+v", s)
	}
	if r := e.do("", "GET", endpoints+"/fraud-scorer", ""); bytes.Contains(r.raw, []byte(`"secondary"`)) {
		t.Fatalf("absent secondary on the wire: %s", r.raw)
	}

	// DELETE answers 204 without a body; the endpoint is gone.
	r = e.do("", "DELETE", endpoints+"/b", "")
	if r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	e.fail("", "GET", endpoints+"/b", "", 404, core.ENOTFOUND, "b")
	e.fail("", "DELETE", endpoints+"/b", "", 404, core.ENOTFOUND, "b")
	e.ok("", "GET", endpoints, "", &list)
	if len(list.Endpoints) != 2 {
		t.Fatalf("list after delete %+v", list)
	}
	for _, name := range []string{"a1", "fraud-scorer"} {
		if r := e.do("", "DELETE", endpoints+"/"+name, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete %s: %d %s", name, r.status, r.raw)
		}
	}
	if r := e.do("", "GET", endpoints, ""); strings.TrimSpace(string(r.raw)) != `{"endpoints":[]}` {
		t.Fatalf("empty list: %s", r.raw)
	}
}

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.MaxBodyBytes = 1000 })
	const base = `"name": "fraud", "model_uri": "models:/fraud@champion"`
	e.created(`{` + base + `, "description": "original"}`)

	for _, tt := range []struct {
		name, body, msg string
	}{
		{"empty body", ``, "request body is empty"},
		{"truncated", `{"name": "x"`, "the body ends before the object is complete"},
		{"syntax", "{\n\"name\": x}", "malformed JSON at line 2, column 9"},
		{"array", `[]`, "the body must be a JSON object, not array"},
		{"trailing data", `{` + base + `} {}`, "unexpected data after the top-level object"},
		{"name type", `{"name": 5, "model_uri": "models:/a@b"}`, `invalid field "name": want a string, got number`},
		{"rate type", `{"name": "a", "model_uri": "models:/a@b", "log_sample_rate": "1"}`, `invalid field "log_sample_rate": want a number`},
		{"percent type", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a@c", "mode": "canary", "percent": "5"}}`,
			`invalid field "secondary.percent": want a number`},
		{"secondary type", `{"name": "a", "model_uri": "models:/a@b", "secondary": "models:/a@c"}`, `invalid field "secondary": want an object`},
		{"no name", `{"model_uri": "models:/a@b"}`, `Invalid endpoint name ""`},
		{"upper-case name", `{"name": "Fraud", "model_uri": "models:/a@b"}`, `Invalid endpoint name "Fraud"`},
		{"name with slash", `{"name": "a/b", "model_uri": "models:/a@b"}`, `Invalid endpoint name`},
		{"long name", `{"name": "` + strings.Repeat("a", 64) + `", "model_uri": "models:/a@b"}`, `Invalid endpoint name`},
		{"no uri", `{"name": "a"}`, `Invalid model_uri ""`},
		{"run uri", `{"name": "a", "model_uri": "runs:/abc/model"}`, `Invalid model_uri "runs:/abc/model"`},
		{"latest", `{"name": "a", "model_uri": "models:/a/latest"}`, `"latest" is not a version number`},
		{"empty alias", `{"name": "a", "model_uri": "models:/a@"}`, `Invalid model_uri`},
		{"secondary uri", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a", "mode": "shadow"}}`,
			"secondary target: Invalid model_uri"},
		{"no mode", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a@c", "percent": 5}}`,
			`secondary target mode must be "canary" or "shadow", got ""`},
		{"zero percent", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a@c", "mode": "canary"}}`,
			"canary percent must be between 0 and 100 (exclusive), got 0"},
		{"100 percent", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a@c", "mode": "canary", "percent": 100}}`,
			"canary percent must be between 0 and 100"},
		{"shadow percent", `{"name": "a", "model_uri": "models:/a@b", "secondary": {"model_uri": "models:/a@c", "mode": "shadow", "percent": 5}}`,
			"percent must be 0, got 5"},
		{"negative rate", `{"name": "a", "model_uri": "models:/a@b", "log_sample_rate": -0.1}`, "log_sample_rate must be between 0 and 1, got -0.1"},
		{"rate over 1", `{"name": "a", "model_uri": "models:/a@b", "log_sample_rate": 1.5}`, "log_sample_rate must be between 0 and 1, got 1.5"},
		{"long subject field", `{"name": "a", "model_uri": "models:/a@b", "subject_field": "` + strings.Repeat("s", 256) + `"}`, "subject_field is longer"},
	} {
		t.Run("create "+tt.name, func(t *testing.T) {
			e := &env{t: t, srv: e.srv, st: e.st}
			e.fail("", "POST", endpoints, tt.body, 400, core.EINVALID, tt.msg)
		})
	}
	e.fail("", "POST", endpoints, `{`+base+`, "description": "`+strings.Repeat("d", 1000)+`"}`, 413, core.ETOOLARGE, "limit of 1000 bytes")
	e.fail("", "POST", endpoints, `{`+base+`}`, 409, core.EEXISTS, "fraud")

	const fraud = endpoints + "/fraud"
	for _, tt := range []struct {
		name, body, msg string
	}{
		{"empty body", ``, "request body is empty"},
		{"no fields", `{}`, "nothing to change: send at least one of model_uri"},
		{"only nulls", `{"model_uri": null, "description": null}`, "nothing to change"},
		{"unknown fields only", `{"colour": "red"}`, "nothing to change"},
		{"rename", `{"name": "other", "description": "x"}`, "cannot be renamed"},
		{"bad uri", `{"model_uri": "models:/fraud@"}`, "Invalid model_uri"},
		{"bad percent", `{"secondary": {"model_uri": "models:/a@c", "mode": "canary", "percent": -1}}`, "canary percent"},
		{"bad percent type", `{"secondary": {"model_uri": "models:/a@c", "mode": "canary", "percent": true}}`, `invalid field "secondary.percent"`},
		{"secondary type", `{"secondary": "models:/a@c"}`, `invalid field "secondary": want an object, got string`},
		{"bad rate", `{"log_sample_rate": 2}`, "log_sample_rate must be between 0 and 1"},
		{"malformed", `{"description": }`, "malformed JSON at line 1"},
	} {
		t.Run("update "+tt.name, func(t *testing.T) {
			e := &env{t: t, srv: e.srv, st: e.st}
			e.fail("", "PATCH", fraud, tt.body, 400, core.EINVALID, tt.msg)
		})
	}
	if s := e.stored("fraud"); s.Description != "original" || s.ModelURI != "models:/fraud@champion" || s.Secondary != nil || s.LogSampleRate != 1 {
		t.Fatalf("failed requests changed the endpoint: %+v", s)
	}

	// Unknown names.
	e.fail("", "GET", endpoints+"/nope", "", 404, core.ENOTFOUND, "nope")
	e.fail("", "PATCH", endpoints+"/nope", `{"description": "x"}`, 404, core.ENOTFOUND, "nope")
	e.fail("", "DELETE", endpoints+"/nope", "", 404, core.ENOTFOUND, "nope")
	e.fail("", "GET", endpoints+"/fraud/invocations", "", 404, core.ENOTFOUND, "No API endpoint matches")

	// Wrong methods: 405 with Allow, in the API's error form.
	for _, tt := range []struct{ method, path, allow string }{
		{"PUT", fraud, "GET, PATCH, DELETE"},
		{"POST", fraud, "GET, PATCH, DELETE"},
		{"DELETE", endpoints, "GET, POST"},
		{"PATCH", endpoints, "GET, POST"},
	} {
		r := e.do("", tt.method, tt.path, `{"description": "x"}`)
		var eb ErrorBody
		if r.status != 405 || r.header.Get("Allow") != tt.allow || json.Unmarshal(r.raw, &eb) != nil || eb.Error.Code != core.EINVALID {
			t.Fatalf("%s %s: %d Allow %q %s", tt.method, tt.path, r.status, r.header.Get("Allow"), r.raw)
		}
	}
	if s := e.stored("fraud"); s.Description != "original" {
		t.Fatalf("refused methods changed the endpoint: %+v", s)
	}
}

// servingState is a fake serving side: it serves "served" only.
func servingState(loaded time.Time) func(string) (core.EndpointState, bool) {
	return func(name string) (core.EndpointState, bool) {
		if name != "served" {
			return core.EndpointState{}, false
		}
		return core.EndpointState{
			Degraded: true,
			Targets: []core.TargetState{
				{Role: core.RolePrimary, ModelURI: "models:/fraud@champion", Status: core.TargetServing, Model: "fraud", Version: "3",
					LoadedAt: loaded, LastError: "version 4: signature mismatch: column \"amount\" is string, want double",
					LastErrorVersion: "4", LastErrorAt: loaded.Add(time.Minute), Requests: 1200, Errors: 3},
				{Role: core.RoleCanary, ModelURI: "models:/fraud@challenger", Status: core.TargetLoading},
			},
			Log: core.PredictionLogState{BacklogBytes: 4096, Dropped: 7, Uploaded: 1193},
		}, true
	}
}

func TestEndpointState(t *testing.T) {
	t.Parallel()
	loaded := time.Date(2025, 5, 1, 12, 0, 0, 120_000_000, time.FixedZone("CEST", 2*3600))
	e := setup(t, func(o *Options) { o.EndpointState = servingState(loaded) })
	ep := e.created(`{"name": "served", "model_uri": "models:/fraud@champion",
		"secondary": {"model_uri": "models:/fraud@challenger", "mode": "canary", "percent": 10}}`)
	if ep.State == nil || len(ep.State.Targets) != 2 {
		t.Fatalf("create answer without state: %+v", ep)
	}
	e.created(`{"name": "idle", "model_uri": "models:/other@champion"}`)

	var got Endpoint
	e.ok("", "GET", endpoints+"/served", "", &got)
	want := &EndpointState{
		Degraded: true,
		Targets: []TargetState{
			{Role: "primary", ModelURI: "models:/fraud@champion", Status: "serving", Model: "fraud", Version: "3",
				LoadedAt:  Time{loaded.UTC()},
				LastError: "version 4: signature mismatch: column \"amount\" is string, want double", LastErrorVersion: "4",
				LastErrorAt: Time{loaded.Add(time.Minute).UTC()}, Requests: 1200, Errors: 3},
			{Role: "canary", ModelURI: "models:/fraud@challenger", Status: "loading"},
		},
		Log: EndpointPredictionLog{BacklogBytes: 4096, Dropped: 7, Uploaded: 1193},
	}
	if !reflect.DeepEqual(got.State, want) {
		t.Fatalf("state %+v\nwant %+v", got.State, want)
	}
	r := e.do("", "GET", endpoints+"/served", "")
	t.Logf("GET %s/served:\n%s", endpoints, r.raw)
	for _, s := range []string{
		`"loaded_at":"2025-05-01T10:00:00.120Z"`, `"last_error_at":"2025-05-01T10:01:00.120Z"`,
		`{"role":"canary","model_uri":"models:/fraud@challenger","status":"loading","requests":0,"errors":0}`,
		`"log":{"backlog_bytes":4096,"dropped":7,"uploaded":1193}`,
		`"invocations_path":"/endpoints/served/invocations"`,
	} {
		if !bytes.Contains(r.raw, []byte(s)) {
			t.Fatalf("wire form lacks %s: %s", s, r.raw)
		}
	}
	// Not served by this process: no state.
	if r := e.do("", "GET", endpoints+"/idle", ""); r.status != 200 || bytes.Contains(r.raw, []byte(`"state"`)) {
		t.Fatalf("idle: %d %s", r.status, r.raw)
	}
	var list EndpointList
	e.ok("", "GET", endpoints, "", &list)
	if len(list.Endpoints) != 2 || list.Endpoints[0].State != nil || list.Endpoints[1].State == nil || !list.Endpoints[1].State.Degraded {
		t.Fatalf("list %+v", list)
	}
	e.ok("", "PATCH", endpoints+"/served", `{"description": "x"}`, &got)
	if got.State == nil {
		t.Fatalf("update answer without state: %+v", got)
	}
}

type failingEndpoints struct{ failingStore }

func (failingEndpoints) ListEndpoints(context.Context) ([]core.Endpoint, error) {
	return nil, errors.New("endpoints table on fire")
}

func TestEndpointInternalError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	New(failingEndpoints{}, Options{}).ServeHTTP(rec, httptest.NewRequest("GET", endpoints, nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "fire") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}
