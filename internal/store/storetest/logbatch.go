package storetest

import (
	"math"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

var logBatchTests = []testCase{
	{"MetricsAppend", testMetricsAppend},
	{"SpecialValues", testMetricSpecialValues},
	{"SameStepAndTimestamp", testMetricSameStepTimestamp},
	{"ExactDuplicateStoredOnce", testMetricExactDuplicate},
	{"LatestMetric", testLatestMetric},
	{"MetricExtraFields", testMetricExtraFields},
	{"Params", testParams},
	{"AllOrNothing", testLogBatchAtomic},
	{"UnknownRun", testLogBatchUnknownRun},
	{"Empty", testLogBatchEmpty},
}

var inputTests = []testCase{
	{"LogInputs", testLogInputs},
	{"DatasetsSharedPerExperiment", testDatasetsPerExperiment},
	{"Errors", testLogInputsErrors},
}

func history(t *testing.T, s store.Store, runID, key string) []core.Metric {
	t.Helper()
	ms, next, err := s.GetMetricHistory(t.Context(), store.MetricHistoryPage{RunID: runID, Key: key})
	must(t, err, "GetMetricHistory "+key)
	if next != "" {
		t.Fatalf("full history returned a page token %q", next)
	}
	return ms
}

func testMetricsAppend(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	logMetrics(t, s, id, m("loss", 0.9, 0, 100), m("acc", 0.1, 0, 100))
	logMetrics(t, s, id, m("loss", 0.5, 1, 200), m("loss", 0.3, 2, 300))
	h := history(t, s, id, "loss")
	if len(h) != 3 {
		t.Fatalf("loss history has %d points, want 3: %+v", len(h), h)
	}
	for i, want := range []core.Metric{m("loss", 0.9, 0, 100), m("loss", 0.5, 1, 200), m("loss", 0.3, 2, 300)} {
		got := h[i]
		if got.Key != want.Key || got.Value != want.Value || got.Step != want.Step || got.Timestamp != want.Timestamp {
			t.Fatalf("point %d = %+v, want %+v", i, got, want)
		}
		if got.RunID != "" && got.RunID != id {
			t.Fatalf("point %d has run id %q", i, got.RunID)
		}
	}
	if h := history(t, s, id, "acc"); len(h) != 1 || h[0].Value != 0.1 {
		t.Fatalf("acc history %+v", h)
	}
	if h := history(t, s, id, "never-logged"); len(h) != 0 {
		t.Fatalf("history of an unlogged key: %+v", h)
	}
	lm := metricMap(getRun(t, s, id).Metrics)
	if len(lm) != 2 || lm["loss"].Value != 0.3 || lm["loss"].Step != 2 || lm["acc"].Value != 0.1 {
		t.Fatalf("latest metrics %+v", lm)
	}
}

func testMetricSpecialValues(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 1e-300, math.MaxFloat64, 0}
	var ms []core.Metric
	for i, v := range vals {
		ms = append(ms, m("special", v, int64(i), int64(1000+i)))
	}
	logMetrics(t, s, id, ms...)
	// Each value also as the only (hence latest) point of its own key.
	keys := []string{"nan", "pinf", "ninf"}
	for i, k := range keys {
		logMetrics(t, s, id, m(k, vals[i], 5, 5))
	}
	h := history(t, s, id, "special")
	if len(h) != len(vals) {
		t.Fatalf("history has %d points, want %d", len(h), len(vals))
	}
	for i, v := range vals {
		if !sameFloat(h[i].Value, v) || h[i].Step != int64(i) {
			t.Fatalf("point %d = %v (step %d), want %v", i, h[i].Value, h[i].Step, v)
		}
	}
	lm := metricMap(getRun(t, s, id).Metrics)
	for i, k := range keys {
		if !sameFloat(lm[k].Value, vals[i]) {
			t.Fatalf("latest %s = %v, want %v", k, lm[k].Value, vals[i])
		}
	}
	if lm["special"].Value != 0 || lm["special"].Step != 6 {
		t.Fatalf("latest special = %+v", lm["special"])
	}
}

func testMetricSameStepTimestamp(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	logMetrics(t, s, id, m("dup", 1, 3, 50), m("dup", 2, 3, 50))
	logMetrics(t, s, id, m("dup", 3, 3, 50))
	h := history(t, s, id, "dup")
	if len(h) != 3 {
		t.Fatalf("same key/step/timestamp with different values: %d points kept, want 3", len(h))
	}
	seen := map[float64]bool{}
	for _, p := range h {
		seen[p.Value] = true
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Fatalf("history %+v", h)
	}
	// Latest breaks the step and timestamp tie on the larger value.
	if lm := metricMap(getRun(t, s, id).Metrics); lm["dup"].Value != 3 {
		t.Fatalf("latest dup = %v, want 3", lm["dup"].Value)
	}
}

func testMetricExactDuplicate(t *testing.T, s store.Store) {
	// MLflow's metric primary key is (run, key, timestamp, step, value): re-sending an
	// identical point (a client retry) succeeds and keeps one copy.
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	logMetrics(t, s, id, m("x", 1.5, 1, 10), m("x", 1.5, 1, 10))
	logMetrics(t, s, id, m("x", 1.5, 1, 10))
	if h := history(t, s, id, "x"); len(h) != 1 {
		t.Fatalf("identical points stored %d times, want once", len(h))
	}
}

func testLatestMetric(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	latest := func(key string) core.Metric {
		t.Helper()
		mt, ok := metricMap(getRun(t, s, id).Metrics)[key]
		if !ok {
			t.Fatalf("no latest value for %s", key)
		}
		return mt
	}
	// The highest step wins even when logged earlier and with an older timestamp.
	logMetrics(t, s, id, m("a", 10, 5, 100))
	logMetrics(t, s, id, m("a", 20, 4, 900))
	if l := latest("a"); l.Value != 10 || l.Step != 5 || l.Timestamp != 100 {
		t.Fatalf("latest a = %+v, want step 5", l)
	}
	// Same step: the later timestamp wins.
	logMetrics(t, s, id, m("a", 7, 5, 200))
	if l := latest("a"); l.Value != 7 || l.Timestamp != 200 {
		t.Fatalf("latest a = %+v, want timestamp 200", l)
	}
	// Same step and timestamp: the larger value wins, whatever the order of logging.
	logMetrics(t, s, id, m("a", 8, 5, 200), m("a", 6, 5, 200))
	if l := latest("a"); l.Value != 8 {
		t.Fatalf("latest a = %+v, want value 8", l)
	}
	// Within one batch, order does not matter either.
	logMetrics(t, s, id, m("b", 1, 9, 1), m("b", 2, 1, 2), m("b", 3, 9, 0))
	if l := latest("b"); l.Value != 1 || l.Step != 9 || l.Timestamp != 1 {
		t.Fatalf("latest b = %+v", l)
	}
	// Negative steps are valid and lose to step 0.
	logMetrics(t, s, id, m("c", 5, 0, 1), m("c", 9, -3, 2))
	if l := latest("c"); l.Value != 5 {
		t.Fatalf("latest c = %+v", l)
	}
	runs := searchAll(t, s, store.RunSearch{ExperimentIDs: []string{"0"}, MaxResults: 10})
	if len(runs) != 1 {
		t.Fatalf("search found %d runs", len(runs))
	}
	sm := metricMap(runs[0].Metrics)
	if sm["a"].Value != 8 || sm["b"].Value != 1 || sm["c"].Value != 5 || len(sm) != 3 {
		t.Fatalf("SearchRuns latest metrics %+v", sm)
	}
}

func testMetricExtraFields(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	// A model id must name a logged model (an unknown one refuses the batch: LoggedModels group).
	lm, err := s.CreateLoggedModel(t.Context(), core.LoggedModel{ExperimentID: "0"})
	must(t, err, "CreateLoggedModel")
	mt := core.Metric{Key: "f1", Value: 0.8, Step: 1, Timestamp: 10,
		ModelID: lm.ID, DatasetName: "eval", DatasetDigest: "d1g3st"}
	logMetrics(t, s, id, mt, m("f1", 0.7, 0, 5))
	h := history(t, s, id, "f1")
	if len(h) != 2 {
		t.Fatalf("history %+v", h)
	}
	got := h[1]
	if got.ModelID != mt.ModelID || got.DatasetName != mt.DatasetName || got.DatasetDigest != mt.DatasetDigest {
		t.Fatalf("extra fields not round-tripped: %+v", got)
	}
	if h[0].ModelID != "" || h[0].DatasetName != "" || h[0].DatasetDigest != "" {
		t.Fatalf("plain point gained fields: %+v", h[0])
	}
}

func testParams(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	logParams(t, s, id, core.Param{Key: "lr", Value: "0.01"}, core.Param{Key: "empty", Value: ""})
	logParams(t, s, id, core.Param{Key: "lr", Value: "0.01"}) // same value again is fine
	long := strings.Repeat("p", 6000)
	logParams(t, s, id, core.Param{Key: "long", Value: long})
	err := s.LogBatch(ctx, id, nil, []core.Param{{Key: "lr", Value: "0.02"}}, nil)
	// MLflow answers INVALID_PARAMETER_VALUE when a param changes value.
	wantCode(t, err, core.EINVALID, "changing a param value")
	pm := paramMap(getRun(t, s, id).Params)
	if len(pm) != 3 || pm["lr"] != "0.01" || pm["empty"] != "" || pm["long"] != long {
		t.Fatalf("params %v", pm)
	}
}

func testLogBatchAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{name: "atomic"})
	id := r.Info.RunID
	logParams(t, s, id, core.Param{Key: "fixed", Value: "1"})
	setTags(t, s, id, core.Tag{Key: "t0", Value: "orig"})
	before := getRun(t, s, id)

	err := s.LogBatch(ctx, id,
		[]core.Metric{m("m1", 1, 0, 1), m("m2", 2, 0, 1)},
		[]core.Param{{Key: "fresh", Value: "x"}, {Key: "fixed", Value: "2"}},
		[]core.Tag{{Key: "t0", Value: "changed"}, {Key: "t1", Value: "new"}, {Key: runNameTag, Value: "renamed"}})
	wantCode(t, err, core.EINVALID, "batch with a conflicting param")

	after := getRun(t, s, id)
	if len(after.Metrics) != 0 {
		t.Fatalf("failed batch left metrics %+v", after.Metrics)
	}
	if h := history(t, s, id, "m1"); len(h) != 0 {
		t.Fatalf("failed batch left history %+v", h)
	}
	if pm := paramMap(after.Params); len(pm) != 1 || pm["fixed"] != "1" {
		t.Fatalf("failed batch changed params: %v", pm)
	}
	if tm, bm := tagMap(after.Tags), tagMap(before.Tags); len(tm) != len(bm) || tm["t0"] != "orig" || tm[runNameTag] != "atomic" {
		t.Fatalf("failed batch changed tags: %v", tm)
	}
	if after.Info.RunName != "atomic" {
		t.Fatalf("failed batch renamed the run to %q", after.Info.RunName)
	}
	// A conflict within the batch itself (same key, two values) is refused the same way.
	err = s.LogBatch(ctx, id, []core.Metric{m("m3", 1, 0, 1)},
		[]core.Param{{Key: "twice", Value: "a"}, {Key: "twice", Value: "b"}}, nil)
	wantCode(t, err, core.EINVALID, "one batch logging a param with two values")
	if got := getRun(t, s, id); len(got.Metrics) != 0 || len(got.Params) != 1 {
		t.Fatalf("failed batch left data: %+v", got)
	}
	// The same batch without the conflict goes through completely.
	must(t, s.LogBatch(ctx, id,
		[]core.Metric{m("m1", 1, 0, 1), m("m2", 2, 0, 1)},
		[]core.Param{{Key: "fresh", Value: "x"}, {Key: "fixed", Value: "1"}},
		[]core.Tag{{Key: "t0", Value: "changed"}, {Key: "t1", Value: "new"}}), "LogBatch")
	got := getRun(t, s, id)
	if len(got.Metrics) != 2 || len(got.Params) != 2 || tagMap(got.Tags)["t0"] != "changed" || tagMap(got.Tags)["t1"] != "new" {
		t.Fatalf("run after good batch %+v", got)
	}
}

func testLogBatchUnknownRun(t *testing.T, s store.Store) {
	err := s.LogBatch(t.Context(), "deadbeefdeadbeefdeadbeefdeadbeef", []core.Metric{m("a", 1, 0, 1)}, nil, nil)
	wantCode(t, err, core.ENOTFOUND, "LogBatch unknown run")
	err = s.LogBatch(t.Context(), "deadbeefdeadbeefdeadbeefdeadbeef", nil, []core.Param{{Key: "a", Value: "1"}}, nil)
	wantCode(t, err, core.ENOTFOUND, "LogBatch params unknown run")
}

func testLogBatchEmpty(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{})
	must(t, s.LogBatch(t.Context(), r.Info.RunID, nil, nil, nil), "empty LogBatch")
}

// ---- inputs ----

func dsInput(name, digest, context string) core.DatasetInput {
	in := core.DatasetInput{Dataset: core.Dataset{
		Name: name, Digest: digest, SourceType: "local", Source: `{"uri": "/data/` + name + `"}`,
		Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 10}`,
	}}
	if context != "" {
		in.Tags = []core.Tag{{Key: "mlflow.data.context", Value: context}}
	}
	return in
}

func testLogInputs(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{})
	id := r.Info.RunID
	train, eval := dsInput("iris", "abc123", "training"), dsInput("iris-eval", "def456", "")
	must(t, s.LogInputs(ctx, id, []core.DatasetInput{train, eval}), "LogInputs")
	must(t, s.LogInputs(ctx, id, []core.DatasetInput{train}), "LogInputs again")
	got := getRun(t, s, id).Inputs
	if len(got) != 2 {
		t.Fatalf("inputs %+v, want 2 (logging the same input twice must not duplicate it)", got)
	}
	byName := map[string]core.DatasetInput{}
	for _, in := range got {
		byName[in.Dataset.Name] = in
	}
	if g := byName["iris"]; g.Dataset != train.Dataset || len(g.Tags) != 1 || g.Tags[0] != train.Tags[0] {
		t.Fatalf("training input %+v, want %+v", g, train)
	}
	if g := byName["iris-eval"]; g.Dataset != eval.Dataset || len(g.Tags) != 0 {
		t.Fatalf("eval input %+v", g)
	}
	// Same name, another digest is another dataset.
	must(t, s.LogInputs(ctx, id, []core.DatasetInput{dsInput("iris", "zzz999", "test")}), "LogInputs new digest")
	if n := len(getRun(t, s, id).Inputs); n != 3 {
		t.Fatalf("%d inputs after a new digest, want 3", n)
	}
	runs := searchAll(t, s, store.RunSearch{ExperimentIDs: []string{"0"}, MaxResults: 10})
	if len(runs) != 1 || len(runs[0].Inputs) != 3 {
		t.Fatalf("SearchRuns inputs %+v", runs)
	}
	// Duplicates inside one call collapse too.
	r2 := createRun(t, s, "0", runOpts{})
	must(t, s.LogInputs(ctx, r2.Info.RunID, []core.DatasetInput{train, train}), "LogInputs duplicate in call")
	if n := len(getRun(t, s, r2.Info.RunID).Inputs); n != 1 {
		t.Fatalf("%d inputs, want 1", n)
	}
}

func testDatasetsPerExperiment(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "ds")
	r1 := createRun(t, s, e.ID, runOpts{})
	r2 := createRun(t, s, e.ID, runOpts{})
	first := dsInput("shared", "d1", "training")
	must(t, s.LogInputs(ctx, r1.Info.RunID, []core.DatasetInput{first}), "LogInputs r1")
	// The second run names the same dataset (name+digest) with another source: MLflow
	// reuses the experiment's dataset record, so the first source is what both runs see.
	second := first
	second.Dataset.Source = `{"uri": "/elsewhere"}`
	second.Tags = []core.Tag{{Key: "mlflow.data.context", Value: "eval"}}
	must(t, s.LogInputs(ctx, r2.Info.RunID, []core.DatasetInput{second}), "LogInputs r2")
	in := getRun(t, s, r2.Info.RunID).Inputs
	if len(in) != 1 || in[0].Dataset.Source != first.Dataset.Source {
		t.Fatalf("r2 inputs %+v: want the experiment's existing dataset record", in)
	}
	if len(in[0].Tags) != 1 || in[0].Tags[0].Value != "eval" {
		t.Fatalf("input tags belong to the run's input, got %+v", in[0].Tags)
	}
	// Another experiment gets its own record.
	other := createRun(t, s, "0", runOpts{})
	must(t, s.LogInputs(ctx, other.Info.RunID, []core.DatasetInput{second}), "LogInputs other experiment")
	if in := getRun(t, s, other.Info.RunID).Inputs; len(in) != 1 || in[0].Dataset.Source != second.Dataset.Source {
		t.Fatalf("other experiment inputs %+v", in)
	}
}

func testLogInputsErrors(t *testing.T, s store.Store) {
	err := s.LogInputs(t.Context(), "cafecafecafecafecafecafecafecafe", []core.DatasetInput{dsInput("a", "b", "")})
	wantCode(t, err, core.ENOTFOUND, "LogInputs unknown run")
	r := createRun(t, s, "0", runOpts{})
	must(t, s.LogInputs(t.Context(), r.Info.RunID, nil), "LogInputs with nothing")
	if n := len(getRun(t, s, r.Info.RunID).Inputs); n != 0 {
		t.Fatalf("%d inputs", n)
	}
}
