package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// figure is one row of the report: how to read it and what the issue asks.
type figure struct {
	bench, label string
	higherBetter bool
	target       string
}

var figures = []figure{
	{"ingest", "ingest, metrics/s (median of runs)", true, "≥ 30×"},
	{"search", "search 1,000 of N runs, ms (median)", false, "≥ 20×"},
	{"history", "get-history 100k steps, ms (median)", false, "≥ 20×"},
	{"versions", "search 2,000 of 20k model versions by tag, ms (median)", false, "≥ 20×"},
	{"rss", "peak RSS during ingest, MB", false, "Plinth < 300 MB"},
}

// report reads JSON lines written by the other commands (and by run.sh for
// rss) and prints a markdown table, one row per backend and figure. Several
// records of one figure (e.g. three ingest runs) are reduced to their median,
// RSS to its maximum.
func report(files []string, w io.Writer) error {
	if len(files) == 0 {
		return errors.New("report needs one or more results files")
	}
	vals := map[[3]string][]float64{} // backend, bench, server
	var backends []string
	for _, f := range files {
		if err := readRecords(f, func(r record) {
			k := [3]string{r.Backend, r.Bench, r.Server}
			if len(vals[k]) == 0 && !slices.Contains(backends, r.Backend) {
				backends = append(backends, r.Backend)
			}
			vals[k] = append(vals[k], r.Value)
		}); err != nil {
			return err
		}
	}
	reduce := func(bench string, xs []float64) (float64, bool) {
		if len(xs) == 0 {
			return 0, false
		}
		if bench == "rss" {
			m := xs[0]
			for _, x := range xs {
				m = max(m, x)
			}
			return m, true
		}
		return median(xs), true
	}
	fmt.Fprintln(w, "| Backend | Figure | MLflow | Plinth | Plinth speed-up | Target |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|")
	for _, b := range backends {
		for _, f := range figures {
			m, okM := reduce(f.bench, vals[[3]string{b, f.bench, "mlflow"}])
			p, okP := reduce(f.bench, vals[[3]string{b, f.bench, "plinth"}])
			if !okM && !okP {
				continue
			}
			ratio := "–"
			if okM && okP && f.bench != "rss" && m > 0 && p > 0 {
				r := m / p
				if f.higherBetter {
					r = p / m
				}
				ratio = fmt.Sprintf("%.1f×", r)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", b, f.label, cell(m, okM), cell(p, okP), ratio, f.target)
		}
	}
	return nil
}

func readRecords(path string, fn func(record)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fn(r)
	}
	return sc.Err()
}

func cell(v float64, ok bool) string {
	switch {
	case !ok:
		return "pending"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}
