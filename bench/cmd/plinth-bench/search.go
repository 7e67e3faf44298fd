package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

type seedSearchConfig struct {
	experiment string
	runs       int
	params     int
	metrics    int
	conns      int
	progress   io.Writer // a line every 10% (seeding MLflow takes minutes); may be nil
}

// seedSearch fills an experiment with runs of params p0.. and metrics m0.. (step 0,
// values uniform in [0, 1)), unless a complete one of that size already exists.
func seedSearch(ctx context.Context, c *client, cfg seedSearchConfig) (expID string, reused bool, err error) {
	want := fmt.Sprintf("runs=%d params=%d metrics=%d", cfg.runs, cfg.params, cfg.metrics)
	expID, reused, err = c.seededExperiment(ctx, cfg.experiment, want)
	if err != nil || reused {
		return expID, reused, err
	}
	jobs := make(chan int)
	errc := make(chan error, cfg.conns)
	var wg sync.WaitGroup
	for w := range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range jobs {
				if err := seedOneRun(ctx, c, expID, i, cfg, rng); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	t0 := time.Now()
feed:
	for i := range cfg.runs {
		if cfg.progress != nil && i > 0 && i%max(cfg.runs/10, 1) == 0 {
			fmt.Fprintf(cfg.progress, "seed-search: %d/%d runs queued after %.0fs\n", i, cfg.runs, time.Since(t0).Seconds())
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
		return "", false, fmt.Errorf("seeding %s: %w", cfg.experiment, err)
	}
	// Tagged last: the tag certifies that every run was written.
	return expID, false, c.setExperimentTag(ctx, expID, seedTag, want)
}

var optimizers = []string{"adam", "sgd", "adamw", "rmsprop"}

func seedOneRun(ctx context.Context, c *client, expID string, i int, cfg seedSearchConfig, rng *rand.Rand) error {
	runID, err := c.createRun(ctx, expID, fmt.Sprintf("seed-%05d", i))
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	type metric struct {
		Key       string  `json:"key"`
		Value     float64 `json:"value"`
		Timestamp int64   `json:"timestamp"`
		Step      int64   `json:"step"`
	}
	params := make([]kv, cfg.params)
	for p := range params {
		var v string
		switch p % 4 {
		case 0:
			v = strconv.FormatFloat(rng.Float64()/100, 'g', 4, 64)
		case 1:
			v = strconv.Itoa(1 << (4 + rng.IntN(6)))
		case 2:
			v = optimizers[rng.IntN(len(optimizers))]
		default:
			v = strconv.Itoa(rng.IntN(1000))
		}
		params[p] = kv{Key: "p" + strconv.Itoa(p), Value: v}
	}
	metrics := make([]metric, cfg.metrics)
	for m := range metrics {
		metrics[m] = metric{Key: "m" + strconv.Itoa(m), Value: rng.Float64(), Timestamp: now}
	}
	return c.post(ctx, "/api/2.0/mlflow/runs/log-batch",
		map[string]any{"run_id": runID, "params": params, "metrics": metrics}, nil)
}

type searchConfig struct {
	experiment string
	filter     string
	orderBy    string
	maxResults int
	reps       int
}

// searchRuns times R identical searches. Only the round trip (up to the last
// byte of the body) is timed; decoding afterwards checks the answer is sane.
func searchRuns(ctx context.Context, c *client, cfg searchConfig) (times []time.Duration, returned int, err error) {
	e, err := c.experimentByName(ctx, cfg.experiment)
	if err != nil {
		return nil, 0, err
	}
	if e == nil || e.tag(seedTag) == "" {
		return nil, 0, fmt.Errorf("experiment %q is not seeded; run seed-search first", cfg.experiment)
	}
	req := map[string]any{
		"experiment_ids": []string{e.ID},
		"filter":         cfg.filter,
		"max_results":    cfg.maxResults,
		"run_view_type":  "ACTIVE_ONLY",
	}
	if cfg.orderBy != "" {
		req["order_by"] = []string{cfg.orderBy}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	for r := 0; r < cfg.reps; r++ {
		t0 := time.Now()
		data, err := c.do(ctx, http.MethodPost, "/api/2.0/mlflow/runs/search", nil, body)
		if err != nil {
			return nil, 0, err
		}
		times = append(times, time.Since(t0))
		n, err := checkSearch(data, cfg.orderBy)
		if err != nil {
			return nil, 0, err
		}
		if r > 0 && n != returned {
			return nil, 0, fmt.Errorf("search returned %d runs, earlier %d", n, returned)
		}
		returned = n
	}
	return times, returned, nil
}

// checkSearch counts runs and, for the default "metrics.m1 DESC" ordering,
// verifies the server really sorted them.
func checkSearch(data []byte, orderBy string) (int, error) {
	var out struct {
		Runs []struct {
			Data struct {
				Metrics []struct {
					Key   string  `json:"key"`
					Value float64 `json:"value"`
				} `json:"metrics"`
			} `json:"data"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("decode search answer: %w", err)
	}
	if len(out.Runs) == 0 {
		return 0, fmt.Errorf("search returned no runs")
	}
	if orderBy != "metrics.m1 DESC" {
		return len(out.Runs), nil
	}
	prev := 2.0
	for i, r := range out.Runs {
		v := -1.0
		for _, m := range r.Data.Metrics {
			if m.Key == "m1" {
				v = m.Value
			}
		}
		if v > prev {
			return 0, fmt.Errorf("run %d not in metrics.m1 DESC order (%g after %g)", i, v, prev)
		}
		prev = v
	}
	return len(out.Runs), nil
}
