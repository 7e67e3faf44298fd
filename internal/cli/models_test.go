package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/api/mlflow"
	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// apiServer serves the real v1 and MLflow handlers over a SQLite store, as
// `plinth server` does, and returns its URL and the store for fixtures.
func apiServer(t *testing.T) (string, store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "plinth.db"),
		store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	art, err := blob.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(v1.Prefix+"/", v1.New(st, v1.Options{}))
	mux.Handle("/", mlflow.New(st, art, mlflow.Options{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
		art.Close()
	})
	return srv.URL, st
}

// as puts Basic credentials for user in a server URL.
func as(base, user string) string {
	u, _ := url.Parse(base)
	u.User = url.UserPassword(user, "pw")
	return u.String()
}

func fixtureModel(t *testing.T, st store.Store, name string, versions int) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.CreateRegisteredModel(ctx, core.RegisteredModel{Name: name}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < versions; i++ {
		if _, err := st.CreateModelVersion(ctx, core.ModelVersion{Name: name, Source: "s3://models/" + name}); err != nil {
			t.Fatal(err)
		}
	}
}

// ok runs a command that must succeed and returns its output.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
	}
	return out
}

// fails runs a command that must fail with a message containing each of want.
func fails(t *testing.T, args []string, want ...string) {
	t.Helper()
	code, _, errOut := run(t, args...)
	if code == 0 {
		t.Fatalf("%v succeeded", args)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Fatalf("%v: stderr %q, want it to mention %q", args, errOut, w)
		}
	}
}

// rows splits a table into its lines of space-separated cells.
func rows(out string) [][]string {
	var r [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		r = append(r, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1))
	}
	return r
}

var timeCell = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

func TestModelsCommands(t *testing.T) {
	base, st := apiServer(t)
	ctx := context.Background()
	fixtureModel(t, st, "fraud", 3)
	fixtureModel(t, st, "team churn #2", 1)
	fixtureModel(t, st, "empty", 0)
	alice := as(base, "alice")

	out := ok(t, "models", "list", "--server", base)
	got := rows(out)
	if len(got) != 4 || !slices.Equal(got[0], []string{"NAME", "LATEST", "ALIASES", "APPROVAL REQUIRED", "UPDATED"}) ||
		!slices.Equal(got[1][:4], []string{"empty", "-", "-", "no"}) ||
		!slices.Equal(got[2][:4], []string{"fraud", "3", "-", "no"}) ||
		!slices.Equal(got[3][:4], []string{"team churn #2", "1", "-", "no"}) || !timeCell.MatchString(got[2][4]) {
		t.Fatalf("list:\n%s", out)
	}

	out = ok(t, "models", "policy", "fraud", "--require-approval", "--protect", "champion", "--server", base)
	if !strings.Contains(out, `Model "fraud": aliases champion may point only at approved versions.`) {
		t.Fatalf("policy: %q", out)
	}
	// The protected alias is refused for a pending version, with the server's reason.
	fails(t, []string{"models", "alias", "fraud", "champion", "2", "--server", base}, "champion")
	if m, _ := st.GetRegisteredModel(ctx, "fraud"); len(m.Aliases) != 0 {
		t.Fatalf("refused alias set: %+v", m.Aliases)
	}

	out = ok(t, "models", "approve", "fraud", "2", "--reason", "AUC 0.91 on holdout", "--server", alice)
	if out != "Model \"fraud\" version 2 is now approved.\n" {
		t.Fatalf("approve: %q", out)
	}
	fails(t, []string{"models", "approve", "fraud", "2", "--reason", "again", "--server", alice}, "approved")
	ok(t, "models", "reject", "fraud", "3", "--reason", "leaks the label", "--server", as(base, "bob"))
	out = ok(t, "models", "alias", "fraud", "champion", "2", "--server", base)
	if out != "Alias \"champion\" of model \"fraud\" now points at version 2 (approved).\n" {
		t.Fatalf("alias: %q", out)
	}

	out = ok(t, "models", "versions", "fraud", "--server", base)
	got = rows(out)
	if len(got) != 4 || !slices.Equal(got[0], []string{"VERSION", "STAGE", "APPROVAL", "ALIASES", "SOURCE", "CREATED"}) ||
		!slices.Equal(got[1][:5], []string{"3", "None", "rejected", "-", "s3://models/fraud"}) ||
		!slices.Equal(got[2][:5], []string{"2", "None", "approved", "champion", "s3://models/fraud"}) ||
		!slices.Equal(got[3][:5], []string{"1", "None", "pending", "-", "s3://models/fraud"}) || !timeCell.MatchString(got[1][5]) {
		t.Fatalf("versions:\n%s", out)
	}
	out = ok(t, "models", "list", "--server", base)
	if got = rows(out); !slices.Equal(got[2][:4], []string{"fraud", "3", "champion=2", "yes (champion)"}) {
		t.Fatalf("list after approval:\n%s", out)
	}

	out = ok(t, "models", "history", "fraud", "2", "--server", base)
	got = rows(out)
	if len(got) != 2 || !slices.Equal(got[0], []string{"TIME", "FROM", "TO", "ACTOR", "REASON"}) ||
		!slices.Equal(got[1][1:], []string{"pending", "approved", "alice", "AUC 0.91 on holdout"}) || !timeCell.MatchString(got[1][0]) {
		t.Fatalf("history:\n%s", out)
	}
	if out = ok(t, "models", "history", "fraud", "1", "--server", base); !strings.Contains(out, "no approval decisions yet") {
		t.Fatalf("empty history: %q", out)
	}

	// A name with reserved characters travels escaped.
	if got = rows(ok(t, "models", "versions", "team churn #2", "--server", base)); len(got) != 2 || got[1][0] != "1" {
		t.Fatalf("versions of %q: %v", "team churn #2", got)
	}

	// --require-approval=false keeps the protected aliases; --protect "" clears them.
	ok(t, "models", "policy", "fraud", "--require-approval=false", "--server", base)
	if m, _ := st.GetRegisteredModel(ctx, "fraud"); m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"champion"}) {
		t.Fatalf("policy off: %+v", m)
	}
	ok(t, "models", "policy", "fraud", "--protect", "", "--server", base)
	if m, _ := st.GetRegisteredModel(ctx, "fraud"); m.RequiresApproval || len(m.ProtectedAliases) != 0 {
		t.Fatalf("protect cleared: %+v", m)
	}

	out = ok(t, "models", "alias", "fraud", "champion", "--delete", "--server", base)
	if out != "Deleted alias \"champion\" of model \"fraud\".\n" {
		t.Fatalf("delete alias: %q", out)
	}
	if m, _ := st.GetRegisteredModel(ctx, "fraud"); len(m.Aliases) != 0 {
		t.Fatalf("alias not deleted: %+v", m.Aliases)
	}
	if ev, _ := st.ListApprovals(ctx, "fraud", 3); len(ev) != 1 || ev[0].Actor != "bob" || ev[0].Reason != "leaks the label" {
		t.Fatalf("reject history %+v", ev)
	}
}

func TestModelsJSON(t *testing.T) {
	base, st := apiServer(t)
	fixtureModel(t, st, "fraud", 2)
	fixtureModel(t, st, "spam", 0)

	var ml v1.ModelList
	decodeJSON(t, ok(t, "models", "list", "--json", "--server", base), &ml)
	if len(ml.Models) != 2 || ml.Models[0].Name != "fraud" || *ml.Models[0].LatestVersion != 2 || ml.Models[1].LatestVersion != nil {
		t.Fatalf("list --json: %+v", ml)
	}
	var v v1.Version
	decodeJSON(t, ok(t, "models", "approve", "fraud", "1", "--reason", "fine", "--json", "--server", as(base, "carol")), &v)
	if v.Name != "fraud" || v.Version != 1 || v.Approval != core.ApprovalApproved {
		t.Fatalf("approve --json: %+v", v)
	}
	var vl v1.VersionList
	decodeJSON(t, ok(t, "models", "versions", "fraud", "--json", "--server", base), &vl)
	if len(vl.Versions) != 2 || vl.Versions[0].Version != 2 || vl.Versions[1].Approval != core.ApprovalApproved {
		t.Fatalf("versions --json: %+v", vl)
	}
	var h v1.ApprovalList
	decodeJSON(t, ok(t, "models", "history", "fraud", "1", "--json", "--server", base), &h)
	if len(h.Approvals) != 1 || h.Approvals[0].Actor != "carol" || h.Approvals[0].To != core.ApprovalApproved {
		t.Fatalf("history --json: %+v", h)
	}
	var m v1.Model
	decodeJSON(t, ok(t, "models", "policy", "fraud", "--require-approval", "--protect", "prod,champion", "--json", "--server", base), &m)
	if !m.RequiresApproval || len(m.ProtectedAliases) != 2 {
		t.Fatalf("policy --json: %+v", m)
	}
	decodeJSON(t, ok(t, "models", "alias", "fraud", "prod", "1", "--json", "--server", base), &v)
	if !slices.Equal(v.Aliases, []string{"prod"}) {
		t.Fatalf("alias --json: %+v", v)
	}
	if out := ok(t, "models", "versions", "spam", "--json", "--server", base); strings.TrimSpace(out) != "{\n  \"versions\": []\n}" {
		t.Fatalf("no versions --json: %q", out)
	}
}

func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("not JSON: %q: %v", out, err)
	}
}

func TestModelsEnvironment(t *testing.T) {
	base, st := apiServer(t)
	fixtureModel(t, st, "fraud", 1)
	t.Setenv("PLINTH_URL", base+"/")
	t.Setenv("PLINTH_TOKEN", "s3cret")
	ok(t, "models", "approve", "fraud", "1", "--reason", "from env")
	ev, err := st.ListApprovals(context.Background(), "fraud", 1)
	if err != nil || len(ev) != 1 || !strings.HasPrefix(ev[0].Actor, "token:") {
		t.Fatalf("actor from PLINTH_TOKEN: %+v %v", ev, err)
	}
	// --server wins over PLINTH_URL.
	fails(t, []string{"models", "list", "--server", "http://127.0.0.1:1"}, "cannot reach the Plinth server at http://127.0.0.1:1")
	t.Setenv("PLINTH_URL", "127.0.0.1:5000")
	fails(t, []string{"models", "list"}, `invalid server URL "127.0.0.1:5000" (from PLINTH_URL)`)
}

func TestModelsErrorsSayWhatToDo(t *testing.T) {
	base, st := apiServer(t)
	fixtureModel(t, st, "fraud", 1)
	mlflowOnly := httptest.NewServer(mlflow.New(st, nil, mlflow.Options{}))
	defer mlflowOnly.Close()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"models", "list", "--server", "http://127.0.0.1:1"}, []string{"is the server running?", "plinth server", "PLINTH_URL"}},
		{[]string{"models", "list", "--server", mlflowOnly.URL}, []string{"does not serve Plinth's API /api/v1"}},
		{[]string{"models", "versions", "nope", "--server", base}, []string{"nope", "plinth models list"}},
		{[]string{"models", "approve", "fraud", "7", "--reason", "x", "--server", base}, []string{"plinth models versions NAME"}},
		{[]string{"models", "approve", "fraud", "x", "--reason", "r", "--server", base}, []string{`invalid version "x"`}},
		{[]string{"models", "approve", "fraud", "1", "--server", base}, []string{`"reason" not set`}},
		{[]string{"models", "reject", "fraud", "1", "--reason", " ", "--server", base}, []string{"--reason is empty"}},
		{[]string{"models", "alias", "fraud", "champion", "--server", base}, []string{"give NAME ALIAS VERSION"}},
		{[]string{"models", "alias", "fraud", "champion", "1", "--delete", "--server", base}, []string{"with --delete, give NAME ALIAS"}},
		{[]string{"models", "policy", "fraud", "--server", base}, []string{"nothing to change"}},
		{[]string{"models", "list", "--timeout", "0s", "--server", base}, []string{"invalid --timeout"}},
		{[]string{"models", "list", "--server", "ftp://x"}, []string{"want http://HOST:PORT"}},
	} {
		fails(t, tt.args, tt.want...)
	}
	// Nothing changed.
	if mv, err := st.GetModelVersion(context.Background(), "fraud", 1); err != nil || mv.Approval != core.ApprovalPending {
		t.Fatalf("version changed: %+v %v", mv, err)
	}
}
