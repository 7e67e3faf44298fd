package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

var loggedModelSearchTests = []testCase{
	{"Attributes", testSearchModelAttributes},
	{"ParamsAndTags", testSearchModelParamsTags},
	{"Metrics", testSearchModelMetrics},
	{"Datasets", testSearchModelDatasets},
	{"Order", testSearchModelOrder},
	{"NaN", testSearchModelNaN},
	{"Paging", testSearchModelPaging},
	{"Invalid", testSearchModelInvalid},
}

// modelFixture is an experiment whose models differ in every searchable field.
type modelFixture struct {
	exp, run   string
	m1, m2, m3 core.LoggedModel // created in this order, at distinct milliseconds
	deleted    string           // a deleted model of exp
	other      string           // a model of another experiment
}

// lmTick makes the next creation or update land on a later millisecond.
func lmTick() { time.Sleep(3 * time.Millisecond) }

func newModelFixture(t *testing.T, s store.Store) modelFixture {
	ctx := t.Context()
	var f modelFixture
	f.exp = createExp(t, s, "models").ID
	other := createExp(t, s, "models-other").ID
	f.run = createRun(t, s, f.exp, runOpts{}).Info.RunID
	f.m1 = lmCreate(t, s, core.LoggedModel{ExperimentID: f.exp, Name: "alpha", ModelType: "sklearn", SourceRunID: f.run,
		Params: []core.Param{{Key: "lr", Value: "0.1"}, {Key: "opt", Value: "Adam"}}, Tags: []core.Tag{{Key: "env", Value: "prod"}}})
	lmTick()
	f.m2 = lmCreate(t, s, core.LoggedModel{ExperimentID: f.exp, Name: "Beta", ModelType: "pytorch",
		Params: []core.Param{{Key: "lr", Value: "0.01"}}, Tags: []core.Tag{{Key: "env", Value: "Prod"}}})
	lmTick()
	f.m3 = lmCreate(t, s, core.LoggedModel{ExperimentID: f.exp, Name: "gamma", ModelType: "sklearn",
		Tags: []core.Tag{{Key: "env", Value: "dev"}}})
	lmTick()
	var err error
	f.m1, err = s.FinalizeLoggedModel(ctx, f.m1.ID, core.LoggedModelReady)
	must(t, err, "finalize m1")
	lmTick()
	f.m2, err = s.FinalizeLoggedModel(ctx, f.m2.ID, core.LoggedModelFailed)
	must(t, err, "finalize m2")
	del := lmCreate(t, s, core.LoggedModel{ExperimentID: f.exp, Name: "alpha-deleted", ModelType: "sklearn",
		Params: []core.Param{{Key: "lr", Value: "0.1"}}, Tags: []core.Tag{{Key: "env", Value: "prod"}}})
	f.deleted = del.ID
	f.other = lmCreate(t, s, core.LoggedModel{ExperimentID: other, Name: "alpha", ModelType: "sklearn",
		Params: []core.Param{{Key: "lr", Value: "0.1"}}, Tags: []core.Tag{{Key: "env", Value: "prod"}}}).ID

	// m1's latest acc is 0.9 (newest timestamp) although 0.5 has the higher step;
	// m2's latest acc is 0.7 on eval; m3 has no acc.
	must(t, s.LogBatch(ctx, f.run, []core.Metric{
		modelMetric(f.m1.ID, "acc", 0.9, 0, 100, "eval", "d1"),
		modelMetric(f.m1.ID, "acc", 0.5, 1, 50, "", ""),
		modelMetric(f.m1.ID, "loss", 0.3, 0, 100, "", ""),
		modelMetric(f.m2.ID, "acc", 0.7, 0, 100, "eval", "d2"),
		modelMetric(f.m2.ID, "acc", 0.95, 0, 90, "train", "t1"),
		modelMetric(f.m3.ID, "loss", 0.8, 0, 100, "", ""),
		modelMetric(f.deleted, "acc", 0.99, 0, 100, "eval", "d1"),
		modelMetric(f.other, "acc", 0.99, 0, 100, "eval", "d1"),
	}, nil, nil), "LogBatch model metrics")
	must(t, s.DeleteLoggedModel(ctx, f.deleted), "DeleteLoggedModel")
	return f
}

// lmSearch pages through a search and returns the model ids in order.
func lmSearch(t *testing.T, s store.Store, q store.LoggedModelSearch) []string {
	t.Helper()
	if q.MaxResults == 0 {
		q.MaxResults = 2 // small pages, so every search also pages
	}
	var ids []string
	seen := map[string]bool{}
	for page := 0; ; page++ {
		ms, next, err := s.SearchLoggedModels(t.Context(), q)
		must(t, err, fmt.Sprintf("SearchLoggedModels page %d", page))
		if len(ms) > q.MaxResults {
			t.Fatalf("page of %d models, max %d", len(ms), q.MaxResults)
		}
		for _, m := range ms {
			if seen[m.ID] {
				t.Fatalf("model %s returned twice", m.ID)
			}
			seen[m.ID] = true
			ids = append(ids, m.ID)
		}
		if next == "" {
			return ids
		}
		if len(ms) == 0 || page > 1000 {
			t.Fatalf("page %d: %d models and a next token", page, len(ms))
		}
		q.PageToken = next
	}
}

// where returns the ids of the fixture experiment's models matching the comparisons.
func (f modelFixture) where(t *testing.T, s store.Store, cs ...search.Comparison) []string {
	t.Helper()
	return lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{f.exp}, Filter: where(cs...)})
}

func testSearchModelAttributes(t *testing.T, s store.Store) {
	f := newModelFixture(t, s)
	m1, m2, m3 := f.m1.ID, f.m2.ID, f.m3.ID
	A := search.Attribute
	cases := []struct {
		c    search.Comparison
		want []string
	}{
		{cmp(A, search.ModelAttrName, "=", str("alpha")), []string{m1}},
		{cmp(A, search.ModelAttrName, "!=", str("alpha")), []string{m2, m3}},
		{cmp(A, search.ModelAttrName, "LIKE", str("%a")), []string{m1, m2, m3}},
		{cmp(A, search.ModelAttrName, "LIKE", str("b%")), nil},
		{cmp(A, search.ModelAttrName, "ILIKE", str("b%")), []string{m2}},
		{cmp(A, search.ModelAttrName, "IN", list("alpha", "gamma", "nope")), []string{m1, m3}},
		{cmp(A, search.ModelAttrName, "NOT IN", list("alpha")), []string{m2, m3}},
		{cmp(A, search.ModelAttrModelID, "=", str(m2)), []string{m2}},
		{cmp(A, search.ModelAttrModelID, "IN", list(m1, m3, f.deleted, f.other)), []string{m1, m3}},
		{cmp(A, search.ModelAttrModelType, "=", str("sklearn")), []string{m1, m3}},
		{cmp(A, search.ModelAttrModelType, "ILIKE", str("PY%")), []string{m2}},
		{cmp(A, search.ModelAttrStatus, "=", str(core.LoggedModelReady)), []string{m1}},
		{cmp(A, search.ModelAttrStatus, "=", str("LOGGED_MODEL_UPLOAD_FAILED")), []string{m2}},
		{cmp(A, search.ModelAttrStatus, "IN", list(core.LoggedModelPending, "LOGGED_MODEL_UPLOAD_FAILED")), []string{m2, m3}},
		{cmp(A, search.ModelAttrSourceRunID, "=", str(f.run)), []string{m1}},
		{cmp(A, search.ModelAttrSourceRunID, "!=", str(f.run)), []string{m2, m3}},
		{cmp(A, search.ModelAttrCreationTime, ">", num(float64(f.m1.CreationTime))), []string{m2, m3}},
		{cmp(A, search.ModelAttrCreationTime, "<=", num(float64(f.m2.CreationTime))), []string{m1, m2}},
		{cmp(A, search.ModelAttrCreationTime, "=", num(float64(f.m3.CreationTime))), []string{m3}},
		{cmp(A, "creation_time", "<", num(float64(f.m2.CreationTime))), []string{m1}},
		{cmp(A, search.ModelAttrCreationTime, ">=", str(fmt.Sprint(f.m3.CreationTime))), []string{m3}},
		{cmp(A, search.ModelAttrLastUpdateTime, ">", num(float64(f.m3.LastUpdateTime))), []string{m1, m2}},
		{cmp(A, search.ModelAttrLastUpdateTime, "!=", num(float64(f.m3.LastUpdateTime))), []string{m1, m2}},
	}
	for _, c := range cases {
		sameSet(t, fmt.Sprintf("%s %s %v", c.c.Key, c.c.Op, c.c.Value), f.where(t, s, c.c), c.want)
	}
	// Conditions combine with AND.
	got := f.where(t, s, cmp(A, search.ModelAttrModelType, "=", str("sklearn")), cmp(A, search.ModelAttrName, "LIKE", str("g%")))
	sameSet(t, "two conditions", got, []string{m3})
}

func testSearchModelParamsTags(t *testing.T, s store.Store) {
	f := newModelFixture(t, s)
	m1, m2, m3 := f.m1.ID, f.m2.ID, f.m3.ID
	P, T := search.Param, search.Tag
	cases := []struct {
		c    search.Comparison
		want []string
	}{
		{cmp(P, "lr", "=", str("0.1")), []string{m1}},
		// A model without the param matches no comparison of it (MLflow joins on the key).
		{cmp(P, "lr", "!=", str("0.1")), []string{m2}},
		{cmp(P, "opt", "LIKE", str("Ad%")), []string{m1}},
		{cmp(P, "opt", "LIKE", str("ad%")), nil},
		{cmp(P, "opt", "ILIKE", str("ad%")), []string{m1}},
		{cmp(P, "lr", "IN", list("0.1", "0.01")), []string{m1, m2}},
		{cmp(P, "lr", "NOT IN", list("0.1")), []string{m2}},
		{cmp(P, "missing", "=", str("x")), nil},
		{cmp(T, "env", "=", str("prod")), []string{m1}},
		{cmp(T, "env", "!=", str("prod")), []string{m2, m3}},
		{cmp(T, "env", "ILIKE", str("PROD")), []string{m1, m2}},
		{cmp(T, "env", "LIKE", str("%d%")), []string{m1, m2, m3}},
		{cmp(T, "env", "IN", list("dev", "Prod")), []string{m2, m3}},
		{cmp(T, "env", "NOT IN", list("dev", "Prod")), []string{m1}},
	}
	for _, c := range cases {
		sameSet(t, fmt.Sprintf("%s.%s %s %v", c.c.Entity, c.c.Key, c.c.Op, c.c.Value), f.where(t, s, c.c), c.want)
	}
	got := f.where(t, s, cmp(P, "lr", "IN", list("0.1", "0.01")), cmp(T, "env", "=", str("Prod")))
	sameSet(t, "param and tag", got, []string{m2})
}

func testSearchModelMetrics(t *testing.T, s store.Store) {
	f := newModelFixture(t, s)
	m1, m2, m3 := f.m1.ID, f.m2.ID, f.m3.ID
	M := search.Metric
	// A metric comparison matches when any point of the model satisfies it (MLflow).
	cases := []struct {
		c    search.Comparison
		want []string
	}{
		{cmp(M, "acc", ">", num(0.8)), []string{m1, m2}},
		{cmp(M, "acc", "<", num(0.6)), []string{m1}},
		{cmp(M, "acc", "=", num(0.7)), []string{m2}},
		{cmp(M, "acc", ">=", num(0.95)), []string{m2}},
		{cmp(M, "acc", "<=", num(0.5)), []string{m1}},
		{cmp(M, "acc", "!=", num(0.9)), []string{m1, m2}},
		{cmp(M, "loss", ">", num(0.5)), []string{m3}},
		{cmp(M, "loss", ">", str("0.5")), []string{m3}},
		{cmp(M, "missing", "<", num(100)), nil},
	}
	for _, c := range cases {
		sameSet(t, fmt.Sprintf("metrics.%s %s %v", c.c.Key, c.c.Op, c.c.Value), f.where(t, s, c.c), c.want)
	}
	got := f.where(t, s, cmp(search.Attribute, search.ModelAttrModelType, "=", str("sklearn")), cmp(M, "loss", "<", num(0.5)))
	sameSet(t, "attribute and metric", got, []string{m1})
}

func testSearchModelDatasets(t *testing.T, s store.Store) {
	f := newModelFixture(t, s)
	m1, m2 := f.m1.ID, f.m2.ID
	acc := func(op string, v float64) search.Filter { return where(cmp(search.Metric, "acc", op, num(v))) }
	cases := []struct {
		what string
		ds   []store.DatasetRef
		f    search.Filter
		want []string
	}{
		// Only m1's eval point is above 0.8 (m2's 0.95 is on train).
		{"eval, acc > 0.8", []store.DatasetRef{{Name: "eval"}}, acc(">", 0.8), []string{m1}},
		{"eval/d2, acc > 0.6", []store.DatasetRef{{Name: "eval", Digest: "d2"}}, acc(">", 0.6), []string{m2}},
		{"eval/other digest", []store.DatasetRef{{Name: "eval", Digest: "zz"}}, acc(">", 0), nil},
		{"eval/d1 or train", []store.DatasetRef{{Name: "eval", Digest: "d1"}, {Name: "train"}}, acc(">", 0.8), []string{m1, m2}},
		// Without a metric filter, datasets select the models with any metric on them.
		{"train only", []store.DatasetRef{{Name: "train"}}, search.Filter{}, []string{m2}},
		{"eval only", []store.DatasetRef{{Name: "eval"}}, search.Filter{}, []string{m1, m2}},
		{"unknown dataset", []store.DatasetRef{{Name: "test"}}, search.Filter{}, nil},
		// Datasets and a param filter combine.
		{"eval and a param", []store.DatasetRef{{Name: "eval", Digest: "d1"}}, where(cmp(search.Param, "lr", "=", str("0.1"))), []string{m1}},
	}
	for _, c := range cases {
		got := lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{f.exp}, Filter: c.f, Datasets: c.ds})
		sameSet(t, c.what, got, c.want)
	}
}

func testSearchModelOrder(t *testing.T, s store.Store) {
	f := newModelFixture(t, s)
	m1, m2, m3 := f.m1.ID, f.m2.ID, f.m3.ID
	cases := []struct {
		what string
		ob   []store.LoggedModelOrder
		want []string
	}{
		{"default: newest first", nil, []string{m3, m2, m1}},
		{"name asc (bytewise)", []store.LoggedModelOrder{{Field: "name", Ascending: true}}, []string{m2, m1, m3}},
		{"name desc", []store.LoggedModelOrder{{Field: "name"}}, []string{m3, m1, m2}},
		{"creation asc", []store.LoggedModelOrder{{Field: search.ModelAttrCreationTime, Ascending: true}}, []string{m1, m2, m3}},
		{"creation_time alias", []store.LoggedModelOrder{{Field: "creation_time", Ascending: true}}, []string{m1, m2, m3}},
		{"model type asc, then name desc", []store.LoggedModelOrder{{Field: "model_type", Ascending: true}, {Field: "name"}}, []string{m2, m3, m1}},
		{"model type asc, then default", []store.LoggedModelOrder{{Field: "model_type", Ascending: true}}, []string{m2, m3, m1}},
		{"last update asc", []store.LoggedModelOrder{{Field: search.ModelAttrLastUpdateTime, Ascending: true}}, []string{m3, m1, m2}},
		// Latest point by timestamp: m1 0.9, m2 0.7; m3 lacks acc and comes last either way.
		{"metric asc", []store.LoggedModelOrder{{Field: "metrics.acc", Ascending: true}}, []string{m2, m1, m3}},
		{"metric desc", []store.LoggedModelOrder{{Field: "metrics.acc"}}, []string{m1, m2, m3}},
		// On train only m2 has acc; the others tie (missing) and fall back to newest first.
		{"metric on a dataset", []store.LoggedModelOrder{{Field: "metrics.acc", Ascending: true, DatasetName: "train"}}, []string{m2, m3, m1}},
		{"metric on a dataset digest", []store.LoggedModelOrder{{Field: "metrics.acc", DatasetName: "eval", DatasetDigest: "d1"}}, []string{m1, m3, m2}},
		{"metric then name", []store.LoggedModelOrder{{Field: "metrics.loss", Ascending: true}, {Field: "name", Ascending: true}}, []string{m1, m3, m2}},
	}
	for _, c := range cases {
		got := lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{f.exp}, OrderBy: c.ob})
		sameOrder(t, c.what, got, c.want)
	}
	// Several experiments at once; the deleted model stays out.
	all := lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{f.exp, f.m1.ExperimentID, "0", otherExp(t, s, f)}})
	sameOrder(t, "two experiments", all, []string{f.other, m3, m2, m1})
}

// testSearchModelNaN pins NaN: it matches only "!=" and sorts after numbers, before models
// that lack the metric, in both directions.
func testSearchModelNaN(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "model-nan").ID
	run := createRun(t, s, e, runOpts{}).Info.RunID
	a := lmCreate(t, s, core.LoggedModel{ExperimentID: e, Name: "a"}).ID
	b := lmCreate(t, s, core.LoggedModel{ExperimentID: e, Name: "b"}).ID
	c := lmCreate(t, s, core.LoggedModel{ExperimentID: e, Name: "c"}).ID
	d := lmCreate(t, s, core.LoggedModel{ExperimentID: e, Name: "d"}).ID
	must(t, s.LogBatch(ctx, run, []core.Metric{
		modelMetric(a, "x", 1, 0, 1, "", ""),
		modelMetric(b, "x", math.NaN(), 0, 1, "", ""),
		modelMetric(c, "y", 1, 0, 1, "", ""),
		modelMetric(d, "x", -1, 0, 1, "", ""),
	}, nil, nil), "LogBatch")
	q := func(f search.Filter, ob ...store.LoggedModelOrder) []string {
		return lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{e}, Filter: f, OrderBy: ob})
	}
	sameOrder(t, "x asc", q(search.Filter{}, store.LoggedModelOrder{Field: "metrics.x", Ascending: true}), []string{d, a, b, c})
	sameOrder(t, "x desc", q(search.Filter{}, store.LoggedModelOrder{Field: "metrics.x"}), []string{a, d, b, c})
	sameSet(t, "x != 5", q(where(cmp(search.Metric, "x", "!=", num(5)))), []string{a, b, d})
	sameSet(t, "x > -10", q(where(cmp(search.Metric, "x", ">", num(-10)))), []string{a, d})
	sameSet(t, "x = 0", q(where(cmp(search.Metric, "x", "=", num(0)))), nil)
}

// otherExp is the experiment of the fixture's other model.
func otherExp(t *testing.T, s store.Store, f modelFixture) string {
	t.Helper()
	return lmGet(t, s, f.other).ExperimentID
}

func testSearchModelPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "model-pages").ID
	run := createRun(t, s, e, runOpts{}).Info.RunID
	var models []core.LoggedModel
	for i := range 7 {
		m := lmCreate(t, s, core.LoggedModel{ExperimentID: e, Name: fmt.Sprintf("m%d", i)})
		must(t, s.LogBatch(ctx, run, []core.Metric{modelMetric(m.ID, "score", float64(i%3), 0, 1, "", "")}, nil, nil), "LogBatch")
		models = append(models, m)
	}
	// The default order: newest first, models created in the same millisecond by id.
	slices.SortFunc(models, func(a, b core.LoggedModel) int {
		if a.CreationTime != b.CreationTime {
			return int(b.CreationTime - a.CreationTime)
		}
		return strings.Compare(a.ID, b.ID)
	})
	want := lmIDs(models)
	var sizes []int
	q := store.LoggedModelSearch{ExperimentIDs: []string{e}, MaxResults: 3}
	var got []string
	for {
		ms, next, err := s.SearchLoggedModels(ctx, q)
		must(t, err, "SearchLoggedModels page")
		sizes = append(sizes, len(ms))
		got = append(got, lmIDs(ms)...)
		if next == "" {
			break
		}
		q.PageToken = next
	}
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Fatalf("page sizes %v, want [3 3 1]", sizes)
	}
	sameOrder(t, "pages in order", got, want)
	// A page that ends exactly at the last model has no next token.
	ms, next, err := s.SearchLoggedModels(ctx, store.LoggedModelSearch{ExperimentIDs: []string{e}, MaxResults: 7})
	must(t, err, "one full page")
	if len(ms) != 7 || next != "" {
		t.Fatalf("full page: %d models, next %q", len(ms), next)
	}
	// Paging a metric ordering with ties visits every model once, in the one-page order.
	ob := []store.LoggedModelOrder{{Field: "metrics.score", Ascending: true}}
	onePage := lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{e}, OrderBy: ob, MaxResults: 100})
	sameOrder(t, "metric order in pages of 1", lmSearch(t, s, store.LoggedModelSearch{ExperimentIDs: []string{e}, OrderBy: ob, MaxResults: 1}), onePage)
	sameSet(t, "metric order covers all", onePage, want)
}

func testSearchModelInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	lmCreate(t, s, core.LoggedModel{ExperimentID: "0"})
	ok := store.LoggedModelSearch{ExperimentIDs: []string{"0"}, MaxResults: 10}
	with := func(edit func(*store.LoggedModelSearch)) store.LoggedModelSearch {
		q := ok
		edit(&q)
		return q
	}
	A := search.Attribute
	cases := []struct {
		what string
		q    store.LoggedModelSearch
	}{
		{"no experiments", with(func(q *store.LoggedModelSearch) { q.ExperimentIDs = nil })},
		{"bad experiment id", with(func(q *store.LoggedModelSearch) { q.ExperimentIDs = []string{"x"} })},
		{"max results 0", with(func(q *store.LoggedModelSearch) { q.MaxResults = 0 })},
		{"max results too large", with(func(q *store.LoggedModelSearch) { q.MaxResults = store.MaxLoggedModelSearchResults + 1 })},
		{"bad page token", with(func(q *store.LoggedModelSearch) { q.PageToken = "not a token!" })},
		{"dataset without name", with(func(q *store.LoggedModelSearch) { q.Datasets = []store.DatasetRef{{Digest: "d"}} })},
		{"unknown attribute", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(A, "artifact_uri", "=", str("x"))) })},
		{"LIKE on a timestamp", with(func(q *store.LoggedModelSearch) {
			q.Filter = where(cmp(A, search.ModelAttrCreationTime, "LIKE", str("1%")))
		})},
		{"non-number timestamp", with(func(q *store.LoggedModelSearch) {
			q.Filter = where(cmp(A, search.ModelAttrCreationTime, ">", str("yesterday")))
		})},
		{"> on a name", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(A, search.ModelAttrName, ">", str("a"))) })},
		{"IN on a metric", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(search.Metric, "acc", "IN", list("1"))) })},
		{"< on a param", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(search.Param, "lr", "<", str("1"))) })},
		{"IS NULL on a tag", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(search.Tag, "t", "IS NULL", str(""))) })},
		{"dataset entity", with(func(q *store.LoggedModelSearch) { q.Filter = where(cmp(search.Dataset, "name", "=", str("d"))) })},
		{"order by unknown field", with(func(q *store.LoggedModelSearch) { q.OrderBy = []store.LoggedModelOrder{{Field: "bogus"}} })},
		{"order by a param", with(func(q *store.LoggedModelSearch) { q.OrderBy = []store.LoggedModelOrder{{Field: "params.lr"}} })},
		{"order by metrics.", with(func(q *store.LoggedModelSearch) { q.OrderBy = []store.LoggedModelOrder{{Field: "metrics."}} })},
	}
	for _, c := range cases {
		ms, next, err := s.SearchLoggedModels(ctx, c.q)
		wantCode(t, err, core.EINVALID, c.what)
		if len(ms) != 0 || next != "" {
			t.Fatalf("%s: results %v, next %q alongside the error", c.what, ms, next)
		}
	}
	// An experiment that does not exist simply has no models.
	ms, next, err := s.SearchLoggedModels(ctx, with(func(q *store.LoggedModelSearch) { q.ExperimentIDs = []string{"424242"} }))
	must(t, err, "unknown experiment")
	if len(ms) != 0 || next != "" {
		t.Fatalf("unknown experiment: %v %q", ms, next)
	}
}
