package mlflow

import (
	"fmt"
	"net/http"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

type wireRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wireDatasetInput struct {
	Tags    []wireTag   `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireRun struct {
	Info wireRunInfo `json:"info"`
	Data struct {
		Metrics []wireMetric `json:"metrics,omitempty"`
		Params  []wireTag    `json:"params,omitempty"`
		Tags    []wireTag    `json:"tags,omitempty"`
	} `json:"data"`
	Inputs struct {
		DatasetInputs []wireDatasetInput `json:"dataset_inputs,omitempty"`
	} `json:"inputs"`
	Outputs *wireRunOutputs `json:"outputs,omitempty"` // runoutputs.go
}

func toWireRunInfo(i core.RunInfo) wireRunInfo {
	return wireRunInfo{
		RunID: i.RunID, RunUUID: i.RunID, RunName: i.RunName, ExperimentID: i.ExperimentID,
		UserID: i.UserID, Status: i.Status, StartTime: i.StartTime, EndTime: i.EndTime,
		ArtifactURI: i.ArtifactURI, LifecycleStage: i.LifecycleStage,
	}
}

func toWireRun(r core.Run) wireRun {
	var w wireRun
	w.Info = toWireRunInfo(r.Info)
	if len(r.Metrics) > 0 {
		w.Data.Metrics = make([]wireMetric, len(r.Metrics))
		for i, m := range r.Metrics {
			w.Data.Metrics[i] = toWireMetric(m, false)
		}
	}
	if len(r.Params) > 0 {
		w.Data.Params = make([]wireTag, len(r.Params))
		for i, p := range r.Params {
			w.Data.Params[i] = wireTag(p)
		}
	}
	w.Data.Tags = toWireTags(r.Tags)
	for _, in := range r.Inputs {
		w.Inputs.DatasetInputs = append(w.Inputs.DatasetInputs, wireDatasetInput{
			Tags:    toWireTags(in.Tags),
			Dataset: wireDataset(in.Dataset),
		})
	}
	w.Outputs = toWireRunOutputs(r.Outputs)
	return w
}

// runUser decides the user_id of a new run. An authenticated caller is
// recorded as itself, whatever the body says, so runs cannot be attributed to
// someone else; without credentials the client's user_id (the mlflow client
// sends the local OS user) is kept; failing both, the run is "anonymous".
func runUser(actor, clientUserID string) string {
	if actor != "" && actor != core.Anonymous {
		return actor
	}
	if clientUserID != "" {
		return clientUserID
	}
	return core.Anonymous
}

func (s *server) createRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentID string    `json:"experiment_id"`
		UserID       string    `json:"user_id"`
		RunName      string    `json:"run_name"`
		StartTime    optInt64  `json:"start_time"`
		Tags         []wireTag `json:"tags"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ExperimentID == "" {
		req.ExperimentID = core.DefaultExperimentID
	}
	if err := checkExperimentID("experiment_id", req.ExperimentID); err != nil {
		s.writeError(w, r, err)
		return
	}
	tags := fromWireTags(req.Tags)
	for i := range tags {
		if err := checkTag(fmt.Sprintf("tags[%d]", i), &tags[i]); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	// The store names the run as MLflow does: run_name, else the mlflow.runName tag
	// (the two must agree), else a made-up name; the tag always follows the name.
	start := req.StartTime.V
	if !req.StartTime.Set {
		start = time.Now().UnixMilli()
	}
	run, err := s.st.CreateRun(r.Context(), core.RunInfo{
		RunName:        req.RunName,
		ExperimentID:   req.ExperimentID,
		UserID:         runUser(core.ActorFrom(r.Context()), req.UserID),
		Status:         core.RunRunning,
		StartTime:      start,
		LifecycleStage: core.LifecycleActive,
	}, tags)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, struct {
		Run wireRun `json:"run"`
	}{toWireRun(run)})
}

type runIDRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (s *server) getRun(w http.ResponseWriter, r *http.Request) {
	var req runIDRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, req.RunUUID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := s.st.GetRun(r.Context(), id)
	s.reply(w, r, struct {
		Run wireRun `json:"run"`
	}{toWireRun(run)}, err)
}

func (s *server) updateRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID   string    `json:"run_id"`
		RunUUID string    `json:"run_uuid"`
		Status  runStatus `json:"status"`
		EndTime optInt64  `json:"end_time"`
		RunName string    `json:"run_name"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, req.RunUUID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u core.RunUpdate
	if req.Status.Set {
		u.Status = &req.Status.V
	}
	if req.EndTime.Set {
		u.EndTime = &req.EndTime.V
	}
	if req.RunName != "" {
		u.RunName = &req.RunName
	}
	// The store keeps the mlflow.runName tag in step with the name, in the same transaction.
	info, err := s.st.UpdateRun(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, struct {
		RunInfo wireRunInfo `json:"run_info"`
	}{toWireRunInfo(info)})
}

func (s *server) runIDCall(w http.ResponseWriter, r *http.Request, call func(id string) error) {
	var req runIDRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, req.RunUUID)
	if err == nil {
		err = call(id)
	}
	s.finish(w, r, err)
}

func (s *server) deleteRun(w http.ResponseWriter, r *http.Request) {
	s.runIDCall(w, r, func(id string) error { return s.st.DeleteRun(r.Context(), id) })
}

func (s *server) restoreRun(w http.ResponseWriter, r *http.Request) {
	s.runIDCall(w, r, func(id string) error { return s.st.RestoreRun(r.Context(), id) })
}

// keyValueOf reads the body of set-tag and log-parameter: a run, a key and a value.
func (s *server) keyValueOf(w http.ResponseWriter, r *http.Request) (runID, key, value string, err error) {
	var req struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}
	if err = s.decode(w, r, &req); err != nil {
		return "", "", "", err
	}
	if runID, err = runIDOf(req.RunID, req.RunUUID); err == nil {
		err = requireString("key", req.Key)
	}
	return runID, req.Key, req.Value, err
}

func (s *server) setTag(w http.ResponseWriter, r *http.Request) {
	id, key, value, err := s.keyValueOf(w, r)
	tag := core.Tag{Key: key, Value: value}
	if err == nil {
		err = checkTag("", &tag)
	}
	if err == nil {
		err = s.st.LogBatch(r.Context(), id, nil, nil, []core.Tag{tag})
	}
	s.finish(w, r, err)
}

func (s *server) deleteTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID string `json:"run_id"`
		Key   string `json:"key"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, "")
	if err == nil {
		err = requireString("key", req.Key)
	}
	if err == nil {
		err = s.st.DeleteRunTag(r.Context(), id, req.Key)
	}
	s.finish(w, r, err)
}

func (s *server) logParam(w http.ResponseWriter, r *http.Request) {
	id, key, value, err := s.keyValueOf(w, r)
	p := core.Param{Key: key, Value: value}
	if err == nil {
		err = checkParam("", &p)
	}
	if err == nil {
		err = s.st.LogBatch(r.Context(), id, nil, []core.Param{p}, nil)
	}
	s.finish(w, r, err)
}

func (s *server) logInputs(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID    string `json:"run_id"`
		Datasets []struct {
			Tags    []wireTag   `json:"tags"`
			Dataset wireDataset `json:"dataset"`
		} `json:"datasets"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Datasets) > maxDatasetsPerBatch {
		s.writeError(w, r, invalidf("A batch logging request can contain at most %d datasets. Got %d datasets.", maxDatasetsPerBatch, len(req.Datasets)))
		return
	}
	inputs := make([]core.DatasetInput, len(req.Datasets))
	for i, d := range req.Datasets {
		inputs[i] = core.DatasetInput{Tags: fromWireTags(d.Tags), Dataset: core.Dataset(d.Dataset)}
		if err := checkDataset(i, inputs[i]); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.finish(w, r, s.st.LogInputs(r.Context(), id, inputs))
}

func (s *server) searchRuns(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		RunViewType   viewType `json:"run_view_type"`
		MaxResults    optInt64 `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, id := range req.ExperimentIDs {
		if err := checkExperimentID("experiment_ids", id); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	n, err := maxResults(req.MaxResults, store.DefaultRunSearchResults, store.MaxRunSearchResults)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.RunSearch{ExperimentIDs: req.ExperimentIDs, ViewType: toViewType(req.RunViewType),
		MaxResults: n, PageToken: req.PageToken}
	if q.Filter, err = search.ParseRunFilter(req.Filter); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.OrderBy, err = parseOrderBy(req.OrderBy, search.ParseRunOrderBy); err != nil {
		s.writeError(w, r, err)
		return
	}
	runs, next, err := s.st.SearchRuns(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRuns(w, runs, next) // runsjson.go
}
