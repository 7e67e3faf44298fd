package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// endpointServer serves the real v1 API over SQLite, with state (may be nil) as
// the serving side of the process.
func endpointServer(t *testing.T, state func(string) (core.EndpointState, bool)) (string, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "plinth.db"),
		store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v1.New(st, v1.Options{EndpointState: state}))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return srv.URL, st
}

func storedEndpoint(t *testing.T, st store.Store, name string) core.Endpoint {
	t.Helper()
	ep, err := st.GetEndpoint(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestEndpointsCommands(t *testing.T) {
	t.Parallel()
	base, st := endpointServer(t, nil)

	out := ok(t, "endpoints", "list", "--server", base)
	if !strings.Contains(out, "No endpoints yet") {
		t.Fatalf("empty list: %q", out)
	}
	out = ok(t, "endpoints", "create", "fraud-scorer", "--model-uri", "models:/fraud@champion",
		"--canary-uri", "models:/fraud@challenger", "--canary-percent", "10",
		"--description", "scores claims", "--subject-field", "customer_id", "--log-sample-rate", "0.5", "--server", base)
	want := "Created endpoint \"fraud-scorer\": serves models:/fraud@champion, with 10% of the requests answered by models:/fraud@challenger (canary).\n" +
		"Callers send requests to POST " + base + "/endpoints/fraud-scorer/invocations\n"
	if out != want {
		t.Fatalf("create: %q\nwant %q", out, want)
	}
	got := storedEndpoint(t, st, "fraud-scorer")
	if got.ModelURI != "models:/fraud@champion" || got.Secondary == nil ||
		*got.Secondary != (core.EndpointTarget{ModelURI: "models:/fraud@challenger", Mode: core.ModeCanary, Percent: 10}) ||
		got.Description != "scores claims" || got.SubjectField != "customer_id" || got.LogSampleRate != 0.5 {
		t.Fatalf("stored %+v", got)
	}
	// Without --log-sample-rate every request is logged.
	ok(t, "endpoints", "create", "churn", "--model-uri", "models:/churn/3", "--shadow-uri", "models:/churn@next", "--server", base)
	if got := storedEndpoint(t, st, "churn"); got.LogSampleRate != 1 || got.Secondary == nil || got.Secondary.Mode != core.ModeShadow {
		t.Fatalf("stored churn %+v", got)
	}

	out = ok(t, "endpoints", "list", "--server", base)
	r := rows(out)
	if len(r) != 3 || !slices.Equal(r[0], []string{"NAME", "MODEL URI", "SECONDARY", "VERSION(S)", "STATUS", "UPDATED"}) ||
		!slices.Equal(r[1][:5], []string{"churn", "models:/churn/3", "models:/churn@next (shadow)", "-", "-"}) ||
		!slices.Equal(r[2][:5], []string{"fraud-scorer", "models:/fraud@champion", "models:/fraud@challenger (canary 10%)", "-", "-"}) ||
		!timeCell.MatchString(r[2][5]) {
		t.Fatalf("list:\n%s", out)
	}

	out = ok(t, "endpoints", "describe", "fraud-scorer", "--server", base)
	for _, s := range []string{
		"Name:            fraud-scorer\n", "Model URI:       models:/fraud@champion\n",
		"Secondary:       models:/fraud@challenger (canary 10%)\n", "Description:     scores claims\n",
		"Log sample rate: 50% of requests\n", "Subject field:   customer_id\n",
		"Invocations:     POST " + base + "/endpoints/fraud-scorer/invocations\n",
		"Live state: not reported by the server at " + base,
	} {
		if !strings.Contains(out, s) {
			t.Fatalf("describe lacks %q:\n%s", s, out)
		}
	}

	// Only the flags given change; a canary flag alone keeps the other half.
	out = ok(t, "endpoints", "update", "fraud-scorer", "--canary-percent", "25", "--server", base)
	if out != "Updated endpoint \"fraud-scorer\": serves models:/fraud@champion, with 25% of the requests answered by models:/fraud@challenger (canary).\n" {
		t.Fatalf("update percent: %q", out)
	}
	ok(t, "endpoints", "update", "fraud-scorer", "--canary-uri", "models:/fraud/9", "--description", "", "--server", base)
	got = storedEndpoint(t, st, "fraud-scorer")
	if *got.Secondary != (core.EndpointTarget{ModelURI: "models:/fraud/9", Mode: core.ModeCanary, Percent: 25}) ||
		got.Description != "" || got.SubjectField != "customer_id" || got.LogSampleRate != 0.5 || got.ModelURI != "models:/fraud@champion" {
		t.Fatalf("after canary-uri update %+v", got)
	}
	ok(t, "endpoints", "update", "fraud-scorer", "--model-uri", "models:/fraud/8", "--log-sample-rate", "0", "--subject-field", "", "--server", base)
	got = storedEndpoint(t, st, "fraud-scorer")
	if got.ModelURI != "models:/fraud/8" || got.LogSampleRate != 0 || got.SubjectField != "" || got.Secondary == nil {
		t.Fatalf("after model update %+v", got)
	}
	out = ok(t, "endpoints", "update", "fraud-scorer", "--no-secondary", "--server", base)
	if out != "Updated endpoint \"fraud-scorer\": serves models:/fraud/8.\n" || storedEndpoint(t, st, "fraud-scorer").Secondary != nil {
		t.Fatalf("no-secondary: %q", out)
	}
	ok(t, "endpoints", "update", "churn", "--canary-uri", "models:/churn@next", "--canary-percent", "5", "--server", base)
	if got := storedEndpoint(t, st, "churn"); got.Secondary.Mode != core.ModeCanary || got.Secondary.Percent != 5 {
		t.Fatalf("shadow to canary %+v", got)
	}

	out = ok(t, "endpoints", "delete", "churn", "--server", base)
	if out != "Deleted endpoint \"churn\".\n" {
		t.Fatalf("delete: %q", out)
	}
	if _, err := st.GetEndpoint(context.Background(), "churn"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("deleted endpoint: %v", err)
	}
}

func TestEndpointsLiveState(t *testing.T) {
	t.Parallel()
	loaded := time.Now().Add(-time.Hour)
	base, _ := endpointServer(t, func(name string) (core.EndpointState, bool) {
		switch name {
		case "fraud":
			return core.EndpointState{
				Targets: []core.TargetState{
					{Role: core.RolePrimary, ModelURI: "models:/fraud@champion", Status: core.TargetServing, Model: "fraud",
						Version: "3", LoadedAt: loaded, LastError: "version 4 failed its check:\ncolumn \"amount\" is missing",
						LastErrorVersion: "4", LastErrorAt: loaded.Add(time.Minute), Requests: 1200, Errors: 2},
					{Role: core.RoleCanary, ModelURI: "models:/fraud@challenger", Status: core.TargetLoading},
				},
				Log:      core.PredictionLogState{BacklogBytes: 3 << 20, Dropped: 7, Uploaded: 1193, LastError: "s3: access denied"},
				Degraded: true,
			}, true
		case "spam":
			return core.EndpointState{Targets: []core.TargetState{
				{Role: core.RolePrimary, ModelURI: "models:/spam/2", Status: core.TargetServing, Model: "spam", Version: "2", LoadedAt: loaded},
			}}, true
		}
		return core.EndpointState{}, false
	})
	ok(t, "endpoints", "create", "fraud", "--model-uri", "models:/fraud@champion",
		"--canary-uri", "models:/fraud@challenger", "--canary-percent", "10", "--server", base)
	ok(t, "endpoints", "create", "spam", "--model-uri", "models:/spam/2", "--server", base)
	ok(t, "endpoints", "create", "unserved", "--model-uri", "models:/x@y", "--server", base)

	out := ok(t, "endpoints", "list", "--server", base)
	r := rows(out)
	if len(r) != 4 ||
		!slices.Equal(r[1][3:5], []string{"3, canary -", "serving; canary loading; errors (see describe); degraded"}) ||
		!slices.Equal(r[2][2:5], []string{"-", "2", "serving"}) ||
		!slices.Equal(r[3][2:5], []string{"-", "-", "-"}) {
		t.Fatalf("list:\n%s", out)
	}

	out = ok(t, "endpoints", "describe", "fraud", "--server", base)
	t.Logf("describe:\n%s", out)
	lines := strings.Split(out, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ROLE") })
	if i < 0 || !strings.Contains(out, "Live state (server at "+base+"):") {
		t.Fatalf("describe has no state table:\n%s", out)
	}
	tr := rows(strings.Join(lines[i:i+3], "\n"))
	if !slices.Equal(tr[0], []string{"ROLE", "MODEL URI", "STATUS", "VERSION", "LOADED AT", "REQUESTS", "ERRORS"}) ||
		!slices.Equal(tr[1], []string{"primary", "models:/fraud@champion", "serving", "3", showTime(loaded), "1200", "2"}) ||
		!slices.Equal(tr[2], []string{"canary", "models:/fraud@challenger", "loading", "-", "-", "0", "0"}) {
		t.Fatalf("state table %q:\n%s", tr, out)
	}
	for _, s := range []string{
		"Last error (primary, version 4, " + showTime(loaded.Add(time.Minute)) + "): version 4 failed its check: column \"amount\" is missing\n",
		"Prediction log:   backlog 3.0 MiB, 7 dropped, 1193 uploaded, last upload -\n",
		"Log last error:   s3: access denied\n",
		"Degraded:         yes",
	} {
		if !strings.Contains(out, s) {
			t.Fatalf("describe lacks %q:\n%s", s, out)
		}
	}
	if out := ok(t, "endpoints", "describe", "spam", "--server", base); !strings.Contains(out, "Degraded:         no") || strings.Contains(out, "Last error") {
		t.Fatalf("describe spam:\n%s", out)
	}
}

func TestEndpointsJSON(t *testing.T) {
	t.Parallel()
	base, _ := endpointServer(t, func(name string) (core.EndpointState, bool) {
		return core.EndpointState{Targets: []core.TargetState{{Role: core.RolePrimary, Status: core.TargetFailed, LastError: "no such model"}}}, name == "fraud"
	})
	var ep v1.Endpoint
	decodeJSON(t, ok(t, "endpoints", "create", "fraud", "--model-uri", "models:/fraud@champion", "--json", "--server", base), &ep)
	if ep.Name != "fraud" || ep.LogSampleRate != 1 || ep.InvocationsPath != "/endpoints/fraud/invocations" || ep.State == nil {
		t.Fatalf("create --json: %+v", ep)
	}
	decodeJSON(t, ok(t, "endpoints", "update", "fraud", "--shadow-uri", "models:/fraud@next", "--json", "--server", base), &ep)
	if ep.Secondary == nil || ep.Secondary.Mode != core.ModeShadow {
		t.Fatalf("update --json: %+v", ep)
	}
	decodeJSON(t, ok(t, "endpoints", "describe", "fraud", "--json", "--server", base), &ep)
	if ep.State == nil || ep.State.Targets[0].Status != core.TargetFailed || ep.State.Targets[0].LastError != "no such model" {
		t.Fatalf("describe --json: %+v", ep)
	}
	var list v1.EndpointList
	decodeJSON(t, ok(t, "endpoints", "list", "--json", "--server", base), &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].Name != "fraud" {
		t.Fatalf("list --json: %+v", list)
	}
	if out := ok(t, "endpoints", "delete", "fraud", "--json", "--server", base); out != "{}\n" {
		t.Fatalf("delete --json: %q", out)
	}
	if out := ok(t, "endpoints", "list", "--json", "--server", base); strings.TrimSpace(out) != "{\n  \"endpoints\": []\n}" {
		t.Fatalf("empty list --json: %q", out)
	}
}

func TestEndpointsErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	base, st := endpointServer(t, nil)
	ok(t, "endpoints", "create", "fraud", "--model-uri", "models:/fraud@champion", "--server", base)
	ok(t, "endpoints", "create", "shadowed", "--model-uri", "models:/a@b", "--shadow-uri", "models:/a@c", "--server", base)
	// An older Plinth: its API has no endpoints routes.
	noEndpoints := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"No API endpoint matches ` + r.Method + ` ` + r.URL.Path + `"}}`))
	}))
	defer noEndpoints.Close()

	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"describe", "nope"}, []string{"Endpoint 'nope' not found", "plinth endpoints list"}},
		{[]string{"update", "nope", "--description", "x"}, []string{"'nope' not found", "plinth endpoints list"}},
		{[]string{"update", "nope", "--canary-percent", "5"}, []string{"'nope' not found", "plinth endpoints list"}},
		{[]string{"delete", "nope"}, []string{"'nope' not found", "plinth endpoints list"}},
		{[]string{"create", "fraud", "--model-uri", "models:/x@y"}, []string{"already exists", "plinth endpoints update fraud"}},
		{[]string{"create", "Fraud", "--model-uri", "models:/x@y"}, []string{`Invalid endpoint name "Fraud"`, "lowercase"}},
		{[]string{"create", "x"}, []string{`"model-uri" not set`}},
		{[]string{"create", "x", "--model-uri", "models:/x/latest"}, []string{`"latest" is not a version number`, "models:/NAME@ALIAS"}},
		{[]string{"create", "x", "--model-uri", "runs:/abc/model"}, []string{"Invalid model_uri", "models:/NAME@ALIAS"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--canary-uri", "models:/x@z"}, []string{"--canary-percent P"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--canary-percent", "5"}, []string{"--canary-uri URI"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--canary-uri", "models:/x@z", "--canary-percent", "100"}, []string{"canary percent must be between 0 and 100"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--canary-uri", "models:/x@z", "--canary-percent", "5", "--shadow-uri", "models:/x@w"}, []string{"not both"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--shadow-uri", "models:/x@w", "--canary-percent", "5"}, []string{"does not apply to a shadow"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--log-sample-rate", "2"}, []string{"log_sample_rate must be between 0 and 1"}},
		{[]string{"create", "x", "--model-uri", "models:/x@y", "--no-secondary"}, []string{"unknown flag: --no-secondary"}},
		{[]string{"update", "fraud"}, []string{"nothing to change", "--model-uri"}},
		{[]string{"update", "fraud", "--canary-percent", "5"}, []string{`endpoint "fraud" has no canary`, "--canary-uri URI"}},
		{[]string{"update", "shadowed", "--canary-uri", "models:/a@d"}, []string{`endpoint "shadowed" has no canary`, "--canary-percent P"}},
		{[]string{"update", "fraud", "--no-secondary", "--shadow-uri", "models:/x@w"}, []string{"do not combine"}},
		{[]string{"update", "fraud", "--model-uri", "models:/fraud"}, []string{"Invalid model_uri"}},
		{[]string{"describe"}, []string{"accepts 1 arg"}},
		{[]string{"list", "--server", noEndpoints.URL}, []string{"has no endpoints API", "upgrade"}},
		{[]string{"list", "--server", "http://127.0.0.1:1"}, []string{"cannot reach the Plinth server", "plinth server"}},
	} {
		args := tt.args
		if !slices.Contains(args, "--server") {
			args = append(slices.Clone(args), "--server", base)
		}
		fails(t, append([]string{"endpoints"}, args...), tt.want...)
	}
	// Nothing changed.
	if got := storedEndpoint(t, st, "fraud"); got.ModelURI != "models:/fraud@champion" || got.Secondary != nil || got.LogSampleRate != 1 {
		t.Fatalf("failed commands changed fraud: %+v", got)
	}
	if got := storedEndpoint(t, st, "shadowed"); got.Secondary == nil || got.Secondary.Mode != core.ModeShadow {
		t.Fatalf("failed commands changed shadowed: %+v", got)
	}
	if _, err := st.GetEndpoint(context.Background(), "x"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("a failed create stored x: %v", err)
	}
}
