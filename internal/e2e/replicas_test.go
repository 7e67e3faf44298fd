package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/testutil/pgtest"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

// aliasDeadline is the requirement: an alias change reaches every replica
// within 5 seconds.
const aliasDeadline = 5 * time.Second

// TestReplicasFollowAliasOnPostgresAndS3 runs one `plinth server` and two
// `plinth serve` replicas on PostgreSQL and S3, moves an alias through the server
// and checks that both replicas serve the new version within 5 seconds, without a
// failed request, and that both replicas' prediction logs land in the bucket.
func TestReplicasFollowAliasOnPostgresAndS3(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s3 := s3server.Start(t)
	dir := t.TempDir()
	env := []string{"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_REGION=" + s3.Region}
	predictions := "s3://" + s3.Bucket + "/predictions"
	args := func(command, name string) []string {
		return []string{command,
			"--db", dsn,
			"--artifacts", "s3://" + s3.Bucket + "/artifacts",
			"--predictions", predictions,
			"--s3-endpoint", s3.Endpoint, "--s3-path-style",
			"--prediction-log-dir", filepath.Join(dir, name, "wal"),
			"--model-cache", filepath.Join(dir, name, "cache"),
			"--refresh", "1s",
		}
	}
	srv := startProc(t, "server", env, args("server", "server")...)
	replicas := []*proc{
		startProc(t, "replica1", env, args("serve", "replica1")...),
		startProc(t, "replica2", env, args("serve", "replica2")...),
	}

	const model, endpoint = "churn", "churn"
	createRegisteredModel(t, srv.URL, model)
	v1 := registerVersion(t, srv.URL, model, "xgb-classifier")
	v2 := registerVersion(t, srv.URL, model, "xgb-booster")
	if v1 != "1" || v2 != "2" {
		t.Fatalf("registered versions %s and %s, want 1 and 2", v1, v2)
	}
	setAliasMLflow(t, srv.URL, model, "live", v1)
	createEndpoint(t, srv.URL, endpoint, "models:/"+model+"@live")

	columns, rows := goldenRows(t, "xgb-classifier")
	body := scoringBody(columns, rows[0])
	answered := newAnswers()
	for i, r := range replicas {
		n := 0
		waitUntil(t, time.Minute, fmt.Sprintf("replica %d to answer with version 1", i+1), func() (bool, string) {
			n++
			id := fmt.Sprintf("r%d-warm-%d", i+1, n)
			a, err := invoke(r.URL, endpoint, id, body)
			if err != nil {
				return false, err.Error()
			}
			if a.status == 200 {
				answered.add(id, a.version)
			}
			return a.status == 200 && a.version == v1, fmt.Sprintf("HTTP %d version %q %s", a.status, a.version, a.body)
		})
	}

	// Move the alias through the server; each replica must follow on its own refresh.
	setAliasV1(t, srv.URL, model, "live", 2)
	moved := time.Now()
	took := make([]time.Duration, len(replicas))
	var failures []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Go(func() {
			for n := 0; ; n++ {
				id := fmt.Sprintf("r%d-swap-%d", i+1, n)
				a, err := invoke(r.URL, endpoint, id, body)
				mu.Lock()
				switch {
				case err != nil || a.status != 200:
					failures = append(failures, fmt.Sprintf("replica %d, %s: %v HTTP %d %s", i+1, id, err, a.status, a.body))
				default:
					answered.add(id, a.version)
				}
				mu.Unlock()
				if err == nil && a.status == 200 && a.version == v2 {
					took[i] = time.Since(moved)
					return
				}
				if time.Since(moved) > 6*aliasDeadline {
					took[i] = -1
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Errorf("request failed during the alias change: %s", f)
	}
	for i, d := range took {
		switch {
		case d < 0:
			t.Errorf("replica %d still serves version 1 %s after the alias moved to 2", i+1, 6*aliasDeadline)
		case d > aliasDeadline:
			t.Errorf("replica %d served version 2 only %s after the alias moved; the requirement is %s", i+1, d.Round(time.Millisecond), aliasDeadline)
		default:
			t.Logf("replica %d served version 2 %s after the alias moved (refresh 1s)", i+1, d.Round(time.Millisecond))
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	const perReplica = 40
	for i, r := range replicas {
		for n := range perReplica {
			id := fmt.Sprintf("r%d-load-%d", i+1, n)
			a, err := invoke(r.URL, endpoint, id, scoringBody(columns, rows[n%len(rows)]))
			if err != nil || a.status != 200 || a.version != v2 || a.model != model || a.echoed != id {
				t.Fatalf("replica %d, %s: %v HTTP %d model %q version %q id %q %s", i+1, id, err, a.status, a.model, a.version, a.echoed, a.body)
			}
			answered.add(id, a.version)
		}
	}

	// A replica shows its endpoints' live state but refuses changes.
	if status, got, lastErr := getEndpoint(t, replicas[0].URL, endpoint).primary(); status != "serving" || got != v2 {
		t.Errorf("GET /api/v1/endpoints/%s on replica 1: primary %q version %q (last error %q), want serving version %s", endpoint, status, got, lastErr, v2)
	}
	res, err := client.Post(replicas[1].URL+"/api/v1/endpoints", "application/json",
		strings.NewReader(`{"name":"sneaky","model_uri":"models:/churn@live"}`))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/endpoints on a replica: HTTP %d %s, want 405", res.StatusCode, msg)
	}

	for _, p := range append(replicas, srv) {
		p.Stop()
	}

	recs, objects := readPredictions(t, predictions, blob.S3Options{
		Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: true, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey,
	})
	idx := byRequest(t, recs)
	writers := map[string]map[string]bool{"r1": {}, "r2": {}} // replica → writer ids in file names
	missing := 0
	for id, version := range answered.all() {
		rs := idx[recordKey{id, 0, "primary"}]
		if len(rs) == 0 {
			if missing < 10 {
				t.Errorf("answered request %s is not in the prediction log", id)
			}
			missing++
			continue
		}
		r := rs[0]
		if r.ModelVersion != version || r.Status != 200 || r.Endpoint != endpoint {
			t.Errorf("request %s logged as %s version %s status %d; it was answered by version %s", id, r.Endpoint, r.ModelVersion, r.Status, version)
		}
		writers[id[:2]][r.replica()] = true
	}
	if missing > 0 {
		t.Errorf("%d of %d answered requests are missing from the prediction log", missing, len(answered.all()))
	}
	if len(writers["r1"]) != 1 || len(writers["r2"]) != 1 {
		t.Errorf("each replica should write its objects under one writer id; got %v", writers)
	}
	for w := range writers["r1"] {
		if writers["r2"][w] {
			t.Errorf("both replicas wrote objects named %s-…: their files would overwrite each other", w)
		}
	}
	t.Logf("%d answered requests, %d records in %d objects; writer ids %v", len(answered.all()), len(recs), objects, writers)
}

// answers records which version answered each request id.
type answers struct {
	mu sync.Mutex
	m  map[string]string
}

func newAnswers() *answers { return &answers{m: map[string]string{}} }

func (a *answers) add(id, version string) {
	a.mu.Lock()
	a.m[id] = version
	a.mu.Unlock()
}

func (a *answers) all() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.m))
	for k, v := range a.m {
		out[k] = v
	}
	return out
}

// waitUntil polls ok until it reports true or timeout passes; the last detail
// explains a timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var detail string
	for time.Now().Before(deadline) {
		var done bool
		if done, detail = ok(); done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, detail)
}
