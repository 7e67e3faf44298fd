package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// firstErrorBytes bounds how much of an error answer is kept.
const firstErrorBytes = 1024

type result struct {
	latencies  []time.Duration // of every answered request, errors included
	errors     int             // non-2xx answers and transport failures
	firstError string
	elapsed    time.Duration // from the start until the last request in flight returned
}

// loader holds what the connections share during one phase.
type loader struct {
	cfg    config
	client *http.Client
	next   atomic.Uint64 // round-robin body index
	issued atomic.Int64  // requests started, for -n
	limit  int64         // 0: no count limit
	until  time.Time     // zero: no deadline

	mu     sync.Mutex
	result result
}

func run(cfg config) result {
	client := &http.Client{
		Timeout: cfg.timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: cfg.conns,
			MaxConnsPerHost:     cfg.conns,
			DisableCompression:  true,
		},
	}
	if cfg.warmup > 0 {
		phase(cfg, client, 0, time.Now().Add(cfg.warmup))
	}
	if cfg.total > 0 {
		return phase(cfg, client, cfg.total, time.Time{})
	}
	return phase(cfg, client, 0, time.Now().Add(cfg.duration))
}

// phase runs cfg.conns connections until the deadline passes or limit requests were started.
func phase(cfg config, client *http.Client, limit int64, until time.Time) result {
	l := &loader{cfg: cfg, client: client, limit: limit, until: until}
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.conns {
		wg.Go(l.connection)
	}
	wg.Wait()
	l.result.elapsed = time.Since(start)
	return l.result
}

// connection sends request after request; its latencies are merged once at the end so that
// the connections do not contend on a lock per request.
func (l *loader) connection() {
	var lat []time.Duration
	errs, firstErr := 0, ""
	for l.more() {
		body := l.cfg.bodies[(l.next.Add(1)-1)%uint64(len(l.cfg.bodies))]
		t0 := time.Now()
		msg := l.send(body)
		lat = append(lat, time.Since(t0))
		if msg != "" {
			errs++
			if firstErr == "" {
				firstErr = msg
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.result.latencies = append(l.result.latencies, lat...)
	l.result.errors += errs
	if l.result.firstError == "" {
		l.result.firstError = firstErr
	}
}

func (l *loader) more() bool {
	if l.limit > 0 {
		return l.issued.Add(1) <= l.limit
	}
	return time.Now().Before(l.until)
}

// send posts one body and reads the whole answer; it returns "" on a 2xx answer, else a
// description of the failure with the start of the answer.
func (l *loader) send(body []byte) string {
	req, err := http.NewRequest(http.MethodPost, l.cfg.url, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", l.cfg.contentType)
	resp, err := l.client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return "reading the answer: " + err.Error()
		}
		return ""
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, firstErrorBytes))
	_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
	return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(head))
}
