package storetest

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

var searchOrderTests = []testCase{
	{"OrderBy", testSearchRunsOrder},
	{"Pagination", testSearchRunsPaging},
}

func testSearchRunsOrder(t *testing.T, s store.Store) {
	e := createExp(t, s, "order").ID
	mk := func(name string, start int64) string {
		return createRun(t, s, e, runOpts{name: name, startTime: start}).Info.RunID
	}
	o1, o2, o3, o4, o5 := mk("b", 100), mk("e", 200), mk("a", 300), mk("d", 300), mk("c", 50)
	logMetrics(t, s, o1, m("m", 2, 0, 1))
	logMetrics(t, s, o2, m("m", math.NaN(), 0, 1))
	logMetrics(t, s, o4, m("m", 1, 0, 1))
	logMetrics(t, s, o5, m("m", 2, 0, 1))
	logParams(t, s, o1, core.Param{Key: "p", Value: "b"})
	logParams(t, s, o2, core.Param{Key: "p", Value: "a"})
	logParams(t, s, o4, core.Param{Key: "p", Value: "c"})
	logParams(t, s, o5, core.Param{Key: "p", Value: "10"}) // params sort as strings
	setTags(t, s, o1, core.Tag{Key: "t", Value: "x"})
	setTags(t, s, o3, core.Tag{Key: "t", Value: "y"})
	setTags(t, s, o4, core.Tag{Key: "t", Value: "x"})
	for id, end := range map[string]int64{o1: 500, o2: 400} {
		_, err := s.UpdateRun(t.Context(), id, core.RunUpdate{EndTime: ptr(end)})
		must(t, err, "UpdateRun end time")
	}
	// o3 and o4 share a start time; ties fall back to run_id ascending.
	o34 := sortedCopy([]string{o3, o4})
	ids := func(ids ...string) []string { return ids }
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }

	cases := []struct {
		what string
		ob   []search.OrderBy
		want []string
	}{
		{"default: start_time DESC, run_id", nil, cat(o34, ids(o2, o1, o5))},
		// Values first (ties by start_time DESC), then NaN, then runs without the metric.
		{"metric ASC", []search.OrderBy{asc(search.Metric, "m")}, ids(o4, o1, o5, o2, o3)},
		{"metric DESC", []search.OrderBy{desc(search.Metric, "m")}, ids(o1, o5, o4, o2, o3)},
		{"param ASC", []search.OrderBy{asc(search.Param, "p")}, ids(o5, o2, o1, o4, o3)},
		{"param DESC", []search.OrderBy{desc(search.Param, "p")}, ids(o4, o1, o2, o5, o3)},
		{"tag ASC", []search.OrderBy{asc(search.Tag, "t")}, ids(o4, o1, o3, o2, o5)},
		{"tag DESC", []search.OrderBy{desc(search.Tag, "t")}, ids(o3, o4, o1, o2, o5)},
		{"start_time ASC", []search.OrderBy{asc(search.Attribute, search.RunAttrStartTime)}, cat(ids(o5, o1, o2), o34)},
		{"start_time DESC", []search.OrderBy{desc(search.Attribute, search.RunAttrStartTime)}, cat(o34, ids(o2, o1, o5))},
		{"run_name ASC", []search.OrderBy{asc(search.Attribute, search.RunAttrRunName)}, ids(o3, o1, o5, o4, o2)},
		{"run_name DESC", []search.OrderBy{desc(search.Attribute, search.RunAttrRunName)}, ids(o2, o4, o5, o1, o3)},
		{"end_time ASC, missing last", []search.OrderBy{asc(search.Attribute, search.RunAttrEndTime)}, cat(ids(o2, o1), o34, ids(o5))},
		{"end_time DESC, missing last", []search.OrderBy{desc(search.Attribute, search.RunAttrEndTime)}, cat(ids(o1, o2), o34, ids(o5))},
		{"tag ASC then metric DESC", []search.OrderBy{asc(search.Tag, "t"), desc(search.Metric, "m")}, ids(o1, o4, o3, o5, o2)},
		{"unknown metric keeps natural order", []search.OrderBy{asc(search.Metric, "nope")}, cat(o34, ids(o2, o1, o5))},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			sameOrder(t, tc.what, searchIDs(t, s, []string{e}, where(), tc.ob...), tc.want)
		})
	}
	// Ordering and filtering together.
	got := searchIDs(t, s, []string{e}, where(cmp(search.Metric, "m", search.OpGe, num(1))), desc(search.Metric, "m"))
	sameOrder(t, "filtered and ordered", got, ids(o1, o5, o4))
}

func testSearchRunsPaging(t *testing.T, s store.Store) {
	if testing.Short() {
		t.Skip("creates 2,500 runs")
	}
	const n = 2500
	e := createExp(t, s, "many").ID
	all := make([]string, 0, n)
	for i := range n {
		// Repeating names and start times force the run_id tie-break.
		r := createRun(t, s, e, runOpts{name: fmt.Sprintf("n-%02d", i%50), startTime: 1_000_000 + int64(i/3)})
		all = append(all, r.Info.RunID)
		if i%10 == 0 {
			logMetrics(t, s, r.Info.RunID, m("m", float64(i%7), 0, 1))
		}
	}
	orders := map[string][]search.OrderBy{
		"default":     nil,
		"run_name":    {asc(search.Attribute, search.RunAttrRunName)},
		"metric DESC": {desc(search.Metric, "m")},
	}
	for what, ob := range orders {
		one, next, err := s.SearchRuns(t.Context(), store.RunSearch{ExperimentIDs: []string{e}, OrderBy: ob, MaxResults: 5000})
		must(t, err, "SearchRuns in one page")
		if next != "" || len(one) != n {
			t.Fatalf("%s: one page held %d runs, next %q", what, len(one), next)
		}
		q := store.RunSearch{ExperimentIDs: []string{e}, OrderBy: ob, MaxResults: 1000}
		var paged []string
		pages := 0
		for {
			runs, next, err := s.SearchRuns(t.Context(), q)
			must(t, err, "SearchRuns page")
			pages++
			if len(runs) > 1000 {
				t.Fatalf("%s: page of %d runs", what, len(runs))
			}
			paged = append(paged, runIDs(runs)...)
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatalf("%s: paging does not end", what)
			}
			q.PageToken = next
		}
		if pages != 3 {
			t.Fatalf("%s: %d pages for %d runs at 1000 a page", what, pages, n)
		}
		sameOrder(t, what+": paged order", paged, runIDs(one))
		sameSet(t, what+": every run once", paged, all)
	}
	// The default order is start_time DESC then run_id: check it independently.
	want := slices.Clone(all)
	start := map[string]int{}
	for i, id := range all {
		start[id] = i / 3
	}
	sort.Slice(want, func(i, j int) bool {
		if start[want[i]] != start[want[j]] {
			return start[want[i]] > start[want[j]]
		}
		return want[i] < want[j]
	})
	got := searchIDs(t, s, []string{e}, where())
	sameOrder(t, "default order of 2,500 runs", got, want)
	// Pages that divide the total exactly still visit every run once.
	q := store.RunSearch{ExperimentIDs: []string{e}, MaxResults: 500}
	sameSet(t, "pages of 500", runIDs(searchAll(t, s, q)), all)
}
