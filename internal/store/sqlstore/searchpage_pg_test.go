package sqlstore_test

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/postgres"
	"github.com/plinth-ml/plinth/internal/testutil/pgtest"
)

// TestSearchPageMatchesGetRun checks, on PostgreSQL, that the runs of a search page (read
// packed, searchpage.go) are exactly what GetRun reads row by row: awkward keys and
// values, NaN and infinite metrics, inputs, outputs, runs without details, and a run
// whose keys and values hold the packing separators (its page is read row by row). A
// LATIN1 client has its text converted by the server on the way.
func TestSearchPageMatchesGetRun(t *testing.T) {
	t.Parallel()
	for _, clientEncoding := range []string{"", "LATIN1"} {
		t.Run("client encoding "+clientEncoding, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewDatabase(t)
			if clientEncoding != "" {
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Set("client_encoding", clientEncoding)
				u.RawQuery = q.Encode()
				dsn = u.String()
			}
			st, err := postgres.Open(t.Context(), dsn, store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			checkSearchPage(t, st)
			checkSeparatorsInside(t, st)
		})
	}
}

func checkSearchPage(t *testing.T, st store.Store) {
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, core.Experiment{Name: "page"})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"", "plain", `"quoted" \ back`, "line\nfeed\ttab", "é ü ß ÿ", "12:34", "0:", ":", "3:abc",
		strings.Repeat("long value ", 500), "日本語 🎉", "\u2028"}
	values := []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), -0.25, 1e-300, math.MaxFloat64, 0, 3}
	var ids []string
	for i := range 12 {
		run, err := st.CreateRun(ctx, core.RunInfo{ExperimentID: exp.ID, UserID: texts[i%len(texts)],
			RunName: fmt.Sprintf("run %d %s", i, texts[(i+1)%len(texts)]), StartTime: int64(1000 + i%5),
			Status: core.RunRunning, LifecycleStage: core.LifecycleActive}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.Info.RunID)
		if i%4 == 3 {
			continue // a run with nothing but its name tag
		}
		var params []core.Param
		var tags []core.Tag
		var metrics []core.Metric
		for k, s := range texts {
			if (k+i)%3 == 0 {
				continue
			}
			params = append(params, core.Param{Key: fmt.Sprintf("p%d %s", k, s), Value: s})
			tags = append(tags, core.Tag{Key: fmt.Sprintf("t%d", k), Value: texts[(k+i)%len(texts)]})
		}
		for k, v := range values {
			metrics = append(metrics, core.Metric{Key: fmt.Sprintf("m%d%s", k, texts[4]), Value: v,
				Timestamp: int64(1700000000000 + k), Step: int64(k*i - 3)})
		}
		metrics = append(metrics, core.Metric{Key: "order", Value: float64(i % 7), Timestamp: 1, Step: 0})
		if err := st.LogBatch(ctx, run.Info.RunID, metrics, params, tags); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			err := st.LogInputs(ctx, run.Info.RunID, []core.DatasetInput{{
				Tags:    []core.Tag{{Key: "mlflow.data.context", Value: "train"}},
				Dataset: core.Dataset{Name: "ds" + texts[4], Digest: fmt.Sprint(i), SourceType: "local", Source: texts[2], Schema: "{}"},
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 {
			m, err := st.CreateLoggedModel(ctx, core.LoggedModel{ExperimentID: exp.ID, Name: "model"})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.LogOutputs(ctx, run.Info.RunID, []core.ModelOutput{{ModelID: m.ID, Step: int64(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.DeleteRun(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	order, err := search.ParseRunOrderBy("metrics.order DESC")
	if err != nil {
		t.Fatal(err)
	}
	for _, view := range []core.ViewType{core.ViewActiveOnly, core.ViewAll} {
		var got []core.Run
		tok := ""
		for {
			page, next, err := st.SearchRuns(ctx, store.RunSearch{ExperimentIDs: []string{exp.ID}, ViewType: view,
				OrderBy: []search.OrderBy{order}, MaxResults: 5, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if tok = next; tok == "" {
				break
			}
		}
		want := 12
		if view == core.ViewActiveOnly {
			want = 11
		}
		if len(got) != want {
			t.Fatalf("view %v: %d runs, want %d", view, len(got), want)
		}
		for _, r := range got {
			single, err := st.GetRun(ctx, r.Info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRun(r, single) {
				t.Errorf("run %s from the search page:\n%+v\nfrom GetRun:\n%+v", r.Info.RunID, r, single)
			}
		}
	}
}

// checkSeparatorsInside searches runs with the packing separators in a param, a tag or
// a metric key, each alone in its experiment, where the page must be read row by row.
func checkSeparatorsInside(t *testing.T, st store.Store) {
	ctx := t.Context()
	plainMetrics := []core.Metric{{Key: "m", Value: 1}}
	plainParams := []core.Param{{Key: "p", Value: "v"}}
	plainTags := []core.Tag{{Key: "t", Value: "v"}}
	for i, c := range []struct {
		metrics []core.Metric
		params  []core.Param
		tags    []core.Tag
	}{
		{plainMetrics, []core.Param{{Key: "p\x1fq", Value: "v"}, {Key: "plain", Value: "x"}}, plainTags},
		{plainMetrics, []core.Param{{Key: "p", Value: "v\x1ew\x1fz"}}, plainTags},
		{plainMetrics, plainParams, []core.Tag{{Key: "t", Value: "\x1e"}}},
		{[]core.Metric{{Key: "m\x1ex", Value: 1}, {Key: "n", Value: 2}}, plainParams, plainTags},
	} {
		exp, err := st.CreateExperiment(ctx, core.Experiment{Name: fmt.Sprintf("separators %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		for _, inside := range []bool{false, true} {
			run, err := st.CreateRun(ctx, core.RunInfo{ExperimentID: exp.ID, StartTime: 1, Status: core.RunRunning,
				LifecycleStage: core.LifecycleActive}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if inside {
				err = st.LogBatch(ctx, run.Info.RunID, c.metrics, c.params, c.tags)
			} else {
				err = st.LogBatch(ctx, run.Info.RunID, plainMetrics, plainParams, plainTags)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		page, _, err := st.SearchRuns(ctx, store.RunSearch{ExperimentIDs: []string{exp.ID}, MaxResults: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 2 {
			t.Fatalf("case %d: %d runs, want 2", i, len(page))
		}
		for _, r := range page {
			single, err := st.GetRun(ctx, r.Info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRun(r, single) {
				t.Errorf("case %d: run from the search page:\n%+v\nfrom GetRun:\n%+v", i, r, single)
			}
		}
	}
}

// sameRun compares runs with NaN equal to itself.
func sameRun(a, b core.Run) bool {
	nan := func(ms []core.Metric) []core.Metric {
		out := make([]core.Metric, len(ms))
		for i, m := range ms {
			if math.IsNaN(m.Value) {
				m.Value = -12345.678 // a stand-in no test metric has
			}
			out[i] = m
		}
		return out
	}
	a.Metrics, b.Metrics = nan(a.Metrics), nan(b.Metrics)
	return reflect.DeepEqual(a, b)
}
