package mlflow

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// loggedModelRoutes are the MLflow 3 logged-model routes, under the tracking prefixes.
//
// POST /logged-models/search is served by the POST /logged-models/{model_id}
// pattern: a separate literal route would get routes() a method-less fallback
// "/logged-models/search" that conflicts with "GET /logged-models/{model_id}"
// (neither pattern is more specific), which ServeMux refuses.
func (s *server) loggedModelRoutes() []route {
	return []route{
		{[]string{"POST"}, "/logged-models", s.createLoggedModel},
		{[]string{"GET"}, "/logged-models/{model_id}", s.getLoggedModel},
		{[]string{"PATCH"}, "/logged-models/{model_id}", s.finalizeLoggedModel},
		{[]string{"DELETE"}, "/logged-models/{model_id}", s.deleteLoggedModel},
		{[]string{"POST"}, "/logged-models/{model_id}", s.postLoggedModel},
		{[]string{"PATCH"}, "/logged-models/{model_id}/tags", s.setLoggedModelTags},
		{[]string{"DELETE"}, "/logged-models/{model_id}/tags/{tag_key...}", s.deleteLoggedModelTag},
		{[]string{"POST"}, "/logged-models/{model_id}/params", s.logLoggedModelParams},
		{[]string{"GET"}, "/logged-models/{model_id}/artifacts/directories", s.listLoggedModelArtifacts},
		{[]string{"POST"}, "/runs/outputs", s.logOutputs},
		{[]string{"POST"}, "/runs/log-model", s.logModel},
	}
}

// Limits of MLflow's logged_models columns.
const (
	maxLoggedModelNameLen = 500
	maxModelTypeLen       = 500
)

type wireLoggedModelInfo struct {
	ModelID                string    `json:"model_id"`
	ExperimentID           string    `json:"experiment_id"`
	Name                   string    `json:"name"`
	CreationTimestampMS    int64     `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMS int64     `json:"last_updated_timestamp_ms"`
	ArtifactURI            string    `json:"artifact_uri"`
	Status                 string    `json:"status"`
	ModelType              string    `json:"model_type,omitempty"`
	SourceRunID            string    `json:"source_run_id,omitempty"`
	StatusMessage          string    `json:"status_message,omitempty"`
	Tags                   []wireTag `json:"tags,omitempty"`
}

type wireLoggedModelData struct {
	Params  []wireTag    `json:"params,omitempty"`
	Metrics []wireMetric `json:"metrics,omitempty"`
}

type wireLoggedModel struct {
	Info wireLoggedModelInfo `json:"info"`
	Data wireLoggedModelData `json:"data"`
}

type loggedModelReply struct {
	Model wireLoggedModel `json:"model"`
}

// loggedModelStatuses are the LoggedModelStatus enum names, indexed by number,
// with the core status each stands for.
var loggedModelStatuses = []struct{ wire, core string }{
	{"LOGGED_MODEL_STATUS_UNSPECIFIED", ""},
	{"LOGGED_MODEL_PENDING", core.LoggedModelPending},
	{"LOGGED_MODEL_READY", core.LoggedModelReady},
	{"LOGGED_MODEL_UPLOAD_FAILED", core.LoggedModelFailed},
}

func wireLoggedModelStatus(status string) string {
	for _, st := range loggedModelStatuses[1:] {
		if st.core == status {
			return st.wire
		}
	}
	return loggedModelStatuses[0].wire
}

// loggedModelStatus is the LoggedModelStatus enum: its name or its number.
// UNSPECIFIED decodes (Set, V == "") so that the handler can name it in its error.
type loggedModelStatus struct {
	V   string
	Set bool
}

func (v *loggedModelStatus) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	if null || err != nil {
		*v = loggedModelStatus{}
		return err
	}
	n, nerr := strconv.Atoi(s)
	for i, st := range loggedModelStatuses {
		if s == st.wire || (nerr == nil && n == i) {
			*v = loggedModelStatus{st.core, true}
			return nil
		}
	}
	return fmt.Errorf("%s is not a LoggedModelStatus (LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED)", b)
}

func toWireLoggedModel(m core.LoggedModel) wireLoggedModel {
	w := wireLoggedModel{Info: wireLoggedModelInfo{
		ModelID: m.ID, ExperimentID: m.ExperimentID, Name: m.Name,
		CreationTimestampMS: m.CreationTime, LastUpdatedTimestampMS: m.LastUpdateTime,
		ArtifactURI: m.ArtifactURI, Status: wireLoggedModelStatus(m.Status),
		ModelType: m.ModelType, SourceRunID: m.SourceRunID, StatusMessage: m.StatusMessage,
		Tags: toWireTags(m.Tags),
	}}
	if len(m.Params) > 0 {
		w.Data.Params = make([]wireTag, len(m.Params))
		for i, p := range m.Params {
			w.Data.Params[i] = wireTag(p)
		}
	}
	if len(m.Metrics) > 0 {
		w.Data.Metrics = make([]wireMetric, len(m.Metrics))
		for i, x := range m.Metrics {
			w.Data.Metrics[i] = toWireMetric(x, true)
		}
	}
	return w
}

// checkLoggedModelName refuses what MLflow's _validate_logged_model_name refuses:
// the name becomes part of models:/ URIs and file names.
func checkLoggedModelName(name string) error {
	if strings.ContainsAny(name, `/:.%"'`) {
		return invalidf(`Invalid model name ('%s') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%%', '"', "'")`, name)
	}
	return checkLength("name", maxLoggedModelNameLen, name)
}

// modelKeyValues checks the tags or params of a logged model. MLflow does not
// restrict their keys as it does a run's (they never become file names), so only
// a key is required and its length bounded. Later duplicates win, as in MLflow.
func modelKeyValues(field string, in []keyValueIn) ([]core.Tag, error) {
	out := make([]core.Tag, 0, len(in))
	at := make(map[string]int, len(in))
	for i, kv := range in {
		if kv.Key == nil || *kv.Key == "" {
			return nil, missing(fmt.Sprintf("%s[%d].key", field, i))
		}
		if err := checkLength(fmt.Sprintf("%s[%d].key", field, i), maxEntityKeyLength, *kv.Key); err != nil {
			return nil, err
		}
		t := core.Tag{Key: *kv.Key, Value: kv.Value}
		if j, ok := at[t.Key]; ok {
			out[j] = t
			continue
		}
		at[t.Key] = len(out)
		out = append(out, t)
	}
	return out, nil
}

func toParams(tags []core.Tag) []core.Param {
	out := make([]core.Param, len(tags))
	for i, t := range tags {
		out[i] = core.Param(t)
	}
	return out
}

// modelIDOf is the model named by the path; a model_id in the body (the client
// repeats it there) must be the same model.
func modelIDOf(r *http.Request, bodyID string) (string, error) {
	id := r.PathValue("model_id")
	if id == "" {
		return "", missing("model_id")
	}
	if bodyID != "" && bodyID != id {
		return "", invalidf("model_id %q in the request body does not match model_id %q in the path", bodyID, id)
	}
	return id, nil
}

func (s *server) createLoggedModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string       `json:"experiment_id"`
		Name         string       `json:"name"`
		ModelType    string       `json:"model_type"`
		SourceRunID  string       `json:"source_run_id"`
		Params       []keyValueIn `json:"params"`
		Tags         []keyValueIn `json:"tags"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkExperimentID("experiment_id", req.ExperimentID)
	if err == nil && req.Name != "" {
		err = checkLoggedModelName(req.Name)
	}
	if err == nil {
		err = checkLength("model_type", maxModelTypeLen, req.ModelType)
	}
	if err == nil && req.SourceRunID != "" && !runIDRe.MatchString(req.SourceRunID) {
		err = invalidValue("source_run_id", req.SourceRunID, "")
	}
	var params, tags []core.Tag
	if err == nil {
		params, err = modelKeyValues("params", req.Params)
	}
	if err == nil {
		tags, err = modelKeyValues("tags", req.Tags)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The store names an unnamed model, as MLflow does.
	m, err := s.st.CreateLoggedModel(r.Context(), core.LoggedModel{
		ExperimentID: req.ExperimentID, Name: req.Name, ModelType: req.ModelType,
		SourceRunID: req.SourceRunID, Params: toParams(params), Tags: tags,
	})
	s.reply(w, r, loggedModelReply{toWireLoggedModel(m)}, err)
}

func (s *server) getLoggedModel(w http.ResponseWriter, r *http.Request) {
	id, err := modelIDOf(r, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.GetLoggedModel(r.Context(), id)
	s.reply(w, r, loggedModelReply{toWireLoggedModel(m)}, err)
}

// postLoggedModel is POST /logged-models/{model_id}: only "search" is a POST route.
func (s *server) postLoggedModel(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("model_id") == "search" {
		s.searchLoggedModels(w, r)
		return
	}
	s.methodNotAllowed("GET, PATCH, DELETE")(w, r)
}

func (s *server) finalizeLoggedModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ModelID string            `json:"model_id"`
		Status  loggedModelStatus `json:"status"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := modelIDOf(r, req.ModelID)
	if err == nil && !req.Status.Set {
		err = missing("status")
	}
	if err == nil && req.Status.V != core.LoggedModelReady && req.Status.V != core.LoggedModelFailed {
		err = invalidValue("status", wireLoggedModelStatus(req.Status.V),
			"a logged model is finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.FinalizeLoggedModel(r.Context(), id, req.Status.V)
	s.reply(w, r, loggedModelReply{toWireLoggedModel(m)}, err)
}

// deleteLoggedModel ignores the body: the client repeats the path's model_id there.
func (s *server) deleteLoggedModel(w http.ResponseWriter, r *http.Request) {
	id, err := modelIDOf(r, "")
	if err == nil {
		err = s.st.DeleteLoggedModel(r.Context(), id)
	}
	s.finish(w, r, err)
}

func (s *server) setLoggedModelTags(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ModelID string       `json:"model_id"`
		Tags    []keyValueIn `json:"tags"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := modelIDOf(r, req.ModelID)
	var tags []core.Tag
	if err == nil {
		tags, err = modelKeyValues("tags", req.Tags)
	}
	if err == nil {
		err = s.writeToModel(r, id, len(tags), func() error { return s.st.SetLoggedModelTags(r.Context(), id, tags) })
	}
	s.finish(w, r, err)
}

// writeToModel runs write, or for an empty write only checks that the model
// exists: MLflow answers RESOURCE_DOES_NOT_EXIST for an unknown model either way.
func (s *server) writeToModel(r *http.Request, id string, n int, write func() error) error {
	if n == 0 {
		_, err := s.st.GetLoggedModel(r.Context(), id)
		return err
	}
	return write()
}

func (s *server) deleteLoggedModelTag(w http.ResponseWriter, r *http.Request) {
	id, err := modelIDOf(r, "")
	key := r.PathValue("tag_key")
	if err == nil && key == "" {
		err = missing("tag_key")
	}
	if err == nil {
		err = s.st.DeleteLoggedModelTag(r.Context(), id, key)
	}
	s.finish(w, r, err)
}

func (s *server) logLoggedModelParams(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ModelID string       `json:"model_id"`
		Params  []keyValueIn `json:"params"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := modelIDOf(r, req.ModelID)
	var params []core.Tag
	if err == nil {
		params, err = modelKeyValues("params", req.Params)
	}
	if err == nil {
		err = s.writeToModel(r, id, len(params), func() error {
			return s.st.LogLoggedModelParams(r.Context(), id, toParams(params))
		})
	}
	s.finish(w, r, err)
}

// listLoggedModelArtifacts lists a folder of a model's artifacts, as
// listRunArtifacts does for a run. The listing is complete, so it never has a
// next_page_token; a page_token is accepted and ignored.
func (s *server) listLoggedModelArtifacts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ArtifactDirectoryPath string `json:"artifact_directory_path"`
		PageToken             string `json:"page_token"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := modelIDOf(r, "")
	var rel string
	if err == nil {
		rel, err = artifactKey(req.ArtifactDirectoryPath)
	}
	var m core.LoggedModel
	if err == nil {
		m, err = s.st.GetLoggedModel(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		RootURI string         `json:"root_uri"`
		Files   []wireFileInfo `json:"files,omitempty"`
	}{RootURI: m.ArtifactURI}
	if root, ok := proxiedKey(m.ArtifactURI); ok {
		entries, err := s.art.List(r.Context(), joinKey(root, rel))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		resp.Files = fileInfos(entries, rel)
	}
	writeJSON(w, resp)
}
