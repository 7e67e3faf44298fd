package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
)

// TestCrashLosesNoAnsweredPrediction kills `plinth server` with SIGKILL while it
// answers requests (some log records already uploaded, some only in the local
// write-ahead file) and checks, after a restart on the same folders, that every
// answered request is in the Parquet log exactly once.
func TestCrashLosesNoAnsweredPrediction(t *testing.T) {
	dir := t.TempDir()
	preds := filepath.Join(dir, "predictions")
	args := []string{"server",
		"--db", "sqlite:" + filepath.Join(dir, "plinth.db"),
		"--artifacts", filepath.Join(dir, "artifacts"),
		"--predictions", preds,
		"--prediction-log-dir", filepath.Join(dir, "wal"),
		"--model-cache", filepath.Join(dir, "cache"),
		"--refresh", "200ms",
		"--prediction-log-flush", "500ms", // uploads happen during the load, so the crash splits them
	}
	srv := startProc(t, "server", nil, args...)

	const model, endpoint = "crash-model", "crash"
	createRegisteredModel(t, srv.URL, model)
	version := registerVersion(t, srv.URL, model, "xgb-classifier")
	setAliasMLflow(t, srv.URL, model, "live", version)
	createEndpoint(t, srv.URL, endpoint, "models:/"+model+"@live")
	waitServing(t, srv.URL, endpoint, version, time.Minute)

	columns, rows := goldenRows(t, "xgb-classifier")
	var (
		mu         sync.Mutex
		answered   = map[string]bool{}
		sent       int
		unexpected []string // non-200 answers or wrong attribution: product bugs
	)
	const workers, loadFor, killAfter = 4, 2 * time.Second, time.Second
	ctx, cancel := context.WithTimeout(context.Background(), loadFor)
	defer cancel()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("crash-%d-%d", g, i)
				a, err := invoke(srv.URL, endpoint, id, scoringBody(columns, rows[i%len(rows)]))
				mu.Lock()
				sent++
				switch {
				case err != nil:
					// Not answered (the server is gone); back off instead of spinning.
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				case a.status != 200 || a.version != version || a.echoed != id:
					unexpected = append(unexpected, fmt.Sprintf("%s: HTTP %d version %q id %q %s", id, a.status, a.version, a.echoed, a.body))
				default:
					answered[id] = true
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(killAfter)
	srv.Kill()
	mu.Lock()
	atKill := len(answered)
	mu.Unlock()
	wg.Wait()

	for i, u := range unexpected {
		if i == 10 {
			t.Errorf("… %d unexpected answers in all", len(unexpected))
			break
		}
		t.Errorf("unexpected answer %s", u)
	}
	if atKill < 20 {
		t.Fatalf("only %d requests were answered before the kill; the crash did not interrupt a load", atKill)
	}
	beforeRestart, objectsBefore := readPredictions(t, preds, blob.S3Options{})

	// The restarted server replays the write-ahead files; SIGTERM makes it upload the rest.
	again := startProc(t, "server-restarted", nil, args...)
	again.Stop()

	recs, objects := readPredictions(t, preds, blob.S3Options{})
	idx := byRequest(t, recs)
	missing := 0
	for id := range answered {
		rs := idx[recordKey{id, 0, "primary"}]
		if len(rs) == 0 {
			if missing < 10 {
				t.Errorf("answered request %s is not in the prediction log", id)
			}
			missing++
			continue
		}
		if r := rs[0]; r.Status != 200 || r.ModelVersion != version || r.Endpoint != endpoint || r.Outputs == "" {
			t.Errorf("request %s logged as status %d, %s version %s, outputs %q; want 200, %s version %s",
				id, r.Status, r.Endpoint, r.ModelVersion, r.Outputs, endpoint, version)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered requests are missing from the prediction log", missing, len(answered))
	}
	t.Logf("sent %d requests, %d answered (%d when kill -9 came); %d records in %d objects uploaded before the crash; "+
		"after the restart %d records in %d objects (%d logged but never answered: in flight at the kill)",
		sent, len(answered), atKill, len(beforeRestart), objectsBefore, len(recs), objects, len(recs)-len(answered)+missing)
	if len(beforeRestart) == 0 {
		t.Logf("note: nothing was uploaded before the crash, so only the replay path was exercised")
	}
}
