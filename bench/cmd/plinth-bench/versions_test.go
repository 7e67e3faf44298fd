package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRegistry adds the registry routes the benchmark uses to fakeMLflow.
type fakeRegistry struct {
	*fakeMLflow
	mu        sync.Mutex
	models    map[string][]kv   // registered model -> its tags
	versions  map[string][][]kv // registered model -> tags of version i+1
	sources   map[string]bool   // model-version sources seen
	loseEvery int               // every n-th create is done but its connection dropped (0: never)
	creates   int
	pageSize  int  // model-version search page size (0: max_results)
	dropOne   bool // the search loses one match
	searches  int
}

func newFakeRegistry(t *testing.T) (*fakeRegistry, *client) {
	t.Helper()
	f := &fakeRegistry{
		fakeMLflow: &fakeMLflow{exps: map[string]*experiment{}, runs: map[string][]string{}, points: map[string]int{}},
		models:     map[string][]kv{}, versions: map[string][][]kv{}, sources: map[string]bool{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, newClient(srv.URL, 4, 0)
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "registered-models/") && !strings.Contains(r.URL.Path, "model-versions/") {
		f.fakeMLflow.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var in struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		RunID  string `json:"run_id"`
		Tags   []kv   `json:"tags"`
	}
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	}
	q := r.URL.Query()
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	if strings.HasSuffix(r.URL.Path, "/create") {
		f.creates++
		if f.loseEvery > 0 && f.creates%f.loseEvery == 0 {
			// Do the work, then drop the connection before answering.
			reply = func(any) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}
		}
	}
	notFound := func() { http.Error(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST"}`, 404) }
	switch r.Method + " " + r.URL.Path {
	case "POST /api/2.0/mlflow/registered-models/create":
		if _, ok := f.models[in.Name]; ok {
			http.Error(w, `{"error_code":"RESOURCE_ALREADY_EXISTS"}`, 400)
			return
		}
		f.models[in.Name] = in.Tags
		reply(map[string]any{"registered_model": map[string]any{"name": in.Name}})
	case "GET /api/2.0/mlflow/registered-models/get":
		tags, ok := f.models[q.Get("name")]
		if !ok {
			notFound()
			return
		}
		reply(map[string]any{"registered_model": registeredModel{Name: q.Get("name"), Tags: tags}})
	case "DELETE /api/2.0/mlflow/registered-models/delete":
		if _, ok := f.models[in.Name]; !ok {
			notFound()
			return
		}
		delete(f.models, in.Name)
		delete(f.versions, in.Name)
		reply(map[string]any{})
	case "GET /api/2.0/mlflow/registered-models/search":
		prefix, ok := strings.CutPrefix(q.Get("filter"), "name LIKE '")
		prefix, ok2 := strings.CutSuffix(prefix, "%'")
		if !ok || !ok2 {
			http.Error(w, "unexpected filter "+q.Get("filter"), 400)
			return
		}
		var out []registeredModel
		for name := range f.models {
			if strings.HasPrefix(name, prefix) {
				out = append(out, registeredModel{Name: name})
			}
		}
		reply(map[string]any{"registered_models": out})
	case "POST /api/2.0/mlflow/model-versions/create":
		if _, ok := f.models[in.Name]; !ok {
			notFound()
			return
		}
		if in.Source != "runs:/"+in.RunID+"/model" {
			http.Error(w, "bad source "+in.Source, 400)
			return
		}
		f.sources[in.Source] = true
		f.versions[in.Name] = append(f.versions[in.Name], in.Tags)
		reply(map[string]any{"model_version": map[string]any{"name": in.Name, "version": strconv.Itoa(len(f.versions[in.Name]))}})
	case "GET /api/2.0/mlflow/model-versions/search":
		if name, ok := strings.CutPrefix(q.Get("filter"), "name = '"); ok {
			vs := f.versions[strings.TrimSuffix(name, "'")]
			reply(map[string]any{"model_versions": make([]struct{}, len(vs))})
			return
		}
		f.searches++
		team, ok := strings.CutPrefix(q.Get("filter"), "tags.team = '")
		team, ok2 := strings.CutSuffix(team, "'")
		if !ok || !ok2 {
			http.Error(w, "unexpected filter "+q.Get("filter"), 400)
			return
		}
		type mv struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Tags    []kv   `json:"tags"`
		}
		var all []mv
		for _, name := range slices.Sorted(maps.Keys(f.versions)) {
			for i, tags := range f.versions[name] {
				if tagOf(tags, "team") == team {
					all = append(all, mv{name, strconv.Itoa(i + 1), tags})
				}
			}
		}
		if f.dropOne && len(all) > 0 {
			all = all[1:]
		}
		size, _ := strconv.Atoi(q.Get("max_results"))
		if f.pageSize > 0 {
			size = min(size, f.pageSize)
		}
		from, _ := strconv.Atoi(q.Get("page_token"))
		to := min(len(all), from+size)
		out := map[string]any{"model_versions": all[from:to]}
		if to < len(all) {
			out["next_page_token"] = strconv.Itoa(to)
		}
		reply(out)
	default:
		http.Error(w, `{"error_code":"ENDPOINT_NOT_FOUND"}`, 404)
	}
}

func (f *fakeRegistry) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func init() { retryDelays = []time.Duration{time.Millisecond, time.Millisecond} }

var smallSeed = versionsConfig{base: "bv", prefix: "bv-30x4", models: 30, versions: 4, tags: 6, teams: 10}

func TestSeedVersionsShapeAndReuse(t *testing.T) {
	t.Parallel()
	f, c := newFakeRegistry(t)
	ctx := context.Background()
	cfg := smallSeed
	reused, err := seedVersions(ctx, c, cfg, 3, nil)
	if err != nil || reused {
		t.Fatalf("first seed: reused %v, %v", reused, err)
	}
	f.with(func() {
		if len(f.models) != cfg.models+1 { // plus the marker
			t.Fatalf("%d registered models, want %d", len(f.models), cfg.models+1)
		}
		if tagOf(f.models[cfg.marker()], seedTag) != cfg.want() {
			t.Fatalf("marker tags %v", f.models[cfg.marker()])
		}
		if len(f.sources) != 1 {
			t.Fatalf("want one runs:/ source for every version, got %v", f.sources)
		}
		teams := map[string]int{}
		for i := range cfg.models {
			vs := f.versions[cfg.modelName(i)]
			if len(vs) != cfg.versions {
				t.Fatalf("model %d has %d versions", i, len(vs))
			}
			for _, tags := range vs {
				if len(tags) != cfg.tags || tags[0].Key != "team" {
					t.Fatalf("version tags %v", tags)
				}
				keys := map[string]bool{}
				for _, tg := range tags {
					keys[tg.Key] = true
				}
				if len(keys) != cfg.tags {
					t.Fatalf("duplicate tag keys in %v", tags)
				}
				teams[tags[0].Value]++
			}
		}
		if len(teams) != cfg.teams || teams["team-3"] != cfg.matches("team-3") || cfg.matches("team-3") != 12 {
			t.Fatalf("team counts %v (matches %d)", teams, cfg.matches("team-3"))
		}
	})
	reused, err = seedVersions(ctx, c, cfg, 3, nil)
	if err != nil || !reused {
		t.Fatalf("second seed should reuse: reused %v, %v", reused, err)
	}
}

func TestSeedVersionsReplacesAPartialSeed(t *testing.T) {
	t.Parallel()
	f, c := newFakeRegistry(t)
	ctx := context.Background()
	cfg := smallSeed
	// An interrupted seed (some models, no marker) and a complete one of another size.
	for i := range 3 {
		if err := c.post(ctx, "/api/2.0/mlflow/registered-models/create", map[string]any{"name": cfg.modelName(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	other := versionsConfig{base: "bv", prefix: "bv-5x2", models: 5, versions: 2, tags: 1, teams: 10}
	if _, err := seedVersions(ctx, c, other, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.post(ctx, "/api/2.0/mlflow/registered-models/create", map[string]any{"name": "other"}, nil); err != nil {
		t.Fatal(err)
	}
	if reused, err := seedVersions(ctx, c, cfg, 2, nil); err != nil || reused {
		t.Fatalf("reused %v, %v", reused, err)
	}
	f.with(func() {
		if len(f.models) != cfg.models+2 || len(f.versions[cfg.modelName(0)]) != cfg.versions {
			t.Fatalf("%d models; model 0 has %d versions", len(f.models), len(f.versions[cfg.modelName(0)]))
		}
		if _, ok := f.models["other"]; !ok {
			t.Fatal("a model outside the prefix was deleted")
		}
		for name := range f.models {
			if strings.HasPrefix(name, other.prefix) {
				t.Fatalf("%s of the other seed survived", name)
			}
		}
	})
}

func TestTimeVersionsPagesAndChecks(t *testing.T) {
	t.Parallel()
	f, c := newFakeRegistry(t)
	ctx := context.Background()
	cfg := smallSeed
	tc := timeVersionsConfig{team: "team-3", maxResults: 1000, reps: 3}
	if _, _, _, err := timeVersions(ctx, c, cfg, tc); err == nil || !strings.Contains(err.Error(), "seed-versions first") {
		t.Fatalf("timing before seeding should fail, got %v", err)
	}
	if _, err := seedVersions(ctx, c, cfg, 2, nil); err != nil {
		t.Fatal(err)
	}
	f.with(func() { f.pageSize = 5 })
	times, n, pages, err := timeVersions(ctx, c, cfg, tc)
	if err != nil || n != 12 || pages != 3 || len(times) != 3 {
		t.Fatalf("n %d pages %d times %d err %v", n, pages, len(times), err)
	}
	f.with(func() {
		if f.searches != 4*3 { // warm-up plus three reps, three pages each
			t.Fatalf("%d search requests, want 12", f.searches)
		}
		f.dropOne = true
	})
	if _, _, _, err := timeVersions(ctx, c, cfg, tc); err == nil || !strings.Contains(err.Error(), "want 12") {
		t.Fatalf("a short answer should be caught, got %v", err)
	}
	if _, _, _, err := timeVersions(ctx, c, cfg, timeVersionsConfig{team: "nobody", maxResults: 10, reps: 1}); err == nil {
		t.Fatal("a team nobody has should be refused")
	}
}

func TestCheckVersionsCatchesWrongAnswers(t *testing.T) {
	t.Parallel()
	page := func(vs ...string) []byte {
		var b bytes.Buffer
		b.WriteString(`{"model_versions":[`)
		for i, v := range vs {
			name, team, _ := strings.Cut(v, ":")
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":%q,"version":"1","tags":[{"key":"team","value":%q}]}`, name, team)
		}
		b.WriteString("]}")
		return b.Bytes()
	}
	if n, err := checkVersions([][]byte{page("a:t", "b:t"), page("c:t")}, "t"); err != nil || n != 3 {
		t.Fatalf("n %d err %v", n, err)
	}
	if _, err := checkVersions([][]byte{page("a:t"), page("a:t")}, "t"); err == nil {
		t.Fatal("a version on two pages should be caught")
	}
	if _, err := checkVersions([][]byte{page("a:t", "b:u")}, "t"); err == nil {
		t.Fatal("a version of another team should be caught")
	}
}

func TestVersionsCommandEmitsARecord(t *testing.T) {
	t.Parallel()
	_, c := newFakeRegistry(t)
	var out, errOut bytes.Buffer
	args := []string{"-url", c.base, "-server", "x", "-models", "20", "-versions", "3", "-c", "2"}
	if err := run(context.Background(), "seed-versions", args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), "versions", append(args, "-reps", "2"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var r record
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	if r.Bench != "versions" || r.Count != 6 || len(r.Samples) != 2 || r.Server != "x" || r.Unit != "ms" {
		t.Fatalf("record %+v", r)
	}
}

func TestSeedVersionsSurvivesLostAnswers(t *testing.T) {
	t.Parallel()
	f, c := newFakeRegistry(t)
	ctx := context.Background()
	f.with(func() { f.loseEvery = 7 })
	cfg := smallSeed
	if reused, err := seedVersions(ctx, c, cfg, 3, nil); err != nil || reused {
		t.Fatalf("reused %v, %v", reused, err)
	}
	f.with(func() {
		if f.creates < 150 {
			t.Fatalf("only %d creates; the failure injection did not run", f.creates)
		}
		for i := range cfg.models {
			if n := len(f.versions[cfg.modelName(i)]); n != cfg.versions {
				t.Fatalf("model %d has %d versions after lost answers, want %d", i, n, cfg.versions)
			}
		}
		if tagOf(f.models[cfg.marker()], seedTag) != cfg.want() {
			t.Fatal("no marker")
		}
	})
}

func TestRetryStopsOnPermanentErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := 0
	err := retry(ctx, func(bool) error { calls++; return &apiError{Status: 400} })
	if err == nil || calls != 1 {
		t.Fatalf("a 4xx should not be retried: %d calls, %v", calls, err)
	}
	calls = 0
	err = retry(ctx, func(bool) error { calls++; return &apiError{Status: 503} })
	if err == nil || calls != 1+len(retryDelays) {
		t.Fatalf("a 5xx should be retried until the tries run out: %d calls, %v", calls, err)
	}
	calls = 0
	err = retry(ctx, func(again bool) error {
		calls++
		if !again {
			return errors.New("connection reset")
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("a dropped connection should be retried once here: %d calls, %v", calls, err)
	}
	if transient(permanent(errors.New("x"))) {
		t.Fatal("a permanent error is not transient")
	}
}
