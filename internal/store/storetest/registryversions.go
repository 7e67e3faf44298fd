package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Stages, latest versions, version deletes, version tags and aliases.

func regStages(mvs []core.ModelVersion) []string {
	out := make([]string, len(mvs))
	for i, mv := range mvs {
		out[i] = fmt.Sprintf("%d:%s", mv.Version, mv.CurrentStage)
	}
	return out
}

func testRegStages(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	for i := 0; i < 4; i++ {
		regVersion(t, s, "m", "s3://m")
	}
	m0 := regGet(t, s, "m")
	regTick()
	mv, err := s.TransitionModelVersionStage(t.Context(), "m", 1, "production", false)
	must(t, err, "to production")
	if mv.CurrentStage != core.StageProduction || mv.LastUpdateTime <= m0.LastUpdateTime {
		t.Fatalf("transitioned %+v", mv)
	}
	if m := regGet(t, s, "m"); m.LastUpdateTime != mv.LastUpdateTime {
		t.Fatalf("model last_update_time %d, want %d", m.LastUpdateTime, mv.LastUpdateTime)
	}
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 2, "Production", false)
	must(t, err, "second to production")
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 3, "STAGING", false)
	must(t, err, "to staging")
	if got, want := regStages(regSnapshot(t, s, "m").Versions), []string{"1:Production", "2:Production", "3:Staging", "4:None"}; !slices.Equal(got, want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
	// archive_existing moves the others in the target stage only.
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 4, "Production", true)
	must(t, err, "to production, archiving")
	if got, want := regStages(regSnapshot(t, s, "m").Versions), []string{"1:Archived", "2:Archived", "3:Staging", "4:Production"}; !slices.Equal(got, want) {
		t.Fatalf("stages after archiving %v, want %v", got, want)
	}

	before := regSnapshot(t, s, "m")
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 3, "Deployed", false)
	wantMessage(t, err, core.EINVALID, "Invalid Model Version stage: Deployed. Value must be one of None, Staging, Production, Archived.", "unknown stage")
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 3, "Archived", true)
	wantMessage(t, err, core.EINVALID, "is not an Active stage", "archive_existing to Archived")
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 3, "None", true)
	wantCode(t, err, core.EINVALID, "archive_existing to None")
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 9, "Staging", true)
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=m, version=9) not found", "unknown version")
	regUnchanged(t, s, "failed transitions", before)
}

func testRegLatestVersions(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	if got, err := s.GetLatestVersions(t.Context(), "m", nil); err != nil || len(got) != 0 {
		t.Fatalf("latest of a model without versions: %v, %v", got, err)
	}
	for i := 0; i < 5; i++ {
		regVersion(t, s, "m", "s3://m", core.Tag{Key: "i", Value: fmt.Sprint(i + 1)})
	}
	for v, st := range map[int64]string{1: "Production", 2: "Staging", 3: "Production", 4: "Archived"} {
		_, err := s.TransitionModelVersionStage(t.Context(), "m", v, st, false)
		must(t, err, "transition")
	}
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 3), "alias")
	latest, err := s.GetLatestVersions(t.Context(), "m", nil)
	must(t, err, "GetLatestVersions")
	if got, want := regStages(latest), []string{"2:Staging", "3:Production", "4:Archived", "5:None"}; !slices.Equal(got, want) {
		t.Fatalf("latest %v, want %v", got, want)
	}
	if latest[1].Tags[0].Value != "3" || !slices.Equal(latest[1].Aliases, []string{"champion"}) {
		t.Fatalf("latest versions carry tags and aliases: %+v", latest[1])
	}
	if got := regStages(regGet(t, s, "m").LatestVersions); !slices.Equal(got, regStages(latest)) {
		t.Fatalf("model's latest versions %v, want %v", got, regStages(latest))
	}
	some, err := s.GetLatestVersions(t.Context(), "m", []string{"production", "NONE"})
	must(t, err, "GetLatestVersions with stages")
	if got, want := regStages(some), []string{"3:Production", "5:None"}; !slices.Equal(got, want) {
		t.Fatalf("latest in production and none %v, want %v", got, want)
	}
	_, err = s.GetLatestVersions(t.Context(), "m", []string{"Production", "Live"})
	wantMessage(t, err, core.EINVALID, "Invalid Model Version stage: Live", "unknown stage")
	_, err = s.GetLatestVersions(t.Context(), "nope", nil)
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name=nope not found", "unknown model")
}

func testRegDeleteVersion(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1", core.Tag{Key: "k", Value: "1"})
	regVersion(t, s, "m", "s3://2", core.Tag{Key: "k", Value: "2"})
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 2), "alias champion")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "stable", 1), "alias stable")
	m0 := regGet(t, s, "m")
	regTick()
	must(t, s.DeleteModelVersion(t.Context(), "m", 2), "DeleteModelVersion")
	_, err := s.GetModelVersion(t.Context(), "m", 2)
	wantCode(t, err, core.ENOTFOUND, "deleted version")
	m := regGet(t, s, "m")
	if !slices.Equal(m.Aliases, []core.ModelAlias{{Alias: "stable", Version: 1}}) || m.LastUpdateTime <= m0.LastUpdateTime {
		t.Fatalf("model after deleting version 2: %+v", m)
	}
	_, err = s.GetModelVersionByAlias(t.Context(), "m", "champion")
	wantCode(t, err, core.ENOTFOUND, "alias of the deleted version")
	if v1 := regGetVersion(t, s, "m", 1); v1.Tags[0].Value != "1" || !slices.Equal(v1.Aliases, []string{"stable"}) {
		t.Fatalf("the other version changed: %+v", v1)
	}
	// Its tags are gone: a later version does not find them.
	if v3 := regVersion(t, s, "m", "s3://3"); len(v3.Tags) != 0 || v3.Version != 3 {
		t.Fatalf("next version %+v", v3)
	}
	before := regSnapshot(t, s, "m")
	wantMessage(t, s.DeleteModelVersion(t.Context(), "m", 2), core.ENOTFOUND, "Model Version (name=m, version=2) not found", "delete twice")
	wantCode(t, s.DeleteModelVersion(t.Context(), "nope", 1), core.ENOTFOUND, "delete version of unknown model")
	regUnchanged(t, s, "failed deletes", before)
}

func testRegVersionTags(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1", core.Tag{Key: "a", Value: "1"})
	regVersion(t, s, "m", "s3://2", core.Tag{Key: "a", Value: "other"})
	regSearchTagsMatch(t, s, "m", "created with tags")
	must(t, s.SetModelVersionTag(t.Context(), "m", 1, core.Tag{Key: "b", Value: "2"}), "set b")
	regSearchTagsMatch(t, s, "m", "set b")
	must(t, s.SetModelVersionTag(t.Context(), "m", 1, core.Tag{Key: "a", Value: "changed"}), "overwrite a")
	regSearchTagsMatch(t, s, "m", "overwrite a")
	if got, want := regGetVersion(t, s, "m", 1).Tags, []core.Tag{{Key: "a", Value: "changed"}, {Key: "b", Value: "2"}}; !slices.Equal(got, want) {
		t.Fatalf("tags %v, want %v", got, want)
	}
	must(t, s.DeleteModelVersionTag(t.Context(), "m", 1, "a"), "delete a")
	must(t, s.DeleteModelVersionTag(t.Context(), "m", 1, "missing"), "delete a missing tag")
	regSearchTagsMatch(t, s, "m", "delete a")
	if got, want := regGetVersion(t, s, "m", 1).Tags, []core.Tag{{Key: "b", Value: "2"}}; !slices.Equal(got, want) {
		t.Fatalf("tags after delete %v, want %v", got, want)
	}
	if got, want := regGetVersion(t, s, "m", 2).Tags, []core.Tag{{Key: "a", Value: "other"}}; !slices.Equal(got, want) {
		t.Fatalf("version 2's tags %v, want %v", got, want)
	}
	before := regSnapshot(t, s, "m")
	wantMessage(t, s.SetModelVersionTag(t.Context(), "m", 3, core.Tag{Key: "a", Value: "1"}), core.ENOTFOUND,
		"Model Version (name=m, version=3) not found", "set tag on unknown version")
	wantCode(t, s.SetModelVersionTag(t.Context(), "nope", 1, core.Tag{Key: "a", Value: "1"}), core.ENOTFOUND, "set tag, unknown model")
	wantCode(t, s.DeleteModelVersionTag(t.Context(), "m", 3, "b"), core.ENOTFOUND, "delete tag on unknown version")
	regUnchanged(t, s, "failed tag writes", before)
}

// regSearchTagsMatch checks that a search returns each version of model name with the
// tags that GetModelVersion reads (the search takes them from another place).
func regSearchTagsMatch(t *testing.T, s store.Store, name, step string) {
	t.Helper()
	for _, mv := range regSnapshot(t, s, name).Versions {
		if want := regGetVersion(t, s, name, mv.Version).Tags; !slices.Equal(mv.Tags, want) {
			t.Fatalf("after %s: search gives version %d tags %v, get gives %v", step, mv.Version, mv.Tags, want)
		}
	}
}

func testRegAliases(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	for i := 0; i < 3; i++ {
		regVersion(t, s, "m", fmt.Sprintf("s3://%d", i+1))
	}
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "champion")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "beta", 2), "beta")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "alpha", 2), "alpha")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 3), "move champion")
	want := []core.ModelAlias{{Alias: "alpha", Version: 2}, {Alias: "beta", Version: 2}, {Alias: "champion", Version: 3}}
	if got := regGet(t, s, "m").Aliases; !slices.Equal(got, want) {
		t.Fatalf("aliases %v, want %v", got, want)
	}
	if got := regGetVersion(t, s, "m", 2).Aliases; !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Fatalf("version 2 aliases %v", got)
	}
	if got := regGetVersion(t, s, "m", 1).Aliases; len(got) != 0 {
		t.Fatalf("version 1 kept an alias that moved: %v", got)
	}
	mv, err := s.GetModelVersionByAlias(t.Context(), "m", "champion")
	must(t, err, "GetModelVersionByAlias")
	if mv.Version != 3 || mv.Source != "s3://3" || !slices.Equal(mv.Aliases, []string{"champion"}) {
		t.Fatalf("champion is %+v", mv)
	}
	// "latest" is the highest version, whatever its stage.
	_, err = s.TransitionModelVersionStage(t.Context(), "m", 2, "Production", false)
	must(t, err, "transition")
	for _, latest := range []string{"latest", "LATEST"} {
		mv, err = s.GetModelVersionByAlias(t.Context(), "m", latest)
		must(t, err, latest)
		if mv.Version != 3 {
			t.Fatalf("%s is version %d, want 3", latest, mv.Version)
		}
	}
	must(t, s.DeleteRegisteredModelAlias(t.Context(), "m", "beta"), "delete beta")
	must(t, s.DeleteRegisteredModelAlias(t.Context(), "m", "never"), "delete a missing alias (MLflow ignores it)")
	want = []core.ModelAlias{{Alias: "alpha", Version: 2}, {Alias: "champion", Version: 3}}
	if got := regGet(t, s, "m").Aliases; !slices.Equal(got, want) {
		t.Fatalf("aliases after delete %v, want %v", got, want)
	}
	_, err = s.GetModelVersionByAlias(t.Context(), "m", "beta")
	wantMessage(t, err, core.ENOTFOUND, "Registered model alias beta not found.", "deleted alias")
}

func testRegAliasErrors(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "champion")
	before := regSnapshot(t, s, "m")
	wantMessage(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 7), core.ENOTFOUND,
		"Model Version (name=m, version=7) not found", "alias to unknown version")
	wantCode(t, s.SetRegisteredModelAlias(t.Context(), "nope", "champion", 1), core.ENOTFOUND, "alias on unknown model")
	for _, bad := range []string{"", "latest", "Latest", "v1", "V12", "has space", "a/b"} {
		wantCode(t, s.SetRegisteredModelAlias(t.Context(), "m", bad, 1), core.EINVALID, fmt.Sprintf("alias %q", bad))
	}
	wantCode(t, s.DeleteRegisteredModelAlias(t.Context(), "nope", "champion"), core.ENOTFOUND, "delete alias of unknown model")
	regUnchanged(t, s, "failed alias writes", before)
	_, err := s.GetModelVersionByAlias(t.Context(), "nope", "champion")
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name=nope not found", "alias of unknown model")
	_, err = s.GetModelVersionByAlias(t.Context(), "m", "other")
	wantMessage(t, err, core.ENOTFOUND, "Registered model alias other not found.", "unknown alias")
	regCreate(t, s, "empty")
	_, err = s.GetModelVersionByAlias(t.Context(), "empty", "latest")
	wantMessage(t, err, core.ENOTFOUND, "Latest version not found for model empty.", "latest of an empty model")
	// "v1x" is not a version alias.
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "v1x", 1), "alias v1x")
}
