package mlflow

import "net/http"

// loggedModelRoutes are the MLflow 3 logged-model routes, under the tracking prefixes.
func (s *server) loggedModelRoutes() []route {
	return []route{
		{[]string{"POST"}, "/logged-models/search", s.searchLoggedModels},
	}
}

// searchLoggedModels answers logged-model searches. Plinth does not store logged
// models yet (creating one is refused with ENDPOINT_NOT_FOUND), so the truthful
// answer is always an empty page. The mlflow 3.x client asks this before listing a
// run's artifact folder, to tell a model folder from a plain one.
func (s *server) searchLoggedModels(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentIDs []string `json:"experiment_ids"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, struct {
		Models []struct{} `json:"models"`
	}{Models: []struct{}{}})
}
