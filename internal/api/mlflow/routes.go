// Package mlflow serves the MLflow tracking REST API and the mlflow-artifacts
// proxy, as the unmodified mlflow 3.x Python client speaks them. Requests are
// decoded and validated here, before the store or the bucket are touched.
package mlflow

import (
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxBodyBytes caps JSON request bodies unless Options say otherwise.
const DefaultMaxBodyBytes = 10 << 20

// Options configure the handler. The zero value works.
type Options struct {
	Logger *slog.Logger // nil discards logs
	// MaxBodyBytes caps JSON request bodies (default DefaultMaxBodyBytes).
	// Artifact uploads are streamed and capped by MaxUploadBytes instead.
	MaxBodyBytes int64
	// MaxUploadBytes caps one artifact upload or upload part; 0 means no cap.
	MaxUploadBytes int64
	// Version is served as plain text at /version. The mlflow client parses it
	// with packaging.Version and only gates span logging (log_spans) on it,
	// which it needs >= 3.4 for and otherwise skips quietly. Plinth has no OTLP
	// span ingest yet, so its own version (e.g. "0.1.0", < 3.4) is the right
	// value: every tracking feature works and span logging is not attempted.
	Version string
	// Metrics, when set, receives the HTTP request metrics.
	Metrics prometheus.Registerer
}

type server struct {
	st   store.Store
	art  blob.Bucket
	opts Options
	log  *slog.Logger
}

// API prefixes: the client uses /api, the MLflow UI /ajax-api.
var (
	trackingPrefixes  = []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}
	artifactsPrefixes = []string{"/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"}
)

// New returns the HTTP handler of the MLflow API, with request ids, actors,
// access logs, panic recovery and (when Options.Metrics is set) metrics.
func New(st store.Store, artifacts blob.Bucket, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &server{st: st, art: artifacts, opts: opts, log: opts.Logger}
	mux := http.NewServeMux()
	s.routes(mux)

	mw := []httpx.Middleware{httpx.RequestID, httpx.Actor}
	if opts.Metrics != nil {
		mw = append(mw, httpx.Metrics(opts.Metrics))
	}
	mw = append(mw, httpx.AccessLog(s.log), httpx.Recover(s.log, writePanic))
	return httpx.Chain(s.guardPath(httpx.WithPattern(mux)), mw...)
}

type route struct {
	methods []string
	path    string
	h       http.HandlerFunc
}

func (s *server) routes(mux *http.ServeMux) {
	tracking := []route{
		{[]string{"POST"}, "/experiments/create", s.createExperiment},
		{[]string{"GET"}, "/experiments/get", s.getExperiment},
		{[]string{"GET"}, "/experiments/get-by-name", s.getExperimentByName},
		{[]string{"POST", "GET"}, "/experiments/search", s.searchExperiments},
		{[]string{"POST"}, "/experiments/update", s.updateExperiment},
		{[]string{"POST"}, "/experiments/delete", s.deleteExperiment},
		{[]string{"POST"}, "/experiments/restore", s.restoreExperiment},
		{[]string{"POST"}, "/experiments/set-experiment-tag", s.setExperimentTag},
		{[]string{"POST"}, "/experiments/delete-experiment-tag", s.deleteExperimentTag},

		{[]string{"POST"}, "/runs/create", s.createRun},
		{[]string{"GET"}, "/runs/get", s.getRun},
		{[]string{"POST"}, "/runs/update", s.updateRun},
		{[]string{"POST"}, "/runs/delete", s.deleteRun},
		{[]string{"POST"}, "/runs/restore", s.restoreRun},
		{[]string{"POST"}, "/runs/set-tag", s.setTag},
		{[]string{"POST"}, "/runs/delete-tag", s.deleteTag},
		{[]string{"POST"}, "/runs/log-parameter", s.logParam},
		{[]string{"POST"}, "/runs/log-metric", s.logMetric},
		{[]string{"POST"}, "/runs/log-batch", s.logBatch},
		{[]string{"POST"}, "/runs/log-inputs", s.logInputs},
		{[]string{"POST"}, "/runs/search", s.searchRuns},

		{[]string{"GET"}, "/metrics/get-history", s.getMetricHistory},
		{[]string{"GET"}, "/metrics/get-history-bulk-interval", s.getMetricHistoryBulkInterval},
		{[]string{"GET"}, "/metrics/get-history-bulk", s.getMetricHistoryBulk},

		{[]string{"GET"}, "/artifacts/list", s.listRunArtifacts},
	}
	tracking = append(tracking, s.loggedModelRoutes()...) // loggedmodels.go
	tracking = append(tracking, s.registryRoutes()...)    // registry.go
	var all []route
	for _, p := range trackingPrefixes {
		for _, rt := range tracking {
			all = append(all, route{rt.methods, p + rt.path, rt.h})
		}
	}
	artifacts := []route{
		{[]string{"GET"}, "/artifacts", s.listArtifacts},
		{[]string{"GET"}, "/artifacts/{path...}", s.downloadArtifact},
		{[]string{"PUT"}, "/artifacts/{path...}", s.uploadArtifact},
		{[]string{"DELETE"}, "/artifacts/{path...}", s.deleteArtifact},
		{[]string{"POST"}, "/mpu/create/{path...}", s.createMultipart},
		{[]string{"POST"}, "/mpu/complete/{path...}", s.completeMultipart},
		{[]string{"POST"}, "/mpu/abort/{path...}", s.abortMultipart},
		{[]string{"PUT"}, "/mpu/upload-part/{path...}", s.uploadPart},
	}
	for _, p := range artifactsPrefixes {
		for _, rt := range artifacts {
			all = append(all, route{rt.methods, p + rt.path, rt.h})
		}
	}
	all = append(all,
		route{[]string{"GET"}, "/health", func(w http.ResponseWriter, r *http.Request) { writePlain(w, "OK") }},
		route{[]string{"GET"}, "/version", func(w http.ResponseWriter, r *http.Request) { writePlain(w, s.opts.Version) }},
	)
	// Register each method pattern, then once per path an MLflow-style answer
	// for every other method (a method pattern is more specific, so it wins).
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range all {
		for _, m := range rt.methods {
			mux.HandleFunc(m+" "+rt.path, rt.h)
		}
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.methods...)
	}
	for _, p := range paths {
		mux.HandleFunc(p, s.methodNotAllowed(strings.Join(allowed[p], ", ")))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{codeEndpointNotFound, http.StatusNotFound,
			"No API endpoint matches " + r.Method + " " + r.URL.Path})
	})
}

func (s *server) methodNotAllowed(allowed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		s.writeError(w, r, &apiError{codeEndpointNotFound, http.StatusMethodNotAllowed,
			"Method " + r.Method + " is not allowed for " + r.URL.Path + "; use " + allowed})
	}
}

// guardPath refuses paths with "." or ".." segments instead of letting the
// mux redirect them to a cleaned path: an artifact path must never be
// silently rewritten into another one.
func (s *server) guardPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if seg == ".." || seg == "." {
				s.writeError(w, r, invalidf("Invalid path: %q", r.URL.Path))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writePlain(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, s)
}
