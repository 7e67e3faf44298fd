package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// fakeMLflow is a tiny in-memory tracking server with just the routes the
// load generator uses, so the tool's own logic (reuse, paging, counting,
// checks) is tested without a real server.
type fakeMLflow struct {
	mu        sync.Mutex
	exps      map[string]*experiment // by id
	runs      map[string][]string    // experiment id -> run ids
	points    map[string]int         // run id -> metrics logged
	failBatch int                    // answer every n-th log-batch with 500 (0: never)
	batches   int
	pageSize  int  // get-history page size (0: everything at once)
	dropPoint bool // get-history returns one point too few
	unsorted  bool // search answers out of order
}

func newFake(t *testing.T) (*fakeMLflow, *client) {
	t.Helper()
	f := &fakeMLflow{exps: map[string]*experiment{}, runs: map[string][]string{}, points: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, newClient(srv.URL, 4, 0)
}

func (f *fakeMLflow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]json.RawMessage
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(in[k], &s)
		return s
	}
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch r.URL.Path {
	case "/api/2.0/mlflow/experiments/get-by-name":
		for _, e := range f.exps {
			if e.Name == r.URL.Query().Get("experiment_name") {
				reply(map[string]any{"experiment": e})
				return
			}
		}
		http.Error(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST"}`, 404)
	case "/api/2.0/mlflow/experiments/create":
		id := strconv.Itoa(len(f.exps) + 1)
		f.exps[id] = &experiment{ID: id, Name: str("name"), LifecycleStage: "active"}
		reply(map[string]any{"experiment_id": id})
	case "/api/2.0/mlflow/experiments/set-experiment-tag":
		e := f.exps[str("experiment_id")]
		e.Tags = append(e.Tags, kv{Key: str("key"), Value: str("value")})
		reply(map[string]any{})
	case "/api/2.0/mlflow/experiments/update":
		f.exps[str("experiment_id")].Name = str("new_name")
		reply(map[string]any{})
	case "/api/2.0/mlflow/experiments/delete":
		f.exps[str("experiment_id")].LifecycleStage = "deleted"
		reply(map[string]any{})
	case "/api/2.0/mlflow/runs/create":
		exp := str("experiment_id")
		id := fmt.Sprintf("%032x", len(f.points)+1)
		f.runs[exp] = append(f.runs[exp], id)
		f.points[id] = 0
		reply(map[string]any{"run": map[string]any{"info": map[string]any{"run_id": id}}})
	case "/api/2.0/mlflow/runs/log-batch":
		f.batches++
		if f.failBatch > 0 && f.batches%f.failBatch == 0 {
			http.Error(w, `{"error_code":"INTERNAL_ERROR"}`, 500)
			return
		}
		var ms []json.RawMessage
		_ = json.Unmarshal(in["metrics"], &ms)
		f.points[str("run_id")] += len(ms)
		reply(map[string]any{})
	case "/api/2.0/mlflow/runs/search":
		var ids []string
		_ = json.Unmarshal(in["experiment_ids"], &ids)
		var runs []any
		for i, id := range f.runs[ids[0]] {
			v := 1 - float64(i)/1000
			if f.unsorted {
				v = float64(i) / 1000
			}
			runs = append(runs, map[string]any{
				"info": map[string]any{"run_id": id},
				"data": map[string]any{"metrics": []any{map[string]any{"key": "m1", "value": v}}},
			})
		}
		reply(map[string]any{"runs": runs})
	case "/api/2.0/mlflow/metrics/get-history":
		total := f.points[r.URL.Query().Get("run_id")]
		if f.dropPoint {
			total--
		}
		from, _ := strconv.Atoi(r.URL.Query().Get("page_token"))
		to := total
		if f.pageSize > 0 {
			to = min(total, from+f.pageSize)
		}
		out := map[string]any{"metrics": make([]map[string]any, to-from)}
		if to < total {
			out["next_page_token"] = strconv.Itoa(to)
		}
		reply(out)
	default:
		http.Error(w, `{"error_code":"ENDPOINT_NOT_FOUND"}`, 404)
	}
}

func (f *fakeMLflow) runsOf(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, e := range f.exps {
		if e.Name == name {
			return slices.Clone(f.runs[id])
		}
	}
	return nil
}

// with runs fn under the fake's lock: the tests change its behaviour between calls.
func (f *fakeMLflow) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}
