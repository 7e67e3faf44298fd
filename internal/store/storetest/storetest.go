// Package storetest is the conformance suite that every store.Store backend must
// pass. It pins the behaviour of MLflow's SQLAlchemy tracking store (the reference
// the mlflow client is written against) so that SQLite and PostgreSQL behave the same.
package storetest

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// DefaultArtifactRoot is the store.Options.DefaultArtifactRoot the suite expects open to use.
const DefaultArtifactRoot = "mlflow-artifacts:"

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the suite. Each call of open must return a fresh, empty, migrated store
// opened with Options.DefaultArtifactRoot = DefaultArtifactRoot, and register its
// Close with t.Cleanup. Subtests run in parallel, each with its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Experiments", experimentTests},
		{"ExperimentSearch", experimentSearchTests},
		{"Runs", runTests},
		{"LogBatch", logBatchTests},
		{"Inputs", inputTests},
		{"SearchRuns", searchRunTests},
		{"SearchRunsOrder", searchOrderTests},
		{"MetricHistory", historyTests},
		{"Concurrency", concurrencyTests},
		{"LoggedModels", loggedModelTests}, {"LoggedModelSearch", loggedModelSearchTests},
		{"Registry", registryTests}, {"RegistrySearch", registrySearchTests}, {"Approvals", approvalTests},
		{"Endpoints", endpointTests}, {"Batch", batchTests}, {"BatchStale", batchStaleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, open(t))
				})
			}
		})
	}
}

// ---- error assertions ----

func wantCode(t *testing.T, err error, code string, what string) {
	t.Helper()
	if got := core.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---- fixtures ----

func createExp(t *testing.T, s store.Store, name string, tags ...core.Tag) core.Experiment {
	t.Helper()
	e, err := s.CreateExperiment(t.Context(), core.Experiment{Name: name, Tags: tags})
	must(t, err, "CreateExperiment "+name)
	return e
}

// runOpts fills the RunInfo of a new run; zero fields get defaults.
type runOpts struct {
	name      string
	user      string
	startTime int64
	tags      []core.Tag
}

func createRun(t *testing.T, s store.Store, expID string, o runOpts) core.Run {
	t.Helper()
	if o.user == "" {
		o.user = "alice"
	}
	if o.startTime == 0 {
		o.startTime = 1_700_000_000_000
	}
	r, err := s.CreateRun(t.Context(), core.RunInfo{
		ExperimentID: expID, UserID: o.user, RunName: o.name, StartTime: o.startTime,
	}, o.tags)
	must(t, err, "CreateRun")
	return r
}

func getRun(t *testing.T, s store.Store, id string) core.Run {
	t.Helper()
	r, err := s.GetRun(t.Context(), id)
	must(t, err, "GetRun "+id)
	return r
}

func logMetrics(t *testing.T, s store.Store, runID string, ms ...core.Metric) {
	t.Helper()
	must(t, s.LogBatch(t.Context(), runID, ms, nil, nil), "LogBatch metrics")
}

func logParams(t *testing.T, s store.Store, runID string, ps ...core.Param) {
	t.Helper()
	must(t, s.LogBatch(t.Context(), runID, nil, ps, nil), "LogBatch params")
}

func setTags(t *testing.T, s store.Store, runID string, tags ...core.Tag) {
	t.Helper()
	must(t, s.LogBatch(t.Context(), runID, nil, nil, tags), "LogBatch tags")
}

func m(key string, value float64, step, ts int64) core.Metric {
	return core.Metric{Key: key, Value: value, Step: step, Timestamp: ts}
}

func ptr[T any](v T) *T { return &v }

// ---- collection helpers ----

func tagMap(tags []core.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, tg := range tags {
		out[tg.Key] = tg.Value
	}
	return out
}

func paramMap(ps []core.Param) map[string]string {
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		out[p.Key] = p.Value
	}
	return out
}

func metricMap(ms []core.Metric) map[string]core.Metric {
	out := make(map[string]core.Metric, len(ms))
	for _, mt := range ms {
		out[mt.Key] = mt
	}
	return out
}

func runIDs(runs []core.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.Info.RunID
	}
	return ids
}

func expIDs(exps []core.Experiment) []string {
	ids := make([]string, len(exps))
	for i, e := range exps {
		ids[i] = e.ID
	}
	return ids
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

// sameSet reports a failure when got and want differ as sets (and got has no duplicates).
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := sortedCopy(got), sortedCopy(want)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %v, want %v", what, g, w)
	}
}

func sameOrder(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got order %v, want %v", what, got, want)
	}
}

// sameFloat treats NaN as equal to NaN, as a round-trip must.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("id %q is not decimal: %v", s, err)
	}
	return n
}

// ---- AST builders (the suite builds filters directly so it does not depend on the parser) ----

func cmp(e search.Entity, key, op string, v search.Value) search.Comparison {
	return search.Comparison{Entity: e, Key: key, Op: op, Value: v}
}

func str(s string) search.Value     { return search.Value{Kind: search.StringValue, Str: s} }
func num(f float64) search.Value    { return search.Value{Kind: search.NumberValue, Num: f} }
func list(s ...string) search.Value { return search.Value{Kind: search.ListValue, List: s} }

func where(cs ...search.Comparison) search.Filter { return search.Filter{Clauses: cs} }

func asc(e search.Entity, key string) search.OrderBy { return search.OrderBy{Entity: e, Key: key} }
func desc(e search.Entity, key string) search.OrderBy {
	return search.OrderBy{Entity: e, Key: key, Desc: true}
}

// searchAll pages through a run search and fails on duplicates.
func searchAll(t *testing.T, s store.Store, q store.RunSearch) []core.Run {
	t.Helper()
	var all []core.Run
	seen := map[string]bool{}
	for page := 0; ; page++ {
		runs, next, err := s.SearchRuns(t.Context(), q)
		must(t, err, fmt.Sprintf("SearchRuns page %d", page))
		for _, r := range runs {
			if seen[r.Info.RunID] {
				t.Fatalf("run %s returned twice while paging", r.Info.RunID)
			}
			seen[r.Info.RunID] = true
		}
		all = append(all, runs...)
		if next == "" {
			return all
		}
		if len(runs) == 0 {
			t.Fatalf("empty page %d with a next page token", page)
		}
		if page > 10000 {
			t.Fatal("paging does not end")
		}
		q.PageToken = next
	}
}

func searchIDs(t *testing.T, s store.Store, expIDs []string, f search.Filter, ob ...search.OrderBy) []string {
	t.Helper()
	return runIDs(searchAll(t, s, store.RunSearch{
		ExperimentIDs: expIDs, Filter: f, OrderBy: ob, ViewType: core.ViewActiveOnly, MaxResults: 1000,
	}))
}
