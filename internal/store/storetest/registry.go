package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// The model registry, after MLflow's SqlAlchemyStore for the registry.
var registryTests = []testCase{
	{"CreateGet", testRegCreateGet},
	{"CreateErrors", testRegCreateErrors},
	{"UpdateDescription", testRegUpdate},
	{"Tags", testRegTags},
	{"Rename", testRegRename},
	{"RenameErrors", testRegRenameErrors},
	{"Delete", testRegDelete},
	{"VersionSources", testRegVersionSources},
	{"VersionFromLoggedModel", testRegVersionFromLoggedModel},
	{"VersionSourceErrors", testRegVersionSourceErrors},
	{"VersionNumbers", testRegVersionNumbers},
	{"ConcurrentVersions", testRegConcurrentVersions},
	{"UpdateVersion", testRegUpdateVersion},
	{"Stages", testRegStages},
	{"LatestVersions", testRegLatestVersions},
	{"DeleteVersion", testRegDeleteVersion},
	{"VersionTags", testRegVersionTags},
	{"Aliases", testRegAliases},
	{"AliasErrors", testRegAliasErrors},
}

// ---- registry fixtures ----

func regCreate(t *testing.T, s store.Store, name string, tags ...core.Tag) core.RegisteredModel {
	t.Helper()
	m, err := s.CreateRegisteredModel(t.Context(), core.RegisteredModel{Name: name, Tags: tags})
	must(t, err, "CreateRegisteredModel "+name)
	return m
}

func regVersion(t *testing.T, s store.Store, name, source string, tags ...core.Tag) core.ModelVersion {
	t.Helper()
	mv, err := s.CreateModelVersion(t.Context(), core.ModelVersion{Name: name, Source: source, Tags: tags})
	must(t, err, "CreateModelVersion "+name)
	return mv
}

func regGet(t *testing.T, s store.Store, name string) core.RegisteredModel {
	t.Helper()
	m, err := s.GetRegisteredModel(t.Context(), name)
	must(t, err, "GetRegisteredModel "+name)
	return m
}

func regGetVersion(t *testing.T, s store.Store, name string, v int64) core.ModelVersion {
	t.Helper()
	mv, err := s.GetModelVersion(t.Context(), name, v)
	must(t, err, fmt.Sprintf("GetModelVersion %s/%d", name, v))
	return mv
}

// regTick lets the millisecond clock move, so that timestamps order operations.
func regTick() { time.Sleep(3 * time.Millisecond) }

// regState is everything the store holds about one registered model, for
// "nothing changed" checks.
type regState struct {
	Model     core.RegisteredModel
	Versions  []core.ModelVersion
	Approvals map[int64][]core.ApprovalEvent
}

func regSnapshot(t *testing.T, s store.Store, name string) regState {
	t.Helper()
	st := regState{Model: regGet(t, s, name), Approvals: map[int64][]core.ApprovalEvent{}}
	mvs, _, err := s.SearchModelVersions(t.Context(), store.RegistrySearch{
		Filter:     where(cmp(search.Attribute, search.RegAttrName, search.OpEq, str(name))),
		OrderBy:    []search.OrderBy{asc(search.Attribute, search.RegAttrVersion)},
		MaxResults: 1000,
	})
	must(t, err, "SearchModelVersions "+name)
	st.Versions = mvs
	for _, mv := range mvs {
		evs, err := s.ListApprovals(t.Context(), name, mv.Version)
		must(t, err, "ListApprovals")
		st.Approvals[mv.Version] = evs
	}
	return st
}

func regUnchanged(t *testing.T, s store.Store, what string, before regState) {
	t.Helper()
	if after := regSnapshot(t, s, before.Model.Name); !reflect.DeepEqual(before, after) {
		t.Fatalf("%s changed the registry:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

func wantMessage(t *testing.T, err error, code, msg, what string) {
	t.Helper()
	wantCode(t, err, code, what)
	if got := core.ErrorMessage(err); !strings.Contains(got, msg) {
		t.Fatalf("%s: message %q, want it to contain %q", what, got, msg)
	}
}

func regNotFound(t *testing.T, s store.Store, name string) {
	t.Helper()
	_, err := s.GetRegisteredModel(t.Context(), name)
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name="+name+" not found", "GetRegisteredModel "+name)
}

func versionNumbers(mvs []core.ModelVersion) []int64 {
	out := make([]int64, len(mvs))
	for i, mv := range mvs {
		out[i] = mv.Version
	}
	return out
}

// ---- registered models ----

func testRegCreateGet(t *testing.T, s store.Store) {
	before := time.Now().UnixMilli()
	m, err := s.CreateRegisteredModel(t.Context(), core.RegisteredModel{
		Name: "fraud", Description: "catches fraud", UserID: "alice",
		Tags: []core.Tag{{Key: "team", Value: "risk"}, {Key: "a", Value: "1"}, {Key: "team", Value: "ml"}},
	})
	must(t, err, "CreateRegisteredModel")
	if m.Name != "fraud" || m.Description != "catches fraud" || m.UserID != "alice" || m.CreationTime < before ||
		m.LastUpdateTime != m.CreationTime || m.RequiresApproval || len(m.ProtectedAliases) != 0 ||
		len(m.Aliases) != 0 || len(m.LatestVersions) != 0 {
		t.Fatalf("created model %+v", m)
	}
	// A repeated tag key keeps its last value; tags come sorted by key.
	if want := []core.Tag{{Key: "a", Value: "1"}, {Key: "team", Value: "ml"}}; !slices.Equal(m.Tags, want) {
		t.Fatalf("tags %v, want %v", m.Tags, want)
	}
	if got := regGet(t, s, "fraud"); !reflect.DeepEqual(got, m) {
		t.Fatalf("get %+v, want %+v", got, m)
	}
	regNotFound(t, s, "nope")
}

func testRegCreateErrors(t *testing.T, s store.Store) {
	regCreate(t, s, "m", core.Tag{Key: "k", Value: "v"})
	before := regSnapshot(t, s, "m")
	_, err := s.CreateRegisteredModel(t.Context(), core.RegisteredModel{Name: "m", Description: "other"})
	wantMessage(t, err, core.EEXISTS, "Registered Model (name=m) already exists.", "duplicate create")
	regUnchanged(t, s, "duplicate create", before)
	// A prompt may not take a model's name.
	_, err = s.CreateRegisteredModel(t.Context(), core.RegisteredModel{Name: "m", Tags: []core.Tag{{Key: "mlflow.prompt.is_prompt", Value: "true"}}})
	wantMessage(t, err, core.EEXISTS, "but the name is already taken by a registered model", "prompt over model")
	regUnchanged(t, s, "prompt over model", before)
	for _, bad := range []string{"", "  ", "a/b", "a:b"} {
		_, err := s.CreateRegisteredModel(t.Context(), core.RegisteredModel{Name: bad})
		wantCode(t, err, core.EINVALID, fmt.Sprintf("create %q", bad))
	}
	regNotFound(t, s, "a/b")
}

func testRegUpdate(t *testing.T, s store.Store) {
	m := regCreate(t, s, "m")
	regTick()
	u, err := s.UpdateRegisteredModel(t.Context(), "m", "new words")
	must(t, err, "UpdateRegisteredModel")
	if u.Description != "new words" || u.LastUpdateTime <= m.LastUpdateTime || u.CreationTime != m.CreationTime {
		t.Fatalf("updated %+v (was %+v)", u, m)
	}
	if got := regGet(t, s, "m"); got.Description != "new words" {
		t.Fatalf("description after update %q", got.Description)
	}
	_, err = s.UpdateRegisteredModel(t.Context(), "nope", "x")
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name=nope not found", "update unknown")
	regNotFound(t, s, "nope")
}

func testRegTags(t *testing.T, s store.Store) {
	regCreate(t, s, "m", core.Tag{Key: "a", Value: "1"})
	must(t, s.SetRegisteredModelTag(t.Context(), "m", core.Tag{Key: "b", Value: "2"}), "set b")
	must(t, s.SetRegisteredModelTag(t.Context(), "m", core.Tag{Key: "a", Value: "changed"}), "overwrite a")
	if got, want := regGet(t, s, "m").Tags, []core.Tag{{Key: "a", Value: "changed"}, {Key: "b", Value: "2"}}; !slices.Equal(got, want) {
		t.Fatalf("tags %v, want %v", got, want)
	}
	must(t, s.DeleteRegisteredModelTag(t.Context(), "m", "a"), "delete a")
	must(t, s.DeleteRegisteredModelTag(t.Context(), "m", "missing"), "delete a missing tag (MLflow ignores it)")
	if got, want := regGet(t, s, "m").Tags, []core.Tag{{Key: "b", Value: "2"}}; !slices.Equal(got, want) {
		t.Fatalf("tags after delete %v, want %v", got, want)
	}
	wantCode(t, s.SetRegisteredModelTag(t.Context(), "nope", core.Tag{Key: "a", Value: "1"}), core.ENOTFOUND, "set tag on unknown model")
	wantCode(t, s.DeleteRegisteredModelTag(t.Context(), "nope", "a"), core.ENOTFOUND, "delete tag on unknown model")
	regNotFound(t, s, "nope")
}

func testRegRename(t *testing.T, s store.Store) {
	regCreate(t, s, "old", core.Tag{Key: "team", Value: "risk"})
	regVersion(t, s, "old", "s3://b/1", core.Tag{Key: "k", Value: "v1"})
	regVersion(t, s, "old", "s3://b/2")
	must(t, s.SetRegisteredModelAlias(t.Context(), "old", "champion", 1), "alias")
	_, err := s.SetApproval(t.Context(), "old", 1, core.ApprovalApproved, "bob", "looks good")
	must(t, err, "approve")
	before := regSnapshot(t, s, "old")
	regTick()
	m, err := s.RenameRegisteredModel(t.Context(), "old", "new")
	must(t, err, "RenameRegisteredModel")
	regNotFound(t, s, "old")
	if m.Name != "new" || m.LastUpdateTime <= before.Model.LastUpdateTime || m.CreationTime != before.Model.CreationTime {
		t.Fatalf("renamed model %+v", m)
	}
	after := regSnapshot(t, s, "new")
	if !slices.Equal(after.Model.Tags, before.Model.Tags) || !slices.Equal(after.Model.Aliases, before.Model.Aliases) ||
		len(after.Model.LatestVersions) != 1 || after.Model.LatestVersions[0].Name != "new" {
		t.Fatalf("model after rename %+v, before %+v", after.Model, before.Model)
	}
	if !slices.Equal(versionNumbers(after.Versions), []int64{1, 2}) {
		t.Fatalf("versions after rename %v", versionNumbers(after.Versions))
	}
	for i, mv := range after.Versions {
		old := before.Versions[i]
		if mv.Name != "new" || !slices.Equal(mv.Tags, old.Tags) || !slices.Equal(mv.Aliases, old.Aliases) ||
			mv.Approval != old.Approval || mv.Source != old.Source || mv.LastUpdateTime <= old.LastUpdateTime {
			t.Fatalf("version after rename %+v, before %+v", mv, old)
		}
	}
	if evs := after.Approvals[1]; len(evs) != 1 || evs[0].Name != "new" || evs[0].Actor != "bob" || evs[0].To != core.ApprovalApproved {
		t.Fatalf("approval history after rename %+v", evs)
	}
	mv, err := s.GetModelVersionByAlias(t.Context(), "new", "champion")
	must(t, err, "alias after rename")
	if mv.Version != 1 || mv.Name != "new" {
		t.Fatalf("alias after rename points at %+v", mv)
	}
	_, err = s.GetModelVersion(t.Context(), "old", 1)
	wantCode(t, err, core.ENOTFOUND, "old name's version")
	// The old name is free again, and a new model of that name starts empty.
	regCreate(t, s, "old")
	if v := regVersion(t, s, "old", "s3://x"); v.Version != 1 || len(v.Tags) != 0 {
		t.Fatalf("first version of a new model under the old name: %+v", v)
	}
	if evs, _ := s.ListApprovals(t.Context(), "old", 1); len(evs) != 0 {
		t.Fatalf("new model inherited approvals %+v", evs)
	}
}

func testRegRenameErrors(t *testing.T, s store.Store) {
	regCreate(t, s, "a", core.Tag{Key: "k", Value: "a"})
	regVersion(t, s, "a", "s3://a")
	regCreate(t, s, "b")
	regVersion(t, s, "b", "s3://b")
	beforeA, beforeB := regSnapshot(t, s, "a"), regSnapshot(t, s, "b")
	_, err := s.RenameRegisteredModel(t.Context(), "a", "b")
	wantMessage(t, err, core.EEXISTS, "Registered Model (name=b) already exists.", "rename onto another model")
	_, err = s.RenameRegisteredModel(t.Context(), "nope", "c")
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name=nope not found", "rename unknown")
	for _, bad := range []string{"", "x/y"} {
		_, err = s.RenameRegisteredModel(t.Context(), "a", bad)
		wantCode(t, err, core.EINVALID, fmt.Sprintf("rename to %q", bad))
	}
	regUnchanged(t, s, "failed renames (a)", beforeA)
	regUnchanged(t, s, "failed renames (b)", beforeB)
	regNotFound(t, s, "c")
}

func testRegDelete(t *testing.T, s store.Store) {
	regCreate(t, s, "m", core.Tag{Key: "k", Value: "v"})
	regVersion(t, s, "m", "s3://1", core.Tag{Key: "vk", Value: "vv"})
	regVersion(t, s, "m", "s3://2")
	regCreate(t, s, "other", core.Tag{Key: "k", Value: "v"})
	regVersion(t, s, "other", "s3://o", core.Tag{Key: "vk", Value: "vv"})
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 2), "alias")
	must(t, s.SetRegisteredModelAlias(t.Context(), "other", "champion", 1), "alias other")
	_, err := s.SetApproval(t.Context(), "m", 1, core.ApprovalApproved, "bob", "ok")
	must(t, err, "approve")
	before, other := regSnapshot(t, s, "m"), regSnapshot(t, s, "other")

	// An approved version keeps the model.
	err = s.DeleteRegisteredModel(t.Context(), "m")
	wantMessage(t, err, core.ECONFLICT, "has approved versions; reject them first", "delete with an approved version")
	regUnchanged(t, s, "refused delete", before)

	_, err = s.SetApproval(t.Context(), "m", 1, core.ApprovalRejected, "bob", "withdrawn")
	must(t, err, "reject")
	must(t, s.DeleteRegisteredModel(t.Context(), "m"), "DeleteRegisteredModel")
	regNotFound(t, s, "m")
	_, err = s.GetModelVersion(t.Context(), "m", 1)
	wantCode(t, err, core.ENOTFOUND, "version of a deleted model")
	_, err = s.GetModelVersionByAlias(t.Context(), "m", "champion")
	wantCode(t, err, core.ENOTFOUND, "alias of a deleted model")
	regUnchanged(t, s, "deleting another model", other)
	wantMessage(t, s.DeleteRegisteredModel(t.Context(), "m"), core.ENOTFOUND, "Registered Model with name=m not found", "delete twice")

	// Nothing of the old model shows through a new one of the same name.
	m := regCreate(t, s, "m")
	if len(m.Tags) != 0 || len(m.Aliases) != 0 || len(m.LatestVersions) != 0 {
		t.Fatalf("recreated model %+v", m)
	}
	v := regVersion(t, s, "m", "s3://new")
	if v.Version != 1 || len(v.Tags) != 0 || len(v.Aliases) != 0 || v.Approval != core.ApprovalPending {
		t.Fatalf("first version of the recreated model %+v", v)
	}
	if evs, err := s.ListApprovals(t.Context(), "m", 1); err != nil || len(evs) != 0 {
		t.Fatalf("approvals of the recreated model's version: %v, %v", evs, err)
	}
}

// ---- model versions ----

func testRegVersionSources(t *testing.T, s store.Store) {
	exp := createExp(t, s, "e")
	run := createRun(t, s, exp.ID, runOpts{})
	regCreate(t, s, "m")
	before := time.Now().UnixMilli()

	plain, err := s.CreateModelVersion(t.Context(), core.ModelVersion{
		Name: "m", Source: "s3://bucket/model", Description: "d", UserID: "alice", RunLink: "http://x",
		Tags: []core.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}},
	})
	must(t, err, "plain source")
	want := core.ModelVersion{Name: "m", Version: 1, CreationTime: plain.CreationTime, LastUpdateTime: plain.CreationTime,
		UserID: "alice", CurrentStage: core.StageNone, Description: "d", Source: "s3://bucket/model",
		StorageLocation: "s3://bucket/model", RunLink: "http://x", Status: core.ModelVersionReady,
		Tags: []core.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, Approval: core.ApprovalPending}
	if plain.CreationTime < before || !reflect.DeepEqual(plain, want) {
		t.Fatalf("created %+v\nwant    %+v", plain, want)
	}
	if got := regGetVersion(t, s, "m", 1); !reflect.DeepEqual(got, want) {
		t.Fatalf("get %+v\nwant %+v", got, want)
	}
	if m := regGet(t, s, "m"); m.LastUpdateTime != plain.CreationTime {
		t.Fatalf("registering did not touch the model's last_update_time: %d vs %d", m.LastUpdateTime, plain.CreationTime)
	}

	fromRun := regVersion(t, s, "m", "runs:/"+run.Info.RunID+"/model/sub")
	if fromRun.Version != 2 || fromRun.RunID != run.Info.RunID || fromRun.Source != "runs:/"+run.Info.RunID+"/model/sub" ||
		fromRun.StorageLocation != run.Info.ArtifactURI+"/model/sub" {
		t.Fatalf("runs:/ source: %+v (run artifact URI %s)", fromRun, run.Info.ArtifactURI)
	}
	withRun, err := s.CreateModelVersion(t.Context(), core.ModelVersion{Name: "m", Source: run.Info.ArtifactURI + "/model", RunID: run.Info.RunID})
	must(t, err, "explicit run id")
	if withRun.RunID != run.Info.RunID || withRun.StorageLocation != run.Info.ArtifactURI+"/model" {
		t.Fatalf("explicit run id: %+v", withRun)
	}

	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 2), "alias")
	for _, src := range []string{"models:/m/2", "models:/m@champion"} {
		mv := regVersion(t, s, "m", src)
		if mv.Source != src || mv.StorageLocation != fromRun.StorageLocation {
			t.Fatalf("%s: storage location %q, want %q", src, mv.StorageLocation, fromRun.StorageLocation)
		}
	}
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "move alias")
	if mv := regVersion(t, s, "m", "models:/m@champion"); mv.StorageLocation != "s3://bucket/model" {
		t.Fatalf("alias source after the alias moved: %q", mv.StorageLocation)
	}
	if mv := regVersion(t, s, "m", "file:///tmp/model"); mv.StorageLocation != "file:///tmp/model" || mv.RunID != "" {
		t.Fatalf("file source %+v", mv)
	}
}

func testRegVersionFromLoggedModel(t *testing.T, s store.Store) {
	exp := createExp(t, s, "e")
	run := createRun(t, s, exp.ID, runOpts{})
	lm := lmCreate(t, s, core.LoggedModel{ExperimentID: exp.ID, Name: "clf", SourceRunID: run.Info.RunID})
	regCreate(t, s, "m")
	mv := regVersion(t, s, "m", "models:/"+lm.ID)
	if mv.ModelID != lm.ID || mv.StorageLocation != lm.ArtifactURI || mv.RunID != run.Info.RunID || mv.Source != "models:/"+lm.ID {
		t.Fatalf("models:/<id> source: %+v (logged model %+v)", mv, lm)
	}
	if got := regGetVersion(t, s, "m", mv.Version); got.ModelID != lm.ID || got.StorageLocation != lm.ArtifactURI {
		t.Fatalf("stored version %+v", got)
	}
	// An explicit model id with another source takes the model's run.
	mv2, err := s.CreateModelVersion(t.Context(), core.ModelVersion{Name: "m", Source: lm.ArtifactURI, ModelID: lm.ID})
	must(t, err, "explicit model id")
	if mv2.ModelID != lm.ID || mv2.RunID != run.Info.RunID || mv2.StorageLocation != lm.ArtifactURI {
		t.Fatalf("explicit model id: %+v", mv2)
	}
	// Registering a version of a version keeps the logged model.
	if mv3 := regVersion(t, s, "m", "models:/m/1"); mv3.ModelID != lm.ID || mv3.StorageLocation != lm.ArtifactURI {
		t.Fatalf("models:/m/1 source: %+v", mv3)
	}
	// A model logged outside a run gives no run id.
	free := lmCreate(t, s, core.LoggedModel{ExperimentID: exp.ID, Name: "free"})
	if mv := regVersion(t, s, "m", "models:/"+free.ID); mv.RunID != "" || mv.StorageLocation != free.ArtifactURI {
		t.Fatalf("run-less logged model: %+v", mv)
	}
	// A deleted logged model cannot be registered.
	must(t, s.DeleteLoggedModel(t.Context(), free.ID), "DeleteLoggedModel")
	before := regSnapshot(t, s, "m")
	_, err = s.CreateModelVersion(t.Context(), core.ModelVersion{Name: "m", Source: "models:/" + free.ID})
	wantMessage(t, err, core.ENOTFOUND, free.ID, "deleted logged model")
	regUnchanged(t, s, "registering a deleted logged model", before)
}

func testRegVersionSourceErrors(t *testing.T, s store.Store) {
	exp := createExp(t, s, "e")
	run := createRun(t, s, exp.ID, runOpts{})
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1")
	before := regSnapshot(t, s, "m")
	cases := []struct {
		mv   core.ModelVersion
		code string
		msg  string
	}{
		{core.ModelVersion{Name: "nope", Source: "s3://x"}, core.ENOTFOUND, "Registered Model with name=nope not found"},
		{core.ModelVersion{Name: "m", Source: "runs:/" + strings.Repeat("0", 32) + "/model"}, core.ENOTFOUND, "Run with id=" + strings.Repeat("0", 32) + " not found"},
		{core.ModelVersion{Name: "m", Source: "s3://x", RunID: "missing"}, core.ENOTFOUND, "Run with id=missing not found"},
		{core.ModelVersion{Name: "m", Source: "models:/m-" + strings.Repeat("a", 32)}, core.ENOTFOUND, "Logged model with ID 'm-" + strings.Repeat("a", 32) + "' not found"},
		{core.ModelVersion{Name: "m", Source: "s3://x", ModelID: "m-missing"}, core.ENOTFOUND, "Logged model with ID 'm-missing' not found"},
		{core.ModelVersion{Name: "m", Source: "models:/m/7"}, core.ENOTFOUND, "Model Version (name=m, version=7) not found"},
		{core.ModelVersion{Name: "m", Source: "models:/m@nope"}, core.ENOTFOUND, "Registered model alias nope not found."},
		{core.ModelVersion{Name: "m", Source: "models:/other/1"}, core.ENOTFOUND, "Model Version (name=other, version=1) not found"},
		{core.ModelVersion{Name: "m", Source: "models:/a/b/c"}, core.EINVALID, "Not a proper models:/ URI"},
		{core.ModelVersion{Name: "m", Source: "models:/"}, core.EINVALID, "Not a proper models:/ URI"},
		{core.ModelVersion{Name: "m", Source: ""}, core.EINVALID, "source"},
		{core.ModelVersion{Name: "m", Source: "s3://x", RunID: run.Info.RunID, Tags: []core.Tag{{Key: "k", Value: "v"}}, ModelID: "m-missing"}, core.ENOTFOUND, "m-missing"},
	}
	for _, c := range cases {
		_, err := s.CreateModelVersion(t.Context(), c.mv)
		wantMessage(t, err, c.code, c.msg, fmt.Sprintf("create %+v", c.mv))
	}
	regUnchanged(t, s, "failed registrations", before)
	// Failed registrations used no version numbers.
	if v := regVersion(t, s, "m", "s3://2"); v.Version != 2 {
		t.Fatalf("next version after failures is %d, want 2", v.Version)
	}
}

func testRegVersionNumbers(t *testing.T, s store.Store) {
	regCreate(t, s, "a")
	regCreate(t, s, "b")
	for i := int64(1); i <= 3; i++ {
		if v := regVersion(t, s, "a", "s3://a"); v.Version != i {
			t.Fatalf("version %d of a, want %d", v.Version, i)
		}
	}
	if v := regVersion(t, s, "b", "s3://b"); v.Version != 1 {
		t.Fatalf("versions are per model: b got %d", v.Version)
	}
	// As in MLflow, a deleted version's number is not given again.
	must(t, s.DeleteModelVersion(t.Context(), "a", 3), "delete a/3")
	if v := regVersion(t, s, "a", "s3://a"); v.Version != 4 {
		t.Fatalf("version after deleting the latest: %d, want 4", v.Version)
	}
}

func testRegConcurrentVersions(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	const workers, each = 8, 10
	errs := make(chan error, workers*each)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < each; i++ {
				_, err := s.CreateModelVersion(t.Context(), core.ModelVersion{Name: "m", Source: "s3://m"})
				errs <- err
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	close(errs)
	for err := range errs {
		must(t, err, "concurrent CreateModelVersion")
	}
	st := regSnapshot(t, s, "m")
	if len(st.Versions) != workers*each {
		t.Fatalf("%d versions, want %d", len(st.Versions), workers*each)
	}
	for i, mv := range st.Versions {
		if mv.Version != int64(i+1) {
			t.Fatalf("versions %v: want exactly 1..%d", versionNumbers(st.Versions), workers*each)
		}
	}
}

func testRegUpdateVersion(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	v := regVersion(t, s, "m", "s3://1")
	regTick()
	u, err := s.UpdateModelVersion(t.Context(), "m", 1, "better")
	must(t, err, "UpdateModelVersion")
	if u.Description != "better" || u.LastUpdateTime <= v.LastUpdateTime || u.CreationTime != v.CreationTime {
		t.Fatalf("updated %+v (was %+v)", u, v)
	}
	if got := regGetVersion(t, s, "m", 1); got.Description != "better" {
		t.Fatalf("description %q", got.Description)
	}
	before := regSnapshot(t, s, "m")
	_, err = s.UpdateModelVersion(t.Context(), "m", 2, "x")
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=m, version=2) not found", "update unknown version")
	_, err = s.UpdateModelVersion(t.Context(), "nope", 1, "x")
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=nope, version=1) not found", "update version of unknown model")
	_, err = s.GetModelVersion(t.Context(), "m", 9)
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=m, version=9) not found", "get unknown version")
	regUnchanged(t, s, "failed updates", before)
}
