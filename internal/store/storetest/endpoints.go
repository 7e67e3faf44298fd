package storetest

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Serving endpoint definitions (store.EndpointStore).
var endpointTests = []testCase{
	{"CreateGet", testEpCreateGet},
	{"CreateDuplicate", testEpCreateDuplicate},
	{"CreateInvalid", testEpCreateInvalid},
	{"UpdateFields", testEpUpdateFields},
	{"UpdateSecondary", testEpUpdateSecondary},
	{"UpdateInvalid", testEpUpdateInvalid},
	{"Delete", testEpDelete},
	{"ListOrder", testEpListOrder},
	{"ConcurrentUpdates", testEpConcurrentUpdates},
}

// ---- endpoint fixtures ----

func epCreate(t *testing.T, s store.Store, e core.Endpoint) core.Endpoint {
	t.Helper()
	out, err := s.CreateEndpoint(t.Context(), e)
	must(t, err, "CreateEndpoint "+e.Name)
	return out
}

func epGet(t *testing.T, s store.Store, name string) core.Endpoint {
	t.Helper()
	e, err := s.GetEndpoint(t.Context(), name)
	must(t, err, "GetEndpoint "+name)
	return e
}

func epNotFound(t *testing.T, s store.Store, name string) {
	t.Helper()
	_, err := s.GetEndpoint(t.Context(), name)
	wantMessage(t, err, core.ENOTFOUND, "Endpoint '"+name+"' not found", "GetEndpoint "+name)
}

func epNames(t *testing.T, s store.Store) []string {
	t.Helper()
	es, err := s.ListEndpoints(t.Context())
	must(t, err, "ListEndpoints")
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name
	}
	return names
}

func epSame(t *testing.T, what string, got, want core.Endpoint) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, epString(got), epString(want))
	}
}

// epString shows the secondary target by value (%+v would print its address).
func epString(e core.Endpoint) string {
	sec := "<nil>"
	if e.Secondary != nil {
		sec = fmt.Sprintf("%+v", *e.Secondary)
	}
	c := e
	c.Secondary = nil
	return fmt.Sprintf("%+v secondary=%s", c, sec)
}

func canary(uri string, percent float64) *core.EndpointTarget {
	return &core.EndpointTarget{ModelURI: uri, Mode: core.ModeCanary, Percent: percent}
}

func shadow(uri string) *core.EndpointTarget {
	return &core.EndpointTarget{ModelURI: uri, Mode: core.ModeShadow}
}

// ---- tests ----

func testEpCreateGet(t *testing.T, s store.Store) {
	before := time.Now().UnixMilli()
	defs := []core.Endpoint{
		{Name: "plain", ModelURI: "models:/fraud@champion"},
		{Name: "with-canary", ModelURI: "models:/fraud/3", Secondary: canary("models:/fraud@challenger", 12.5),
			Description: "ten-ish percent to the challenger", LogSampleRate: 0.25, SubjectField: "customer_id"},
		{Name: "with-shadow", ModelURI: "models:/churn%2Fv2@prod", Secondary: shadow("models:/churn-next/1"), LogSampleRate: 1},
	}
	for _, def := range defs {
		e := epCreate(t, s, def)
		if e.CreationTime < before || e.LastUpdateTime != e.CreationTime {
			t.Fatalf("%s: times creation=%d last_update=%d, want both the same and >= %d", def.Name, e.CreationTime, e.LastUpdateTime, before)
		}
		want := def
		want.CreationTime, want.LastUpdateTime = e.CreationTime, e.LastUpdateTime
		epSame(t, "created "+def.Name, e, want)
		epSame(t, "get "+def.Name, epGet(t, s, def.Name), want)
	}
	es, err := s.ListEndpoints(t.Context())
	must(t, err, "ListEndpoints")
	if len(es) != len(defs) {
		t.Fatalf("list has %d endpoints, want %d", len(es), len(defs))
	}
	for i, e := range es {
		epSame(t, "listed "+e.Name, e, epGet(t, s, defs[i].Name))
	}
	epNotFound(t, s, "nope")
}

func testEpCreateDuplicate(t *testing.T, s store.Store) {
	orig := epCreate(t, s, core.Endpoint{Name: "x", ModelURI: "models:/m/1", Description: "first"})
	_, err := s.CreateEndpoint(t.Context(), core.Endpoint{Name: "x", ModelURI: "models:/other/2", Description: "second"})
	wantMessage(t, err, core.EEXISTS, "Endpoint 'x' already exists; use `plinth endpoints update x` to change it", "duplicate create")
	epSame(t, "after duplicate create", epGet(t, s, "x"), orig)
}

func testEpCreateInvalid(t *testing.T, s store.Store) {
	ok := core.Endpoint{Name: "ok", ModelURI: "models:/m@a"}
	with := func(f func(e *core.Endpoint)) core.Endpoint {
		e := ok
		f(&e)
		return e
	}
	cases := []struct {
		what string
		e    core.Endpoint
		msg  string
	}{
		{"empty name", with(func(e *core.Endpoint) { e.Name = "" }), "Invalid endpoint name"},
		{"upper-case name", with(func(e *core.Endpoint) { e.Name = "Fraud" }), "Invalid endpoint name"},
		{"name starting with a digit", with(func(e *core.Endpoint) { e.Name = "1fraud" }), "Invalid endpoint name"},
		{"name ending with '-'", with(func(e *core.Endpoint) { e.Name = "fraud-" }), "Invalid endpoint name"},
		{"name with '_'", with(func(e *core.Endpoint) { e.Name = "fraud_scorer" }), "Invalid endpoint name"},
		{"name too long", with(func(e *core.Endpoint) { e.Name = strings.Repeat("a", core.MaxEndpointNameLen+1) }), "Invalid endpoint name"},
		{"empty model uri", with(func(e *core.Endpoint) { e.ModelURI = "" }), "Invalid model_uri"},
		{"runs uri", with(func(e *core.Endpoint) { e.ModelURI = "runs:/abc/model" }), "Invalid model_uri"},
		{"latest", with(func(e *core.Endpoint) { e.ModelURI = "models:/m/latest" }), "not a version number"},
		{"stage", with(func(e *core.Endpoint) { e.ModelURI = "models:/m/Production" }), "not a version number"},
		{"empty alias", with(func(e *core.Endpoint) { e.ModelURI = "models:/m@" }), "Invalid model_uri"},
		{"bad secondary uri", with(func(e *core.Endpoint) { e.Secondary = canary("models:/m/0", 10) }), "secondary target"},
		{"canary 0%", with(func(e *core.Endpoint) { e.Secondary = canary("models:/m/2", 0) }), "canary percent"},
		{"canary 100%", with(func(e *core.Endpoint) { e.Secondary = canary("models:/m/2", 100) }), "canary percent"},
		{"canary NaN%", with(func(e *core.Endpoint) { e.Secondary = canary("models:/m/2", math.NaN()) }), "canary percent"},
		{"shadow with a percent", with(func(e *core.Endpoint) {
			e.Secondary = &core.EndpointTarget{ModelURI: "models:/m/2", Mode: core.ModeShadow, Percent: 5}
		}), "percent must be 0"},
		{"unknown mode", with(func(e *core.Endpoint) {
			e.Secondary = &core.EndpointTarget{ModelURI: "models:/m/2", Mode: "mirror"}
		}), "mode must be"},
		{"sample rate > 1", with(func(e *core.Endpoint) { e.LogSampleRate = 1.5 }), "log_sample_rate"},
		{"sample rate < 0", with(func(e *core.Endpoint) { e.LogSampleRate = -0.1 }), "log_sample_rate"},
		{"sample rate NaN", with(func(e *core.Endpoint) { e.LogSampleRate = math.NaN() }), "log_sample_rate"},
		{"subject field too long", with(func(e *core.Endpoint) { e.SubjectField = strings.Repeat("s", 256) }), "subject_field"},
		{"description too long", with(func(e *core.Endpoint) { e.Description = strings.Repeat("d", 5001) }), "description"},
	}
	for _, c := range cases {
		_, err := s.CreateEndpoint(t.Context(), c.e)
		wantMessage(t, err, core.EINVALID, c.msg, "create with "+c.what)
	}
	if names := epNames(t, s); len(names) != 0 {
		t.Fatalf("invalid creates stored %v", names)
	}
	epNotFound(t, s, "ok")
}

func testEpUpdateFields(t *testing.T, s store.Store) {
	e := epCreate(t, s, core.Endpoint{Name: "ep", ModelURI: "models:/m@champion", Description: "d0", LogSampleRate: 0.5, SubjectField: "user"})
	steps := []struct {
		what string
		u    core.EndpointUpdate
		set  func(e *core.Endpoint)
	}{
		{"model uri", core.EndpointUpdate{ModelURI: ptr("models:/m/7")}, func(e *core.Endpoint) { e.ModelURI = "models:/m/7" }},
		{"description", core.EndpointUpdate{Description: ptr("d1")}, func(e *core.Endpoint) { e.Description = "d1" }},
		{"empty description", core.EndpointUpdate{Description: ptr("")}, func(e *core.Endpoint) { e.Description = "" }},
		{"sample rate", core.EndpointUpdate{LogSampleRate: ptr(0.01)}, func(e *core.Endpoint) { e.LogSampleRate = 0.01 }},
		{"sample rate 0", core.EndpointUpdate{LogSampleRate: ptr(0.0)}, func(e *core.Endpoint) { e.LogSampleRate = 0 }},
		{"subject field", core.EndpointUpdate{SubjectField: ptr("account_id")}, func(e *core.Endpoint) { e.SubjectField = "account_id" }},
		{"no subject field", core.EndpointUpdate{SubjectField: ptr("")}, func(e *core.Endpoint) { e.SubjectField = "" }},
		{"nothing", core.EndpointUpdate{}, func(e *core.Endpoint) {}},
		{"several fields", core.EndpointUpdate{ModelURI: ptr("models:/n@prod"), LogSampleRate: ptr(1.0), Description: ptr("d2")},
			func(e *core.Endpoint) { e.ModelURI, e.LogSampleRate, e.Description = "models:/n@prod", 1, "d2" }},
	}
	want := e
	for _, st := range steps {
		regTick()
		got, err := s.UpdateEndpoint(t.Context(), "ep", st.u)
		must(t, err, "update "+st.what)
		st.set(&want)
		if got.CreationTime != e.CreationTime || got.LastUpdateTime <= want.LastUpdateTime {
			t.Fatalf("update %s: creation %d (was %d), last update %d (was %d): want creation kept and last update moved",
				st.what, got.CreationTime, e.CreationTime, got.LastUpdateTime, want.LastUpdateTime)
		}
		want.LastUpdateTime = got.LastUpdateTime
		epSame(t, "update "+st.what, got, want)
		epSame(t, "get after update "+st.what, epGet(t, s, "ep"), want)
	}
	_, err := s.UpdateEndpoint(t.Context(), "nope", core.EndpointUpdate{Description: ptr("x")})
	wantMessage(t, err, core.ENOTFOUND, "Endpoint 'nope' not found", "update unknown")
	epNotFound(t, s, "nope")
}

func testEpUpdateSecondary(t *testing.T, s store.Store) {
	want := epCreate(t, s, core.Endpoint{Name: "ep", ModelURI: "models:/m@champion"})
	steps := []struct {
		what string
		u    core.EndpointUpdate
		sec  *core.EndpointTarget
	}{
		{"add canary", core.EndpointUpdate{Secondary: canary("models:/m@challenger", 5)}, canary("models:/m@challenger", 5)},
		{"change percent", core.EndpointUpdate{Secondary: canary("models:/m@challenger", 50)}, canary("models:/m@challenger", 50)},
		{"other fields keep it", core.EndpointUpdate{Description: ptr("still canary")}, canary("models:/m@challenger", 50)},
		{"canary to shadow", core.EndpointUpdate{Secondary: shadow("models:/m/9")}, shadow("models:/m/9")},
		{"clear", core.EndpointUpdate{ClearSecondary: true}, nil},
		{"clear again", core.EndpointUpdate{ClearSecondary: true}, nil},
		{"add shadow", core.EndpointUpdate{Secondary: shadow("models:/other/1")}, shadow("models:/other/1")},
	}
	for _, st := range steps {
		got, err := s.UpdateEndpoint(t.Context(), "ep", st.u)
		must(t, err, "update "+st.what)
		want = st.u.Apply(want)
		want.Secondary, want.LastUpdateTime = st.sec, got.LastUpdateTime
		epSame(t, "update "+st.what, got, want)
		epSame(t, "get after update "+st.what, epGet(t, s, "ep"), want)
	}
}

func testEpUpdateInvalid(t *testing.T, s store.Store) {
	before := epCreate(t, s, core.Endpoint{Name: "ep", ModelURI: "models:/m@champion", Secondary: canary("models:/m@challenger", 10),
		Description: "keep me", LogSampleRate: 0.5, SubjectField: "user"})
	cases := []struct {
		what string
		u    core.EndpointUpdate
	}{
		{"bad model uri", core.EndpointUpdate{ModelURI: ptr("models:/m/latest"), Description: ptr("changed")}},
		{"empty model uri", core.EndpointUpdate{ModelURI: ptr("")}},
		{"canary 0%", core.EndpointUpdate{Secondary: canary("models:/m/2", 0)}},
		{"canary 100%", core.EndpointUpdate{Secondary: canary("models:/m/2", 100)}},
		{"shadow with a percent", core.EndpointUpdate{Secondary: &core.EndpointTarget{ModelURI: "models:/m/2", Mode: core.ModeShadow, Percent: 1}}},
		{"bad secondary uri", core.EndpointUpdate{Secondary: shadow("m/2")}},
		{"sample rate > 1", core.EndpointUpdate{LogSampleRate: ptr(2.0), SubjectField: ptr("changed")}},
		{"sample rate NaN", core.EndpointUpdate{LogSampleRate: ptr(math.NaN())}},
		{"subject field too long", core.EndpointUpdate{SubjectField: ptr(strings.Repeat("s", 256))}},
		{"clear and set the secondary", core.EndpointUpdate{ClearSecondary: true, Secondary: shadow("models:/m/2")}},
	}
	for _, c := range cases {
		regTick()
		_, err := s.UpdateEndpoint(t.Context(), "ep", c.u)
		wantCode(t, err, core.EINVALID, "update with "+c.what)
		epSame(t, "after invalid update with "+c.what, epGet(t, s, "ep"), before)
	}
	// An invalid update of an unknown endpoint reports the endpoint first or the field;
	// either way nothing appears.
	_, err := s.UpdateEndpoint(t.Context(), "nope", core.EndpointUpdate{ModelURI: ptr("bad")})
	if code := core.ErrorCode(err); code != core.ENOTFOUND && code != core.EINVALID {
		t.Fatalf("invalid update of an unknown endpoint: %v", err)
	}
	epNotFound(t, s, "nope")
}

func testEpDelete(t *testing.T, s store.Store) {
	epCreate(t, s, core.Endpoint{Name: "a", ModelURI: "models:/m/1"})
	keep := epCreate(t, s, core.Endpoint{Name: "b", ModelURI: "models:/m/2", Secondary: shadow("models:/m/3")})
	must(t, s.DeleteEndpoint(t.Context(), "a"), "DeleteEndpoint a")
	epNotFound(t, s, "a")
	wantMessage(t, s.DeleteEndpoint(t.Context(), "a"), core.ENOTFOUND, "Endpoint 'a' not found", "delete twice")
	wantMessage(t, s.DeleteEndpoint(t.Context(), "nope"), core.ENOTFOUND, "Endpoint 'nope' not found", "delete unknown")
	_, err := s.UpdateEndpoint(t.Context(), "a", core.EndpointUpdate{Description: ptr("x")})
	wantCode(t, err, core.ENOTFOUND, "update deleted")
	sameOrder(t, "names after delete", epNames(t, s), []string{"b"})
	epSame(t, "other endpoint after delete", epGet(t, s, "b"), keep)
	// The name is free again.
	again := epCreate(t, s, core.Endpoint{Name: "a", ModelURI: "models:/n@x", Description: "new"})
	epSame(t, "re-created", epGet(t, s, "a"), again)
}

func testEpListOrder(t *testing.T, s store.Store) {
	es, err := s.ListEndpoints(t.Context())
	must(t, err, "ListEndpoints on an empty store")
	if len(es) != 0 {
		t.Fatalf("empty store lists %d endpoints", len(es))
	}
	for _, n := range []string{"m", "b-2", "z", "a10", "b", "a9", "a", "b-10"} {
		epCreate(t, s, core.Endpoint{Name: n, ModelURI: "models:/m/1"})
	}
	// Byte order ('-' sorts before letters and digits), the same on every backend.
	sameOrder(t, "list", epNames(t, s), []string{"a", "a10", "a9", "b", "b-10", "b-2", "m", "z"})
}

// testEpConcurrentUpdates updates different fields of one endpoint at the same time:
// with an atomic read-apply-write every update lands; a lost update shows as an old value.
func testEpConcurrentUpdates(t *testing.T, s store.Store) {
	epCreate(t, s, core.Endpoint{Name: "ep", ModelURI: "models:/m/1"})
	for round := 1; round <= 10; round++ {
		uri := fmt.Sprintf("models:/m/%d", round+1)
		desc := fmt.Sprintf("round %d", round)
		rate := float64(round) / 100
		subject := fmt.Sprintf("field_%d", round)
		sec := canary("models:/m@challenger", float64(round))
		updates := []core.EndpointUpdate{
			{ModelURI: &uri}, {Description: &desc}, {LogSampleRate: &rate}, {SubjectField: &subject}, {Secondary: sec},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(updates))
		for i, u := range updates {
			wg.Go(func() {
				_, errs[i] = s.UpdateEndpoint(t.Context(), "ep", u)
			})
		}
		wg.Wait()
		for i, err := range errs {
			must(t, err, fmt.Sprintf("round %d: concurrent update %d", round, i))
		}
		got := epGet(t, s, "ep")
		if got.ModelURI != uri || got.Description != desc || got.LogSampleRate != rate || got.SubjectField != subject ||
			got.Secondary == nil || *got.Secondary != *sec {
			t.Fatalf("round %d: an update was lost: %s", round, epString(got))
		}
	}
}
