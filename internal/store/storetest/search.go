package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

var searchRunTests = []testCase{
	{"Filters", testSearchRunFilters},
	{"LikeEscapes", testSearchRunLikeEscapes},
	{"ParsedFilters", testSearchRunParsed},
	{"ViewTypes", testSearchRunViewTypes},
	{"InvalidArguments", testSearchRunsInvalid},
}

// searchFixture is a small experiment whose runs differ in every searchable field.
type searchFixture struct {
	exp, other             string
	r1, r2, r3, r4, r5, r6 string // r4 is deleted; r6 lives in the other experiment
}

func newSearchFixture(t *testing.T, s store.Store) searchFixture {
	ctx := t.Context()
	var f searchFixture
	f.exp = createExp(t, s, "search").ID
	f.other = createExp(t, s, "search-other").ID

	r1 := createRun(t, s, f.exp, runOpts{name: "alpha-run", user: "alice", startTime: 1000})
	logMetrics(t, s, r1.Info.RunID, m("acc", 0.5, 0, 1), m("loss", math.NaN(), 0, 1))
	logParams(t, s, r1.Info.RunID, core.Param{Key: "model", Value: "ResNet"}, core.Param{Key: "lr", Value: "0.1"})
	setTags(t, s, r1.Info.RunID, core.Tag{Key: "env", Value: "Prod"})
	must(t, s.LogInputs(ctx, r1.Info.RunID, []core.DatasetInput{dsInput("iris", "d1", "training")}), "LogInputs r1")

	r2 := createRun(t, s, f.exp, runOpts{name: "beta-run", user: "bob", startTime: 2000})
	// acc was 0.95 at step 0, but the latest value (step 1) is what searches see.
	logMetrics(t, s, r2.Info.RunID, m("acc", 0.95, 0, 1), m("acc", 0.7, 1, 2))
	logParams(t, s, r2.Info.RunID, core.Param{Key: "model", Value: "resnet"}, core.Param{Key: "lr", Value: "0.01"})
	setTags(t, s, r2.Info.RunID, core.Tag{Key: "env", Value: "prod"})
	must(t, s.LogInputs(ctx, r2.Info.RunID, []core.DatasetInput{dsInput("iris", "d2", "eval")}), "LogInputs r2")
	_, err := s.UpdateRun(ctx, r2.Info.RunID, core.RunUpdate{Status: ptr(core.RunFinished), EndTime: ptr(int64(2500))})
	must(t, err, "UpdateRun r2")

	r3 := createRun(t, s, f.exp, runOpts{name: "Gamma", user: "alice", startTime: 3000})
	logMetrics(t, s, r3.Info.RunID, m("acc", 0.9, 0, 1), m("loss", 0.2, 0, 1))
	logParams(t, s, r3.Info.RunID, core.Param{Key: "model", Value: "vit"})
	_, err = s.UpdateRun(ctx, r3.Info.RunID, core.RunUpdate{Status: ptr(core.RunFailed)})
	must(t, err, "UpdateRun r3")

	r4 := createRun(t, s, f.exp, runOpts{name: "delta", user: "bob", startTime: 4000})
	logMetrics(t, s, r4.Info.RunID, m("acc", 0.8, 0, 1))
	must(t, s.DeleteRun(ctx, r4.Info.RunID), "DeleteRun r4")

	r5 := createRun(t, s, f.exp, runOpts{name: "eps", user: "carol", startTime: 2000})

	r6 := createRun(t, s, f.other, runOpts{name: "other", user: "alice", startTime: 500})
	logMetrics(t, s, r6.Info.RunID, m("acc", 0.6, 0, 1))

	f.r1, f.r2, f.r3, f.r4, f.r5, f.r6 = r1.Info.RunID, r2.Info.RunID, r3.Info.RunID, r4.Info.RunID, r5.Info.RunID, r6.Info.RunID
	return f
}

func testSearchRunFilters(t *testing.T, s store.Store) {
	f := newSearchFixture(t, s)
	metric := func(k, op string, v float64) search.Comparison { return cmp(search.Metric, k, op, num(v)) }
	param := func(k, op, v string) search.Comparison { return cmp(search.Param, k, op, str(v)) }
	tag := func(k, op, v string) search.Comparison { return cmp(search.Tag, k, op, str(v)) }
	attr := func(k, op string, v search.Value) search.Comparison { return cmp(search.Attribute, k, op, v) }
	ds := func(k, op string, v search.Value) search.Comparison { return cmp(search.Dataset, k, op, v) }
	ids := func(ids ...string) []string { return ids }

	cases := []struct {
		what string
		f    search.Filter
		want []string
	}{
		{"no filter", where(), ids(f.r1, f.r2, f.r3, f.r5)},
		// metrics: latest values; runs without the metric never match; NaN only matches !=.
		{"metric =", where(metric("acc", search.OpEq, 0.7)), ids(f.r2)},
		{"metric = old value", where(metric("acc", search.OpEq, 0.95)), nil},
		{"metric !=", where(metric("acc", search.OpNe, 0.7)), ids(f.r1, f.r3)},
		{"metric >", where(metric("acc", search.OpGt, 0.5)), ids(f.r2, f.r3)},
		{"metric >=", where(metric("acc", search.OpGe, 0.5)), ids(f.r1, f.r2, f.r3)},
		{"metric <", where(metric("acc", search.OpLt, 0.7)), ids(f.r1)},
		{"metric <=", where(metric("acc", search.OpLe, 0.7)), ids(f.r1, f.r2)},
		{"NaN metric matches !=", where(metric("loss", search.OpNe, 0.2)), ids(f.r1)},
		{"NaN metric fails >", where(metric("loss", search.OpGt, -1e308)), ids(f.r3)},
		{"NaN metric fails =0", where(metric("loss", search.OpEq, 0)), nil},
		{"unknown metric", where(metric("nope", search.OpGe, 0)), nil},
		// params
		{"param =", where(param("model", search.OpEq, "resnet")), ids(f.r2)},
		{"param !=", where(param("model", search.OpNe, "resnet")), ids(f.r1, f.r3)},
		{"param != skips runs without it", where(param("lr", search.OpNe, "0.1")), ids(f.r2)},
		{"param LIKE is case-sensitive", where(param("model", search.OpLike, "res%")), ids(f.r2)},
		{"param ILIKE", where(param("model", search.OpILike, "RES%")), ids(f.r1, f.r2)},
		{"param LIKE underscore", where(param("lr", search.OpLike, "0._")), ids(f.r1)},
		{"param IS NULL", where(cmp(search.Param, "lr", search.OpIsNull, search.Value{})), ids(f.r3, f.r5)},
		{"param IS NOT NULL", where(cmp(search.Param, "lr", search.OpIsNotNull, search.Value{})), ids(f.r1, f.r2)},
		// tags
		{"tag IS NULL", where(cmp(search.Tag, "env", search.OpIsNull, search.Value{})), ids(f.r3, f.r5)},
		{"tag IS NOT NULL", where(cmp(search.Tag, "env", search.OpIsNotNull, search.Value{})), ids(f.r1, f.r2)},
		{"tag =", where(tag("env", search.OpEq, "prod")), ids(f.r2)},
		{"tag !=", where(tag("env", search.OpNe, "prod")), ids(f.r1)},
		{"tag LIKE", where(tag("env", search.OpLike, "P%")), ids(f.r1)},
		{"tag ILIKE", where(tag("env", search.OpILike, "p%")), ids(f.r1, f.r2)},
		{"mlflow.runName tag", where(tag(runNameTag, search.OpEq, "eps")), ids(f.r5)},
		// attributes
		{"status =", where(attr(search.RunAttrStatus, search.OpEq, str(core.RunFinished))), ids(f.r2)},
		{"status !=", where(attr(search.RunAttrStatus, search.OpNe, str(core.RunRunning))), ids(f.r2, f.r3)},
		{"run_name =", where(attr(search.RunAttrRunName, search.OpEq, str("beta-run"))), ids(f.r2)},
		{"run_name LIKE", where(attr(search.RunAttrRunName, search.OpLike, str("%-run"))), ids(f.r1, f.r2)},
		{"run_name LIKE is case-sensitive", where(attr(search.RunAttrRunName, search.OpLike, str("gamma"))), nil},
		{"run_name ILIKE", where(attr(search.RunAttrRunName, search.OpILike, str("gamma"))), ids(f.r3)},
		{"run_name !=", where(attr(search.RunAttrRunName, search.OpNe, str("eps"))), ids(f.r1, f.r2, f.r3)},
		{"run_id =", where(attr(search.RunAttrRunID, search.OpEq, str(f.r2))), ids(f.r2)},
		{"run_id IN", where(attr(search.RunAttrRunID, search.OpIn, list(f.r1, f.r3, f.r4, f.r6))), ids(f.r1, f.r3)},
		{"run_id NOT IN", where(attr(search.RunAttrRunID, search.OpNotIn, list(f.r1))), ids(f.r2, f.r3, f.r5)},
		{"start_time >", where(attr(search.RunAttrStartTime, search.OpGt, num(1000))), ids(f.r2, f.r3, f.r5)},
		{"start_time <=", where(attr(search.RunAttrStartTime, search.OpLe, num(2000))), ids(f.r1, f.r2, f.r5)},
		{"start_time =", where(attr(search.RunAttrStartTime, search.OpEq, num(3000))), ids(f.r3)},
		{"start_time !=", where(attr(search.RunAttrStartTime, search.OpNe, num(2000))), ids(f.r1, f.r3)},
		{"end_time > skips runs without one", where(attr(search.RunAttrEndTime, search.OpGt, num(0))), ids(f.r2)},
		{"user_id =", where(attr(search.RunAttrUserID, search.OpEq, str("alice"))), ids(f.r1, f.r3)},
		{"user_id !=", where(attr(search.RunAttrUserID, search.OpNe, str("alice"))), ids(f.r2, f.r5)},
		{"artifact_uri LIKE", where(attr(search.RunAttrArtifactURI, search.OpLike, str("%"+f.r5+"%"))), ids(f.r5)},
		// datasets
		{"dataset name =", where(ds(search.DatasetName, search.OpEq, str("iris"))), ids(f.r1, f.r2)},
		{"dataset name !=", where(ds(search.DatasetName, search.OpNe, str("iris"))), nil},
		{"dataset digest =", where(ds(search.DatasetDigest, search.OpEq, str("d2"))), ids(f.r2)},
		{"dataset digest IN", where(ds(search.DatasetDigest, search.OpIn, list("d1", "d2", "d9"))), ids(f.r1, f.r2)},
		{"dataset digest NOT IN", where(ds(search.DatasetDigest, search.OpNotIn, list("d1"))), ids(f.r2)},
		{"dataset context =", where(ds(search.DatasetContext, search.OpEq, str("training"))), ids(f.r1)},
		{"dataset context LIKE", where(ds(search.DatasetContext, search.OpLike, str("%a%"))), ids(f.r1, f.r2)},
		{"dataset name LIKE is case-sensitive", where(ds(search.DatasetName, search.OpLike, str("IR%"))), nil},
		{"dataset name ILIKE", where(ds(search.DatasetName, search.OpILike, str("IR%"))), ids(f.r1, f.r2)},
		// conjunctions
		{"AND of all kinds", where(metric("acc", search.OpGt, 0.4), param("model", search.OpILike, "resnet"),
			tag("env", search.OpEq, "prod"), attr(search.RunAttrUserID, search.OpEq, str("bob")),
			ds(search.DatasetName, search.OpEq, str("iris"))), ids(f.r2)},
		{"AND with no match", where(metric("acc", search.OpGt, 0.8), param("model", search.OpEq, "resnet")), nil},
		{"two clauses on one metric", where(metric("acc", search.OpGt, 0.5), metric("acc", search.OpLt, 0.8)), ids(f.r2)},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			sameSet(t, tc.what, searchIDs(t, s, []string{f.exp}, tc.f), tc.want)
		})
	}
	// Several experiments at once.
	sameSet(t, "two experiments", searchIDs(t, s, []string{f.exp, f.other}, where(metric("acc", search.OpGe, 0.6))),
		ids(f.r2, f.r3, f.r6))
	sameSet(t, "other experiment only", searchIDs(t, s, []string{f.other}, where()), ids(f.r6))
	sameSet(t, "no experiments", searchIDs(t, s, nil, where()), nil)

	// Returned runs carry their data.
	runs := searchAll(t, s, store.RunSearch{ExperimentIDs: []string{f.exp},
		Filter: where(attr(search.RunAttrRunID, search.OpEq, str(f.r2))), MaxResults: 10})
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	r := runs[0]
	if r.Info.RunName != "beta-run" || r.Info.Status != core.RunFinished || r.Info.UserID != "bob" ||
		len(r.Params) != 2 || tagMap(r.Tags)["env"] != "prod" || len(r.Inputs) != 1 || metricMap(r.Metrics)["acc"].Value != 0.7 {
		t.Fatalf("searched run %+v", r)
	}
}

func testSearchRunViewTypes(t *testing.T, s store.Store) {
	f := newSearchFixture(t, s)
	q := func(v core.ViewType, fl search.Filter) []string {
		return runIDs(searchAll(t, s, store.RunSearch{ExperimentIDs: []string{f.exp}, ViewType: v, Filter: fl, MaxResults: 100}))
	}
	sameSet(t, "active", q(core.ViewActiveOnly, where()), []string{f.r1, f.r2, f.r3, f.r5})
	sameSet(t, "deleted", q(core.ViewDeletedOnly, where()), []string{f.r4})
	sameSet(t, "all", q(core.ViewAll, where()), []string{f.r1, f.r2, f.r3, f.r4, f.r5})
	sameSet(t, "deleted with metric filter", q(core.ViewDeletedOnly, where(cmp(search.Metric, "acc", search.OpGt, num(0.1)))), []string{f.r4})
	sameSet(t, "lifecycle_stage attribute", q(core.ViewAll,
		where(cmp(search.Attribute, search.RunAttrLifecycleStage, search.OpEq, str(core.LifecycleDeleted)))), []string{f.r4})
	must(t, s.RestoreRun(t.Context(), f.r4), "RestoreRun")
	sameSet(t, "deleted after restore", q(core.ViewDeletedOnly, where()), nil)
}

func testSearchRunsInvalid(t *testing.T, s store.Store) {
	createRun(t, s, "0", runOpts{})
	for _, tok := range []string{"garbage!", "eyJvZmZzZXQiOiAtNX0=", "%%%"} {
		_, _, err := s.SearchRuns(t.Context(), store.RunSearch{ExperimentIDs: []string{"0"}, MaxResults: 10, PageToken: tok})
		wantCode(t, err, core.EINVALID, "invalid page token "+tok)
	}
	_, _, err := s.SearchRuns(t.Context(), store.RunSearch{ExperimentIDs: []string{"0"}, MaxResults: store.MaxRunSearchResults + 1})
	wantCode(t, err, core.EINVALID, "MaxResults above the limit")
	_, _, err = s.SearchRuns(t.Context(), store.RunSearch{ExperimentIDs: []string{"0"}, MaxResults: store.MaxRunSearchResults})
	must(t, err, "MaxResults at the limit")
}

// testSearchRunParsed runs filters and order_by clauses as the mlflow client writes them,
// through the parser, so that the AST the parser produces is the AST the store executes.
func testSearchRunParsed(t *testing.T, s store.Store) {
	f := newSearchFixture(t, s)
	cases := []struct {
		filter  string
		orderBy []string
		want    []string
		ordered bool
	}{
		{"metrics.acc > 0.5 and params.model ILIKE 'RES%'", nil, []string{f.r2}, false},
		{"attributes.`Run name` = 'beta-run'", nil, []string{f.r2}, false},
		{"run_name LIKE '%-run'", nil, []string{f.r1, f.r2}, false},
		{"status = 'FAILED'", nil, []string{f.r3}, false},
		{"attributes.run_id IN ('" + f.r1 + "', '" + f.r5 + "')", nil, []string{f.r1, f.r5}, false},
		{"tags.\"env\" = 'Prod'", nil, []string{f.r1}, false},
		{"tags.`mlflow.runName` = 'eps'", nil, []string{f.r5}, false},
		{"datasets.context = 'eval'", nil, []string{f.r2}, false},
		{"created >= 2000", nil, []string{f.r2, f.r3, f.r5}, false},
		{"params.lr IS NULL", nil, []string{f.r3, f.r5}, false},
		{"", []string{"metrics.acc DESC"}, []string{f.r3, f.r2, f.r1, f.r5}, true},
		{"", []string{"params.model", "attributes.start_time ASC"}, []string{f.r1, f.r2, f.r3, f.r5}, true},
		// Strings sort by code point (upper case first), the same on every backend.
		{"metrics.acc >= 0.5", []string{"attributes.run_name DESC"}, []string{f.r2, f.r1, f.r3}, true},
	}
	for _, tc := range cases {
		t.Run(tc.filter+" "+strings.Join(tc.orderBy, ","), func(t *testing.T) { runParsedCase(t, s, f.exp, tc.filter, tc.orderBy, tc.want, tc.ordered) })
	}
}

func runParsedCase(t *testing.T, s store.Store, exp, filter string, orderBy, want []string, ordered bool) {
	fl, err := search.ParseRunFilter(filter)
	must(t, err, "ParseRunFilter "+filter)
	var obs []search.OrderBy
	for _, o := range orderBy {
		ob, err := search.ParseRunOrderBy(o)
		must(t, err, "ParseRunOrderBy "+o)
		obs = append(obs, ob)
	}
	got := searchIDs(t, s, []string{exp}, fl, obs...)
	what := fmt.Sprintf("filter %q order_by %q", filter, orderBy)
	if ordered {
		sameOrder(t, what, got, want)
	} else {
		sameSet(t, what, got, want)
	}
}

// testSearchRunLikeEscapes pins what a backslash means in a LIKE pattern. PostgreSQL
// (and so MLflow on PostgreSQL) treats it as an escape; SQLite would not unless told
// to, so the backends must agree on one reading: the escaping one.
func testSearchRunLikeEscapes(t *testing.T, s store.Store) {
	values := map[string]string{}
	for _, v := range []string{"50%", "500", "a_b", "axb", `a\b`} {
		r := createRun(t, s, "0", runOpts{})
		logParams(t, s, r.Info.RunID, core.Param{Key: "p", Value: v})
		values[r.Info.RunID] = v
	}
	cases := []struct {
		pattern, op string
		want        []string
	}{
		{`50\%`, search.OpLike, []string{"50%"}},
		{`50%`, search.OpLike, []string{"50%", "500"}},
		{`a\_b`, search.OpLike, []string{"a_b"}},
		{`a_b`, search.OpLike, []string{"a_b", "axb", `a\b`}},
		{`a\\b`, search.OpLike, []string{`a\b`}},
		{`A\_B`, search.OpILike, []string{"a_b"}},
	}
	for _, tc := range cases {
		t.Run(tc.op+" "+tc.pattern, func(t *testing.T) {
			var got []string
			for _, id := range searchIDs(t, s, []string{"0"}, where(cmp(search.Param, "p", tc.op, str(tc.pattern)))) {
				got = append(got, values[id])
			}
			sameSet(t, tc.op+" "+tc.pattern, got, tc.want)
		})
	}
}
