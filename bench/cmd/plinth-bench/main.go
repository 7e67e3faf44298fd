// Command plinth-bench drives any MLflow-compatible tracking server over plain
// REST, so Plinth and `mlflow server` get the very same load. Each figure is
// printed as one JSON line on stdout and as a readable line on stderr.
//
//	plinth-bench ingest       -url URL [-c 8] [-d 30s]
//	plinth-bench seed-search  -url URL [-runs 10000]
//	plinth-bench search       -url URL [-reps 5]
//	plinth-bench seed-history -url URL [-steps 100000]
//	plinth-bench history      -url URL [-reps 5]
//	plinth-bench seed-versions -url URL [-models 1000] [-versions 20]
//	plinth-bench versions     -url URL [-models 1000] [-versions 20] [-reps 5]
//	plinth-bench report       results.jsonl...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// record is one JSON line of output; report reads them back.
type record struct {
	Bench    string    `json:"bench"`
	Server   string    `json:"server,omitempty"`
	Backend  string    `json:"backend,omitempty"`
	Value    float64   `json:"value"`
	Unit     string    `json:"unit"`
	Conns    int       `json:"conns,omitempty"`
	Seconds  float64   `json:"seconds,omitempty"`
	Requests int       `json:"requests,omitempty"`
	Errors   int       `json:"errors,omitempty"`
	P50ms    float64   `json:"p50_ms,omitempty"`
	P90ms    float64   `json:"p90_ms,omitempty"`
	P99ms    float64   `json:"p99_ms,omitempty"`
	MaxMs    float64   `json:"max_ms,omitempty"`
	Samples  []float64 `json:"samples_ms,omitempty"`
	Count    int       `json:"count,omitempty"`
	Pages    int       `json:"pages,omitempty"`
	Reused   bool      `json:"reused,omitempty"`
	Time     string    `json:"time"`
}

type common struct {
	url, server, backend string
	timeout              time.Duration
}

func addCommon(fs *flag.FlagSet) *common {
	c := &common{}
	fs.StringVar(&c.url, "url", "http://127.0.0.1:5000", "tracking server base URL")
	fs.StringVar(&c.server, "server", "", "label for the server under test (e.g. plinth, mlflow)")
	fs.StringVar(&c.backend, "backend", "", "label for its database (e.g. sqlite, postgres)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "per-request timeout")
	return c
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "plinth-bench %s: FAILED: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: plinth-bench ingest|seed-search|search|seed-history|history|seed-versions|versions|report [flags]")
	os.Exit(2)
}

func run(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	co := addCommon(fs)
	emit := func(r record) error {
		r.Server, r.Backend, r.Time = co.server, co.backend, time.Now().UTC().Format(time.RFC3339)
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	switch cmd {
	case "ingest":
		cfg := ingestConfig{}
		fs.StringVar(&cfg.experiment, "experiment", "bench-ingest", "experiment for the ingest runs")
		fs.IntVar(&cfg.conns, "c", 8, "concurrent connections, one run each")
		fs.DurationVar(&cfg.duration, "d", 30*time.Second, "how long to post")
		fs.IntVar(&cfg.batch, "batch", 1000, "metrics per log-batch request")
		if err := fs.Parse(args); err != nil {
			return err
		}
		c := newClient(co.url, cfg.conns, co.timeout)
		res, err := runIngest(ctx, c, cfg)
		if err != nil {
			return err
		}
		rate := float64(res.metrics) / res.elapsed.Seconds()
		fmt.Fprintf(stderr, "ingest %s/%s: %.0f metrics/s (%d requests in %.1fs, %d conns), latency p50 %.1fms p90 %.1fms p99 %.1fms max %.1fms, errors %d\n",
			co.server, co.backend, rate, res.requests, res.elapsed.Seconds(), cfg.conns,
			ms(percentile(res.latencies, 50)), ms(percentile(res.latencies, 90)),
			ms(percentile(res.latencies, 99)), ms(percentile(res.latencies, 100)), res.errors)
		if err := emit(record{Bench: "ingest", Value: rate, Unit: "metrics/s", Conns: cfg.conns,
			Seconds: res.elapsed.Seconds(), Requests: res.requests, Errors: res.errors,
			P50ms: ms(percentile(res.latencies, 50)), P90ms: ms(percentile(res.latencies, 90)),
			P99ms: ms(percentile(res.latencies, 99)), MaxMs: ms(percentile(res.latencies, 100))}); err != nil {
			return err
		}
		if res.errors > 0 {
			return fmt.Errorf("%d of %d requests failed; first: %v", res.errors, res.requests, res.firstErr)
		}
		if res.requests == 0 {
			return errors.New("no request completed")
		}
		return nil

	case "seed-search":
		cfg := seedSearchConfig{progress: stderr}
		fs.StringVar(&cfg.experiment, "experiment", "bench-search", "experiment to fill")
		fs.IntVar(&cfg.runs, "runs", 10000, "number of runs")
		fs.IntVar(&cfg.params, "params", 20, "params per run")
		fs.IntVar(&cfg.metrics, "metrics", 10, "metrics per run")
		fs.IntVar(&cfg.conns, "c", 8, "concurrent connections")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg.experiment = fmt.Sprintf("%s-%d", cfg.experiment, cfg.runs)
		t0 := time.Now()
		_, reused, err := seedSearch(ctx, newClient(co.url, cfg.conns, co.timeout), cfg)
		if err != nil {
			return err
		}
		took := time.Since(t0).Seconds()
		fmt.Fprintf(stderr, "seed-search %s/%s: %d runs in %s (reused %v) in %.1fs\n",
			co.server, co.backend, cfg.runs, cfg.experiment, reused, took)
		return emit(record{Bench: "seed-search", Value: took, Unit: "s", Count: cfg.runs, Reused: reused, Conns: cfg.conns})

	case "search":
		cfg := searchConfig{}
		var runs int
		fs.StringVar(&cfg.experiment, "experiment", "bench-search", "seeded experiment (name without the -N suffix)")
		fs.IntVar(&runs, "runs", 10000, "runs the experiment was seeded with")
		fs.StringVar(&cfg.filter, "filter", "metrics.m0 > 0.5", "search filter")
		fs.StringVar(&cfg.orderBy, "order-by", "metrics.m1 DESC", "order_by clause")
		fs.IntVar(&cfg.maxResults, "max-results", 1000, "max_results")
		fs.IntVar(&cfg.reps, "reps", 5, "repetitions")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg.experiment = fmt.Sprintf("%s-%d", cfg.experiment, runs)
		times, n, err := searchRuns(ctx, newClient(co.url, 1, co.timeout), cfg)
		if err != nil {
			return err
		}
		med := median(msList(times))
		fmt.Fprintf(stderr, "search %s/%s: median %.1fms over %d reps (%d of %d runs returned) samples %v\n",
			co.server, co.backend, med, cfg.reps, n, runs, msList(times))
		return emit(record{Bench: "search", Value: med, Unit: "ms", Samples: msList(times), Count: n})

	case "seed-history", "history":
		cfg := historyConfig{}
		fs.StringVar(&cfg.experiment, "experiment", "bench-history", "experiment of the history run")
		fs.IntVar(&cfg.steps, "steps", 100000, "steps of the one metric")
		fs.IntVar(&cfg.batch, "batch", 1000, "points per log-batch when seeding")
		fs.IntVar(&cfg.reps, "reps", 5, "repetitions")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg.experiment = fmt.Sprintf("%s-%d", cfg.experiment, cfg.steps)
		c := newClient(co.url, 1, co.timeout)
		if cmd == "seed-history" {
			t0 := time.Now()
			reused, err := seedHistory(ctx, c, cfg)
			if err != nil {
				return err
			}
			took := time.Since(t0).Seconds()
			fmt.Fprintf(stderr, "seed-history %s/%s: %d steps (reused %v) in %.1fs\n", co.server, co.backend, cfg.steps, reused, took)
			return emit(record{Bench: "seed-history", Value: took, Unit: "s", Count: cfg.steps, Reused: reused})
		}
		times, pages, err := timeHistory(ctx, c, cfg)
		if err != nil {
			return err
		}
		med := median(msList(times))
		fmt.Fprintf(stderr, "history %s/%s: median %.1fms over %d reps (%d points in %d request(s)) samples %v\n",
			co.server, co.backend, med, cfg.reps, cfg.steps, pages, msList(times))
		return emit(record{Bench: "history", Value: med, Unit: "ms", Samples: msList(times), Count: cfg.steps, Pages: pages})

	case "seed-versions", "versions":
		return runVersions(ctx, cmd, fs, co, args, emit, stderr)

	case "report":
		return report(args, stdout)
	}
	usage()
	return nil
}
