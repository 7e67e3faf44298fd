package mlflow

import (
	"net/http"
	"strings"

	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

type loggedModelSearchRequest struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter"`
	Datasets      []struct {
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	} `json:"datasets"`
	MaxResults optInt64 `json:"max_results"`
	OrderBy    []struct {
		FieldName     string `json:"field_name"`
		Ascending     *bool  `json:"ascending"` // protobuf default: true
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	} `json:"order_by"`
	PageToken string `json:"page_token"`
}

// loggedModelOrderAttrs maps the attribute names MLflow orders logged models by
// (with its aliases) to the canonical keys.
var loggedModelOrderAttrs = map[string]string{
	"name":                      search.ModelAttrName,
	"model_id":                  search.ModelAttrModelID,
	"model_type":                search.ModelAttrModelType,
	"status":                    search.ModelAttrStatus,
	"source_run_id":             search.ModelAttrSourceRunID,
	"creation_timestamp":        search.ModelAttrCreationTime,
	"creation_timestamp_ms":     search.ModelAttrCreationTime,
	"creation_time":             search.ModelAttrCreationTime,
	"last_updated_timestamp":    search.ModelAttrLastUpdateTime,
	"last_updated_timestamp_ms": search.ModelAttrLastUpdateTime,
}

// loggedModelOrderField canonicalises an order_by field_name: an attribute, or
// "metrics.<key>" (the only entity MLflow orders logged models by).
func loggedModelOrderField(f string) (field string, metric bool, err error) {
	entity, key, dotted := strings.Cut(f, ".")
	if !dotted {
		if attr, ok := loggedModelOrderAttrs[f]; ok {
			return attr, false, nil
		}
		return "", false, invalidf("Invalid order by field name: %s", f)
	}
	if entity != "metrics" || key == "" {
		return "", false, invalidf("Invalid order by field name: %s. Only metrics are supported.", f)
	}
	return "metrics." + key, true, nil
}

// parseLoggedModelSearch validates a search request completely, before the store sees it.
func parseLoggedModelSearch(req *loggedModelSearchRequest) (store.LoggedModelSearch, error) {
	var q store.LoggedModelSearch
	if len(req.ExperimentIDs) == 0 {
		return q, missing("experiment_ids")
	}
	for _, id := range req.ExperimentIDs {
		if err := checkExperimentID("experiment_ids", id); err != nil {
			return q, err
		}
	}
	if req.MaxResults.Set && req.MaxResults.V == 0 {
		req.MaxResults.Set = false // MLflow reads 0 as "not given"
	}
	n, err := maxResults(req.MaxResults, store.DefaultLoggedModelSearchResults, store.MaxLoggedModelSearchResults)
	if err != nil {
		return q, err
	}
	q = store.LoggedModelSearch{ExperimentIDs: req.ExperimentIDs, MaxResults: n, PageToken: req.PageToken}
	for _, d := range req.Datasets {
		if d.DatasetName == "" {
			return q, invalidf("`dataset_name` in the `datasets` clause must be specified.")
		}
		q.Datasets = append(q.Datasets, store.DatasetRef{Name: d.DatasetName, Digest: d.DatasetDigest})
	}
	for _, ob := range req.OrderBy {
		field, metric, err := loggedModelOrderField(ob.FieldName)
		if err != nil {
			return q, err
		}
		o := store.LoggedModelOrder{Field: field, Ascending: ob.Ascending == nil || *ob.Ascending}
		if metric { // datasets only narrow metric orderings
			o.DatasetName, o.DatasetDigest = ob.DatasetName, ob.DatasetDigest
		}
		q.OrderBy = append(q.OrderBy, o)
	}
	q.Filter, err = search.ParseLoggedModelFilter(req.Filter)
	return q, err
}

// searchLoggedModels is POST /logged-models/search. The mlflow 3.x client also
// asks it before listing a run's artifact folder, to tell a model folder from a plain one.
func (s *server) searchLoggedModels(w http.ResponseWriter, r *http.Request) {
	var req loggedModelSearchRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := parseLoggedModelSearch(&req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	models, next, err := s.st.SearchLoggedModels(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		Models        []wireLoggedModel `json:"models"`
		NextPageToken string            `json:"next_page_token,omitempty"`
	}{Models: make([]wireLoggedModel, len(models)), NextPageToken: next}
	for i, m := range models {
		resp.Models[i] = toWireLoggedModel(m)
	}
	writeJSON(w, resp)
}
