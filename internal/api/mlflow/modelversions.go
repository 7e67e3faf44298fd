package mlflow

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// defaultModelVersions is SearchModelVersions.max_results' default in MLflow's
// proto: a search without max_results gets everything up to the limit.
const defaultModelVersions = store.MaxModelVersionSearchResults

// tagModelVersions is the logged-model tag listing the versions registered from it.
const tagModelVersions = "mlflow.modelVersions"

type wireModelVersion struct {
	Name                 string    `json:"name"`
	Version              string    `json:"version"`
	CreationTimestamp    int64     `json:"creation_timestamp"`
	LastUpdatedTimestamp int64     `json:"last_updated_timestamp"`
	UserID               string    `json:"user_id,omitempty"`
	CurrentStage         string    `json:"current_stage"`
	Description          string    `json:"description"`
	Source               string    `json:"source"`
	RunID                string    `json:"run_id,omitempty"`
	Status               string    `json:"status"`
	StatusMessage        string    `json:"status_message,omitempty"`
	Tags                 []wireTag `json:"tags,omitempty"`
	RunLink              string    `json:"run_link,omitempty"`
	Aliases              []string  `json:"aliases,omitempty"`
	ModelID              string    `json:"model_id,omitempty"`
}

func toWireModelVersion(mv core.ModelVersion) wireModelVersion {
	w := wireModelVersion{
		Name: mv.Name, Version: strconv.FormatInt(mv.Version, 10),
		CreationTimestamp: mv.CreationTime, LastUpdatedTimestamp: mv.LastUpdateTime,
		UserID: mv.UserID, CurrentStage: mv.CurrentStage, Description: mv.Description,
		Source: mv.Source, RunID: mv.RunID, Status: mv.Status, StatusMessage: mv.StatusMessage,
		Tags: toWireTags(mv.Tags), RunLink: mv.RunLink, Aliases: mv.Aliases, ModelID: mv.ModelID,
	}
	if w.CurrentStage == "" {
		w.CurrentStage = core.StageNone
	}
	if w.Status == "" {
		w.Status = core.ModelVersionReady
	}
	return w
}

type modelVersionReply struct {
	ModelVersion wireModelVersion `json:"model_version"`
}

type modelVersionsPage struct {
	ModelVersions []wireModelVersion `json:"model_versions,omitempty"`
	NextPageToken string             `json:"next_page_token,omitempty"`
}

func modelVersionsReply(mvs []core.ModelVersion, next string) modelVersionsPage {
	p := modelVersionsPage{NextPageToken: next}
	for _, mv := range mvs {
		p.ModelVersions = append(p.ModelVersions, toWireModelVersion(mv))
	}
	return p
}

func (s *server) createModelVersion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string    `json:"name"`
		Source      string    `json:"source"`
		RunID       *string   `json:"run_id"`
		Tags        []wireTag `json:"tags"`
		RunLink     string    `json:"run_link"`
		Description string    `json:"description"`
		ModelID     *string   `json:"model_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = requireString("source", req.Source)
	}
	tags, terr := registryTags(req.Tags)
	if err == nil {
		err = terr
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mv := core.ModelVersion{
		Name: req.Name, Source: req.Source, Tags: tags, RunLink: req.RunLink,
		Description: req.Description, UserID: core.ActorFrom(r.Context()),
	}
	if req.RunID != nil {
		mv.RunID = *req.RunID
	}
	if req.ModelID != nil {
		mv.ModelID = *req.ModelID
	}
	prompt := isPrompt(tags)
	if err := s.resolveSource(r.Context(), &mv, req.RunID != nil, req.ModelID != nil, prompt); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.st.CreateModelVersion(r.Context(), mv)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if created.ModelID != "" && !prompt {
		// As MLflow's server does; the version stands even if this bookkeeping fails.
		if err := s.linkLoggedModel(r.Context(), created); err != nil {
			s.log.WarnContext(r.Context(), "could not record the model version on its logged model",
				"model_id", created.ModelID, "name", created.Name, "version", created.Version, "error", err)
		}
	}
	writeJSON(w, modelVersionReply{toWireModelVersion(created)})
}

// linkLoggedModel appends {"name", "version"} to the logged model's mlflow.modelVersions
// tag (a JSON list), unless it is already there, as MLflow's set_model_versions_tags.
func (s *server) linkLoggedModel(ctx context.Context, mv core.ModelVersion) error {
	m, err := s.st.GetLoggedModel(ctx, mv.ModelID)
	if err != nil {
		return err
	}
	var old string
	for _, t := range m.Tags {
		if t.Key == tagModelVersions {
			old = t.Value
		}
	}
	value, changed, err := appendModelVersion(old, mv.Name, mv.Version)
	if err != nil || !changed {
		return err
	}
	return s.st.SetLoggedModelTags(ctx, mv.ModelID, []core.Tag{{Key: tagModelVersions, Value: value}})
}

// appendModelVersion adds one registration to the tag's JSON list, written as Python's
// json.dumps writes it. The version is a number, as MLflow's server records it; an
// entry whose version is the same number written as a string counts as present.
func appendModelVersion(old, name string, version int64) (string, bool, error) {
	type entry struct {
		Name    string          `json:"name"`
		Version json.RawMessage `json:"version"`
	}
	var entries []entry
	if strings.TrimSpace(old) != "" {
		if err := json.Unmarshal([]byte(old), &entries); err != nil {
			return "", false, core.Errorf(core.EINVALID, "tag %s is not a JSON list of model versions: %v", tagModelVersions, err)
		}
	}
	v := strconv.FormatInt(version, 10)
	for _, e := range entries {
		if got, _, _ := scalarText(e.Version); e.Name == name && got == v {
			return old, false, nil
		}
	}
	entries = append(entries, entry{name, json.RawMessage(v)})
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		n, _ := json.Marshal(e.Name)
		ver := e.Version
		if len(ver) == 0 {
			ver = json.RawMessage("null")
		}
		b.WriteString(`{"name": ` + string(n) + `, "version": ` + string(ver) + `}`)
	}
	b.WriteByte(']')
	return b.String(), true, nil
}

type versionRequest struct {
	Name    string      `json:"name"`
	Version versionText `json:"version"`
}

// checkNameVersion validates the name and version every model-version call carries.
// (Requests list the two fields rather than embed versionRequest: the query decoder
// reads top-level fields only.)
func checkNameVersion(name string, v versionText) (int64, error) {
	if err := checkModelName("name", name); err != nil {
		return 0, err
	}
	return parseVersion(v)
}

func (s *server) getModelVersion(w http.ResponseWriter, r *http.Request) {
	var req versionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mv, err := s.st.GetModelVersion(r.Context(), req.Name, version)
	s.reply(w, r, modelVersionReply{toWireModelVersion(mv)}, err)
}

func (s *server) getModelVersionDownloadURI(w http.ResponseWriter, r *http.Request) {
	var req versionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mv, err := s.st.GetModelVersion(r.Context(), req.Name, version)
	uri := mv.StorageLocation
	if uri == "" {
		uri = mv.Source
	}
	s.reply(w, r, struct {
		ArtifactURI string `json:"artifact_uri"`
	}{uri}, err)
}

func (s *server) updateModelVersion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string      `json:"name"`
		Version     versionText `json:"version"`
		Description string      `json:"description"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// As in MLflow, an absent description clears it.
	mv, err := s.st.UpdateModelVersion(r.Context(), req.Name, version, req.Description)
	s.reply(w, r, modelVersionReply{toWireModelVersion(mv)}, err)
}

func (s *server) transitionModelVersionStage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name            string      `json:"name"`
		Version         versionText `json:"version"`
		Stage           string      `json:"stage"`
		ArchiveExisting optBool     `json:"archive_existing_versions"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err == nil {
		err = requireString("stage", req.Stage)
	}
	var stage string
	if err == nil {
		stage, err = canonicalStage(req.Stage)
	}
	if err == nil && req.ArchiveExisting.V && stage != core.StageStaging && stage != core.StageProduction {
		err = invalidf("Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", req.Stage)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mv, err := s.st.TransitionModelVersionStage(r.Context(), req.Name, version, stage, req.ArchiveExisting.V)
	s.reply(w, r, modelVersionReply{toWireModelVersion(mv)}, err)
}

func (s *server) deleteModelVersion(w http.ResponseWriter, r *http.Request) {
	var req versionRequest
	if err := s.decodeDelete(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err == nil {
		err = s.st.DeleteModelVersion(r.Context(), req.Name, version)
	}
	s.finish(w, r, err)
}

func (s *server) searchModelVersions(w http.ResponseWriter, r *http.Request) {
	q, err := s.registrySearch(w, r, defaultModelVersions, store.MaxModelVersionSearchResults,
		search.ParseModelVersionFilter, search.ParseModelVersionOrderBy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mvs, next, err := s.st.SearchModelVersions(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeModelVersions(w, mvs, next)
}

func (s *server) setModelVersionTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string      `json:"name"`
		Version versionText `json:"version"`
		Key     string      `json:"key"`
		Value   string      `json:"value"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	tag := core.Tag{Key: req.Key, Value: req.Value}
	version, err := checkNameVersion(req.Name, req.Version)
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = checkRegistryTag(tag)
	}
	if err == nil {
		err = s.st.SetModelVersionTag(r.Context(), req.Name, version, tag)
	}
	s.finish(w, r, err)
}

func (s *server) deleteModelVersionTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string      `json:"name"`
		Version versionText `json:"version"`
		Key     string      `json:"key"`
	}
	if err := s.decodeDelete(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	version, err := checkNameVersion(req.Name, req.Version)
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = checkName("key", req.Key)
	}
	if err == nil {
		err = s.st.DeleteModelVersionTag(r.Context(), req.Name, version, req.Key)
	}
	s.finish(w, r, err)
}
