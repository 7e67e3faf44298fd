package storetest

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

var experimentTests = []testCase{
	{"DefaultExists", testDefaultExperiment},
	{"Create", testCreateExperiment},
	{"CreateDuplicateName", testCreateExperimentDuplicate},
	{"CreateSameNameConcurrently", testCreateExperimentRace},
	{"GetUnknown", testGetExperimentUnknown},
	{"Rename", testRenameExperiment},
	{"DeleteRestore", testDeleteRestoreExperiment},
	{"DeleteCascadesToRuns", testDeleteExperimentCascade},
	{"Tags", testExperimentTags},
}

var experimentSearchTests = []testCase{
	{"Filters", testSearchExperimentsFilters},
	{"OrderBy", testSearchExperimentsOrder},
	{"ViewTypes", testSearchExperimentsViewTypes},
	{"Pagination", testSearchExperimentsPaging},
	{"InvalidArguments", testSearchExperimentsInvalid},
}

func testDefaultExperiment(t *testing.T, s store.Store) {
	e, err := s.GetExperiment(t.Context(), core.DefaultExperimentID)
	must(t, err, "GetExperiment 0")
	if e.ID != "0" || e.Name != "Default" || e.LifecycleStage != core.LifecycleActive {
		t.Fatalf("default experiment = %+v", e)
	}
	if e.ArtifactLocation != "mlflow-artifacts:/0" {
		t.Fatalf("default artifact location %q, want mlflow-artifacts:/0", e.ArtifactLocation)
	}
	byName, err := s.GetExperimentByName(t.Context(), "Default")
	must(t, err, "GetExperimentByName Default")
	if byName.ID != "0" {
		t.Fatalf("Default by name has id %q", byName.ID)
	}
	exps, _, err := s.SearchExperiments(t.Context(), store.ExperimentSearch{ViewType: core.ViewAll, MaxResults: 100})
	must(t, err, "SearchExperiments")
	sameOrder(t, "experiments of a fresh store", expIDs(exps), []string{"0"})
}

func testCreateExperiment(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().UnixMilli()
	a := createExp(t, s, "alpha", core.Tag{Key: "team", Value: "vision"}, core.Tag{Key: "note", Value: ""})
	b, err := s.CreateExperiment(ctx, core.Experiment{Name: "beta", ArtifactLocation: "s3://bucket/somewhere"})
	must(t, err, "CreateExperiment beta")
	c := createExp(t, s, "gamma")

	ia, ib, ic := mustInt(t, a.ID), mustInt(t, b.ID), mustInt(t, c.ID)
	if !(0 < ia && ia < ib && ib < ic) {
		t.Fatalf("ids not increasing after 0: %s %s %s", a.ID, b.ID, c.ID)
	}
	if want := "mlflow-artifacts:/" + a.ID; a.ArtifactLocation != want {
		t.Fatalf("artifact location %q, want %q", a.ArtifactLocation, want)
	}
	if b.ArtifactLocation != "s3://bucket/somewhere" {
		t.Fatalf("given artifact location not kept: %q", b.ArtifactLocation)
	}
	got, err := s.GetExperiment(ctx, a.ID)
	must(t, err, "GetExperiment")
	if got.Name != "alpha" || got.LifecycleStage != core.LifecycleActive || got.ArtifactLocation != a.ArtifactLocation {
		t.Fatalf("GetExperiment = %+v", got)
	}
	if got.CreationTime < before-1000 || got.CreationTime > time.Now().UnixMilli()+1000 {
		t.Fatalf("creation time %d is not now (ms)", got.CreationTime)
	}
	if got.LastUpdateTime < got.CreationTime {
		t.Fatalf("last update %d before creation %d", got.LastUpdateTime, got.CreationTime)
	}
	if tm := tagMap(got.Tags); len(tm) != 2 || tm["team"] != "vision" || tm["note"] != "" {
		t.Fatalf("tags = %v", got.Tags)
	}
	byName, err := s.GetExperimentByName(ctx, "beta")
	must(t, err, "GetExperimentByName")
	if byName.ID != b.ID || byName.ArtifactLocation != b.ArtifactLocation {
		t.Fatalf("by name = %+v, want id %s", byName, b.ID)
	}
}

func testCreateExperimentDuplicate(t *testing.T, s store.Store) {
	createExp(t, s, "dup")
	_, err := s.CreateExperiment(t.Context(), core.Experiment{Name: "dup"})
	wantCode(t, err, core.EEXISTS, "duplicate name")
	_, err = s.CreateExperiment(t.Context(), core.Experiment{Name: "Default"})
	wantCode(t, err, core.EEXISTS, "name of the default experiment")
	// A deleted experiment still owns its name, as in MLflow.
	d := createExp(t, s, "gone")
	must(t, s.DeleteExperiment(t.Context(), d.ID), "DeleteExperiment")
	_, err = s.CreateExperiment(t.Context(), core.Experiment{Name: "gone"})
	wantCode(t, err, core.EEXISTS, "name of a deleted experiment")
	// Names are case-sensitive.
	createExp(t, s, "DUP")
}

func testGetExperimentUnknown(t *testing.T, s store.Store) {
	_, err := s.GetExperiment(t.Context(), "424242")
	wantCode(t, err, core.ENOTFOUND, "GetExperiment unknown")
	_, err = s.GetExperimentByName(t.Context(), "no such experiment")
	wantCode(t, err, core.ENOTFOUND, "GetExperimentByName unknown")
	_, err = s.GetExperimentByName(t.Context(), "default")
	wantCode(t, err, core.ENOTFOUND, "GetExperimentByName is case-sensitive")
	_, err = s.GetExperiment(t.Context(), "not-a-number")
	if c := core.ErrorCode(err); c != core.ENOTFOUND && c != core.EINVALID {
		t.Fatalf("GetExperiment non-decimal id: code %q (%v), want not_found or invalid", c, err)
	}
}

func testRenameExperiment(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createExp(t, s, "old")
	createExp(t, s, "taken")
	must(t, s.RenameExperiment(ctx, a.ID, "new"), "RenameExperiment")
	got, err := s.GetExperiment(ctx, a.ID)
	must(t, err, "GetExperiment")
	if got.Name != "new" || got.LastUpdateTime < a.LastUpdateTime {
		t.Fatalf("after rename: %+v", got)
	}
	_, err = s.GetExperimentByName(ctx, "old")
	wantCode(t, err, core.ENOTFOUND, "old name after rename")
	byName, err := s.GetExperimentByName(ctx, "new")
	must(t, err, "GetExperimentByName new")
	if byName.ID != a.ID {
		t.Fatalf("new name resolves to %s", byName.ID)
	}
	wantCode(t, s.RenameExperiment(ctx, a.ID, "taken"), core.EEXISTS, "rename to an existing name")
	if got, _ := s.GetExperiment(ctx, a.ID); got.Name != "new" {
		t.Fatalf("failed rename changed the name to %q", got.Name)
	}
	wantCode(t, s.RenameExperiment(ctx, "987654", "x"), core.ENOTFOUND, "rename unknown")
	must(t, s.DeleteExperiment(ctx, a.ID), "DeleteExperiment")
	wantCode(t, s.RenameExperiment(ctx, a.ID, "renamed-deleted"), core.ECONFLICT, "rename deleted experiment")
}

func testDeleteRestoreExperiment(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createExp(t, s, "to-delete")
	must(t, s.DeleteExperiment(ctx, a.ID), "DeleteExperiment")
	got, err := s.GetExperiment(ctx, a.ID)
	must(t, err, "GetExperiment of a deleted experiment")
	if got.LifecycleStage != core.LifecycleDeleted {
		t.Fatalf("stage after delete = %q", got.LifecycleStage)
	}
	byName, err := s.GetExperimentByName(ctx, "to-delete")
	must(t, err, "GetExperimentByName of a deleted experiment")
	if byName.LifecycleStage != core.LifecycleDeleted {
		t.Fatalf("by name stage = %q", byName.LifecycleStage)
	}
	// MLflow answers RESOURCE_DOES_NOT_EXIST here; store.go's ECONFLICT reading is accepted too.
	err = s.DeleteExperiment(ctx, a.ID)
	if c := core.ErrorCode(err); c != core.ENOTFOUND && c != core.ECONFLICT {
		t.Fatalf("delete of a deleted experiment: code %q (%v)", c, err)
	}
	wantCode(t, s.DeleteExperiment(ctx, "555555"), core.ENOTFOUND, "delete unknown")
	wantCode(t, s.RestoreExperiment(ctx, "555555"), core.ENOTFOUND, "restore unknown")
	must(t, s.RestoreExperiment(ctx, a.ID), "RestoreExperiment")
	got, _ = s.GetExperiment(ctx, a.ID)
	if got.LifecycleStage != core.LifecycleActive {
		t.Fatalf("stage after restore = %q", got.LifecycleStage)
	}
	err = s.RestoreExperiment(ctx, a.ID)
	if c := core.ErrorCode(err); c != core.ENOTFOUND && c != core.ECONFLICT {
		t.Fatalf("restore of an active experiment: code %q (%v)", c, err)
	}
}

func testDeleteExperimentCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "cascade")
	other := createExp(t, s, "bystander")
	r1 := createRun(t, s, e.ID, runOpts{name: "r1"})
	r2 := createRun(t, s, e.ID, runOpts{name: "r2"})
	r3 := createRun(t, s, other.ID, runOpts{name: "r3"})
	must(t, s.DeleteExperiment(ctx, e.ID), "DeleteExperiment")
	for _, id := range []string{r1.Info.RunID, r2.Info.RunID} {
		if st := getRun(t, s, id).Info.LifecycleStage; st != core.LifecycleDeleted {
			t.Fatalf("run %s of a deleted experiment is %q", id, st)
		}
	}
	if st := getRun(t, s, r3.Info.RunID).Info.LifecycleStage; st != core.LifecycleActive {
		t.Fatalf("run of another experiment became %q", st)
	}
	err := s.LogBatch(ctx, r1.Info.RunID, []core.Metric{m("x", 1, 0, 1)}, nil, nil)
	wantCode(t, err, core.ECONFLICT, "log to a run of a deleted experiment")
	_, err = s.CreateRun(ctx, core.RunInfo{ExperimentID: e.ID, UserID: "u", StartTime: 1}, nil)
	wantCode(t, err, core.ECONFLICT, "create run in a deleted experiment")
	active := searchIDs(t, s, []string{e.ID}, search.Filter{})
	sameSet(t, "active runs of a deleted experiment", active, nil)

	must(t, s.RestoreExperiment(ctx, e.ID), "RestoreExperiment")
	for _, id := range []string{r1.Info.RunID, r2.Info.RunID} {
		if st := getRun(t, s, id).Info.LifecycleStage; st != core.LifecycleActive {
			t.Fatalf("run %s after experiment restore is %q", id, st)
		}
	}
	sameSet(t, "runs after restore", searchIDs(t, s, []string{e.ID}, search.Filter{}),
		[]string{r1.Info.RunID, r2.Info.RunID})
	logMetrics(t, s, r1.Info.RunID, m("x", 1, 0, 1))
}

func testExperimentTags(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "tagged", core.Tag{Key: "a", Value: "1"})
	must(t, s.SetExperimentTag(ctx, e.ID, core.Tag{Key: "b", Value: "2"}), "SetExperimentTag b")
	must(t, s.SetExperimentTag(ctx, e.ID, core.Tag{Key: "a", Value: "overwritten"}), "SetExperimentTag a")
	got, _ := s.GetExperiment(ctx, e.ID)
	if tm := tagMap(got.Tags); len(got.Tags) != 2 || tm["a"] != "overwritten" || tm["b"] != "2" {
		t.Fatalf("tags = %v", got.Tags)
	}
	must(t, s.DeleteExperimentTag(ctx, e.ID, "a"), "DeleteExperimentTag")
	got, _ = s.GetExperiment(ctx, e.ID)
	if tm := tagMap(got.Tags); len(got.Tags) != 1 || tm["b"] != "2" {
		t.Fatalf("tags after delete = %v", got.Tags)
	}
	wantCode(t, s.DeleteExperimentTag(ctx, e.ID, "a"), core.ENOTFOUND, "delete missing tag")
	wantCode(t, s.SetExperimentTag(ctx, "31337", core.Tag{Key: "k", Value: "v"}), core.ENOTFOUND, "tag unknown experiment")
	wantCode(t, s.DeleteExperimentTag(ctx, "31337", "k"), core.ENOTFOUND, "delete tag of unknown experiment")
	must(t, s.DeleteExperiment(ctx, e.ID), "DeleteExperiment")
	wantCode(t, s.SetExperimentTag(ctx, e.ID, core.Tag{Key: "c", Value: "3"}), core.ECONFLICT, "tag deleted experiment")
	wantCode(t, s.DeleteExperimentTag(ctx, e.ID, "b"), core.ECONFLICT, "delete tag of deleted experiment")
	got, _ = s.GetExperiment(ctx, e.ID)
	if tm := tagMap(got.Tags); len(got.Tags) != 1 || tm["b"] != "2" {
		t.Fatalf("refused tag writes changed the tags: %v", got.Tags)
	}
}

// ---- search ----

func searchExps(t *testing.T, s store.Store, q store.ExperimentSearch) []string {
	t.Helper()
	if q.MaxResults == 0 {
		q.MaxResults = 1000
	}
	exps, next, err := s.SearchExperiments(t.Context(), q)
	must(t, err, "SearchExperiments")
	if next != "" {
		t.Fatalf("unexpected next page token %q", next)
	}
	return expIDs(exps)
}

func testSearchExperimentsFilters(t *testing.T, s store.Store) {
	a := createExp(t, s, "Vision-resnet", core.Tag{Key: "team", Value: "Vision"}, core.Tag{Key: "tier", Value: "gold"})
	b := createExp(t, s, "vision-vit", core.Tag{Key: "team", Value: "vision"})
	c := createExp(t, s, "nlp-bert", core.Tag{Key: "team", Value: "nlp"})
	name := func(op, v string) search.Filter { return where(cmp(search.Attribute, search.ExpAttrName, op, str(v))) }
	tag := func(k, op, v string) search.Filter { return where(cmp(search.Tag, k, op, str(v))) }
	cases := []struct {
		what string
		f    search.Filter
		want []string
	}{
		{"name =", name(search.OpEq, "vision-vit"), []string{b.ID}},
		{"name !=", name(search.OpNe, "vision-vit"), []string{"0", a.ID, c.ID}},
		{"name LIKE is case-sensitive", name(search.OpLike, "vision%"), []string{b.ID}},
		{"name LIKE underscore", name(search.OpLike, "nlp_bert"), []string{c.ID}},
		{"name ILIKE", name(search.OpILike, "VISION%"), []string{a.ID, b.ID}},
		{"tag =", tag("team", search.OpEq, "vision"), []string{b.ID}},
		{"tag !=", tag("team", search.OpNe, "vision"), []string{a.ID, c.ID}},
		{"tag LIKE", tag("team", search.OpLike, "V%"), []string{a.ID}},
		{"tag ILIKE", tag("team", search.OpILike, "v%"), []string{a.ID, b.ID}},
		{"two clauses", where(cmp(search.Tag, "team", search.OpILike, str("vision")),
			cmp(search.Tag, "tier", search.OpEq, str("gold"))), []string{a.ID}},
		{"tag missing", tag("nope", search.OpEq, "x"), nil},
		{"tag IS NULL", where(cmp(search.Tag, "team", search.OpIsNull, search.Value{})), []string{"0"}},
		{"tag IS NOT NULL", where(cmp(search.Tag, "tier", search.OpIsNotNull, search.Value{})), []string{a.ID}},
		{"empty filter", search.Filter{}, []string{"0", a.ID, b.ID, c.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			sameSet(t, tc.what, searchExps(t, s, store.ExperimentSearch{Filter: tc.f}), tc.want)
		})
	}
}

func testSearchExperimentsOrder(t *testing.T, s store.Store) {
	// Two bursts: experiments in a burst often share a creation millisecond (exercising
	// the id tie-break), the pause between bursts makes creation_time itself matter.
	var all []core.Experiment
	for i, n := range []string{"m", "c", "x", "a", "q", "b"} {
		if i == 3 {
			time.Sleep(3 * time.Millisecond)
		}
		all = append(all, createExp(t, s, n))
	}
	def, err := s.GetExperiment(t.Context(), "0")
	must(t, err, "GetExperiment 0")
	all = append(all, def)
	// Re-read creation times as stored.
	for i := range all {
		all[i], err = s.GetExperiment(t.Context(), all[i].ID)
		must(t, err, "GetExperiment")
	}
	id := func(e core.Experiment) int64 { return mustInt(t, e.ID) }
	expect := func(less func(a, b core.Experiment) bool) []string {
		c := slices.Clone(all)
		sort.SliceStable(c, func(i, j int) bool { return less(c[i], c[j]) })
		return expIDs(c)
	}
	// Default: creation_time DESC, then experiment_id ASC.
	sameOrder(t, "default order", searchExps(t, s, store.ExperimentSearch{}), expect(func(a, b core.Experiment) bool {
		if a.CreationTime != b.CreationTime {
			return a.CreationTime > b.CreationTime
		}
		return id(a) < id(b)
	}))
	sameOrder(t, "name ASC", searchExps(t, s, store.ExperimentSearch{OrderBy: []search.OrderBy{asc(search.Attribute, search.ExpAttrName)}}),
		expect(func(a, b core.Experiment) bool { return a.Name < b.Name }))
	sameOrder(t, "name DESC", searchExps(t, s, store.ExperimentSearch{OrderBy: []search.OrderBy{desc(search.Attribute, search.ExpAttrName)}}),
		expect(func(a, b core.Experiment) bool { return a.Name > b.Name }))
	// An explicit order_by is tie-broken by experiment_id DESC.
	sameOrder(t, "creation_time ASC", searchExps(t, s, store.ExperimentSearch{OrderBy: []search.OrderBy{asc(search.Attribute, search.ExpAttrCreationTime)}}),
		expect(func(a, b core.Experiment) bool {
			if a.CreationTime != b.CreationTime {
				return a.CreationTime < b.CreationTime
			}
			return id(a) > id(b)
		}))
	sameOrder(t, "experiment_id DESC", searchExps(t, s, store.ExperimentSearch{OrderBy: []search.OrderBy{desc(search.Attribute, search.ExpAttrExperimentID)}}),
		expect(func(a, b core.Experiment) bool { return id(a) > id(b) }))
}

func testSearchExperimentsViewTypes(t *testing.T, s store.Store) {
	a := createExp(t, s, "live")
	d := createExp(t, s, "dead")
	must(t, s.DeleteExperiment(t.Context(), d.ID), "DeleteExperiment")
	sameSet(t, "active only", searchExps(t, s, store.ExperimentSearch{ViewType: core.ViewActiveOnly}), []string{"0", a.ID})
	sameSet(t, "deleted only", searchExps(t, s, store.ExperimentSearch{ViewType: core.ViewDeletedOnly}), []string{d.ID})
	sameSet(t, "all", searchExps(t, s, store.ExperimentSearch{ViewType: core.ViewAll}), []string{"0", a.ID, d.ID})
	sameSet(t, "deleted only with a filter", searchExps(t, s, store.ExperimentSearch{
		ViewType: core.ViewDeletedOnly, Filter: where(cmp(search.Attribute, search.ExpAttrName, search.OpLike, str("%e%"))),
	}), []string{d.ID})
}

func testSearchExperimentsPaging(t *testing.T, s store.Store) {
	want := []string{"0"}
	for i := range 11 {
		want = append(want, createExp(t, s, fmt.Sprintf("page-%02d", i)).ID)
	}
	full := searchExps(t, s, store.ExperimentSearch{})
	sameSet(t, "full search", full, want)
	for _, size := range []int{1, 3, 4, 12} {
		var got []string
		q := store.ExperimentSearch{MaxResults: size}
		for pages := 0; ; pages++ {
			exps, next, err := s.SearchExperiments(t.Context(), q)
			must(t, err, "SearchExperiments page")
			if len(exps) > size {
				t.Fatalf("page of %d with MaxResults %d", len(exps), size)
			}
			got = append(got, expIDs(exps)...)
			if next == "" {
				break
			}
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			q.PageToken = next
		}
		sameOrder(t, fmt.Sprintf("pages of %d", size), got, full)
	}
}

func testSearchExperimentsInvalid(t *testing.T, s store.Store) {
	_, _, err := s.SearchExperiments(t.Context(), store.ExperimentSearch{MaxResults: 10, PageToken: "not a token!"})
	wantCode(t, err, core.EINVALID, "garbage page token")
	_, _, err = s.SearchExperiments(t.Context(), store.ExperimentSearch{MaxResults: store.MaxExperimentSearchResults + 1})
	wantCode(t, err, core.EINVALID, "MaxResults above the limit")
}

// testCreateExperimentRace creates one name from several goroutines at once: exactly one
// wins and every other gets EEXISTS, never an internal error.
func testCreateExperimentRace(t *testing.T, s store.Store) {
	const n = 8
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.CreateExperiment(t.Context(), core.Experiment{Name: "raced"})
			codes[i] = core.ErrorCode(err)
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case "":
			won++
		case core.EEXISTS:
		default:
			t.Fatalf("concurrent create: error code %q, want success or %q", c, core.EEXISTS)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1 (codes %v)", won, codes)
	}
}
