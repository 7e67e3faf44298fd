package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// registryRoutes are the model registry routes, under the tracking prefixes.
func (s *server) registryRoutes() []route {
	return []route{
		{[]string{"POST"}, "/registered-models/create", s.createRegisteredModel},
		{[]string{"POST"}, "/registered-models/rename", s.renameRegisteredModel},
		{[]string{"PATCH"}, "/registered-models/update", s.updateRegisteredModel},
		{[]string{"DELETE"}, "/registered-models/delete", s.deleteRegisteredModel},
		{[]string{"GET"}, "/registered-models/get", s.getRegisteredModel},
		{[]string{"GET"}, "/registered-models/search", s.searchRegisteredModels},
		{[]string{"POST", "GET"}, "/registered-models/get-latest-versions", s.getLatestVersions},
		{[]string{"POST"}, "/registered-models/set-tag", s.setRegisteredModelTag},
		{[]string{"DELETE"}, "/registered-models/delete-tag", s.deleteRegisteredModelTag},
		{[]string{"POST"}, "/registered-models/alias", s.setRegisteredModelAlias},
		{[]string{"DELETE"}, "/registered-models/alias", s.deleteRegisteredModelAlias},
		{[]string{"GET"}, "/registered-models/alias", s.getModelVersionByAlias},

		{[]string{"POST"}, "/model-versions/create", s.createModelVersion},
		{[]string{"PATCH"}, "/model-versions/update", s.updateModelVersion},
		{[]string{"POST"}, "/model-versions/transition-stage", s.transitionModelVersionStage},
		{[]string{"DELETE"}, "/model-versions/delete", s.deleteModelVersion},
		{[]string{"GET"}, "/model-versions/get", s.getModelVersion},
		{[]string{"GET"}, "/model-versions/search", s.searchModelVersions},
		{[]string{"GET"}, "/model-versions/get-download-uri", s.getModelVersionDownloadURI},
		{[]string{"POST"}, "/model-versions/set-tag", s.setModelVersionTag},
		{[]string{"DELETE"}, "/model-versions/delete-tag", s.deleteModelVersionTag},
	}
}

// Registry limits from mlflow/utils/validation.py.
const (
	maxRegistryTagKeyLength   = 250
	maxRegistryTagValueLength = 100_000
	maxAliasLength            = 255
	defaultRegisteredModels   = 100 // SearchRegisteredModels.max_results default
)

type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wireRegisteredModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	UserID               string             `json:"user_id,omitempty"`
	Description          string             `json:"description,omitempty"`
	LatestVersions       []wireModelVersion `json:"latest_versions,omitempty"`
	Tags                 []wireTag          `json:"tags,omitempty"`
	Aliases              []wireAlias        `json:"aliases,omitempty"`
}

func toWireRegisteredModel(m core.RegisteredModel) wireRegisteredModel {
	w := wireRegisteredModel{
		Name: m.Name, CreationTimestamp: m.CreationTime, LastUpdatedTimestamp: m.LastUpdateTime,
		UserID: m.UserID, Description: m.Description, Tags: toWireTags(m.Tags),
	}
	for _, v := range m.LatestVersions {
		w.LatestVersions = append(w.LatestVersions, toWireModelVersion(v))
	}
	for _, a := range m.Aliases {
		w.Aliases = append(w.Aliases, wireAlias{a.Alias, strconv.FormatInt(a.Version, 10)})
	}
	return w
}

type registeredModelReply struct {
	RegisteredModel wireRegisteredModel `json:"registered_model"`
}

// versionText is a model version as it travels: protobuf makes it a string ("3");
// a JSON number is taken too. It is parsed by parseVersion, so that a bad value
// gets MLflow's message rather than a decoding error.
type versionText struct {
	S   string
	Set bool
}

func (v *versionText) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	*v = versionText{S: s, Set: !null && err == nil}
	return err
}

func parseVersion(v versionText) (int64, error) {
	if !v.Set || v.S == "" {
		return 0, missing("version")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64)
	if err != nil {
		return 0, invalidf("Parameter 'version' must be an integer, got '%s'.", v.S)
	}
	return n, nil
}

// optBool is a protobuf bool: JSON true/false, or "true"/"false" as a query string has it.
type optBool struct {
	V   bool
	Set bool
}

func (o *optBool) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	if null || err != nil {
		*o = optBool{}
		return err
	}
	switch strings.ToLower(s) {
	case "true":
		*o = optBool{true, true}
	case "false":
		*o = optBool{false, true}
	default:
		return invalidf("Invalid boolean value: %s, must be 'true' or 'false'.", b)
	}
	return nil
}

// decodeDelete reads a DELETE request: the mlflow client sends a JSON body, as
// MLflow's server expects; a body-less DELETE with a query string (curl, some UIs)
// is read from the query instead.
func (s *server) decodeDelete(w http.ResponseWriter, r *http.Request, req any) error {
	if r.ContentLength == 0 && r.URL.RawQuery != "" {
		return decodeQuery(r, req)
	}
	return s.decode(w, r, req)
}

// checkModelName validates a registered model name as MLflow's _validate_model_name:
// not blank, no '/' or ':', and a normalised path (names can become file names).
func checkModelName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return missing(field)
	}
	if strings.ContainsAny(name, "/:") {
		return invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	if norm := path.Clean(name); norm != name || norm == "." || strings.HasPrefix(norm, "..") {
		return invalidValue(field, name, fmt.Sprintf("Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", norm))
	}
	return nil
}

// checkRegistryTag validates a registered model or model version tag: MLflow keeps
// registry tag values up to 100,000 characters and refuses longer ones.
func checkRegistryTag(t core.Tag) error {
	if err := checkName("key", t.Key); err != nil {
		return err
	}
	if err := checkLength("key", maxRegistryTagKeyLength, t.Key); err != nil {
		return err
	}
	return checkLength("value", maxRegistryTagValueLength, t.Value)
}

// registryTags validates tags given at creation; a repeated key keeps its last value, as in MLflow.
func registryTags(in []wireTag) ([]core.Tag, error) {
	var out []core.Tag
	at := map[string]int{}
	for _, w := range in {
		t := core.Tag(w)
		if err := checkRegistryTag(t); err != nil {
			return nil, err
		}
		if i, ok := at[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		at[t.Key] = len(out)
		out = append(out, t)
	}
	return out, nil
}

// checkAlias validates an alias name as MLflow's _validate_model_alias_name.
func checkAlias(alias string) error {
	if alias == "" {
		return missing("alias")
	}
	for _, r := range alias {
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-') {
			return invalidf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
		}
	}
	return checkLength("Registered model alias name", maxAliasLength, alias)
}

// checkSettableAlias also refuses the names MLflow reserves: "latest" and version
// aliases such as "v3", which models:/name@… URIs would read differently.
func checkSettableAlias(alias string) error {
	if err := checkAlias(alias); err != nil {
		return err
	}
	if strings.EqualFold(alias, "latest") {
		return invalidf("'latest' alias name (case insensitive) is reserved.")
	}
	if len(alias) > 1 && (alias[0] == 'v' || alias[0] == 'V') && !strings.ContainsFunc(alias[1:], func(r rune) bool { return !unicode.IsDigit(r) }) {
		return invalidf("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// canonicalStage maps a stage name, in any case, to MLflow's spelling.
func canonicalStage(stage string) (string, error) {
	for _, st := range []string{core.StageNone, core.StageStaging, core.StageProduction, core.StageArchived} {
		if strings.EqualFold(stage, st) {
			return st, nil
		}
	}
	return "", invalidf("Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", stage)
}

func (s *server) createRegisteredModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string    `json:"name"`
		Tags        []wireTag `json:"tags"`
		Description string    `json:"description"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkModelName("name", req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	tags, err := registryTags(req.Tags)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.CreateRegisteredModel(r.Context(), core.RegisteredModel{
		Name: req.Name, Description: req.Description, Tags: tags,
		UserID: core.ActorFrom(r.Context()),
	})
	s.reply(w, r, registeredModelReply{toWireRegisteredModel(m)}, err)
}

type nameRequest struct {
	Name string `json:"name"`
}

func (s *server) getRegisteredModel(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkModelName("name", req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.GetRegisteredModel(r.Context(), req.Name)
	s.reply(w, r, registeredModelReply{toWireRegisteredModel(m)}, err)
}

func (s *server) renameRegisteredModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = checkModelName("new_name", req.NewName)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.st.RenameRegisteredModel(r.Context(), req.Name, req.NewName)
	s.reply(w, r, registeredModelReply{toWireRegisteredModel(m)}, err)
}

func (s *server) updateRegisteredModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkModelName("name", req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	// As in MLflow, an absent description clears it.
	m, err := s.st.UpdateRegisteredModel(r.Context(), req.Name, req.Description)
	s.reply(w, r, registeredModelReply{toWireRegisteredModel(m)}, err)
}

func (s *server) deleteRegisteredModel(w http.ResponseWriter, r *http.Request) {
	var req nameRequest
	if err := s.decodeDelete(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = s.st.DeleteRegisteredModel(r.Context(), req.Name)
	}
	s.finish(w, r, err)
}

// registrySearch reads the request of both registry searches.
func (s *server) registrySearch(w http.ResponseWriter, r *http.Request, def, limit int,
	parseFilter func(string) (search.Filter, error), parseOrder func(string) (search.OrderBy, error),
) (store.RegistrySearch, error) {
	var req struct {
		Filter     string   `json:"filter"`
		MaxResults optInt64 `json:"max_results"`
		OrderBy    []string `json:"order_by"`
		PageToken  string   `json:"page_token"`
	}
	if err := s.decode(w, r, &req); err != nil {
		return store.RegistrySearch{}, err
	}
	n, err := maxResults(req.MaxResults, def, limit)
	if err != nil {
		return store.RegistrySearch{}, err
	}
	q := store.RegistrySearch{MaxResults: n, PageToken: req.PageToken}
	if q.Filter, err = parseFilter(req.Filter); err != nil {
		return q, err
	}
	if q.OrderBy, err = parseOrderBy(req.OrderBy, parseOrder); err != nil {
		return q, err
	}
	// MLflow refuses ordering twice by one field.
	seen := map[string]bool{}
	for _, ob := range q.OrderBy {
		if seen[ob.Key] {
			return q, invalidf("`order_by` contains duplicate fields: %s", pyList(req.OrderBy))
		}
		seen[ob.Key] = true
	}
	return q, nil
}

// pyList writes strings as Python prints a list of them, for MLflow's messages.
func pyList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = "'" + it + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func (s *server) searchRegisteredModels(w http.ResponseWriter, r *http.Request) {
	q, err := s.registrySearch(w, r, defaultRegisteredModels, store.MaxRegisteredModelSearchResults,
		search.ParseRegisteredModelFilter, search.ParseRegisteredModelOrderBy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	models, next, err := s.st.SearchRegisteredModels(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		RegisteredModels []wireRegisteredModel `json:"registered_models,omitempty"`
		NextPageToken    string                `json:"next_page_token,omitempty"`
	}{NextPageToken: next}
	for _, m := range models {
		resp.RegisteredModels = append(resp.RegisteredModels, toWireRegisteredModel(m))
	}
	writeJSON(w, resp)
}

func (s *server) getLatestVersions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string   `json:"name"`
		Stages []string `json:"stages"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkModelName("name", req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	stages := make([]string, len(req.Stages))
	for i, st := range req.Stages {
		c, err := canonicalStage(st)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		stages[i] = c
	}
	mvs, err := s.st.GetLatestVersions(r.Context(), req.Name, stages)
	s.reply(w, r, modelVersionsReply(mvs, ""), err)
}

func (s *server) setRegisteredModelTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name  string `json:"name"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	tag := core.Tag{Key: req.Key, Value: req.Value}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = checkRegistryTag(tag)
	}
	if err == nil {
		err = s.st.SetRegisteredModelTag(r.Context(), req.Name, tag)
	}
	s.finish(w, r, err)
}

func (s *server) deleteRegisteredModelTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if err := s.decodeDelete(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = checkName("key", req.Key)
	}
	if err == nil {
		err = s.st.DeleteRegisteredModelTag(r.Context(), req.Name, req.Key)
	}
	s.finish(w, r, err)
}

type aliasRequest struct {
	Name    string      `json:"name"`
	Alias   string      `json:"alias"`
	Version versionText `json:"version"`
}

func (s *server) setRegisteredModelAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = checkSettableAlias(req.Alias)
	}
	var version int64
	if err == nil {
		version, err = parseVersion(req.Version)
	}
	if err == nil {
		err = s.st.SetRegisteredModelAlias(r.Context(), req.Name, req.Alias, version)
	}
	s.finish(w, r, err)
}

func (s *server) deleteRegisteredModelAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if err := s.decodeDelete(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = checkAlias(req.Alias)
	}
	if err == nil {
		err = s.st.DeleteRegisteredModelAlias(r.Context(), req.Name, req.Alias)
	}
	s.finish(w, r, err)
}

func (s *server) getModelVersionByAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkModelName("name", req.Name)
	if err == nil {
		err = checkAlias(req.Alias)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var mv core.ModelVersion
	if strings.EqualFold(req.Alias, "latest") {
		mv, err = s.latestVersionOf(r.Context(), req.Name, nil)
	} else {
		mv, err = s.st.GetModelVersionByAlias(r.Context(), req.Name, req.Alias)
		if core.ErrorCode(err) == core.ENOTFOUND {
			// MLflow answers an unknown alias of a known model with INVALID_PARAMETER_VALUE
			// (and an unknown model with RESOURCE_DOES_NOT_EXIST); the client relies on neither,
			// but scripts check the code.
			if _, merr := s.st.GetRegisteredModel(r.Context(), req.Name); merr == nil {
				err = invalidf("%s", core.ErrorMessage(err))
			}
		}
	}
	s.reply(w, r, modelVersionReply{toWireModelVersion(mv)}, err)
}

// latestVersionOf is the highest version among the newest of each stage (all stages
// when stages is empty): what "latest" means in an alias or a models:/ URI.
func (s *server) latestVersionOf(ctx context.Context, name string, stages []string) (core.ModelVersion, error) {
	mvs, err := s.st.GetLatestVersions(ctx, name, stages)
	if err != nil {
		return core.ModelVersion{}, err
	}
	if len(mvs) == 0 {
		if len(stages) == 1 {
			return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "No versions of model with name '%s' and stage '%s' found", name, stages[0])
		}
		return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "Latest version not found for model %s.", name)
	}
	best := mvs[0]
	for _, mv := range mvs[1:] {
		if mv.Version > best.Version {
			best = mv
		}
	}
	return best, nil
}
