package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The model-registry benchmark: many registered models, each with versions carrying
// a few tags, then one search_model_versions by tag that selects about a tenth.

type versionsConfig struct {
	base     string // the -prefix flag; one seed per server lives under it
	prefix   string // <base>-<models>x<versions>; models are <prefix>-00000, ...
	models   int
	versions int // per model
	tags     int // per version; the first is "team"
	teams    int // distinct values of the team tag
}

func (cfg versionsConfig) want() string {
	return fmt.Sprintf("models=%d versions=%d tags=%d teams=%d", cfg.models, cfg.versions, cfg.tags, cfg.teams)
}

// marker is the registered model whose seed tag certifies a complete seed. It has no
// versions, so it never shows up in a model-version search.
func (cfg versionsConfig) marker() string { return cfg.prefix + "-seeded" }

func (cfg versionsConfig) modelName(i int) string { return fmt.Sprintf("%s-%05d", cfg.prefix, i) }

// team is the team tag of every version of model i.
func (cfg versionsConfig) team(i int) string { return "team-" + strconv.Itoa(i%cfg.teams) }

// matches is how many versions carry team.
func (cfg versionsConfig) matches(team string) int {
	n := 0
	for i := range cfg.models {
		if cfg.team(i) == team {
			n += cfg.versions
		}
	}
	return n
}

var stages = []string{"dev", "staging", "prod"}

// versionTags returns the tags of version v (1-based) of model i.
func (cfg versionsConfig) versionTags(i, v int) []kv {
	tags := make([]kv, cfg.tags)
	for k := range tags {
		var t kv
		switch k {
		case 0:
			t = kv{"team", cfg.team(i)}
		case 1:
			t = kv{"stage", stages[v%len(stages)]}
		case 2:
			t = kv{"owner", "user-" + strconv.Itoa(i%50)}
		case 3:
			t = kv{"dataset", "ds-" + strconv.Itoa(v%7)}
		case 4:
			h := fnv.New64a()
			fmt.Fprintf(h, "%d/%d", i, v)
			t = kv{"git_commit", fmt.Sprintf("%016x", h.Sum64())}
		default:
			t = kv{"t" + strconv.Itoa(k), strconv.Itoa((i + v + k) % 100)}
		}
		tags[k] = t
	}
	return tags
}

// registeredModel is the part of a registered model the benchmark reads.
type registeredModel struct {
	Name string `json:"name"`
	Tags []kv   `json:"tags"`
}

func (c *client) getRegisteredModel(ctx context.Context, name string) (*registeredModel, error) {
	var out struct {
		Model registeredModel `json:"registered_model"`
	}
	err := c.get(ctx, "/api/2.0/mlflow/registered-models/get", url.Values{"name": {name}}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.Model, nil
}

// registeredModelNames lists the registered models whose name starts with prefix.
func (c *client) registeredModelNames(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	q := url.Values{"filter": {fmt.Sprintf("name LIKE '%s%%'", prefix)}, "max_results": {"1000"}}
	for {
		var out struct {
			Models []registeredModel `json:"registered_models"`
			Next   string            `json:"next_page_token"`
		}
		if err := c.get(ctx, "/api/2.0/mlflow/registered-models/search", q, &out); err != nil {
			return nil, err
		}
		for _, m := range out.Models {
			names = append(names, m.Name)
		}
		if out.Next == "" {
			return names, nil
		}
		q.Set("page_token", out.Next)
	}
}

func (c *client) deleteRegisteredModel(ctx context.Context, name string) error {
	body := fmt.Appendf(nil, `{"name":%q}`, name)
	_, err := c.do(ctx, http.MethodDelete, "/api/2.0/mlflow/registered-models/delete", nil, body)
	return err
}

// seedVersions creates cfg.models registered models with cfg.versions versions each,
// unless a complete seed of that shape exists. Any other seed under the base prefix
// (an interrupted one, or one of another size) is deleted first: its versions carry
// team tags too, and would change what the search returns.
func seedVersions(ctx context.Context, c *client, cfg versionsConfig, conns int, progress io.Writer) (reused bool, err error) {
	var m *registeredModel
	if err := retry(ctx, func(bool) (err error) { m, err = c.getRegisteredModel(ctx, cfg.marker()); return err }); err != nil {
		return false, err
	}
	if m != nil && tagOf(m.Tags, seedTag) == cfg.want() {
		return true, nil
	}
	var stale []string
	if err := retry(ctx, func(bool) (err error) { stale, err = c.registeredModelNames(ctx, cfg.base+"-"); return err }); err != nil {
		return false, err
	}
	for _, name := range stale {
		err := retry(ctx, func(again bool) error {
			err := c.deleteRegisteredModel(ctx, name)
			if again && hasErrorCode(err, "RESOURCE_DOES_NOT_EXIST") {
				return nil
			}
			return err
		})
		if err != nil {
			return false, err
		}
	}
	// A run to point the versions at: MLflow only takes a runs:/ source with its run_id.
	expID, err := c.ensureExperiment(ctx, cfg.prefix+"-source")
	if err != nil {
		return false, err
	}
	runID, err := c.createRun(ctx, expID, "model-source")
	if err != nil {
		return false, err
	}
	source := "runs:/" + runID + "/model"

	jobs := make(chan int)
	errc := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := seedOneModel(ctx, c, cfg, i, source, runID); err != nil {
					errc <- fmt.Errorf("model %s: %w", cfg.modelName(i), err)
					return
				}
			}
		}()
	}
	t0 := time.Now()
feed:
	for i := range cfg.models {
		if progress != nil && i > 0 && i%max(cfg.models/10, 1) == 0 {
			fmt.Fprintf(progress, "seed-versions: %d/%d models queued after %.0fs\n", i, cfg.models, time.Since(t0).Seconds())
		}
		select {
		case jobs <- i:
		case err = <-errc:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err != nil {
		return false, err
	}
	// Created last: the marker certifies that every version was written.
	return false, retry(ctx, func(again bool) error {
		err := c.post(ctx, "/api/2.0/mlflow/registered-models/create", map[string]any{
			"name": cfg.marker(), "tags": []kv{{seedTag, cfg.want()}},
		}, nil)
		if again && hasErrorCode(err, "RESOURCE_ALREADY_EXISTS") {
			return nil
		}
		return err
	})
}

// seedOneModel creates model i and its versions one after another (a model's
// version numbers are handed out in order). A request that fails on the way may
// still have been carried out, so after one the model's versions are counted
// before going on: a loaded mlflow server drops connections when uvicorn
// restarts a worker it finds unresponsive.
func seedOneModel(ctx context.Context, c *client, cfg versionsConfig, i int, source, runID string) error {
	name := cfg.modelName(i)
	err := retry(ctx, func(again bool) error {
		err := c.post(ctx, "/api/2.0/mlflow/registered-models/create", map[string]any{"name": name}, nil)
		if again && hasErrorCode(err, "RESOURCE_ALREADY_EXISTS") {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	for v := 1; v <= cfg.versions; v++ {
		err := retry(ctx, func(again bool) error {
			if again {
				n, err := c.versionCount(ctx, name)
				if err != nil {
					return err
				}
				if n >= v {
					return nil
				}
			}
			var out struct {
				Version struct {
					Version string `json:"version"`
				} `json:"model_version"`
			}
			in := map[string]any{"name": name, "source": source, "run_id": runID, "tags": cfg.versionTags(i, v)}
			if err := c.post(ctx, "/api/2.0/mlflow/model-versions/create", in, &out); err != nil {
				return err
			}
			if out.Version.Version != strconv.Itoa(v) {
				return permanent(fmt.Errorf("created version %q, want %d", out.Version.Version, v))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// versionCount is how many versions the registered model name has.
func (c *client) versionCount(ctx context.Context, name string) (int, error) {
	var out struct {
		Versions []struct{} `json:"model_versions"`
		Next     string     `json:"next_page_token"`
	}
	q := url.Values{"filter": {fmt.Sprintf("name = '%s'", name)}, "max_results": {"10000"}}
	if err := c.get(ctx, "/api/2.0/mlflow/model-versions/search", q, &out); err != nil {
		return 0, err
	}
	if out.Next != "" {
		return 0, permanent(fmt.Errorf("model %s has more than 10000 versions", name))
	}
	return len(out.Versions), nil
}

// permanentError is an error that a retry cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

// transient reports whether err may pass on another try: the connection failed or
// the server answered 5xx.
func transient(err error) bool {
	var ae *apiError
	var pe permanentError
	switch {
	case err == nil || errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &ae):
		return ae.Status >= 500
	}
	return true
}

// retryDelays are the pauses before each new try of a transiently failed request.
var retryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// retry runs op until it succeeds, fails for good, or has run out of tries. op is
// told whether this is a new try, to accept what an earlier, lost try did.
func retry(ctx context.Context, op func(again bool) error) error {
	err := op(false)
	for _, d := range retryDelays {
		if !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		err = op(true)
	}
	return err
}

// hasErrorCode reports whether err is an answer carrying MLflow's error_code.
func hasErrorCode(err error, code string) bool {
	var ae *apiError
	return errors.As(err, &ae) && strings.Contains(ae.Body, `"`+code+`"`)
}

func tagOf(tags []kv, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

type timeVersionsConfig struct {
	team       string
	maxResults int
	reps       int
}

// timeVersions times reps searches for the versions of one team, after one untimed
// warm-up. A repetition is every page the search takes; each answer is checked.
func timeVersions(ctx context.Context, c *client, cfg versionsConfig, tc timeVersionsConfig) (times []time.Duration, n, pages int, err error) {
	m, err := c.getRegisteredModel(ctx, cfg.marker())
	if err != nil {
		return nil, 0, 0, err
	}
	if m == nil || tagOf(m.Tags, seedTag) != cfg.want() {
		return nil, 0, 0, fmt.Errorf("no complete seed %q under %s; run seed-versions first", cfg.want(), cfg.prefix)
	}
	want := cfg.matches(tc.team)
	if want == 0 {
		return nil, 0, 0, fmt.Errorf("no version carries team %q", tc.team)
	}
	filter := fmt.Sprintf("tags.team = '%s'", tc.team)
	for r := -1; r < tc.reps; r++ {
		t0 := time.Now()
		bodies, err := searchVersionPages(ctx, c, filter, tc.maxResults)
		if err != nil {
			return nil, 0, 0, err
		}
		took := time.Since(t0)
		if n, err = checkVersions(bodies, tc.team); err != nil {
			return nil, 0, 0, err
		}
		if n != want {
			return nil, 0, 0, fmt.Errorf("search returned %d versions of %s, want %d", n, tc.team, want)
		}
		if r >= 0 { // r == -1 is the warm-up
			times = append(times, took)
		}
		pages = len(bodies)
	}
	return times, n, pages, nil
}

// searchVersionPages fetches every page of a model-version search. Only the round
// trips are timed by the caller; the bodies are decoded afterwards.
func searchVersionPages(ctx context.Context, c *client, filter string, maxResults int) ([][]byte, error) {
	q := url.Values{"filter": {filter}, "max_results": {strconv.Itoa(maxResults)}}
	var bodies [][]byte
	for {
		data, err := c.do(ctx, http.MethodGet, "/api/2.0/mlflow/model-versions/search", q, nil)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, data)
		next, err := nextPageToken(data)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return bodies, nil
		}
		if len(bodies) > 10000 {
			return nil, errors.New("model-version search does not stop paging")
		}
		q.Set("page_token", next)
	}
}

// checkVersions counts the versions in the pages and checks that each is distinct
// and tagged with team.
func checkVersions(bodies [][]byte, team string) (int, error) {
	seen := map[string]bool{}
	for _, data := range bodies {
		var out struct {
			Versions []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Tags    []kv   `json:"tags"`
			} `json:"model_versions"`
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return 0, fmt.Errorf("decode model-version search answer: %w", err)
		}
		for _, v := range out.Versions {
			id := v.Name + "/" + v.Version
			if seen[id] {
				return 0, fmt.Errorf("version %s returned twice", id)
			}
			seen[id] = true
			if got := tagOf(v.Tags, "team"); got != team {
				return 0, fmt.Errorf("version %s has team %q, want %q", id, got, team)
			}
		}
	}
	return len(seen), nil
}

func nextPageToken(data []byte) (string, error) {
	var out struct {
		Next string `json:"next_page_token"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("decode model-version search answer: %w", err)
	}
	return out.Next, nil
}

// runVersions is the seed-versions and versions subcommands.
func runVersions(ctx context.Context, cmd string, fs *flag.FlagSet, co *common, args []string,
	emit func(record) error, stderr io.Writer) error {
	cfg := versionsConfig{}
	tc := timeVersionsConfig{}
	var conns int
	fs.StringVar(&cfg.base, "prefix", "bench-versions", "registered-model name prefix (a LIKE pattern: avoid _ and %)")
	fs.IntVar(&cfg.models, "models", 1000, "registered models")
	fs.IntVar(&cfg.versions, "versions", 20, "versions per model")
	fs.IntVar(&cfg.tags, "tags", 5, "tags per version (the first is team)")
	fs.IntVar(&cfg.teams, "teams", 10, "distinct values of the team tag")
	fs.IntVar(&conns, "c", 8, "concurrent connections when seeding")
	fs.StringVar(&tc.team, "team", "team-3", "the team to search for: filter tags.team = '<team>'")
	fs.IntVar(&tc.maxResults, "max-results", 10000, "max_results per page")
	fs.IntVar(&tc.reps, "reps", 5, "repetitions (after one warm-up)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.models < 1 || cfg.versions < 1 || cfg.tags < 1 || cfg.teams < 1 || conns < 1 || tc.reps < 1 {
		return errors.New("-models, -versions, -tags, -teams, -c and -reps must be at least 1")
	}
	cfg.prefix = fmt.Sprintf("%s-%dx%d", cfg.base, cfg.models, cfg.versions)
	if cmd == "seed-versions" {
		t0 := time.Now()
		reused, err := seedVersions(ctx, newClient(co.url, conns, co.timeout), cfg, conns, stderr)
		if err != nil {
			return fmt.Errorf("seeding %s: %w", cfg.prefix, err)
		}
		took := time.Since(t0).Seconds()
		fmt.Fprintf(stderr, "seed-versions %s/%s: %d models × %d versions (reused %v) in %.1fs\n",
			co.server, co.backend, cfg.models, cfg.versions, reused, took)
		return emit(record{Bench: "seed-versions", Value: took, Unit: "s", Count: cfg.models * cfg.versions, Reused: reused, Conns: conns})
	}
	times, n, pages, err := timeVersions(ctx, newClient(co.url, 1, co.timeout), cfg, tc)
	if err != nil {
		return err
	}
	med := median(msList(times))
	fmt.Fprintf(stderr, "versions %s/%s: median %.1fms over %d reps (%d of %d versions in %d page(s)) samples %v\n",
		co.server, co.backend, med, tc.reps, n, cfg.models*cfg.versions, pages, msList(times))
	return emit(record{Bench: "versions", Value: med, Unit: "ms", Samples: msList(times), Count: n, Pages: pages})
}
