package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// trainingKeys are what a training loop typically logs; each batch carries
// len(trainingKeys) keys × (batchSize/len) consecutive steps.
var trainingKeys = []string{
	"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
	"grad_norm", "precision", "recall", "f1", "samples_per_sec",
}

// metricValue gives a plausible curve for key i at step s: decaying or
// saturating, with noise, so values are not all identical.
func metricValue(i int, step int64, rng *rand.Rand) float64 {
	t := float64(step)
	decay := math.Exp(-t / 50000)
	noise := rng.NormFloat64() * 0.01
	switch {
	case i == 4: // learning rate: cosine-ish schedule
		return 1e-3 * (0.5 + 0.5*math.Cos(t/100000))
	case i == 9: // throughput
		return 2400 + rng.NormFloat64()*80
	case i%2 == 0: // losses
		return 2.3*decay + 0.05 + noise
	default: // scores in [0, 1]
		return math.Min(1, 0.98-0.88*decay+noise)
	}
}

// appendBatch writes a log-batch body by hand: the load generator should cost
// the shared CPU as little as possible next to the server under test.
func appendBatch(b []byte, runID string, firstStep int64, size int, ts int64, rng *rand.Rand) []byte {
	b = append(b, `{"run_id":"`...)
	b = append(b, runID...)
	b = append(b, `","metrics":[`...)
	steps := size / len(trainingKeys)
	n := 0
	for s := 0; s < steps; s++ {
		step := firstStep + int64(s)
		for i, key := range trainingKeys {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"key":"`...)
			b = append(b, key...)
			b = append(b, `","value":`...)
			b = strconv.AppendFloat(b, metricValue(i, step, rng), 'g', -1, 64)
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, ts, 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, step, 10)
			b = append(b, '}')
		}
	}
	return append(b, "]}"...)
}

type ingestConfig struct {
	experiment string
	conns      int
	duration   time.Duration
	batch      int
}

type ingestResult struct {
	metrics   int64
	requests  int
	errors    int
	firstErr  error
	elapsed   time.Duration
	latencies []time.Duration
}

func runIngest(ctx context.Context, c *client, cfg ingestConfig) (*ingestResult, error) {
	if cfg.batch < len(trainingKeys) || cfg.batch%len(trainingKeys) != 0 {
		return nil, fmt.Errorf("batch must be a multiple of %d", len(trainingKeys))
	}
	expID, err := c.ensureExperiment(ctx, cfg.experiment)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	// Runs are created before the clock starts: only log-batch is measured.
	runs := make([]string, cfg.conns)
	for i := range runs {
		if runs[i], err = c.createRun(ctx, expID, fmt.Sprintf("ingest-%d-%d", time.Now().Unix(), i)); err != nil {
			return nil, fmt.Errorf("create run: %w", err)
		}
	}

	res := &ingestResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(cfg.duration)
	for w := range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			var body []byte
			var lat []time.Duration
			var sent int64
			var errs int
			var firstErr error
			step := int64(0)
			for time.Now().Before(deadline) {
				body = appendBatch(body[:0], runs[w], step, cfg.batch, time.Now().UnixMilli(), rng)
				t0 := time.Now()
				_, err := c.do(ctx, http.MethodPost, "/api/2.0/mlflow/runs/log-batch", nil, body)
				lat = append(lat, time.Since(t0))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					var ae *apiError
					if !errors.As(err, &ae) {
						break // transport failure: the server is gone, stop hammering it
					}
					continue
				}
				sent += int64(cfg.batch)
				step += int64(cfg.batch / len(trainingKeys))
			}
			mu.Lock()
			defer mu.Unlock()
			res.metrics += sent
			res.requests += len(lat)
			res.errors += errs
			res.latencies = append(res.latencies, lat...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		}()
	}
	wg.Wait()
	// Requests in flight at the deadline still count; so does their time.
	res.elapsed = time.Since(start)
	return res, nil
}
