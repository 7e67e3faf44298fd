package v1

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// Page sizes of the list endpoints.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// MaxReasonLength caps the reason of an approval decision, in characters.
const MaxReasonLength = 5000

// pathName is the {name} segment, unescaped ("a%2Fb" is the model "a/b").
func pathName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if name == "" {
		return "", core.Errorf(core.EINVALID, "missing model name in the path")
	}
	return name, nil
}

// pathVersion is the {version} segment, which must be a positive integer.
func pathVersion(r *http.Request) (int64, error) {
	raw := r.PathValue("version")
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v <= 0 {
		return 0, core.Errorf(core.EINVALID, "invalid version %q: want a positive integer", raw)
	}
	return v, nil
}

func pathNameVersion(r *http.Request) (string, int64, error) {
	name, err := pathName(r)
	if err != nil {
		return "", 0, err
	}
	v, err := pathVersion(r)
	return name, v, err
}

// page reads ?max_results and ?page_token.
func page(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	n := DefaultPageSize
	if raw := q.Get("max_results"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 || v > MaxPageSize {
			return 0, "", core.Errorf(core.EINVALID,
				"invalid max_results %q: want an integer from 1 to %d", raw, MaxPageSize)
		}
		n = v
	}
	return n, q.Get("page_token"), nil
}

func (s *server) listModels(w http.ResponseWriter, r *http.Request) {
	n, tok, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	filter, err := search.ParseRegisteredModelFilter(r.URL.Query().Get("filter"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	models, next, err := s.st.SearchRegisteredModels(r.Context(), store.RegistrySearch{
		Filter:     filter,
		OrderBy:    []search.OrderBy{{Entity: search.Attribute, Key: search.RegAttrName}},
		MaxResults: n,
		PageToken:  tok,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := ModelList{Models: make([]Model, 0, len(models)), NextPageToken: next}
	for _, m := range models {
		out.Models = append(out.Models, modelOf(m))
	}
	s.reply(w, out)
}

func (s *server) getModel(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.GetRegisteredModel(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, modelOf(m))
}

func (s *server) listVersions(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, tok, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// An unknown model is 404, not an empty list.
	if _, err := s.st.GetRegisteredModel(r.Context(), name); err != nil {
		s.writeError(w, r, err)
		return
	}
	versions, next, err := s.st.SearchModelVersions(r.Context(), store.RegistrySearch{
		Filter: search.Filter{Clauses: []search.Comparison{{
			Entity: search.Attribute, Key: search.RegAttrName, Op: search.OpEq,
			Value: search.Value{Kind: search.StringValue, Str: name},
		}}},
		OrderBy:    []search.OrderBy{{Entity: search.Attribute, Key: search.RegAttrVersion, Desc: true}},
		MaxResults: n,
		PageToken:  tok,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := VersionList{Versions: make([]Version, 0, len(versions)), NextPageToken: next}
	for _, v := range versions {
		out.Versions = append(out.Versions, versionOf(v))
	}
	s.reply(w, out)
}

func (s *server) getVersion(w http.ResponseWriter, r *http.Request) {
	name, version, err := pathNameVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.st.GetModelVersion(r.Context(), name, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, versionOf(v))
}

func (s *server) approve(w http.ResponseWriter, r *http.Request) {
	s.decide(w, r, core.ApprovalApproved)
}

func (s *server) reject(w http.ResponseWriter, r *http.Request) {
	s.decide(w, r, core.ApprovalRejected)
}

// decide moves a version to approved or rejected in the name of the caller.
func (s *server) decide(w http.ResponseWriter, r *http.Request, to string) {
	name, version, err := pathNameVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req DecisionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		s.writeError(w, r, core.Errorf(core.EINVALID, "missing reason: say why the version is %s", to))
		return
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		s.writeError(w, r, core.Errorf(core.ETOOLARGE,
			"reason has %d characters, more than the limit of %d", n, MaxReasonLength))
		return
	}
	v, err := s.st.SetApproval(r.Context(), name, version, to, core.ActorFrom(r.Context()), reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, versionOf(v))
}

func (s *server) listApprovals(w http.ResponseWriter, r *http.Request) {
	name, version, err := pathNameVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.st.ListApprovals(r.Context(), name, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := ApprovalList{Approvals: make([]ApprovalEvent, 0, len(events))}
	for _, e := range events {
		out.Approvals = append(out.Approvals, approvalOf(e))
	}
	s.reply(w, out)
}

func (s *server) setPolicy(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req PolicyRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.RequiresApproval == nil {
		s.writeError(w, r, core.Errorf(core.EINVALID,
			`missing field "requires_approval": send the whole policy, e.g. {"requires_approval": true, "protected_aliases": ["champion"]}`))
		return
	}
	m, err := s.st.SetApprovalPolicy(r.Context(), name, *req.RequiresApproval, nonNil(req.ProtectedAliases))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, modelOf(m))
}

func (s *server) setAlias(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alias := r.PathValue("alias")
	var req AliasRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Version == nil || *req.Version <= 0 {
		s.writeError(w, r, core.Errorf(core.EINVALID, `missing or invalid "version": want a positive integer`))
		return
	}
	if err := s.st.SetRegisteredModelAlias(r.Context(), name, alias, *req.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.st.GetModelVersion(r.Context(), name, *req.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, versionOf(v))
}

func (s *server) deleteAlias(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.st.DeleteRegisteredModelAlias(r.Context(), name, r.PathValue("alias")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
