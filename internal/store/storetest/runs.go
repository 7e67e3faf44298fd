package storetest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// runNameTag is the tag MLflow keeps equal to the run name.
const runNameTag = "mlflow.runName"

var runTests = []testCase{
	{"Create", testCreateRun},
	{"CreateNameFromTag", testCreateRunNameFromTag},
	{"CreateGeneratesName", testCreateRunGeneratedName},
	{"CreateNameConflictsWithTag", testCreateRunNameConflict},
	{"CreateInBadExperiment", testCreateRunBadExperiment},
	{"GetUnknown", testGetRunUnknown},
	{"Update", testUpdateRun},
	{"DeleteRestore", testDeleteRestoreRun},
	{"Tags", testRunTags},
	{"RunNameTagRenames", testRunNameTagRenames},
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func testCreateRun(t *testing.T, s store.Store) {
	e, err := s.CreateExperiment(t.Context(), core.Experiment{Name: "e", ArtifactLocation: "s3://b/p"})
	must(t, err, "CreateExperiment")
	r, err := s.CreateRun(t.Context(), core.RunInfo{
		ExperimentID: e.ID, UserID: "bob", RunName: "first", StartTime: 1_700_000_000_123,
	}, []core.Tag{{Key: "mlflow.source.type", Value: "LOCAL"}, {Key: "k", Value: "v"}})
	must(t, err, "CreateRun")
	i := r.Info
	if !hex32.MatchString(i.RunID) {
		t.Fatalf("run id %q is not 32 lower-case hex characters", i.RunID)
	}
	if want := "s3://b/p/" + i.RunID + "/artifacts"; i.ArtifactURI != want {
		t.Fatalf("artifact uri %q, want %q", i.ArtifactURI, want)
	}
	if i.Status != core.RunRunning || i.LifecycleStage != core.LifecycleActive || i.EndTime != nil {
		t.Fatalf("new run info %+v", i)
	}
	if i.ExperimentID != e.ID || i.UserID != "bob" || i.RunName != "first" || i.StartTime != 1_700_000_000_123 {
		t.Fatalf("new run info %+v", i)
	}
	got := getRun(t, s, i.RunID)
	if !sameInfo(got.Info, i) {
		t.Fatalf("GetRun info %+v, CreateRun info %+v", got.Info, i)
	}
	tm := tagMap(got.Tags)
	if len(tm) != 3 || tm["k"] != "v" || tm["mlflow.source.type"] != "LOCAL" || tm[runNameTag] != "first" {
		t.Fatalf("tags = %v (the run name must be mirrored in %s)", got.Tags, runNameTag)
	}
	if len(got.Metrics) != 0 || len(got.Params) != 0 || len(got.Inputs) != 0 {
		t.Fatalf("new run has data: %+v", got)
	}
	// The default experiment's runs go under mlflow-artifacts:/0.
	d := createRun(t, s, "0", runOpts{name: "in-default"})
	if want := "mlflow-artifacts:/0/" + d.Info.RunID + "/artifacts"; d.Info.ArtifactURI != want {
		t.Fatalf("artifact uri %q, want %q", d.Info.ArtifactURI, want)
	}
	if d.Info.RunID == i.RunID {
		t.Fatal("two runs got the same id")
	}
	// A trailing slash on the location does not double up (MLflow's append_to_uri_path).
	slash, err := s.CreateExperiment(t.Context(), core.Experiment{Name: "slash", ArtifactLocation: "file:///tmp/arts/"})
	must(t, err, "CreateExperiment slash")
	sr := createRun(t, s, slash.ID, runOpts{})
	if want := "file:///tmp/arts/" + sr.Info.RunID + "/artifacts"; sr.Info.ArtifactURI != want {
		t.Fatalf("artifact uri %q, want %q", sr.Info.ArtifactURI, want)
	}
}

func sameInfo(a, b core.RunInfo) bool {
	endEq := (a.EndTime == nil) == (b.EndTime == nil) && (a.EndTime == nil || *a.EndTime == *b.EndTime)
	a.EndTime, b.EndTime = nil, nil
	return endEq && a == b
}

func testCreateRunNameFromTag(t *testing.T, s store.Store) {
	r := createRun(t, s, "0", runOpts{tags: []core.Tag{{Key: runNameTag, Value: "from-tag"}}})
	if r.Info.RunName != "from-tag" {
		t.Fatalf("run name %q, want the %s tag", r.Info.RunName, runNameTag)
	}
	got := getRun(t, s, r.Info.RunID)
	if got.Info.RunName != "from-tag" || tagMap(got.Tags)[runNameTag] != "from-tag" {
		t.Fatalf("stored run %+v tags %v", got.Info, got.Tags)
	}
	// Same name in both places is fine.
	createRun(t, s, "0", runOpts{name: "same", tags: []core.Tag{{Key: runNameTag, Value: "same"}}})
}

func testCreateRunGeneratedName(t *testing.T, s store.Store) {
	// MLflow's store invents a name when neither the argument nor the tag gives one.
	r := createRun(t, s, "0", runOpts{})
	got := getRun(t, s, r.Info.RunID)
	if got.Info.RunName == "" || tagMap(got.Tags)[runNameTag] != got.Info.RunName {
		t.Fatalf("run name %q, tag %q: want a generated name mirrored in the tag",
			got.Info.RunName, tagMap(got.Tags)[runNameTag])
	}
}

func testCreateRunNameConflict(t *testing.T, s store.Store) {
	_, err := s.CreateRun(t.Context(), core.RunInfo{ExperimentID: "0", UserID: "u", RunName: "a", StartTime: 1},
		[]core.Tag{{Key: runNameTag, Value: "b"}})
	wantCode(t, err, core.EINVALID, "run name and mlflow.runName tag differ")
	if ids := searchIDs(t, s, []string{"0"}, where()); len(ids) != 0 {
		t.Fatalf("refused create left runs %v", ids)
	}
}

func testCreateRunBadExperiment(t *testing.T, s store.Store) {
	_, err := s.CreateRun(t.Context(), core.RunInfo{ExperimentID: "999999", UserID: "u", StartTime: 1}, nil)
	wantCode(t, err, core.ENOTFOUND, "create run in unknown experiment")
	e := createExp(t, s, "deleted")
	must(t, s.DeleteExperiment(t.Context(), e.ID), "DeleteExperiment")
	_, err = s.CreateRun(t.Context(), core.RunInfo{ExperimentID: e.ID, UserID: "u", StartTime: 1}, nil)
	wantCode(t, err, core.ECONFLICT, "create run in deleted experiment")
}

func testGetRunUnknown(t *testing.T, s store.Store) {
	_, err := s.GetRun(t.Context(), "0123456789abcdef0123456789abcdef")
	wantCode(t, err, core.ENOTFOUND, "GetRun unknown")
	_, err = s.GetRun(t.Context(), "")
	if c := core.ErrorCode(err); c != core.ENOTFOUND && c != core.EINVALID {
		t.Fatalf("GetRun empty id: code %q (%v)", c, err)
	}
}

func testUpdateRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{name: "before"})
	id := r.Info.RunID

	info, err := s.UpdateRun(ctx, id, core.RunUpdate{Status: ptr(core.RunFinished), EndTime: ptr(int64(1_700_000_100_000))})
	must(t, err, "UpdateRun status")
	if info.Status != core.RunFinished || info.EndTime == nil || *info.EndTime != 1_700_000_100_000 || info.RunName != "before" {
		t.Fatalf("UpdateRun returned %+v", info)
	}
	info, err = s.UpdateRun(ctx, id, core.RunUpdate{RunName: ptr("after")})
	must(t, err, "UpdateRun name")
	if info.RunName != "after" || info.Status != core.RunFinished || info.EndTime == nil {
		t.Fatalf("a name-only update changed other fields: %+v", info)
	}
	got := getRun(t, s, id)
	if got.Info.RunName != "after" || got.Info.Status != core.RunFinished || *got.Info.EndTime != 1_700_000_100_000 {
		t.Fatalf("stored info %+v", got.Info)
	}
	if v := tagMap(got.Tags)[runNameTag]; v != "after" {
		t.Fatalf("%s tag = %q after rename, want %q", runNameTag, v, "after")
	}
	// An empty name leaves the name alone (MLflow ignores a falsy run_name).
	info, err = s.UpdateRun(ctx, id, core.RunUpdate{RunName: ptr(""), Status: ptr(core.RunFailed)})
	must(t, err, "UpdateRun empty name")
	if info.RunName != "after" || info.Status != core.RunFailed {
		t.Fatalf("after empty-name update: %+v", info)
	}
	if _, err := s.UpdateRun(ctx, "ffffffffffffffffffffffffffffffff", core.RunUpdate{Status: ptr(core.RunKilled)}); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("UpdateRun unknown: %v", err)
	}
	must(t, s.DeleteRun(ctx, id), "DeleteRun")
	_, err = s.UpdateRun(ctx, id, core.RunUpdate{Status: ptr(core.RunKilled)})
	wantCode(t, err, core.ECONFLICT, "UpdateRun of a deleted run")
	must(t, s.RestoreRun(ctx, id), "RestoreRun")
	if st := getRun(t, s, id).Info.Status; st != core.RunFailed {
		t.Fatalf("refused update changed status to %q", st)
	}
}

func testDeleteRestoreRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{name: "doomed"})
	id := r.Info.RunID
	must(t, s.DeleteRun(ctx, id), "DeleteRun")
	if st := getRun(t, s, id).Info.LifecycleStage; st != core.LifecycleDeleted {
		t.Fatalf("stage after delete %q", st)
	}
	wantCode(t, s.LogBatch(ctx, id, []core.Metric{m("a", 1, 0, 1)}, nil, nil), core.ECONFLICT, "metrics to a deleted run")
	wantCode(t, s.LogBatch(ctx, id, nil, []core.Param{{Key: "p", Value: "v"}}, nil), core.ECONFLICT, "params to a deleted run")
	wantCode(t, s.LogBatch(ctx, id, nil, nil, []core.Tag{{Key: "t", Value: "v"}}), core.ECONFLICT, "tags to a deleted run")
	wantCode(t, s.LogInputs(ctx, id, []core.DatasetInput{{Dataset: core.Dataset{Name: "d", Digest: "1", SourceType: "local", Source: "{}"}}}),
		core.ECONFLICT, "inputs to a deleted run")
	wantCode(t, s.DeleteRunTag(ctx, id, runNameTag), core.ECONFLICT, "delete tag of a deleted run")
	wantCode(t, s.DeleteRun(ctx, "00000000000000000000000000000000"), core.ENOTFOUND, "delete unknown run")
	wantCode(t, s.RestoreRun(ctx, "00000000000000000000000000000000"), core.ENOTFOUND, "restore unknown run")
	must(t, s.RestoreRun(ctx, id), "RestoreRun")
	got := getRun(t, s, id)
	if got.Info.LifecycleStage != core.LifecycleActive || len(got.Metrics)+len(got.Params) != 0 || len(tagMap(got.Tags)) != 1 {
		t.Fatalf("restored run %+v", got)
	}
	logMetrics(t, s, id, m("a", 1, 0, 1))
}

func testRunTags(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := createRun(t, s, "0", runOpts{name: "tags"})
	id := r.Info.RunID
	setTags(t, s, id, core.Tag{Key: "a", Value: "1"}, core.Tag{Key: "b", Value: "2"})
	setTags(t, s, id, core.Tag{Key: "a", Value: "one"})
	long := []byte(strings.Repeat("x", 8000))
	setTags(t, s, id, core.Tag{Key: "long", Value: string(long)}, core.Tag{Key: "unicode", Value: "héllo ✓"})
	tm := tagMap(getRun(t, s, id).Tags)
	if tm["a"] != "one" || tm["b"] != "2" || tm["long"] != string(long) || tm["unicode"] != "héllo ✓" || len(tm) != 5 {
		t.Fatalf("tags %v", tm)
	}
	must(t, s.DeleteRunTag(ctx, id, "a"), "DeleteRunTag")
	tm = tagMap(getRun(t, s, id).Tags)
	if _, ok := tm["a"]; ok || len(tm) != 4 {
		t.Fatalf("tags after delete %v", tm)
	}
	wantCode(t, s.DeleteRunTag(ctx, id, "a"), core.ENOTFOUND, "delete a missing tag")
	wantCode(t, s.DeleteRunTag(ctx, "abababababababababababababababab", "b"), core.ENOTFOUND, "delete tag of unknown run")
	wantCode(t, s.LogBatch(ctx, "abababababababababababababababab", nil, nil, []core.Tag{{Key: "x", Value: "y"}}),
		core.ENOTFOUND, "tag unknown run")
	// Writes to a FINISHED run are allowed: only the lifecycle stage matters.
	_, err := s.UpdateRun(ctx, id, core.RunUpdate{Status: ptr(core.RunFinished)})
	must(t, err, "UpdateRun")
	setTags(t, s, id, core.Tag{Key: "after-finish", Value: "ok"})
	logParams(t, s, id, core.Param{Key: "after-finish", Value: "ok"})
	logMetrics(t, s, id, m("after-finish", 1, 0, 1))
}

func testRunNameTagRenames(t *testing.T, s store.Store) {
	// Setting mlflow.runName renames the run, as MLflow's set_tag does.
	r := createRun(t, s, "0", runOpts{name: "orig"})
	setTags(t, s, r.Info.RunID, core.Tag{Key: runNameTag, Value: "renamed"})
	got := getRun(t, s, r.Info.RunID)
	if got.Info.RunName != "renamed" || tagMap(got.Tags)[runNameTag] != "renamed" {
		t.Fatalf("after setting %s: name %q tags %v", runNameTag, got.Info.RunName, got.Tags)
	}
	n := 0
	for _, tg := range got.Tags {
		if tg.Key == runNameTag {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d %s tags", n, runNameTag)
	}
}
