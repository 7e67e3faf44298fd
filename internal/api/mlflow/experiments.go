package mlflow

import (
	"net/http"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	LastUpdateTime   int64     `json:"last_update_time"`
	CreationTime     int64     `json:"creation_time"`
	Tags             []wireTag `json:"tags,omitempty"`
}

func toWireTags(tags []core.Tag) []wireTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]wireTag, len(tags))
	for i, t := range tags {
		out[i] = wireTag(t)
	}
	return out
}

func fromWireTags(tags []wireTag) []core.Tag {
	out := make([]core.Tag, len(tags))
	for i, t := range tags {
		out[i] = core.Tag(t)
	}
	return out
}

func toWireExperiment(e core.Experiment) wireExperiment {
	return wireExperiment{
		ExperimentID:     e.ID,
		Name:             e.Name,
		ArtifactLocation: e.ArtifactLocation,
		LifecycleStage:   e.LifecycleStage,
		LastUpdateTime:   e.LastUpdateTime,
		CreationTime:     e.CreationTime,
		Tags:             toWireTags(e.Tags),
	}
}

func checkExperimentName(name string) error {
	if name == "" {
		return invalidf("Invalid experiment name: '%s'", name)
	}
	return checkLength("name", maxExperimentNameLen, name)
}

func (s *server) createExperiment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name             string    `json:"name"`
		ArtifactLocation string    `json:"artifact_location"`
		Tags             []wireTag `json:"tags"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name == "" {
		s.writeError(w, r, missing("name"))
		return
	}
	if err := checkExperimentName(req.Name); err != nil {
		s.writeError(w, r, err)
		return
	}
	tags := fromWireTags(req.Tags)
	for _, t := range tags {
		if err := checkExperimentTag(t); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	exp, err := s.st.CreateExperiment(r.Context(), core.Experiment{
		Name: req.Name, ArtifactLocation: req.ArtifactLocation, Tags: tags,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, struct {
		ExperimentID string `json:"experiment_id"`
	}{exp.ID})
}

func (s *server) getExperiment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkExperimentID("experiment_id", req.ExperimentID); err != nil {
		s.writeError(w, r, err)
		return
	}
	exp, err := s.st.GetExperiment(r.Context(), req.ExperimentID)
	s.reply(w, r, struct {
		Experiment wireExperiment `json:"experiment"`
	}{toWireExperiment(exp)}, err)
}

func (s *server) getExperimentByName(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentName string `json:"experiment_name"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := requireString("experiment_name", req.ExperimentName); err != nil {
		s.writeError(w, r, err)
		return
	}
	exp, err := s.st.GetExperimentByName(r.Context(), req.ExperimentName)
	s.reply(w, r, struct {
		Experiment wireExperiment `json:"experiment"`
	}{toWireExperiment(exp)}, err)
}

// toViewType maps the ViewType enum, ACTIVE_ONLY when absent.
func toViewType(v viewType) core.ViewType {
	switch v.V {
	case 2:
		return core.ViewDeletedOnly
	case 3:
		return core.ViewAll
	}
	return core.ViewActiveOnly
}

// parseOrderBy parses each order_by clause with parse.
func parseOrderBy(clauses []string, parse func(string) (search.OrderBy, error)) ([]search.OrderBy, error) {
	if len(clauses) == 0 {
		return nil, nil
	}
	out := make([]search.OrderBy, 0, len(clauses))
	for _, c := range clauses {
		ob, err := parse(c)
		if err != nil {
			return nil, err
		}
		out = append(out, ob)
	}
	return out, nil
}

// maxResults applies a default and MLflow's bounds to a search's max_results.
func maxResults(v optInt64, def, limit int) (int, error) {
	if !v.Set {
		return def, nil
	}
	if v.V < 1 {
		return 0, invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", v.V)
	}
	if v.V > int64(limit) {
		return 0, invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", v.V, limit)
	}
	return int(v.V), nil
}

func (s *server) searchExperiments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MaxResults optInt64 `json:"max_results"`
		PageToken  string   `json:"page_token"`
		Filter     string   `json:"filter"`
		OrderBy    []string `json:"order_by"`
		ViewType   viewType `json:"view_type"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := maxResults(req.MaxResults, store.DefaultRunSearchResults, store.MaxExperimentSearchResults)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.ExperimentSearch{ViewType: toViewType(req.ViewType), MaxResults: n, PageToken: req.PageToken}
	if q.Filter, err = search.ParseExperimentFilter(req.Filter); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.OrderBy, err = parseOrderBy(req.OrderBy, search.ParseExperimentOrderBy); err != nil {
		s.writeError(w, r, err)
		return
	}
	exps, next, err := s.st.SearchExperiments(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		Experiments   []wireExperiment `json:"experiments"`
		NextPageToken string           `json:"next_page_token,omitempty"`
	}{Experiments: make([]wireExperiment, len(exps)), NextPageToken: next}
	for i, e := range exps {
		resp.Experiments[i] = toWireExperiment(e)
	}
	writeJSON(w, resp)
}

func (s *server) updateExperiment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkExperimentID("experiment_id", req.ExperimentID)
	if err == nil && req.NewName != "" {
		err = checkExperimentName(req.NewName)
	}
	if err == nil && req.NewName != "" {
		err = s.st.RenameExperiment(r.Context(), req.ExperimentID, req.NewName)
	} else if err == nil {
		// MLflow's update without a new name changes nothing but still needs the experiment.
		_, err = s.st.GetExperiment(r.Context(), req.ExperimentID)
	}
	s.finish(w, r, err)
}

func (s *server) experimentIDCall(w http.ResponseWriter, r *http.Request, call func(id string) error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkExperimentID("experiment_id", req.ExperimentID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.finish(w, r, call(req.ExperimentID))
}

func (s *server) deleteExperiment(w http.ResponseWriter, r *http.Request) {
	s.experimentIDCall(w, r, func(id string) error {
		if id == core.DefaultExperimentID {
			return invalidf("Cannot delete the default experiment '%s'. This is an internally reserved experiment.", id)
		}
		return s.st.DeleteExperiment(r.Context(), id)
	})
}

func (s *server) restoreExperiment(w http.ResponseWriter, r *http.Request) {
	s.experimentIDCall(w, r, func(id string) error { return s.st.RestoreExperiment(r.Context(), id) })
}

func (s *server) setExperimentTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkExperimentID("experiment_id", req.ExperimentID)
	if err == nil {
		err = requireString("key", req.Key)
	}
	tag := core.Tag{Key: req.Key, Value: req.Value}
	if err == nil {
		err = checkExperimentTag(tag)
	}
	if err == nil {
		err = s.st.SetExperimentTag(r.Context(), req.ExperimentID, tag)
	}
	s.finish(w, r, err)
}

func (s *server) deleteExperimentTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkExperimentID("experiment_id", req.ExperimentID)
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = s.st.DeleteExperimentTag(r.Context(), req.ExperimentID, req.Key)
	}
	s.finish(w, r, err)
}

// finish answers {} on success or the error.
func (s *server) finish(w http.ResponseWriter, r *http.Request, err error) {
	s.reply(w, r, empty, err)
}

// reply answers v on success or the error.
func (s *server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, v)
}
