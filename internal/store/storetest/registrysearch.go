package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// search_registered_models and search_model_versions.
var registrySearchTests = []testCase{
	{"ModelFilters", testRegSearchModelFilters},
	{"ModelOrder", testRegSearchModelOrder},
	{"ModelPaging", testRegSearchModelPaging},
	{"ModelInvalid", testRegSearchModelInvalid},
	{"VersionFilters", testRegSearchVersionFilters},
	{"VersionOrder", testRegSearchVersionOrder},
	{"VersionPaging", testRegSearchVersionPaging},
	{"VersionInvalid", testRegSearchVersionInvalid},
	{"Prompts", testRegSearchPrompts},
	{"ManyVersionsByTag", testRegSearchManyVersions},
}

func regModelNames(ms []core.RegisteredModel) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func regVersionIDs(mvs []core.ModelVersion) []string {
	out := make([]string, len(mvs))
	for i, mv := range mvs {
		out[i] = fmt.Sprintf("%s/%d", mv.Name, mv.Version)
	}
	return out
}

// regSearchModels pages through a registered-model search and fails on duplicates.
func regSearchModels(t *testing.T, s store.Store, q store.RegistrySearch) []string {
	t.Helper()
	if q.MaxResults == 0 {
		q.MaxResults = 100
	}
	var all []string
	for page := 0; ; page++ {
		ms, next, err := s.SearchRegisteredModels(t.Context(), q)
		must(t, err, fmt.Sprintf("SearchRegisteredModels page %d", page))
		all = append(all, regModelNames(ms)...)
		if next == "" {
			break
		}
		if len(ms) == 0 || page > 1000 {
			t.Fatalf("paging does not end (page %d)", page)
		}
		q.PageToken = next
	}
	if len(slices.Compact(slices.Sorted(slices.Values(all)))) != len(all) {
		t.Fatalf("duplicates while paging: %v", all)
	}
	return all
}

func regSearchVersions(t *testing.T, s store.Store, q store.RegistrySearch) []string {
	t.Helper()
	if q.MaxResults == 0 {
		q.MaxResults = 1000
	}
	var all []string
	for page := 0; ; page++ {
		mvs, next, err := s.SearchModelVersions(t.Context(), q)
		must(t, err, fmt.Sprintf("SearchModelVersions page %d", page))
		all = append(all, regVersionIDs(mvs)...)
		if next == "" {
			break
		}
		if len(mvs) == 0 || page > 1000 {
			t.Fatalf("paging does not end (page %d)", page)
		}
		q.PageToken = next
	}
	if len(slices.Compact(slices.Sorted(slices.Values(all)))) != len(all) {
		t.Fatalf("duplicates while paging: %v", all)
	}
	return all
}

func regName(op string, v search.Value) search.Comparison {
	return cmp(search.Attribute, search.RegAttrName, op, v)
}

func regTag(key, op, value string) search.Comparison {
	return cmp(search.Tag, key, op, str(value))
}

func testRegSearchModelFilters(t *testing.T, s store.Store) {
	regCreate(t, s, "Alpha", core.Tag{Key: "team", Value: "risk"}, core.Tag{Key: "tier", Value: "1"})
	regCreate(t, s, "alpha-2", core.Tag{Key: "team", Value: "Risk-ML"})
	regCreate(t, s, "beta", core.Tag{Key: "team", Value: "growth"}, core.Tag{Key: "tier", Value: "2"})
	regCreate(t, s, "gamma_x")
	regVersion(t, s, "beta", "s3://b")
	all := []string{"Alpha", "alpha-2", "beta", "gamma_x"}
	cases := []struct {
		what string
		f    search.Filter
		want []string
	}{
		{"all", where(), all},
		{"name =", where(regName(search.OpEq, str("beta"))), []string{"beta"}},
		{"name !=", where(regName(search.OpNe, str("beta"))), []string{"Alpha", "alpha-2", "gamma_x"}},
		{"name LIKE is case-sensitive", where(regName(search.OpLike, str("alpha%"))), []string{"alpha-2"}},
		{"name ILIKE", where(regName(search.OpILike, str("alpha%"))), []string{"Alpha", "alpha-2"}},
		{"LIKE escapes _", where(regName(search.OpLike, str(`gamma\_%`))), []string{"gamma_x"}},
		{"name IN", where(regName(search.OpIn, list("beta", "gamma_x", "zzz"))), []string{"beta", "gamma_x"}},
		{"name NOT IN", where(regName(search.OpNotIn, list("beta", "gamma_x"))), []string{"Alpha", "alpha-2"}},
		{"tag =", where(regTag("team", search.OpEq, "risk")), []string{"Alpha"}},
		{"tag != needs the tag", where(regTag("team", search.OpNe, "risk")), []string{"alpha-2", "beta"}},
		{"tag LIKE", where(regTag("team", search.OpLike, "%isk%")), []string{"Alpha", "alpha-2"}},
		{"tag ILIKE", where(regTag("team", search.OpILike, "risk%")), []string{"Alpha", "alpha-2"}},
		{"two tags", where(regTag("team", search.OpILike, "%"), regTag("tier", search.OpEq, "2")), []string{"beta"}},
		{"two clauses on one tag", where(regTag("team", search.OpLike, "%i%"), regTag("team", search.OpNe, "risk")), []string{"alpha-2"}},
		{"tag and name", where(regTag("tier", search.OpLike, "%"), regName(search.OpILike, str("a%"))), []string{"Alpha"}},
		{"unknown tag", where(regTag("nope", search.OpLike, "%")), nil},
	}
	for _, c := range cases {
		if got := regSearchModels(t, s, store.RegistrySearch{Filter: c.f}); !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
	// Results carry tags, aliases and latest versions.
	ms, _, err := s.SearchRegisteredModels(t.Context(), store.RegistrySearch{Filter: where(regName(search.OpEq, str("beta"))), MaxResults: 10})
	must(t, err, "search beta")
	if len(ms) != 1 || len(ms[0].Tags) != 2 || len(ms[0].LatestVersions) != 1 || ms[0].LatestVersions[0].Source != "s3://b" {
		t.Fatalf("search result %+v", ms)
	}
}

func testRegSearchModelOrder(t *testing.T, s store.Store) {
	for _, n := range []string{"c", "a", "d", "b"} {
		regCreate(t, s, n)
		regTick()
	}
	_, err := s.UpdateRegisteredModel(t.Context(), "a", "touched") // a is now the most recently updated
	must(t, err, "update a")
	cases := []struct {
		what string
		ob   []search.OrderBy
		want []string
	}{
		{"default: name ascending", nil, []string{"a", "b", "c", "d"}},
		{"name descending", []search.OrderBy{desc(search.Attribute, search.RegAttrName)}, []string{"d", "c", "b", "a"}},
		{"created", []search.OrderBy{asc(search.Attribute, search.RegAttrCreationTime)}, []string{"c", "a", "d", "b"}},
		{"created descending", []search.OrderBy{desc(search.Attribute, search.RegAttrCreationTime)}, []string{"b", "d", "a", "c"}},
		{"updated descending", []search.OrderBy{desc(search.Attribute, search.RegAttrLastUpdateTime)}, []string{"a", "b", "d", "c"}},
	}
	for _, c := range cases {
		if got := regSearchModels(t, s, store.RegistrySearch{OrderBy: c.ob}); !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
}

func testRegSearchModelPaging(t *testing.T, s store.Store) {
	var want []string
	for i := 0; i < 7; i++ {
		n := fmt.Sprintf("m%02d", i)
		regCreate(t, s, n)
		want = append(want, n)
	}
	for _, size := range []int{1, 2, 3, 7, 100} {
		if got := regSearchModels(t, s, store.RegistrySearch{MaxResults: size}); !slices.Equal(got, want) {
			t.Fatalf("pages of %d: %v, want %v", size, got, want)
		}
	}
	ms, next, err := s.SearchRegisteredModels(t.Context(), store.RegistrySearch{MaxResults: 7})
	must(t, err, "exact page")
	if len(ms) != 7 || next != "" {
		t.Fatalf("a page holding everything gives %d models and token %q", len(ms), next)
	}
	ms, next, err = s.SearchRegisteredModels(t.Context(), store.RegistrySearch{MaxResults: 3})
	must(t, err, "first page")
	ms2, _, err := s.SearchRegisteredModels(t.Context(), store.RegistrySearch{MaxResults: 3, PageToken: next})
	must(t, err, "second page")
	if got := append(regModelNames(ms), regModelNames(ms2)...); !slices.Equal(got, want[:6]) {
		t.Fatalf("two pages %v", got)
	}
}

func testRegSearchModelInvalid(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	bad := []struct {
		what string
		q    store.RegistrySearch
	}{
		{"max 0", store.RegistrySearch{MaxResults: 0}},
		{"max too big", store.RegistrySearch{MaxResults: store.MaxRegisteredModelSearchResults + 1}},
		{"bad token", store.RegistrySearch{MaxResults: 10, PageToken: "???"}},
		{"version attribute", store.RegistrySearch{MaxResults: 10, Filter: where(cmp(search.Attribute, search.RegAttrVersion, search.OpEq, num(1)))}},
		{"run_id attribute", store.RegistrySearch{MaxResults: 10, Filter: where(cmp(search.Attribute, search.RegAttrRunID, search.OpEq, str("x")))}},
		{"name >", store.RegistrySearch{MaxResults: 10, Filter: where(regName(search.OpGt, str("a")))}},
		{"tag IN", store.RegistrySearch{MaxResults: 10, Filter: where(cmp(search.Tag, "t", search.OpIn, list("a")))}},
		{"metric", store.RegistrySearch{MaxResults: 10, Filter: where(cmp(search.Metric, "acc", search.OpGt, num(1)))}},
		{"order by version", store.RegistrySearch{MaxResults: 10, OrderBy: []search.OrderBy{asc(search.Attribute, search.RegAttrVersion)}}},
		{"order by tag", store.RegistrySearch{MaxResults: 10, OrderBy: []search.OrderBy{asc(search.Tag, "t")}}},
		{"order twice", store.RegistrySearch{MaxResults: 10, OrderBy: []search.OrderBy{asc(search.Attribute, "name"), desc(search.Attribute, "name")}}},
	}
	for _, c := range bad {
		_, _, err := s.SearchRegisteredModels(t.Context(), c.q)
		wantCode(t, err, core.EINVALID, c.what)
	}
	_, _, err := s.SearchRegisteredModels(t.Context(), store.RegistrySearch{MaxResults: 1001})
	wantMessage(t, err, core.EINVALID, "It must be at most 1000, but got value 1001", "max message")
	if got := regSearchModels(t, s, store.RegistrySearch{MaxResults: store.MaxRegisteredModelSearchResults}); !slices.Equal(got, []string{"m"}) {
		t.Fatalf("largest page: %v", got)
	}
}

// regVersionFixture: models a (3 versions) and b (2), with runs, sources and tags.
func regVersionFixture(t *testing.T, s store.Store) (run1, run2 string) {
	exp := createExp(t, s, "e")
	run1 = createRun(t, s, exp.ID, runOpts{}).Info.RunID
	run2 = createRun(t, s, exp.ID, runOpts{}).Info.RunID
	regCreate(t, s, "a")
	regCreate(t, s, "b")
	add := func(name, source, run string, tags ...core.Tag) {
		_, err := s.CreateModelVersion(t.Context(), core.ModelVersion{Name: name, Source: source, RunID: run, Tags: tags})
		must(t, err, "CreateModelVersion")
		regTick()
	}
	add("a", "s3://bucket/a/1", run1, core.Tag{Key: "env", Value: "prod"}, core.Tag{Key: "owner", Value: "Ann"})
	add("b", "s3://bucket/b/1", run2, core.Tag{Key: "env", Value: "dev"})
	add("a", "s3://other/a/2", run2, core.Tag{Key: "env", Value: "Prod-eu"})
	add("b", "s3://bucket/b/2", "")
	add("a", "gs://g/a/3", run1, core.Tag{Key: "owner", Value: "bob"})
	return run1, run2
}

func testRegSearchVersionFilters(t *testing.T, s store.Store) {
	run1, run2 := regVersionFixture(t, s)
	attr := func(key, op string, v search.Value) search.Comparison { return cmp(search.Attribute, key, op, v) }
	ob := []search.OrderBy{asc(search.Attribute, search.RegAttrName), asc(search.Attribute, search.RegAttrVersion)}
	cases := []struct {
		what string
		f    search.Filter
		want []string
	}{
		{"all", where(), []string{"a/1", "a/2", "a/3", "b/1", "b/2"}},
		{"name =", where(regName(search.OpEq, str("b"))), []string{"b/1", "b/2"}},
		{"name IN", where(regName(search.OpIn, list("b", "x"))), []string{"b/1", "b/2"}},
		{"name ILIKE", where(regName(search.OpILike, str("A"))), []string{"a/1", "a/2", "a/3"}},
		{"run_id =", where(attr(search.RegAttrRunID, search.OpEq, str(run1))), []string{"a/1", "a/3"}},
		{"run_id !=", where(attr(search.RegAttrRunID, search.OpNe, str(run1))), []string{"a/2", "b/1", "b/2"}},
		{"run_id IN", where(attr(search.RegAttrRunID, search.OpIn, list(run2, "zzz"))), []string{"a/2", "b/1"}},
		{"run_id NOT IN", where(attr(search.RegAttrRunID, search.OpNotIn, list(run2, ""))), []string{"a/1", "a/3"}},
		{"version =", where(attr(search.RegAttrVersion, search.OpEq, num(2))), []string{"a/2", "b/2"}},
		{"version >=", where(attr(search.RegAttrVersion, search.OpGe, num(2))), []string{"a/2", "a/3", "b/2"}},
		{"version < quoted", where(attr(search.RegAttrVersion, search.OpLt, str("2"))), []string{"a/1", "b/1"}},
		{"version !=", where(attr(search.RegAttrVersion, search.OpNe, num(1)), regName(search.OpEq, str("a"))), []string{"a/2", "a/3"}},
		{"source LIKE", where(attr(search.RegAttrSourcePath, search.OpLike, str("s3://bucket/%"))), []string{"a/1", "b/1", "b/2"}},
		{"source =", where(attr(search.RegAttrSourcePath, search.OpEq, str("gs://g/a/3"))), []string{"a/3"}},
		{"source ILIKE", where(attr(search.RegAttrSourcePath, search.OpILike, str("S3://OTHER/%"))), []string{"a/2"}},
		{"tag =", where(regTag("env", search.OpEq, "prod")), []string{"a/1"}},
		{"tag ILIKE", where(regTag("env", search.OpILike, "prod%")), []string{"a/1", "a/2"}},
		{"tag != needs the tag", where(regTag("env", search.OpNe, "prod")), []string{"a/2", "b/1"}},
		{"two tags", where(regTag("env", search.OpLike, "%"), regTag("owner", search.OpILike, "ann")), []string{"a/1"}},
		{"tag and attributes", where(regTag("owner", search.OpLike, "%"), attr(search.RegAttrVersion, search.OpGt, num(1))), []string{"a/3"}},
		{"no match", where(regTag("env", search.OpEq, "none")), nil},
	}
	for _, c := range cases {
		if got := regSearchVersions(t, s, store.RegistrySearch{Filter: c.f, OrderBy: ob}); !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
	must(t, s.SetRegisteredModelAlias(t.Context(), "a", "champion", 1), "alias")
	mvs, _, err := s.SearchModelVersions(t.Context(), store.RegistrySearch{Filter: where(regTag("owner", search.OpEq, "Ann")), MaxResults: 5})
	must(t, err, "search with details")
	if len(mvs) != 1 || !slices.Equal(mvs[0].Aliases, []string{"champion"}) || len(mvs[0].Tags) != 2 ||
		mvs[0].RunID != run1 || mvs[0].Approval != core.ApprovalPending {
		t.Fatalf("search result %+v", mvs)
	}
}

func testRegSearchVersionOrder(t *testing.T, s store.Store) {
	regVersionFixture(t, s)
	_, err := s.UpdateModelVersion(t.Context(), "b", 1, "touched") // b/1 is now the most recently updated
	must(t, err, "update")
	cases := []struct {
		what string
		ob   []search.OrderBy
		want []string
	}{
		{"default: updated descending, name, version descending", nil, []string{"b/1", "a/3", "b/2", "a/2", "a/1"}},
		{"name", []search.OrderBy{asc(search.Attribute, search.RegAttrName)}, []string{"a/3", "a/2", "a/1", "b/2", "b/1"}},
		{"version ascending", []search.OrderBy{asc(search.Attribute, search.RegAttrVersion)}, []string{"a/1", "b/1", "a/2", "b/2", "a/3"}},
		{"version then name descending", []search.OrderBy{desc(search.Attribute, search.RegAttrVersion), desc(search.Attribute, search.RegAttrName)},
			[]string{"a/3", "b/2", "a/2", "b/1", "a/1"}},
		{"created", []search.OrderBy{asc(search.Attribute, search.RegAttrCreationTime)}, []string{"a/1", "b/1", "a/2", "b/2", "a/3"}},
		{"updated", []search.OrderBy{asc(search.Attribute, search.RegAttrLastUpdateTime)}, []string{"a/1", "a/2", "b/2", "a/3", "b/1"}},
	}
	for _, c := range cases {
		if got := regSearchVersions(t, s, store.RegistrySearch{OrderBy: c.ob}); !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
}

func testRegSearchVersionPaging(t *testing.T, s store.Store) {
	regVersionFixture(t, s)
	want := regSearchVersions(t, s, store.RegistrySearch{MaxResults: 100})
	if len(want) != 5 {
		t.Fatalf("%d versions, want 5", len(want))
	}
	for _, size := range []int{1, 2, 4, 5} {
		if got := regSearchVersions(t, s, store.RegistrySearch{MaxResults: size}); !slices.Equal(got, want) {
			t.Fatalf("pages of %d: %v, want %v", size, got, want)
		}
	}
	if got := regSearchVersions(t, s, store.RegistrySearch{MaxResults: store.MaxModelVersionSearchResults}); !slices.Equal(got, want) {
		t.Fatalf("largest page: %v", got)
	}
}

func testRegSearchVersionInvalid(t *testing.T, s store.Store) {
	regVersionFixture(t, s)
	attr := func(key, op string, v search.Value) search.Filter { return where(cmp(search.Attribute, key, op, v)) }
	bad := []struct {
		what string
		q    store.RegistrySearch
	}{
		{"max 0", store.RegistrySearch{MaxResults: 0}},
		{"max too big", store.RegistrySearch{MaxResults: store.MaxModelVersionSearchResults + 1}},
		{"unknown attribute", store.RegistrySearch{Filter: attr("status", search.OpEq, str("READY"))}},
		{"source IN", store.RegistrySearch{Filter: attr(search.RegAttrSourcePath, search.OpIn, list("x"))}},
		{"name >", store.RegistrySearch{Filter: attr(search.RegAttrName, search.OpGt, str("a"))}},
		{"version LIKE", store.RegistrySearch{Filter: attr(search.RegAttrVersion, search.OpLike, str("1%"))}},
		{"version IN", store.RegistrySearch{Filter: attr(search.RegAttrVersion, search.OpIn, list("1"))}},
		{"fractional version", store.RegistrySearch{Filter: attr(search.RegAttrVersion, search.OpEq, num(1.5))}},
		{"non-numeric version", store.RegistrySearch{Filter: attr(search.RegAttrVersion, search.OpEq, str("one"))}},
		{"tag >", store.RegistrySearch{Filter: where(cmp(search.Tag, "env", search.OpGt, str("a")))}},
		{"param", store.RegistrySearch{Filter: where(cmp(search.Param, "p", search.OpEq, str("a")))}},
		{"order by run_id", store.RegistrySearch{OrderBy: []search.OrderBy{asc(search.Attribute, search.RegAttrRunID)}}},
		{"order twice", store.RegistrySearch{OrderBy: []search.OrderBy{asc(search.Attribute, "version_number"), desc(search.Attribute, "version_number")}}},
	}
	for _, c := range bad {
		if c.q.MaxResults == 0 && c.what != "max 0" {
			c.q.MaxResults = 10
		}
		_, _, err := s.SearchModelVersions(t.Context(), c.q)
		wantCode(t, err, core.EINVALID, c.what)
	}
	_, _, err := s.SearchModelVersions(t.Context(), store.RegistrySearch{MaxResults: -1})
	wantMessage(t, err, core.EINVALID, "It must be a positive integer, but got -1", "negative max message")
}

// Prompts are registered models tagged mlflow.prompt.is_prompt=true; searches leave
// them out unless the filter asks for them (MLflow's _is_querying_prompt).
func testRegSearchPrompts(t *testing.T, s store.Store) {
	const key = "mlflow.prompt.is_prompt"
	regCreate(t, s, "model")
	regCreate(t, s, "prompt", core.Tag{Key: key, Value: "true"})
	regCreate(t, s, "flagged", core.Tag{Key: key, Value: "false"})
	regVersion(t, s, "model", "s3://m")
	regVersion(t, s, "prompt", "s3://p", core.Tag{Key: key, Value: "true"})
	cases := []struct {
		what string
		f    search.Filter
		want []string
	}{
		{"default", where(), []string{"flagged", "model"}},
		{"asking for prompts", where(regTag(key, search.OpEq, "true")), []string{"prompt"}},
		{"!= false asks for prompts", where(regTag(key, search.OpNe, "false")), []string{"prompt"}},
		{"= false is dropped", where(regTag(key, search.OpEq, "false")), []string{"flagged", "model"}},
	}
	for _, c := range cases {
		if got := regSearchModels(t, s, store.RegistrySearch{Filter: c.f}); !slices.Equal(got, c.want) {
			t.Fatalf("models, %s: got %v, want %v", c.what, got, c.want)
		}
	}
	if got := regSearchVersions(t, s, store.RegistrySearch{}); !slices.Equal(got, []string{"model/1"}) {
		t.Fatalf("versions without prompts: %v", got)
	}
	if got := regSearchVersions(t, s, store.RegistrySearch{Filter: where(regTag(key, search.OpEq, "true"))}); !slices.Equal(got, []string{"prompt/1"}) {
		t.Fatalf("prompt versions: %v", got)
	}
}

// A tag filter over many versions returns exactly the tagged ones, with their details.
func testRegSearchManyVersions(t *testing.T, s store.Store) {
	const models, versions = 20, 10
	var want []string
	for i := 0; i < models; i++ {
		name := fmt.Sprintf("m%02d", i)
		regCreate(t, s, name)
		for v := 1; v <= versions; v++ {
			tags := []core.Tag{{Key: "k1", Value: "x"}, {Key: "k2", Value: fmt.Sprint(v)}, {Key: "shard", Value: fmt.Sprint((i*versions + v) % 7)}}
			regVersion(t, s, name, "s3://x", tags...)
			if (i*versions+v)%7 == 3 {
				want = append(want, fmt.Sprintf("%s/%d", name, v))
			}
		}
	}
	mvs, next, err := s.SearchModelVersions(t.Context(), store.RegistrySearch{
		Filter:     where(regTag("shard", search.OpEq, "3")),
		OrderBy:    []search.OrderBy{asc(search.Attribute, search.RegAttrName), asc(search.Attribute, search.RegAttrVersion)},
		MaxResults: 1000,
	})
	must(t, err, "search by tag")
	if got := regVersionIDs(mvs); next != "" || !slices.Equal(got, want) {
		t.Fatalf("got %v (next %q), want %v", got, next, want)
	}
	for _, mv := range mvs {
		if len(mv.Tags) != 3 || mv.Tags[2].Key != "shard" || mv.Tags[2].Value != "3" || mv.Tags[1].Value != fmt.Sprint(mv.Version) {
			t.Fatalf("details of %s/%d: %v", mv.Name, mv.Version, mv.Tags)
		}
	}
}
