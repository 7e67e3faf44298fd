package v1

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

// Serving endpoints: definitions are stored (store.EndpointStore); the live
// state comes from the serving side of this process through Options.EndpointState.

// Endpoint is a serving endpoint with, when this process serves it, its live state.
type Endpoint struct {
	Name      string          `json:"name"`
	ModelURI  string          `json:"model_uri"`
	Secondary *EndpointTarget `json:"secondary,omitempty"`
	// Description, LogSampleRate and SubjectField are always sent: 0 and "" are meaningful.
	Description   string  `json:"description"`
	LogSampleRate float64 `json:"log_sample_rate"`
	SubjectField  string  `json:"subject_field"`
	// InvocationsPath is where callers send MLflow scoring requests.
	InvocationsPath string `json:"invocations_path"`
	CreatedAt       Time   `json:"created_at"`
	UpdatedAt       Time   `json:"updated_at"`
	// State is absent when this process does not serve the endpoint (yet).
	State *EndpointState `json:"state,omitempty"`
}

// EndpointTarget is an endpoint's second model: a canary answering Percent of
// the requests, or a shadow getting a copy of each.
type EndpointTarget struct {
	ModelURI string  `json:"model_uri"`
	Mode     string  `json:"mode"` // "canary" or "shadow"
	Percent  float64 `json:"percent,omitempty"`
}

// EndpointState is what this process serves for an endpoint.
type EndpointState struct {
	// Degraded is true when predictions are answered but not logged.
	Degraded bool                  `json:"degraded"`
	Targets  []TargetState         `json:"targets"`
	Log      EndpointPredictionLog `json:"log"`
}

// TargetState is one loaded (or loading, or failed) target.
type TargetState struct {
	Role     string `json:"role"` // primary, canary or shadow
	ModelURI string `json:"model_uri"`
	Status   string `json:"status"`            // loading, serving or failed
	Model    string `json:"model,omitempty"`   // registered model name
	Version  string `json:"version,omitempty"` // absent while none is loaded
	LoadedAt Time   `json:"loaded_at,omitzero"`
	// LastError is the last failed resolve, load or check; absent after a success.
	LastError        string `json:"last_error,omitempty"`
	LastErrorVersion string `json:"last_error_version,omitempty"`
	LastErrorAt      Time   `json:"last_error_at,omitzero"`
	Requests         int64  `json:"requests"`
	Errors           int64  `json:"errors"`
}

// EndpointPredictionLog is the prediction log of the serving process.
type EndpointPredictionLog struct {
	BacklogBytes int64  `json:"backlog_bytes"`
	Dropped      int64  `json:"dropped"`
	Uploaded     int64  `json:"uploaded"`
	LastUpload   Time   `json:"last_upload,omitzero"`
	LastError    string `json:"last_error,omitempty"`
}

// EndpointList is every endpoint, by name.
type EndpointList struct {
	Endpoints []Endpoint `json:"endpoints"`
}

// CreateEndpointRequest is the body of POST /endpoints.
type CreateEndpointRequest struct {
	Name          string          `json:"name"`
	ModelURI      string          `json:"model_uri"`
	Secondary     *EndpointTarget `json:"secondary,omitempty"`
	Description   string          `json:"description,omitempty"`
	LogSampleRate *float64        `json:"log_sample_rate,omitempty"` // absent: 1, log every request
	SubjectField  string          `json:"subject_field,omitempty"`
}

// DefaultLogSampleRate applies when a create request gives none.
const DefaultLogSampleRate = 1.0

// UpdateEndpointRequest is the body of PATCH /endpoints/{name}: only the
// fields present change.
type UpdateEndpointRequest struct {
	// Name may be sent but must be the endpoint's: endpoints cannot be renamed.
	Name          *string         `json:"name,omitempty"`
	ModelURI      *string         `json:"model_uri,omitempty"`
	Secondary     SecondaryUpdate `json:"secondary,omitzero"`
	Description   *string         `json:"description,omitempty"`
	LogSampleRate *float64        `json:"log_sample_rate,omitempty"`
	SubjectField  *string         `json:"subject_field,omitempty"`
}

// SecondaryUpdate is the "secondary" of a PATCH: absent (Set false) keeps the
// second target, null removes it, an object replaces it.
type SecondaryUpdate struct {
	Set    bool
	Target *EndpointTarget // nil with Set: remove
}

// IsZero makes an unset SecondaryUpdate absent from the JSON (omitzero).
func (u SecondaryUpdate) IsZero() bool { return !u.Set }

// MarshalJSON writes the target, or null to remove it.
func (u SecondaryUpdate) MarshalJSON() ([]byte, error) {
	if u.Target == nil {
		return []byte("null"), nil
	}
	return json.Marshal(u.Target)
}

// UnmarshalJSON records that "secondary" was sent (also when null).
func (u *SecondaryUpdate) UnmarshalJSON(b []byte) error {
	u.Set, u.Target = true, nil
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var t EndpointTarget
	if err := json.Unmarshal(b, &t); err != nil {
		return err // the decoder puts "secondary." before the field of a type error
	}
	u.Target = &t
	return nil
}

// InvocationsPath is the MLflow scoring path of an endpoint (names are DNS
// labels, so they need no escaping).
func InvocationsPath(name string) string { return "/endpoints/" + name + "/invocations" }

func targetOf(t *EndpointTarget) *core.EndpointTarget {
	if t == nil {
		return nil
	}
	return &core.EndpointTarget{ModelURI: t.ModelURI, Mode: t.Mode, Percent: t.Percent}
}

// stateTime is a live-state time on the wire; zero stays zero (and is omitted).
func stateTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC()}
}

// endpointOf is the wire form of e, with its live state when this process has one.
func (s *server) endpointOf(e core.Endpoint) Endpoint {
	out := Endpoint{
		Name:            e.Name,
		ModelURI:        e.ModelURI,
		Description:     e.Description,
		LogSampleRate:   e.LogSampleRate,
		SubjectField:    e.SubjectField,
		InvocationsPath: InvocationsPath(e.Name),
		CreatedAt:       timeOf(e.CreationTime),
		UpdatedAt:       timeOf(e.LastUpdateTime),
	}
	if t := e.Secondary; t != nil {
		out.Secondary = &EndpointTarget{ModelURI: t.ModelURI, Mode: t.Mode, Percent: t.Percent}
	}
	if s.opts.EndpointState == nil {
		return out
	}
	st, ok := s.opts.EndpointState(e.Name)
	if !ok {
		return out
	}
	ws := &EndpointState{
		Degraded: st.Degraded,
		Targets:  make([]TargetState, 0, len(st.Targets)),
		Log: EndpointPredictionLog{
			BacklogBytes: st.Log.BacklogBytes,
			Dropped:      st.Log.Dropped,
			Uploaded:     st.Log.Uploaded,
			LastUpload:   stateTime(st.Log.LastUpload),
			LastError:    st.Log.LastError,
		},
	}
	for _, t := range st.Targets {
		ws.Targets = append(ws.Targets, TargetState{
			Role: t.Role, ModelURI: t.ModelURI, Status: t.Status, Model: t.Model, Version: t.Version,
			LoadedAt:  stateTime(t.LoadedAt),
			LastError: t.LastError, LastErrorVersion: t.LastErrorVersion, LastErrorAt: stateTime(t.LastErrorAt),
			Requests: t.Requests, Errors: t.Errors,
		})
	}
	out.State = ws
	return out
}

// pathEndpoint is the {name} segment of an endpoint path.
func pathEndpoint(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if name == "" {
		return "", core.Errorf(core.EINVALID, "missing endpoint name in the path")
	}
	return name, nil
}

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var req CreateEndpointRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e := core.Endpoint{
		Name:          req.Name,
		ModelURI:      req.ModelURI,
		Secondary:     targetOf(req.Secondary),
		Description:   req.Description,
		LogSampleRate: DefaultLogSampleRate,
		SubjectField:  req.SubjectField,
	}
	if req.LogSampleRate != nil {
		e.LogSampleRate = *req.LogSampleRate
	}
	created, err := s.st.CreateEndpoint(r.Context(), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.endpointOf(created))
}

func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.ListEndpoints(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := EndpointList{Endpoints: make([]Endpoint, 0, len(list))}
	for _, e := range list {
		out.Endpoints = append(out.Endpoints, s.endpointOf(e))
	}
	s.reply(w, out)
}

func (s *server) getEndpoint(w http.ResponseWriter, r *http.Request) {
	name, err := pathEndpoint(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.st.GetEndpoint(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, s.endpointOf(e))
}

// updateFields lists the fields a PATCH may carry, for messages.
const updateFields = "model_uri, secondary, description, log_sample_rate, subject_field"

func (s *server) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	name, err := pathEndpoint(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req UpdateEndpointRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name != nil && *req.Name != name {
		s.writeError(w, r, core.Errorf(core.EINVALID,
			"an endpoint cannot be renamed (%q in the body, %q in the path): create a new endpoint and delete the old one", *req.Name, name))
		return
	}
	u := core.EndpointUpdate{
		ModelURI:      req.ModelURI,
		Description:   req.Description,
		LogSampleRate: req.LogSampleRate,
		SubjectField:  req.SubjectField,
	}
	if req.Secondary.Set {
		u.Secondary = targetOf(req.Secondary.Target)
		u.ClearSecondary = req.Secondary.Target == nil
	}
	if u.ModelURI == nil && !req.Secondary.Set && u.Description == nil && u.LogSampleRate == nil && u.SubjectField == nil {
		s.writeError(w, r, core.Errorf(core.EINVALID,
			"nothing to change: send at least one of %s (\"secondary\": null removes the second target)", updateFields))
		return
	}
	e, err := s.st.UpdateEndpoint(r.Context(), name, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, s.endpointOf(e))
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	name, err := pathEndpoint(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.st.DeleteEndpoint(r.Context(), name); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
