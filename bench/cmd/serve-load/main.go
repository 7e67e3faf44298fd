// Command serve-load drives an HTTP prediction endpoint from a separate process: c keep-alive
// connections, each sending request after request with a body read from a file (or several,
// taken round-robin), for a duration or a total count. It prints one JSON line:
//
//	{"requests":…,"errors":…,"seconds":…,"rps":…,"p50_ms":…,"p90_ms":…,"p99_ms":…,"max_ms":…,"first_error":…}
//
// bench/serving.py runs it against Plinth and `mlflow models serve` alike.
//
//	serve-load -url http://127.0.0.1:5001/invocations -body row.json -c 64 -d 10s -warmup 2s
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

type config struct {
	url, contentType string
	bodies           [][]byte
	conns            int
	duration, warmup time.Duration
	total            int64
	timeout          time.Duration
}

func main() {
	var cfg config
	var bodyFile, bodyDir string
	flag.StringVar(&cfg.url, "url", "", "URL to POST to")
	flag.StringVar(&bodyFile, "body", "", "file holding the request body")
	flag.StringVar(&bodyDir, "body-dir", "", "folder of request bodies, sent round-robin (instead of -body)")
	flag.StringVar(&cfg.contentType, "content-type", "application/json", "Content-Type of the requests")
	flag.IntVar(&cfg.conns, "c", 1, "concurrent connections")
	flag.DurationVar(&cfg.duration, "d", 10*time.Second, "how long to send requests (unless -n is given)")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "send requests this long first without recording them")
	flag.Int64Var(&cfg.total, "n", 0, "send this many requests in all instead of running for -d")
	flag.DurationVar(&cfg.timeout, "timeout", time.Minute, "timeout of one request")
	flag.Parse()

	if err := cfg.loadBodies(bodyFile, bodyDir); err != nil {
		fail(err)
	}
	if err := cfg.validate(); err != nil {
		fail(err)
	}
	res := run(cfg)
	out, _ := json.Marshal(res.summary())
	fmt.Println(string(out))
}

func (c *config) loadBodies(file, dir string) error {
	switch {
	case file != "" && dir != "":
		return errors.New("give -body or -body-dir, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		c.bodies = [][]byte{b}
	case dir != "":
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries { // ReadDir sorts by name, so the order is stable
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			c.bodies = append(c.bodies, b)
		}
		if len(c.bodies) == 0 {
			return fmt.Errorf("-body-dir %s: no files", dir)
		}
	default:
		return errors.New("-body or -body-dir is required")
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.url == "":
		return errors.New("-url is required")
	case c.conns < 1:
		return fmt.Errorf("-c %d: want at least 1 connection", c.conns)
	case c.total < 0:
		return fmt.Errorf("-n %d: want a positive count", c.total)
	case c.total == 0 && c.duration <= 0:
		return fmt.Errorf("-d %v: want a positive duration (or -n)", c.duration)
	}
	return nil
}

// summary is the printed line; latencies in milliseconds.
type summary struct {
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	FirstError string  `json:"first_error"`
}

func (r result) summary() summary {
	slices.Sort(r.latencies)
	s := summary{
		Requests:   len(r.latencies),
		Errors:     r.errors,
		Seconds:    round(r.elapsed.Seconds(), 3),
		P50:        ms(percentile(r.latencies, 50)),
		P90:        ms(percentile(r.latencies, 90)),
		P99:        ms(percentile(r.latencies, 99)),
		Max:        ms(percentile(r.latencies, 100)),
		FirstError: r.firstError,
	}
	if r.elapsed > 0 {
		s.RPS = round(float64(s.Requests)/r.elapsed.Seconds(), 1)
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "serve-load:", err)
	os.Exit(2)
}
