package storetest

import (
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

var loggedModelTests = []testCase{
	{"Create", testCreateLoggedModel},
	{"CreateErrors", testCreateLoggedModelErrors},
	{"GetUnknown", testGetLoggedModelUnknown},
	{"Finalize", testFinalizeLoggedModel},
	{"Delete", testDeleteLoggedModel},
	{"Tags", testLoggedModelTags},
	{"Params", testLoggedModelParams},
	{"MetricsFromLogBatch", testLoggedModelMetrics},
	{"LogBatchUnknownModel", testLoggedModelMetricsUnknown},
	{"Outputs", testLogOutputs},
	{"OutputsErrors", testLogOutputsErrors},
}

var modelIDPattern = regexp.MustCompile(`^m-[0-9a-f]{32}$`)

// lmCreate creates a logged model in an experiment, failing the test on error.
func lmCreate(t *testing.T, s store.Store, m core.LoggedModel) core.LoggedModel {
	t.Helper()
	out, err := s.CreateLoggedModel(t.Context(), m)
	must(t, err, "CreateLoggedModel "+m.Name)
	return out
}

func lmGet(t *testing.T, s store.Store, id string) core.LoggedModel {
	t.Helper()
	m, err := s.GetLoggedModel(t.Context(), id)
	must(t, err, "GetLoggedModel "+id)
	return m
}

// lmIDsIn lists the ids of the active models of an experiment (newest first).
func lmIDsIn(t *testing.T, s store.Store, expID string) []string {
	t.Helper()
	ms, _, err := s.SearchLoggedModels(t.Context(), store.LoggedModelSearch{ExperimentIDs: []string{expID}, MaxResults: store.MaxLoggedModelSearchResults})
	must(t, err, "SearchLoggedModels")
	return lmIDs(ms)
}

func lmNow() int64 { return time.Now().UnixMilli() }

func lmIDs(ms []core.LoggedModel) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// modelMetric is a point logged through LogBatch on behalf of a model.
func modelMetric(modelID, key string, v float64, step, ts int64, dsName, dsDigest string) core.Metric {
	return core.Metric{Key: key, Value: v, Step: step, Timestamp: ts, ModelID: modelID, DatasetName: dsName, DatasetDigest: dsDigest}
}

// sameModel compares everything but the metric values' NaN-ness, which sameFloat handles.
func sameModel(t *testing.T, what string, got, want core.LoggedModel) {
	t.Helper()
	gm, wm := got.Metrics, want.Metrics
	got.Metrics, want.Metrics = nil, nil
	if got.ID != want.ID || got.ExperimentID != want.ExperimentID || got.Name != want.Name || got.ArtifactURI != want.ArtifactURI ||
		got.Status != want.Status || got.StatusMessage != want.StatusMessage || got.ModelType != want.ModelType ||
		got.SourceRunID != want.SourceRunID || got.CreationTime != want.CreationTime || got.LastUpdateTime != want.LastUpdateTime ||
		!slices.Equal(got.Tags, want.Tags) || !slices.Equal(got.Params, want.Params) || len(gm) != len(wm) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
	for i := range gm {
		a, b := gm[i], wm[i]
		if !sameFloat(a.Value, b.Value) {
			t.Fatalf("%s: metric %d value %v, want %v", what, i, a.Value, b.Value)
		}
		a.Value, b.Value = 0, 0
		if a != b {
			t.Fatalf("%s: metric %d = %+v, want %+v", what, i, a, b)
		}
	}
}

func testCreateLoggedModel(t *testing.T, s store.Store) {
	e, err := s.CreateExperiment(t.Context(), core.Experiment{Name: "lm", ArtifactLocation: "s3://bucket/exp/"})
	must(t, err, "CreateExperiment")
	run := createRun(t, s, e.ID, runOpts{})
	before := lmNow()
	m := lmCreate(t, s, core.LoggedModel{
		ExperimentID: e.ID, Name: "clf", ModelType: "sklearn", SourceRunID: run.Info.RunID,
		Tags:   []core.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}, {Key: "b", Value: "3"}},
		Params: []core.Param{{Key: "lr", Value: "0.1"}, {Key: "depth", Value: "4"}, {Key: "lr", Value: "0.1"}},
	})
	after := lmNow()
	if !modelIDPattern.MatchString(m.ID) {
		t.Fatalf("model id %q is not m- and 32 hex characters", m.ID)
	}
	if want := "s3://bucket/exp/models/" + m.ID + "/artifacts"; m.ArtifactURI != want {
		t.Fatalf("artifact uri %q, want %q", m.ArtifactURI, want)
	}
	if m.ExperimentID != e.ID || m.Name != "clf" || m.ModelType != "sklearn" || m.SourceRunID != run.Info.RunID ||
		m.Status != core.LoggedModelPending || m.StatusMessage != "" {
		t.Fatalf("created model %+v", m)
	}
	if m.CreationTime < before || m.CreationTime > after || m.LastUpdateTime != m.CreationTime {
		t.Fatalf("times %d/%d not within [%d, %d]", m.CreationTime, m.LastUpdateTime, before, after)
	}
	// Tags and params come back sorted by key; a repeated tag key keeps its last value.
	if want := []core.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "3"}}; !slices.Equal(m.Tags, want) {
		t.Fatalf("tags %v, want %v", m.Tags, want)
	}
	if want := []core.Param{{Key: "depth", Value: "4"}, {Key: "lr", Value: "0.1"}}; !slices.Equal(m.Params, want) {
		t.Fatalf("params %v, want %v", m.Params, want)
	}
	if len(m.Metrics) != 0 {
		t.Fatalf("new model has metrics %v", m.Metrics)
	}
	sameModel(t, "GetLoggedModel after create", lmGet(t, s, m.ID), m)

	// No name: a generated one. No run: no source run. Default experiment: mlflow-artifacts:/0.
	d := lmCreate(t, s, core.LoggedModel{ExperimentID: "0"})
	if d.Name == "" || d.SourceRunID != "" || d.ModelType != "" || d.ID == m.ID {
		t.Fatalf("model with defaults %+v", d)
	}
	if want := "mlflow-artifacts:/0/models/" + d.ID + "/artifacts"; d.ArtifactURI != want {
		t.Fatalf("artifact uri %q, want %q", d.ArtifactURI, want)
	}
	// A deleted source run is still a run (MLflow only needs it to exist).
	must(t, s.DeleteRun(t.Context(), run.Info.RunID), "DeleteRun")
	lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID, SourceRunID: run.Info.RunID})
}

func testCreateLoggedModelErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "lm-errors")
	gone := createExp(t, s, "lm-gone")
	must(t, s.DeleteExperiment(ctx, gone.ID), "DeleteExperiment")
	cases := []struct {
		what string
		m    core.LoggedModel
		code string
	}{
		{"unknown experiment", core.LoggedModel{ExperimentID: "98765"}, core.ENOTFOUND},
		{"malformed experiment id", core.LoggedModel{ExperimentID: "x1"}, core.ENOTFOUND},
		{"deleted experiment", core.LoggedModel{ExperimentID: gone.ID}, core.ECONFLICT},
		{"unknown source run", core.LoggedModel{ExperimentID: e.ID, SourceRunID: "0123456789abcdef0123456789abcdef"}, core.ENOTFOUND},
		{"slash in name", core.LoggedModel{ExperimentID: e.ID, Name: "a/b"}, core.EINVALID},
		{"dot in name", core.LoggedModel{ExperimentID: e.ID, Name: "a.b"}, core.EINVALID},
		{"quote in name", core.LoggedModel{ExperimentID: e.ID, Name: "it's"}, core.EINVALID},
		{"param with two values", core.LoggedModel{ExperimentID: e.ID, Params: []core.Param{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}}, core.EINVALID},
	}
	for _, c := range cases {
		_, err := s.CreateLoggedModel(ctx, c.m)
		wantCode(t, err, c.code, c.what)
	}
	if ids := lmIDsIn(t, s, e.ID); len(ids) != 0 {
		t.Fatalf("failed creates left models %v", ids)
	}
	if ids := lmIDsIn(t, s, gone.ID); len(ids) != 0 {
		t.Fatalf("failed creates left models %v in the deleted experiment", ids)
	}
}

func testGetLoggedModelUnknown(t *testing.T, s store.Store) {
	_, err := s.GetLoggedModel(t.Context(), "m-00000000000000000000000000000000")
	wantCode(t, err, core.ENOTFOUND, "unknown model")
	if msg := core.ErrorMessage(err); msg != "Logged model with ID 'm-00000000000000000000000000000000' not found." {
		t.Fatalf("message %q", msg)
	}
	_, err = s.GetLoggedModel(t.Context(), "")
	wantCode(t, err, core.ENOTFOUND, "empty id")
}

func testFinalizeLoggedModel(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := lmCreate(t, s, core.LoggedModel{ExperimentID: "0", Name: "fin"})
	for _, bad := range []string{core.LoggedModelPending, "", "ready", "LOGGED_MODEL_READY"} {
		_, err := s.FinalizeLoggedModel(ctx, m.ID, bad)
		wantCode(t, err, core.EINVALID, "finalize as "+bad)
	}
	sameModel(t, "after refused finalizes", lmGet(t, s, m.ID), m)

	ready, err := s.FinalizeLoggedModel(ctx, m.ID, core.LoggedModelReady)
	must(t, err, "finalize READY")
	if ready.Status != core.LoggedModelReady || ready.ID != m.ID || ready.Name != "fin" || ready.CreationTime != m.CreationTime ||
		ready.LastUpdateTime < m.LastUpdateTime || ready.ArtifactURI != m.ArtifactURI {
		t.Fatalf("finalized %+v (was %+v)", ready, m)
	}
	sameModel(t, "GetLoggedModel after finalize", lmGet(t, s, m.ID), ready)
	failed, err := s.FinalizeLoggedModel(ctx, m.ID, core.LoggedModelFailed)
	must(t, err, "finalize FAILED")
	if failed.Status != core.LoggedModelFailed || lmGet(t, s, m.ID).Status != core.LoggedModelFailed {
		t.Fatalf("status after FAILED: %q", failed.Status)
	}
	_, err = s.FinalizeLoggedModel(ctx, "m-00000000000000000000000000000000", core.LoggedModelReady)
	wantCode(t, err, core.ENOTFOUND, "finalize unknown")
}

func testDeleteLoggedModel(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "lm-delete")
	run := createRun(t, s, e.ID, runOpts{})
	keep := lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID, Name: "keep"})
	m := lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID, Name: "drop", Tags: []core.Tag{{Key: "t", Value: "v"}}})
	must(t, s.DeleteLoggedModel(ctx, m.ID), "DeleteLoggedModel")

	_, err := s.GetLoggedModel(ctx, m.ID)
	wantCode(t, err, core.ENOTFOUND, "get deleted")
	wantCode(t, s.DeleteLoggedModel(ctx, m.ID), core.ENOTFOUND, "delete deleted")
	_, err = s.FinalizeLoggedModel(ctx, m.ID, core.LoggedModelReady)
	wantCode(t, err, core.ENOTFOUND, "finalize deleted")
	wantCode(t, s.SetLoggedModelTags(ctx, m.ID, []core.Tag{{Key: "x", Value: "y"}}), core.ENOTFOUND, "set tags of deleted")
	wantCode(t, s.DeleteLoggedModelTag(ctx, m.ID, "t"), core.ENOTFOUND, "delete tag of deleted")
	wantCode(t, s.LogLoggedModelParams(ctx, m.ID, []core.Param{{Key: "p", Value: "1"}}), core.ENOTFOUND, "log params of deleted")
	wantCode(t, s.LogOutputs(ctx, run.Info.RunID, []core.ModelOutput{{ModelID: m.ID}}), core.ENOTFOUND, "output a deleted model")
	err = s.LogBatch(ctx, run.Info.RunID, []core.Metric{modelMetric(m.ID, "acc", 1, 0, 1, "", "")}, nil, nil)
	wantCode(t, err, core.ENOTFOUND, "log a metric of a deleted model")
	if got := getRun(t, s, run.Info.RunID); len(got.Metrics) != 0 || len(got.Outputs) != 0 {
		t.Fatalf("refused writes left metrics %v, outputs %v", got.Metrics, got.Outputs)
	}
	sameOrder(t, "search after delete", lmIDsIn(t, s, e.ID), []string{keep.ID})
	wantCode(t, s.DeleteLoggedModel(ctx, "m-00000000000000000000000000000000"), core.ENOTFOUND, "delete unknown")
	sameModel(t, "other model", lmGet(t, s, keep.ID), keep)
}

func testLoggedModelTags(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := lmCreate(t, s, core.LoggedModel{ExperimentID: "0", Tags: []core.Tag{{Key: "a", Value: "1"}}})
	must(t, s.SetLoggedModelTags(ctx, m.ID, []core.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "10"}, {Key: "b", Value: "20"}}), "SetLoggedModelTags")
	must(t, s.SetLoggedModelTags(ctx, m.ID, nil), "SetLoggedModelTags with none")
	got := lmGet(t, s, m.ID)
	if want := []core.Tag{{Key: "a", Value: "10"}, {Key: "b", Value: "20"}}; !slices.Equal(got.Tags, want) {
		t.Fatalf("tags %v, want %v", got.Tags, want)
	}
	// MLflow leaves last_update_time alone on tag changes.
	if got.LastUpdateTime != m.LastUpdateTime {
		t.Fatalf("last update time moved from %d to %d", m.LastUpdateTime, got.LastUpdateTime)
	}
	must(t, s.DeleteLoggedModelTag(ctx, m.ID, "a"), "DeleteLoggedModelTag")
	err := s.DeleteLoggedModelTag(ctx, m.ID, "a")
	wantCode(t, err, core.ENOTFOUND, "delete a missing tag")
	if want := "No tag with key 'a' found for model with ID '" + m.ID + "'."; core.ErrorMessage(err) != want {
		t.Fatalf("message %q, want %q", core.ErrorMessage(err), want)
	}
	if want := []core.Tag{{Key: "b", Value: "20"}}; !slices.Equal(lmGet(t, s, m.ID).Tags, want) {
		t.Fatalf("tags after delete %v", lmGet(t, s, m.ID).Tags)
	}
	wantCode(t, s.SetLoggedModelTags(ctx, "m-00000000000000000000000000000000", []core.Tag{{Key: "k", Value: "v"}}), core.ENOTFOUND, "tag unknown")
	wantCode(t, s.DeleteLoggedModelTag(ctx, "m-00000000000000000000000000000000", "b"), core.ENOTFOUND, "untag unknown")
}

func testLoggedModelParams(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := lmCreate(t, s, core.LoggedModel{ExperimentID: "0", Params: []core.Param{{Key: "lr", Value: "0.1"}}})
	must(t, s.LogLoggedModelParams(ctx, m.ID, []core.Param{{Key: "lr", Value: "0.1"}, {Key: "n", Value: "5"}, {Key: "n", Value: "5"}}), "log params")
	must(t, s.LogLoggedModelParams(ctx, m.ID, nil), "log no params")
	want := []core.Param{{Key: "lr", Value: "0.1"}, {Key: "n", Value: "5"}}
	if got := lmGet(t, s, m.ID).Params; !slices.Equal(got, want) {
		t.Fatalf("params %v, want %v", got, want)
	}
	// A changed value refuses the whole call: "new" is not added either.
	err := s.LogLoggedModelParams(ctx, m.ID, []core.Param{{Key: "new", Value: "x"}, {Key: "lr", Value: "0.2"}})
	wantCode(t, err, core.EINVALID, "change a param")
	err = s.LogLoggedModelParams(ctx, m.ID, []core.Param{{Key: "new", Value: "x"}, {Key: "new", Value: "y"}})
	wantCode(t, err, core.EINVALID, "one key, two values")
	got := lmGet(t, s, m.ID)
	if !slices.Equal(got.Params, want) || got.LastUpdateTime != m.LastUpdateTime {
		t.Fatalf("after refused calls: params %v, last update %d (was %d)", got.Params, got.LastUpdateTime, m.LastUpdateTime)
	}
	wantCode(t, s.LogLoggedModelParams(ctx, "m-00000000000000000000000000000000", want), core.ENOTFOUND, "params of unknown")
}

func testLoggedModelMetrics(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "lm-metrics")
	run := createRun(t, s, e.ID, runOpts{})
	id := run.Info.RunID
	a := lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID, SourceRunID: id})
	b := lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID})
	// Logged out of order, with a plain metric, a NaN, a dataset and an exact repeat.
	must(t, s.LogBatch(ctx, id, []core.Metric{
		modelMetric(a.ID, "loss", 0.5, 1, 20, "", ""),
		modelMetric(a.ID, "acc", 0.9, 0, 10, "eval", "d1"),
		m("plain", 1, 0, 10),
		modelMetric(a.ID, "loss", 0.7, 0, 10, "", ""),
		modelMetric(a.ID, "loss", math.NaN(), 2, 30, "", ""),
		modelMetric(b.ID, "acc", 0.3, 0, 10, "", ""),
		modelMetric(a.ID, "loss", 0.7, 0, 10, "", ""),
	}, []core.Param{{Key: "p", Value: "1"}}, nil), "LogBatch with model ids")
	must(t, s.LogBatch(ctx, id, []core.Metric{modelMetric(a.ID, "loss", 0.7, 0, 10, "", "")}, nil, nil), "LogBatch repeat")
	got := lmGet(t, s, a.ID)
	want := []core.Metric{
		{Key: "acc", Value: 0.9, Step: 0, Timestamp: 10, RunID: id, ModelID: a.ID, DatasetName: "eval", DatasetDigest: "d1"},
		{Key: "loss", Value: 0.7, Step: 0, Timestamp: 10, RunID: id, ModelID: a.ID},
		{Key: "loss", Value: 0.5, Step: 1, Timestamp: 20, RunID: id, ModelID: a.ID},
		{Key: "loss", Value: math.NaN(), Step: 2, Timestamp: 30, RunID: id, ModelID: a.ID},
	}
	exp := a
	exp.Metrics = want
	sameModel(t, "model a with metrics", got, exp)
	bm := lmGet(t, s, b.ID).Metrics
	if len(bm) != 1 || bm[0].Key != "acc" || bm[0].Value != 0.3 || bm[0].ModelID != b.ID || bm[0].RunID != id {
		t.Fatalf("model b metrics %+v", bm)
	}
	// The points are still the run's metrics too.
	r := getRun(t, s, id)
	lm := metricMap(r.Metrics)
	if len(lm) != 3 || !math.IsNaN(lm["loss"].Value) || lm["plain"].Value != 1 || paramMap(r.Params)["p"] != "1" {
		t.Fatalf("run metrics %+v params %v", r.Metrics, r.Params)
	}
	if h := history(t, s, id, "loss"); len(h) != 3 || h[0].ModelID != a.ID {
		t.Fatalf("run history of loss %+v", h)
	}
}

func testLoggedModelMetricsUnknown(t *testing.T, s store.Store) {
	ctx := t.Context()
	run := createRun(t, s, "0", runOpts{})
	id := run.Info.RunID
	mod := lmCreate(t, s, core.LoggedModel{ExperimentID: "0"})
	logMetrics(t, s, id, m("acc", 0.1, 0, 1))
	err := s.LogBatch(ctx, id, []core.Metric{
		m("acc", 0.9, 5, 5),
		modelMetric(mod.ID, "acc", 0.9, 5, 5, "", ""),
		modelMetric("m-00000000000000000000000000000000", "acc", 0.9, 5, 5, "", ""),
	}, []core.Param{{Key: "p", Value: "1"}}, []core.Tag{{Key: "t", Value: "v"}})
	wantCode(t, err, core.ENOTFOUND, "metric of an unknown model")
	r := getRun(t, s, id)
	if lm := metricMap(r.Metrics); lm["acc"].Value != 0.1 || len(r.Params) != 0 || tagMap(r.Tags)["t"] != "" {
		t.Fatalf("refused batch changed the run: %+v", r)
	}
	if h := history(t, s, id, "acc"); len(h) != 1 {
		t.Fatalf("refused batch added history %+v", h)
	}
	if ms := lmGet(t, s, mod.ID).Metrics; len(ms) != 0 {
		t.Fatalf("refused batch gave the known model metrics %+v", ms)
	}
}

func testLogOutputs(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := createExp(t, s, "lm-outputs")
	r1 := createRun(t, s, e.ID, runOpts{name: "r1", startTime: 2000})
	r2 := createRun(t, s, e.ID, runOpts{name: "r2", startTime: 1000})
	var ms []core.LoggedModel
	for range 3 {
		ms = append(ms, lmCreate(t, s, core.LoggedModel{ExperimentID: e.ID}))
	}
	sorted := lmIDs(ms)
	slices.Sort(sorted)
	lo, mid, hi := sorted[0], sorted[1], sorted[2]
	must(t, s.LogOutputs(ctx, r1.Info.RunID, []core.ModelOutput{{ModelID: hi, Step: 1}, {ModelID: mid, Step: 2}, {ModelID: lo, Step: 1}}), "LogOutputs")
	// Logging a model again moves it to the new step; listing it twice keeps the last step.
	must(t, s.LogOutputs(ctx, r1.Info.RunID, []core.ModelOutput{{ModelID: mid, Step: 7}, {ModelID: mid, Step: 0}}), "LogOutputs again")
	must(t, s.LogOutputs(ctx, r1.Info.RunID, nil), "LogOutputs with none")
	want := []core.ModelOutput{{ModelID: mid, Step: 0}, {ModelID: lo, Step: 1}, {ModelID: hi, Step: 1}}
	if got := getRun(t, s, r1.Info.RunID).Outputs; !slices.Equal(got, want) {
		t.Fatalf("GetRun outputs %v, want %v", got, want)
	}
	if got := getRun(t, s, r2.Info.RunID).Outputs; len(got) != 0 {
		t.Fatalf("run without outputs has %v", got)
	}
	runs := searchAll(t, s, store.RunSearch{ExperimentIDs: []string{e.ID}, MaxResults: 10})
	if len(runs) != 2 || runs[0].Info.RunID != r1.Info.RunID || !slices.Equal(runs[0].Outputs, want) || len(runs[1].Outputs) != 0 {
		t.Fatalf("SearchRuns outputs: %+v", runs)
	}
	// A model may be the output of several runs.
	must(t, s.LogOutputs(ctx, r2.Info.RunID, []core.ModelOutput{{ModelID: lo, Step: 3}}), "LogOutputs r2")
	if got := getRun(t, s, r2.Info.RunID).Outputs; !slices.Equal(got, []core.ModelOutput{{ModelID: lo, Step: 3}}) {
		t.Fatalf("r2 outputs %v", got)
	}
}

func testLogOutputsErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	run := createRun(t, s, "0", runOpts{})
	mod := lmCreate(t, s, core.LoggedModel{ExperimentID: "0"})
	out := []core.ModelOutput{{ModelID: mod.ID, Step: 1}}
	wantCode(t, s.LogOutputs(ctx, "0123456789abcdef0123456789abcdef", out), core.ENOTFOUND, "unknown run")
	// All or nothing: the known model is not linked when another is unknown.
	err := s.LogOutputs(ctx, run.Info.RunID, []core.ModelOutput{{ModelID: mod.ID}, {ModelID: "m-00000000000000000000000000000000"}})
	wantCode(t, err, core.ENOTFOUND, "unknown model")
	if got := getRun(t, s, run.Info.RunID).Outputs; len(got) != 0 {
		t.Fatalf("refused LogOutputs linked %v", got)
	}
	must(t, s.DeleteRun(ctx, run.Info.RunID), "DeleteRun")
	wantCode(t, s.LogOutputs(ctx, run.Info.RunID, out), core.ECONFLICT, "deleted run")
	if got := getRun(t, s, run.Info.RunID).Outputs; len(got) != 0 {
		t.Fatalf("LogOutputs on a deleted run linked %v", got)
	}
}
