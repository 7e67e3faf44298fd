package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const historyKey = "loss"

type historyConfig struct {
	experiment string
	steps      int
	batch      int
	reps       int
}

func (cfg historyConfig) seedValue() string { return "steps=" + strconv.Itoa(cfg.steps) }

// seedHistory logs one metric with cfg.steps steps to one run, in log-batch
// requests of cfg.batch points.
func seedHistory(ctx context.Context, c *client, cfg historyConfig) (reused bool, err error) {
	expID, reused, err := c.seededExperiment(ctx, cfg.experiment, cfg.seedValue())
	if err != nil || reused {
		return reused, err
	}
	runID, err := c.createRun(ctx, expID, "history")
	if err != nil {
		return false, err
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var body []byte
	for first := 0; first < cfg.steps; first += cfg.batch {
		body = append(body[:0], `{"run_id":"`+runID+`","metrics":[`...)
		ts := time.Now().UnixMilli()
		for s := first; s < first+cfg.batch && s < cfg.steps; s++ {
			if s > first {
				body = append(body, ',')
			}
			body = fmt.Appendf(body, `{"key":%q,"value":%s,"timestamp":%d,"step":%d}`,
				historyKey, strconv.FormatFloat(metricValue(0, int64(s), rng), 'g', -1, 64), ts, s)
		}
		body = append(body, "]}"...)
		if _, err := c.do(ctx, http.MethodPost, "/api/2.0/mlflow/runs/log-batch", nil, body); err != nil {
			return false, err
		}
	}
	return false, c.setExperimentTag(ctx, expID, seedTag, cfg.seedValue())
}

// historyRun finds the one run of the seeded history experiment.
func historyRun(ctx context.Context, c *client, cfg historyConfig) (string, error) {
	e, err := c.experimentByName(ctx, cfg.experiment)
	if err != nil {
		return "", err
	}
	if e == nil || e.tag(seedTag) != cfg.seedValue() {
		return "", fmt.Errorf("experiment %q is not seeded with %s; run seed-history first", cfg.experiment, cfg.seedValue())
	}
	var out struct {
		Runs []struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"runs"`
	}
	err = c.post(ctx, "/api/2.0/mlflow/runs/search",
		map[string]any{"experiment_ids": []string{e.ID}, "max_results": 1}, &out)
	if err != nil {
		return "", err
	}
	if len(out.Runs) != 1 {
		return "", fmt.Errorf("experiment %q has no run", cfg.experiment)
	}
	return out.Runs[0].Info.RunID, nil
}

// fetchHistory gets the whole history the way a client that wants all points
// must: without max_results (MLflow then answers everything in one page), but
// following next_page_token in case a server pages anyway. It returns the
// number of points, of requests, and the time spent in round trips (decoding
// is the client's cost, not the server's, so it is left out).
func fetchHistory(ctx context.Context, c *client, runID string) (points, pages int, wire time.Duration, err error) {
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "metric_key": {historyKey}}
		if token != "" {
			q.Set("page_token", token)
		}
		t0 := time.Now()
		data, err := c.do(ctx, http.MethodGet, "/api/2.0/mlflow/metrics/get-history", q, nil)
		wire += time.Since(t0)
		if err != nil {
			return 0, 0, 0, err
		}
		pages++
		var out struct {
			Metrics       []json.RawMessage `json:"metrics"`
			NextPageToken string            `json:"next_page_token"`
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return 0, 0, 0, fmt.Errorf("decode get-history answer: %w", err)
		}
		points += len(out.Metrics)
		if out.NextPageToken == "" {
			return points, pages, wire, nil
		}
		if pages > 10000 {
			return 0, 0, 0, fmt.Errorf("get-history still paging after %d requests", pages)
		}
		token = out.NextPageToken
	}
}

// timeHistory times R full fetches and checks every one returned every step.
func timeHistory(ctx context.Context, c *client, cfg historyConfig) (times []time.Duration, pages int, err error) {
	runID, err := historyRun(ctx, c, cfg)
	if err != nil {
		return nil, 0, err
	}
	for r := 0; r < cfg.reps; r++ {
		n, p, wire, err := fetchHistory(ctx, c, runID)
		if err != nil {
			return nil, 0, err
		}
		times = append(times, wire)
		if n != cfg.steps {
			return nil, 0, fmt.Errorf("get-history returned %d points, want %d", n, cfg.steps)
		}
		pages = p
	}
	return times, pages, nil
}
