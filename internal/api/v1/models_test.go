package v1

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

const fraud = "/api/v1/models/fraud"

var wireTime = regexp.MustCompile(`"(time|created_at|updated_at)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)

func TestApproveRejectHistory(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.model("fraud", 2)
	before := time.Now().Add(-time.Second)

	var v Version
	e.ok("alice", "POST", fraud+"/versions/1/approve", `{"reason": " passed the offline eval ", "extra": 1}`, &v)
	if v.Name != "fraud" || v.Version != 1 || v.Approval != core.ApprovalApproved || v.Stage != core.StageNone {
		t.Fatalf("approved version: %+v", v)
	}
	if got := e.version("fraud", 1).Approval; got != core.ApprovalApproved {
		t.Fatalf("stored approval %q", got)
	}
	if got := e.version("fraud", 2).Approval; got != core.ApprovalPending {
		t.Fatalf("version 2 changed to %q", got)
	}

	// Approving twice is a conflict and records nothing.
	e.fail("bob", "POST", fraud+"/versions/1/approve", `{"reason": "again"}`, 409, core.ECONFLICT, "")
	if n := len(e.approvals("fraud", 1)); n != 1 {
		t.Fatalf("%d approval events after the conflict, want 1", n)
	}

	// A reason is required; nothing changes without one.
	for _, body := range []string{`{}`, `{"reason": "   "}`} {
		e.fail("bob", "POST", fraud+"/versions/2/reject", body, 400, core.EINVALID, "missing reason")
	}
	e.fail("bob", "POST", fraud+"/versions/2/reject", `{"reason": "`+strings.Repeat("é", MaxReasonLength+1)+`"}`,
		413, core.ETOOLARGE, "reason has 5001 characters")
	if got := e.version("fraud", 2).Approval; got != core.ApprovalPending || len(e.approvals("fraud", 2)) != 0 {
		t.Fatalf("bad requests changed version 2: %q", got)
	}

	e.ok("bob", "POST", fraud+"/versions/1/reject", `{"reason": "drift on new data"}`, &v)
	if v.Approval != core.ApprovalRejected {
		t.Fatalf("rejected version: %+v", v)
	}
	// A bearer token names the actor by its digest.
	req := httptest.NewRequest("POST", fraud+"/versions/2/approve", strings.NewReader(`{"reason":"ok"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	New(e.st, Options{}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("approve with token: %d %s", rec.Code, rec.Body)
	}

	var h ApprovalList
	e.ok("", "GET", fraud+"/versions/1/approvals", "", &h)
	if len(h.Approvals) != 2 {
		t.Fatalf("history %+v", h)
	}
	a, b := h.Approvals[0], h.Approvals[1]
	if a.From != core.ApprovalPending || a.To != core.ApprovalApproved || a.Actor != "alice" || a.Reason != "passed the offline eval" ||
		b.From != core.ApprovalApproved || b.To != core.ApprovalRejected || b.Actor != "bob" || b.Reason != "drift on new data" {
		t.Fatalf("history %+v", h)
	}
	for _, ev := range h.Approvals {
		if ev.Time.Before(before) || ev.Time.After(time.Now().Add(time.Second)) || ev.Time.Location() != time.UTC {
			t.Fatalf("event time %v", ev.Time)
		}
	}
	sum := sha256.Sum256([]byte("s3cret"))
	e.ok("", "GET", fraud+"/versions/2/approvals", "", &h)
	if len(h.Approvals) != 1 || h.Approvals[0].Actor != "token:"+hex.EncodeToString(sum[:])[:12] {
		t.Fatalf("history of version 2: %+v", h)
	}
	// Times are RFC 3339 in UTC with milliseconds on the wire.
	r := e.do("", "GET", fraud+"/versions/1/approvals", "")
	if n := len(wireTime.FindAll(r.raw, -1)); n != 2 {
		t.Fatalf("%d times in the wire form: %s", n, r.raw)
	}
	r = e.do("", "GET", fraud+"/versions/1", "")
	if n := len(wireTime.FindAll(r.raw, -1)); n != 2 {
		t.Fatalf("%d times in the wire form: %s", n, r.raw)
	}
	// Without credentials the actor is anonymous.
	e.model("other", 1)
	e.ok("", "POST", "/api/v1/models/other/versions/1/reject", `{"reason":"no"}`, nil)
	if ev := e.approvals("other", 1); len(ev) != 1 || ev[0].Actor != core.Anonymous {
		t.Fatalf("anonymous history %+v", ev)
	}
}

func TestProtectedAlias(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.model("fraud", 2)

	var m Model
	e.ok("admin", "PUT", fraud+"/approval-policy", `{"requires_approval": true, "protected_aliases": ["champion"]}`, &m)
	if !m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"champion"}) {
		t.Fatalf("policy answer %+v", m)
	}
	if got := e.registered("fraud"); !got.RequiresApproval || !slices.Equal(got.ProtectedAliases, []string{"champion"}) {
		t.Fatalf("stored policy %+v", got)
	}

	// A protected alias may not point at an unapproved version.
	e.fail("admin", "PUT", fraud+"/aliases/champion", `{"version": 1}`, 409, core.ECONFLICT, "")
	if got := e.registered("fraud").Aliases; len(got) != 0 {
		t.Fatalf("refused alias was set: %+v", got)
	}
	// Other aliases may.
	var v Version
	e.ok("admin", "PUT", fraud+"/aliases/candidate", `{"version": 2}`, &v)
	if v.Version != 2 || !slices.Equal(v.Aliases, []string{"candidate"}) {
		t.Fatalf("candidate alias: %+v", v)
	}

	e.ok("alice", "POST", fraud+"/versions/1/approve", `{"reason":"ok"}`, nil)
	e.ok("admin", "PUT", fraud+"/aliases/champion", `{"version": 1}`, &v)
	if v.Version != 1 || !slices.Equal(v.Aliases, []string{"champion"}) || v.Approval != core.ApprovalApproved {
		t.Fatalf("champion alias: %+v", v)
	}
	e.ok("", "GET", fraud, "", &m)
	if m.Aliases["champion"] != 1 || m.Aliases["candidate"] != 2 || len(m.Aliases) != 2 {
		t.Fatalf("model aliases %+v", m.Aliases)
	}

	// Delete; deleting again is a no-op, as in MLflow.
	for range 2 {
		r := e.do("admin", "DELETE", fraud+"/aliases/candidate", "")
		if r.status != http.StatusNoContent || len(r.raw) != 0 {
			t.Fatalf("delete alias: %d %s", r.status, r.raw)
		}
	}
	if got := e.registered("fraud").Aliases; len(got) != 1 || got[0].Alias != "champion" {
		t.Fatalf("aliases after delete %+v", got)
	}

	// Bad alias bodies change nothing.
	for _, body := range []string{`{}`, `{"version": 0}`, `{"version": -2}`} {
		e.fail("admin", "PUT", fraud+"/aliases/champion", body, 400, core.EINVALID, `"version"`)
	}
	e.fail("admin", "PUT", fraud+"/aliases/champion", `{"version": "2"}`, 400, core.EINVALID, `invalid field "version": want an integer, got string`)
	e.fail("admin", "PUT", fraud+"/aliases/champion", `{"version": 9}`, 404, core.ENOTFOUND, "")
	if got := e.registered("fraud").Aliases; len(got) != 1 || got[0].Version != 1 {
		t.Fatalf("aliases after bad requests %+v", got)
	}
}

func TestApprovalPolicy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.model("fraud", 1)
	e.ok("admin", "PUT", fraud+"/aliases/champion", `{"version": 1}`, nil)

	// Turning the policy on while champion points at a pending version is a conflict.
	e.fail("admin", "PUT", fraud+"/approval-policy", `{"requires_approval": true, "protected_aliases": ["champion"]}`,
		409, core.ECONFLICT, "")
	if got := e.registered("fraud"); got.RequiresApproval || len(got.ProtectedAliases) != 0 {
		t.Fatalf("refused policy was stored: %+v", got)
	}
	e.fail("admin", "PUT", fraud+"/approval-policy", `{"protected_aliases": ["x"]}`, 400, core.EINVALID, "requires_approval")
	e.fail("admin", "PUT", fraud+"/approval-policy", `{"requires_approval": "yes"}`, 400, core.EINVALID,
		`invalid field "requires_approval": want true or false, got string`)

	var m Model
	e.ok("admin", "PUT", fraud+"/approval-policy", `{"requires_approval": true, "protected_aliases": ["prod"]}`, &m)
	if !m.RequiresApproval || !slices.Equal(m.ProtectedAliases, []string{"prod"}) || m.Aliases["champion"] != 1 {
		t.Fatalf("policy %+v", m)
	}
	e.ok("admin", "PUT", fraud+"/approval-policy", `{"requires_approval": false}`, &m)
	if m.RequiresApproval || len(m.ProtectedAliases) != 0 {
		t.Fatalf("policy off %+v", m)
	}
	if r := e.do("", "GET", fraud, ""); !bytes.Contains(r.raw, []byte(`"protected_aliases":[]`)) {
		t.Fatalf("empty protected aliases not []: %s", r.raw)
	}
}

func TestGetAndList(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.model("alpha", 3)
	e.model("beta", 0)
	e.model("fraud model #1? (50%)", 1)
	e.ok("a", "PUT", "/api/v1/models/alpha/aliases/champion", `{"version": 2}`, nil)

	var m Model
	e.ok("", "GET", "/api/v1/models/alpha", "", &m)
	if m.Name != "alpha" || m.Description != "about alpha" || m.LatestVersion == nil || *m.LatestVersion != 3 ||
		m.Aliases["champion"] != 2 || m.RequiresApproval || m.CreatedAt.IsZero() || m.CreatedAt.Location() != time.UTC {
		t.Fatalf("model %+v", m)
	}
	// A model without versions has a null latest version.
	if r := e.do("", "GET", "/api/v1/models/beta", ""); !bytes.Contains(r.raw, []byte(`"latest_version":null`)) {
		t.Fatalf("beta: %s", r.raw)
	}
	// Names with reserved characters travel escaped in one segment.
	const escaped = "/api/v1/models/fraud%20model%20%231%3F%20%2850%25%29"
	e.ok("", "GET", escaped, "", &m)
	if m.Name != "fraud model #1? (50%)" {
		t.Fatalf("escaped name: %+v", m)
	}
	var vl VersionList
	e.ok("", "GET", escaped+"/versions", "", &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Name != "fraud model #1? (50%)" {
		t.Fatalf("escaped name versions: %+v", vl)
	}
	// An escaped "/" stays inside the name segment (MLflow forbids "/" in names, so: not found).
	r := e.do("", "GET", "/api/v1/models/a%2Fb/versions", "")
	if r.status != 404 || bytes.Contains(r.raw, []byte("No API endpoint")) {
		t.Fatalf("escaped slash: %d %s", r.status, r.raw)
	}

	// Versions come newest first, paged.
	e.ok("", "GET", "/api/v1/models/alpha/versions?max_results=2", "", &vl)
	if len(vl.Versions) != 2 || vl.Versions[0].Version != 3 || vl.Versions[1].Version != 2 || vl.NextPageToken == "" {
		t.Fatalf("versions page 1: %+v", vl)
	}
	v2 := vl.Versions[1]
	if !slices.Equal(v2.Aliases, []string{"champion"}) || v2.Approval != core.ApprovalPending ||
		v2.Source != "s3://bucket/alpha" || v2.User != "trainer" || v2.Stage != core.StageNone || v2.CreatedAt.IsZero() {
		t.Fatalf("version 2: %+v", v2)
	}
	e.ok("", "GET", "/api/v1/models/alpha/versions?max_results=2&page_token="+vl.NextPageToken, "", &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Version != 1 || vl.NextPageToken != "" {
		t.Fatalf("versions page 2: %+v", vl)
	}
	var v Version
	e.ok("", "GET", "/api/v1/models/alpha/versions/2", "", &v)
	if v.Version != 2 || !slices.Equal(v.Aliases, []string{"champion"}) {
		t.Fatalf("version: %+v", v)
	}
	if r := e.do("", "GET", "/api/v1/models/beta/versions", ""); !bytes.Contains(r.raw, []byte(`"versions":[]`)) {
		t.Fatalf("no versions: %s", r.raw)
	}

	// Models in name order, paged.
	var ml ModelList
	e.ok("", "GET", "/api/v1/models?max_results=2", "", &ml)
	if len(ml.Models) != 2 || ml.Models[0].Name != "alpha" || ml.Models[1].Name != "beta" || ml.NextPageToken == "" {
		t.Fatalf("models page 1: %+v", ml)
	}
	e.ok("", "GET", "/api/v1/models?max_results=2&page_token="+ml.NextPageToken, "", &ml)
	if len(ml.Models) != 1 || ml.Models[0].Name != "fraud model #1? (50%)" || ml.NextPageToken != "" {
		t.Fatalf("models page 2: %+v", ml)
	}
	e.ok("", "GET", "/api/v1/models?filter="+urlQuery("name LIKE 'a%'"), "", &ml)
	if len(ml.Models) != 1 || ml.Models[0].Name != "alpha" || *ml.Models[0].LatestVersion != 3 {
		t.Fatalf("filtered models: %+v", ml)
	}
	e.fail("", "GET", "/api/v1/models?filter="+urlQuery("name ~ 'a'"), "", 400, core.EINVALID, "")
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", "%", "%25", "'", "%27", "~", "%7E")
	return r.Replace(s)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.model("fraud", 1)
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/api/v1/models/nope", ""},
		{"GET", "/api/v1/models/nope/versions", ""},
		{"GET", "/api/v1/models/nope/versions/1", ""},
		{"GET", fraud + "/versions/2", ""},
		{"POST", fraud + "/versions/2/approve", `{"reason":"x"}`},
		{"POST", "/api/v1/models/nope/versions/1/reject", `{"reason":"x"}`},
		{"GET", fraud + "/versions/2/approvals", ""},
		{"PUT", "/api/v1/models/nope/approval-policy", `{"requires_approval": false}`},
		{"PUT", "/api/v1/models/nope/aliases/a", `{"version": 1}`},
		{"DELETE", "/api/v1/models/nope/aliases/a", ""},
		{"GET", "/api/v1/nothing-here", ""},
	} {
		e.fail("", tt.method, tt.path, tt.body, 404, core.ENOTFOUND, "")
	}
	r := e.do("", "DELETE", fraud+"/versions/1", "")
	if r.status != 405 || r.header.Get("Allow") != "GET" || !bytes.Contains(r.raw, []byte(`"code":"invalid"`)) {
		t.Fatalf("wrong method: %d %v %s", r.status, r.header, r.raw)
	}
	if r := e.do("", "GET", fraud+"/aliases/a", ""); r.status != 405 || r.header.Get("Allow") != "PUT, DELETE" {
		t.Fatalf("wrong method on alias: %d %v", r.status, r.header)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.MaxBodyBytes = 100 })
	e.model("fraud", 1)
	for _, v := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
		e.fail("", "GET", fraud+"/versions/"+v, "", 400, core.EINVALID, "want a positive integer")
		e.fail("", "POST", fraud+"/versions/"+v+"/approve", `{"reason":"x"}`, 400, core.EINVALID, "want a positive integer")
	}
	approve := fraud + "/versions/1/approve"
	for _, tt := range []struct{ body, msg string }{
		{``, "request body is empty"},
		{`{"reason": "x"`, "the body ends before the object is complete"},
		{"{\n  \"reason\": x}", "malformed JSON at line 2, column 13"},
		{`["reason"]`, "the body must be a JSON object, not array"},
		{`{"reason": 5}`, `invalid field "reason": want a string, got number`},
		{`{"reason": "x"} {}`, "unexpected data after the top-level object"},
	} {
		e.fail("", "POST", approve, tt.body, 400, core.EINVALID, tt.msg)
	}
	e.fail("", "POST", approve, `{"reason": "`+strings.Repeat("x", 100)+`"}`, 413, core.ETOOLARGE, "limit of 100 bytes")
	if got := e.version("fraud", 1).Approval; got != core.ApprovalPending || len(e.approvals("fraud", 1)) != 0 {
		t.Fatalf("bad requests changed the version: %q", got)
	}
	for _, q := range []string{"max_results=0", "max_results=1001", "max_results=x"} {
		e.fail("", "GET", "/api/v1/models?"+q, "", 400, core.EINVALID, "invalid max_results")
		e.fail("", "GET", fraud+"/versions?"+q, "", 400, core.EINVALID, "invalid max_results")
	}
	e.fail("", "GET", "/api/v1/models?page_token=%21%21", "", 400, core.EINVALID, "page token")
}

// failingStore fails every registry read with an error whose detail must stay private.
type failingStore struct{ store.Store }

func (failingStore) GetRegisteredModel(context.Context, string) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errors.New("disk on fire at /var/secret")
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := New(failingStore{}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/models/x", nil))
	if rec.Code != 500 || strings.TrimSpace(rec.Body.String()) != `{"error":{"code":"internal","message":"internal error"}}` {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Fatalf("detail not logged: %s", logs.String())
	}
}
