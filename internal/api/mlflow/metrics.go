package mlflow

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

type wireMetric struct {
	Key           string    `json:"key"`
	Value         jsonFloat `json:"value"`
	Timestamp     int64     `json:"timestamp"`
	Step          int64     `json:"step"`
	RunID         string    `json:"run_id,omitempty"`
	ModelID       string    `json:"model_id,omitempty"`
	DatasetName   string    `json:"dataset_name,omitempty"`
	DatasetDigest string    `json:"dataset_digest,omitempty"`
}

// toWireMetric renders a metric; run_id only where the response message has
// it (MetricWithRunId, and Metric in 3.x when the store filled it in).
func toWireMetric(m core.Metric, withRunID bool) wireMetric {
	w := wireMetric{Key: m.Key, Value: jsonFloat(m.Value), Timestamp: m.Timestamp, Step: m.Step,
		ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}
	if withRunID {
		w.RunID = m.RunID
	}
	return w
}

// metricIn is a metric as the client sends it.
type metricIn struct {
	Key           *string  `json:"key"`
	Value         optFloat `json:"value"`
	Timestamp     optInt64 `json:"timestamp"`
	Step          optInt64 `json:"step"`
	ModelID       string   `json:"model_id"`
	DatasetName   string   `json:"dataset_name"`
	DatasetDigest string   `json:"dataset_digest"`
}

// toCore checks that key, value and timestamp were sent (MLflow requires them)
// and that the metric is valid; prefix names the field in errors.
func (m metricIn) toCore(prefix, keyField string, runID string) (core.Metric, error) {
	switch {
	case m.Key == nil || *m.Key == "":
		return core.Metric{}, missing(join(prefix, keyField))
	case !m.Value.Set:
		return core.Metric{}, missing(join(prefix, "value"))
	case !m.Timestamp.Set:
		return core.Metric{}, missing(join(prefix, "timestamp"))
	}
	c := core.Metric{Key: *m.Key, Value: m.Value.V, Timestamp: m.Timestamp.V, Step: m.Step.V, RunID: runID,
		ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}
	return c, checkMetric(prefix, c)
}

func (s *server) logMetric(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		metricIn
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
	m, err := req.metricIn.toCore("", "key", id)
	if err == nil {
		err = s.st.LogBatch(r.Context(), id, []core.Metric{m}, nil, nil)
	}
	s.finish(w, r, err)
}

type logBatchRequest struct {
	RunID   string       `json:"run_id"`
	Metrics metricList   `json:"metrics"`
	Params  []keyValueIn `json:"params"`
	Tags    []keyValueIn `json:"tags"`
}

// keyValueIn is a param or tag of a log-batch request.
type keyValueIn struct {
	Key   *string `json:"key"`
	Value string  `json:"value"`
}

// parseLogBatch validates a decoded log-batch request completely, so that a
// bad item is refused before anything is written.
func parseLogBatch(req *logBatchRequest) (string, []core.Metric, []core.Param, []core.Tag, error) {
	id, err := runIDOf(req.RunID, "")
	if err != nil {
		return "", nil, nil, nil, err
	}
	for _, c := range []struct {
		what     string
		limit, n int
	}{
		{"metrics", maxMetricsPerBatch, len(req.Metrics)},
		{"params", maxParamsTagsPerBatch, len(req.Params)},
		{"tags", maxParamsTagsPerBatch, len(req.Tags)},
		{"metrics, params, and tags", maxEntitiesPerBatch, len(req.Metrics) + len(req.Params) + len(req.Tags)},
	} {
		if err := checkBatchLimit(c.what, c.limit, c.n); err != nil {
			return "", nil, nil, nil, err
		}
	}
	metrics := make([]core.Metric, len(req.Metrics))
	for i, m := range req.Metrics {
		if metrics[i], err = m.toCore("", "key", id); err != nil {
			// Check again with the item's position, only to name it in the message:
			// building that name for every metric of every batch costs more than the check.
			_, err = m.toCore(fmt.Sprintf("metrics[%d]", i), "key", id)
			return "", nil, nil, nil, err
		}
	}
	params := make([]core.Param, len(req.Params))
	seen := make(map[string]bool, len(req.Params))
	var dupes []string
	for i, p := range req.Params {
		prefix := fmt.Sprintf("params[%d]", i)
		if p.Key == nil || *p.Key == "" {
			return "", nil, nil, nil, missing(prefix + ".key")
		}
		params[i] = core.Param{Key: *p.Key, Value: p.Value}
		if err := checkParam(prefix, &params[i]); err != nil {
			return "", nil, nil, nil, err
		}
		if seen[params[i].Key] {
			dupes = append(dupes, params[i].Key)
		}
		seen[params[i].Key] = true
	}
	if len(dupes) > 0 {
		return "", nil, nil, nil, invalidf("Duplicate parameter keys have been submitted: %q. Please ensure the request contains only one param value per param key.", dupes)
	}
	tags := make([]core.Tag, len(req.Tags))
	for i, t := range req.Tags {
		prefix := fmt.Sprintf("tags[%d]", i)
		if t.Key == nil || *t.Key == "" {
			return "", nil, nil, nil, missing(prefix + ".key")
		}
		tags[i] = core.Tag{Key: *t.Key, Value: t.Value}
		if err := checkTag(prefix, &tags[i]); err != nil {
			return "", nil, nil, nil, err
		}
	}
	return id, metrics, params, tags, nil
}

func (s *server) logBatch(w http.ResponseWriter, r *http.Request) {
	var req logBatchRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, metrics, params, tags, err := parseLogBatch(&req)
	if err == nil && (len(metrics) > 0 || len(params) > 0 || len(tags) > 0) {
		err = s.st.LogBatch(r.Context(), id, metrics, params, tags)
	}
	s.finish(w, r, err)
}

func (s *server) getMetricHistory(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID      string   `json:"run_id"`
		RunUUID    string   `json:"run_uuid"`
		MetricKey  string   `json:"metric_key"`
		PageToken  string   `json:"page_token"`
		MaxResults optInt64 `json:"max_results"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, req.RunUUID)
	if err == nil {
		err = requireString("metric_key", req.MetricKey)
	}
	if err == nil && req.MaxResults.Set && req.MaxResults.V <= 0 {
		err = invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer.", req.MaxResults.V)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.MetricHistoryPage{RunID: id, Key: req.MetricKey, PageToken: req.PageToken}
	if req.MaxResults.Set {
		q.MaxResults = int(min(req.MaxResults.V, store.MaxMetricHistoryResults))
	}
	ms, next, err := s.st.GetMetricHistory(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeMetrics(w, ms, false, next)
}

func (s *server) getMetricHistoryBulkInterval(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunIDs     []string `json:"run_ids"`
		MetricKey  string   `json:"metric_key"`
		StartStep  optInt64 `json:"start_step"`
		EndStep    optInt64 `json:"end_step"`
		MaxResults optInt64 `json:"max_results"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := bulkQuery(req.RunIDs, "run_ids", req.MetricKey)
	if err == nil && req.MaxResults.Set && (req.MaxResults.V < 1 || req.MaxResults.V > maxResultsPerRunBulk) {
		err = invalidf("max_results must be between 1 and %d.", maxResultsPerRunBulk)
	}
	if err == nil {
		switch {
		case req.StartStep.Set && req.EndStep.Set:
			if req.StartStep.V > req.EndStep.V {
				err = invalidf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", req.StartStep.V, req.EndStep.V)
			}
			q.StartStep, q.EndStep = &req.StartStep.V, &req.EndStep.V
		case req.StartStep.Set || req.EndStep.Set:
			err = invalidf("If either start step or end step are specified, both must be specified.")
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.MaxResults = maxResultsPerRunBulk
	if req.MaxResults.Set {
		q.MaxResults = int(req.MaxResults.V)
	}
	ms, err := s.st.GetMetricHistoryBulkInterval(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeMetrics(w, ms, true, "")
}

func bulkQuery(runIDs []string, field, key string) (store.BulkInterval, error) {
	if len(runIDs) == 0 {
		return store.BulkInterval{}, missing(field)
	}
	if len(runIDs) > maxRunsPerBulkHistory {
		return store.BulkInterval{}, invalidf("GetMetricHistoryBulkInterval request must specify at most %d run_ids. Received %d run_ids.", maxRunsPerBulkHistory, len(runIDs))
	}
	for _, id := range runIDs {
		if !runIDRe.MatchString(id) {
			return store.BulkInterval{}, invalidValue(field, id, "")
		}
	}
	if key == "" {
		return store.BulkInterval{}, missing("metric_key")
	}
	return store.BulkInterval{RunIDs: runIDs, Key: key}, nil
}

// getMetricHistoryBulk is the UI's older call (/ajax-api only in MLflow):
// the full history of one metric for up to 100 runs (run_id repeated).
func (s *server) getMetricHistoryBulk(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID      []string `json:"run_id"`
		MetricKey  string   `json:"metric_key"`
		MaxResults optInt64 `json:"max_results"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := bulkQuery(req.RunID, "run_id", req.MetricKey); err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := maxHistoryBulkResults
	if req.MaxResults.Set && req.MaxResults.V > 0 && req.MaxResults.V < int64(limit) {
		limit = int(req.MaxResults.V)
	}
	ids := append([]string(nil), req.RunID...)
	sort.Strings(ids)
	var all []core.Metric
	for _, id := range ids {
		ms, _, err := s.st.GetMetricHistory(r.Context(), store.MetricHistoryPage{RunID: id, Key: req.MetricKey, MaxResults: limit})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for i := range ms {
			ms[i].RunID = id
		}
		all = append(all, ms...)
		if len(all) >= limit {
			all = all[:limit]
			break
		}
	}
	writeMetrics(w, all, true, "")
}
