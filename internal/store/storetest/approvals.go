package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Plinth's approvals: the status of each version with its full history, the approval
// policy of a model (protected aliases) and the artifact keys approved versions protect.
var approvalTests = []testCase{
	{"History", testApprovalHistory},
	{"Errors", testApprovalErrors},
	{"ProtectedAliases", testApprovalProtectedAliases},
	{"PolicyErrors", testApprovalPolicyErrors},
	{"DeleteApproved", testApprovalDeleteApproved},
	{"ApprovedVersionAt", testApprovedVersionAt},
	{"ApprovedLoggedModel", testApprovedLoggedModel},
}

func approve(t *testing.T, s store.Store, name string, v int64, to, reason string) core.ModelVersion {
	t.Helper()
	mv, err := s.SetApproval(t.Context(), name, v, to, "carol", reason)
	must(t, err, "SetApproval "+to)
	return mv
}

func testApprovalHistory(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	v1 := regVersion(t, s, "m", "s3://1")
	regVersion(t, s, "m", "s3://2")
	if evs, err := s.ListApprovals(t.Context(), "m", 1); err != nil || evs == nil || len(evs) != 0 {
		t.Fatalf("history of a new version: %#v, %v", evs, err)
	}
	regTick()
	before := time.Now().UnixMilli()
	mv, err := s.SetApproval(t.Context(), "m", 1, core.ApprovalApproved, "bob", "backtest passed")
	must(t, err, "approve")
	if mv.Approval != core.ApprovalApproved || mv.LastUpdateTime <= v1.LastUpdateTime || mv.Version != 1 {
		t.Fatalf("approved version %+v", mv)
	}
	if got := regGetVersion(t, s, "m", 1); got.Approval != core.ApprovalApproved {
		t.Fatalf("stored approval %q", got.Approval)
	}
	approve(t, s, "m", 1, core.ApprovalRejected, "drift found")
	// An empty actor is the context's actor.
	_, err = s.SetApproval(t.Context(), "m", 1, core.ApprovalApproved, "", "fixed")
	must(t, err, "approve again")
	evs, err := s.ListApprovals(t.Context(), "m", 1)
	must(t, err, "ListApprovals")
	want := []core.ApprovalEvent{
		{Name: "m", Version: 1, From: core.ApprovalPending, To: core.ApprovalApproved, Actor: "bob", Reason: "backtest passed"},
		{Name: "m", Version: 1, From: core.ApprovalApproved, To: core.ApprovalRejected, Actor: "carol", Reason: "drift found"},
		{Name: "m", Version: 1, From: core.ApprovalRejected, To: core.ApprovalApproved, Actor: core.ActorFrom(t.Context()), Reason: "fixed"},
	}
	if len(evs) != len(want) {
		t.Fatalf("history %+v", evs)
	}
	for i := range evs {
		if evs[i].Time < before || (i > 0 && evs[i].Time < evs[i-1].Time) {
			t.Fatalf("event %d time %d (before %d)", i, evs[i].Time, before)
		}
		evs[i].Time = 0
	}
	if !slices.Equal(evs, want) {
		t.Fatalf("history %+v\nwant    %+v", evs, want)
	}
	// Version 2 has its own (empty) history, and a rejected pending version works too.
	if evs, _ := s.ListApprovals(t.Context(), "m", 2); len(evs) != 0 {
		t.Fatalf("version 2 history %+v", evs)
	}
	if mv := approve(t, s, "m", 2, core.ApprovalRejected, "bad"); mv.Approval != core.ApprovalRejected {
		t.Fatalf("rejected %+v", mv)
	}
}

func testApprovalErrors(t *testing.T, s store.Store) {
	regCreate(t, s, "x")
	regVersion(t, s, "x", "s3://1")
	regVersion(t, s, "x", "s3://2")
	regVersion(t, s, "x", "s3://3")
	approve(t, s, "x", 3, core.ApprovalApproved, "ok")
	approve(t, s, "x", 2, core.ApprovalRejected, "no")
	before := regSnapshot(t, s, "x")
	_, err := s.SetApproval(t.Context(), "x", 3, core.ApprovalApproved, "bob", "again")
	wantMessage(t, err, core.ECONFLICT, "version 3 of 'x' is already approved", "approve twice")
	_, err = s.SetApproval(t.Context(), "x", 2, core.ApprovalRejected, "bob", "again")
	wantMessage(t, err, core.ECONFLICT, "version 2 of 'x' is already rejected", "reject twice")
	for _, to := range []string{core.ApprovalPending, "APPROVED", "ok", ""} {
		_, err = s.SetApproval(t.Context(), "x", 1, to, "bob", "why")
		wantCode(t, err, core.EINVALID, "status "+to)
	}
	for _, reason := range []string{"", "   "} {
		_, err = s.SetApproval(t.Context(), "x", 1, core.ApprovalApproved, "bob", reason)
		wantCode(t, err, core.EINVALID, "reason "+reason)
	}
	_, err = s.SetApproval(t.Context(), "x", 9, core.ApprovalApproved, "bob", "why")
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=x, version=9) not found", "unknown version")
	_, err = s.SetApproval(t.Context(), "nope", 1, core.ApprovalApproved, "bob", "why")
	wantCode(t, err, core.ENOTFOUND, "unknown model")
	regUnchanged(t, s, "failed approvals", before)
	_, err = s.ListApprovals(t.Context(), "x", 9)
	wantMessage(t, err, core.ENOTFOUND, "Model Version (name=x, version=9) not found", "history of unknown version")
	_, err = s.ListApprovals(t.Context(), "nope", 1)
	wantCode(t, err, core.ENOTFOUND, "history of unknown model")
}

func testApprovalProtectedAliases(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1")
	regVersion(t, s, "m", "s3://2")
	m0 := regGet(t, s, "m")
	regTick()
	m, err := s.SetApprovalPolicy(t.Context(), "m", true, []string{"champion", "prod", "champion"})
	must(t, err, "SetApprovalPolicy")
	if !m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"champion", "prod"}) || m.LastUpdateTime <= m0.LastUpdateTime {
		t.Fatalf("policy %+v", m)
	}
	if got := regGet(t, s, "m"); !got.RequiresApproval || !slices.Equal(got.ProtectedAliases, []string{"champion", "prod"}) {
		t.Fatalf("stored policy %+v", got)
	}

	// A protected alias may not point at a pending or rejected version; others may.
	before := regSnapshot(t, s, "m")
	err = s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1)
	wantMessage(t, err, core.ECONFLICT, "Alias 'champion' of registered model 'm' is protected", "protected alias to pending")
	wantMessage(t, err, core.ECONFLICT, "version 1 is pending", "protected alias to pending")
	regUnchanged(t, s, "refused alias", before)
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "challenger", 1), "unprotected alias")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "Champion", 1), "alias names are case-sensitive")

	approve(t, s, "m", 1, core.ApprovalApproved, "ok")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "protected alias to an approved version")
	approve(t, s, "m", 2, core.ApprovalRejected, "no")
	before = regSnapshot(t, s, "m")
	err = s.SetRegisteredModelAlias(t.Context(), "m", "champion", 2)
	wantMessage(t, err, core.ECONFLICT, "version 2 is rejected", "moving a protected alias to a rejected version")

	// The version a protected alias points at cannot be rejected.
	_, err = s.SetApproval(t.Context(), "m", 1, core.ApprovalRejected, "bob", "oops")
	wantMessage(t, err, core.ECONFLICT, "protected alias 'champion' points at it", "reject the champion")
	regUnchanged(t, s, "refused alias move and rejection", before)

	// Once the alias moves to another approved version, the old one can be rejected.
	approve(t, s, "m", 2, core.ApprovalApproved, "fixed")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 2), "move champion")
	approve(t, s, "m", 1, core.ApprovalRejected, "retired")
	if mv, _ := s.GetModelVersionByAlias(t.Context(), "m", "champion"); mv.Version != 2 {
		t.Fatalf("champion is version %d", mv.Version)
	}

	// Without the policy, any alias may point anywhere, and rejecting is allowed.
	_, err = s.SetApprovalPolicy(t.Context(), "m", false, []string{"champion"})
	must(t, err, "policy off")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "alias to a rejected version without the policy")
	regVersion(t, s, "m", "s3://3")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "prod", 3), "alias to a pending version without the policy")
	approve(t, s, "m", 2, core.ApprovalRejected, "champion moved away, policy off")
}

func testApprovalPolicyErrors(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1")
	regVersion(t, s, "m", "s3://2")
	approve(t, s, "m", 2, core.ApprovalApproved, "ok")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "champion", 1), "alias to pending")
	must(t, s.SetRegisteredModelAlias(t.Context(), "m", "stable", 2), "alias to approved")
	before := regSnapshot(t, s, "m")
	_, err := s.SetApprovalPolicy(t.Context(), "m", true, []string{"stable", "champion"})
	wantMessage(t, err, core.ECONFLICT, "the protected alias 'champion' points at version 1, which is pending", "policy over a pending champion")
	_, err = s.SetApprovalPolicy(t.Context(), "m", true, []string{""})
	wantCode(t, err, core.EINVALID, "empty protected alias")
	_, err = s.SetApprovalPolicy(t.Context(), "nope", true, nil)
	wantMessage(t, err, core.ENOTFOUND, "Registered Model with name=nope not found", "policy of unknown model")
	regUnchanged(t, s, "refused policies", before)
	// Protecting only aliases on approved versions, or not requiring approval, is fine.
	m, err := s.SetApprovalPolicy(t.Context(), "m", true, []string{"stable"})
	must(t, err, "policy over stable")
	if !m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"stable"}) {
		t.Fatalf("policy %+v", m)
	}
	m, err = s.SetApprovalPolicy(t.Context(), "m", false, []string{"champion"})
	must(t, err, "policy off with champion listed")
	if m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"champion"}) {
		t.Fatalf("policy %+v", m)
	}
	m, err = s.SetApprovalPolicy(t.Context(), "m", false, nil)
	must(t, err, "clear policy")
	if m.RequiresApproval || len(m.ProtectedAliases) != 0 {
		t.Fatalf("cleared policy %+v", m)
	}
}

func testApprovalDeleteApproved(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "s3://1")
	approve(t, s, "m", 1, core.ApprovalApproved, "ok")
	before := regSnapshot(t, s, "m")
	wantMessage(t, s.DeleteModelVersion(t.Context(), "m", 1), core.ECONFLICT, "is approved; reject it first", "delete an approved version")
	regUnchanged(t, s, "refused delete", before)
	approve(t, s, "m", 1, core.ApprovalRejected, "withdrawn")
	must(t, s.DeleteModelVersion(t.Context(), "m", 1), "delete after rejecting")
	_, err := s.GetModelVersion(t.Context(), "m", 1)
	wantCode(t, err, core.ENOTFOUND, "deleted version")
}

func testApprovedVersionAt(t *testing.T, s store.Store) {
	regCreate(t, s, "m")
	regVersion(t, s, "m", "mlflow-artifacts:/1/models/m-abc/artifacts")
	regVersion(t, s, "m", "mlflow-artifacts://host:5000/2/runs/r1/artifacts/model/")
	regVersion(t, s, "m", "s3://bucket/1/models/m-s3/artifacts")
	regVersion(t, s, "m", "mlflow-artifacts:/1/models/m-pending/artifacts")
	at := func(key string) (int64, bool) {
		t.Helper()
		mv, ok, err := s.ApprovedVersionAt(t.Context(), key)
		must(t, err, "ApprovedVersionAt "+key)
		if ok && (mv.Name != "m" || mv.Approval != core.ApprovalApproved) {
			t.Fatalf("ApprovedVersionAt %s: %+v", key, mv)
		}
		return mv.Version, ok
	}
	if _, ok := at("1/models/m-abc/artifacts/MLmodel"); ok {
		t.Fatal("a pending version protects its files")
	}
	for _, v := range []int64{1, 2, 3} {
		approve(t, s, "m", v, core.ApprovalApproved, "ok")
	}
	cases := []struct {
		key  string
		want int64 // 0: not protected
	}{
		{"1/models/m-abc/artifacts/MLmodel", 1},
		{"1/models/m-abc/artifacts/sub/dir/model.pkl", 1},
		{"1/models/m-abc/artifacts", 1},
		{"./1/models//m-abc/artifacts/MLmodel", 1},
		{"1/models/m-abc", 1}, // a folder holding approved files
		{"1/models", 1},
		{"1/models/m-abcd/artifacts/MLmodel", 0},
		{"1/models/m-abc/artifactsX", 0},
		{"1/models/m-pending/artifacts/MLmodel", 0},
		{"1/models/m-s3/artifacts/MLmodel", 0}, // stored elsewhere: no proxy key
		{"2/runs/r1/artifacts/model/MLmodel", 2},
		{"2/runs/r1/artifacts/other", 0},
		{"3/x", 0},
	}
	for _, c := range cases {
		v, ok := at(c.key)
		if ok != (c.want != 0) || v != c.want {
			t.Fatalf("ApprovedVersionAt(%q) = version %d, %v; want %d", c.key, v, ok, c.want)
		}
	}
	if _, _, err := s.ApprovedVersionAt(t.Context(), "1/../2"); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("a key with '..': %v", err)
	}
	// Rejecting a version frees its files.
	approve(t, s, "m", 1, core.ApprovalRejected, "withdrawn")
	if _, ok := at("1/models/m-abc/artifacts/MLmodel"); ok {
		t.Fatal("a rejected version still protects its files")
	}
}

func testApprovedLoggedModel(t *testing.T, s store.Store) {
	exp := createExp(t, s, "e")
	lm := lmCreate(t, s, core.LoggedModel{ExperimentID: exp.ID, Name: "clf"})
	regCreate(t, s, "m")
	regVersion(t, s, "m", "models:/"+lm.ID)
	key := exp.ID + "/models/" + lm.ID + "/artifacts/MLmodel"
	if _, ok, _ := s.ApprovedVersionAt(t.Context(), key); ok {
		t.Fatal("pending version protects its files")
	}
	approve(t, s, "m", 1, core.ApprovalApproved, "ok")
	mv, ok, err := s.ApprovedVersionAt(t.Context(), key)
	must(t, err, "ApprovedVersionAt")
	if !ok || mv.Version != 1 || mv.ModelID != lm.ID {
		t.Fatalf("ApprovedVersionAt(%s) = %+v, %v (logged model at %s)", key, mv, ok, lm.ArtifactURI)
	}
	// The same files registered in a second model stay protected while either approval holds.
	regCreate(t, s, "copy")
	regVersion(t, s, "copy", "models:/m/1")
	approve(t, s, "copy", 1, core.ApprovalApproved, "ok")
	approve(t, s, "m", 1, core.ApprovalRejected, "withdrawn")
	mv, ok, err = s.ApprovedVersionAt(t.Context(), key)
	must(t, err, "ApprovedVersionAt after rejecting the first")
	if !ok || mv.Name != "copy" {
		t.Fatalf("ApprovedVersionAt after rejecting m/1: %+v, %v", mv, ok)
	}
}
