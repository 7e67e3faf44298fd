// Package v1 serves Plinth's own REST API under /api/v1: JSON in and out,
// RFC 3339 UTC times, and errors as {"error": {"code", "message"}} with the
// core error codes. It is what the plinth CLI (and later the UI) talks to.
//
// Path segments are single names: a model name or alias with reserved
// characters must be sent URL-escaped (a space is %20, "#" is %23, "?" is %3F,
// "%" is %25). An escaped "/" (%2F) stays inside its segment, though MLflow
// 3 (and so Plinth) refuses "/" in registered model names.
package v1

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// DefaultMaxBodyBytes caps request bodies unless Options say otherwise; every
// request of this API is a small JSON object.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the handler. The zero value works.
type Options struct {
	Logger       *slog.Logger // nil discards logs
	MaxBodyBytes int64        // default DefaultMaxBodyBytes
	// Metrics, when set, receives the HTTP request metrics. Leave it nil when an
	// outer httpx.Metrics already measures this handler (one registry can hold
	// the collectors only once).
	Metrics prometheus.Registerer
	// EndpointState reports the live state of an endpoint that this process
	// serves; ok is false when it does not serve it (yet). nil means this
	// process serves no endpoints, and answers carry no "state".
	EndpointState func(name string) (core.EndpointState, bool)
	// Activity reports what this process answered for an endpoint in the last
	// minutes minutes (its buckets and recent rows); ok is false when it does not
	// serve the endpoint. nil means this process serves no endpoints.
	Activity func(name string, minutes int) (EndpointActivity, bool)
	// Batch submits and manages batch jobs; nil answers those requests with 503
	// (reads still work).
	Batch Batch
}

type server struct {
	st   store.Store
	opts Options
	log  *slog.Logger
}

// New returns the handler of /api/v1, with request ids, actors, access logs,
// panic recovery and (when Options.Metrics is set) metrics.
func New(st store.Store, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &server{st: st, opts: opts, log: opts.Logger}
	mux := http.NewServeMux()
	s.routes(mux)

	mw := []httpx.Middleware{httpx.RequestID, httpx.Actor}
	if opts.Metrics != nil {
		mw = append(mw, httpx.Metrics(opts.Metrics))
	}
	mw = append(mw, httpx.AccessLog(s.log), httpx.Recover(s.log, writePanic))
	return httpx.Chain(httpx.WithPattern(mux), mw...)
}

type route struct {
	method string
	path   string
	h      http.HandlerFunc
}

func (s *server) routes(mux *http.ServeMux) {
	const m = Prefix + "/models/{name}"
	const mv = m + "/versions/{version}"
	const ep = Prefix + "/endpoints"
	const bj, bs = Prefix + "/batch-jobs", Prefix + "/batch-schedules"
	routes := []route{
		{"GET", Prefix + "/models", s.listModels},
		{"GET", m, s.getModel},
		{"GET", m + "/versions", s.listVersions},
		{"GET", mv, s.getVersion},
		{"POST", mv + "/approve", s.approve},
		{"POST", mv + "/reject", s.reject},
		{"GET", mv + "/approvals", s.listApprovals},
		{"PUT", m + "/approval-policy", s.setPolicy},
		{"PUT", m + "/aliases/{alias}", s.setAlias},
		{"DELETE", m + "/aliases/{alias}", s.deleteAlias},
		{"GET", ep, s.listEndpoints},
		{"POST", ep, s.createEndpoint},
		{"GET", ep + "/{name}", s.getEndpoint},
		{"PATCH", ep + "/{name}", s.updateEndpoint},
		{"DELETE", ep + "/{name}", s.deleteEndpoint},
		{"GET", ep + "/{name}/activity", s.getActivity},
		{"POST", bj, s.submitBatchJob},
		{"GET", bj, s.listBatchJobs},
		{"GET", bj + "/{id}", s.getBatchJob},
		{"POST", bj + "/{id}/cancel", s.cancelBatchJob},
		{"POST", bj + "/{id}/retry", s.retryBatchJob},
		{"POST", bs, s.createBatchSchedule},
		{"GET", bs, s.listBatchSchedules},
		{"GET", bs + "/{name}", s.getBatchSchedule},
		{"DELETE", bs + "/{name}", s.deleteBatchSchedule},
	}
	// Each method pattern, then per path a JSON 405 for the other methods (a
	// pattern with a method is more specific, so it wins).
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, rt.h)
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		mux.HandleFunc(p, s.methodNotAllowed(strings.Join(allowed[p], ", ")))
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, core.Errorf(core.ENOTFOUND, "No API endpoint matches %s %s", r.Method, r.URL.Path))
	})
}

func (s *server) methodNotAllowed(allowed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		s.writeErrorStatus(w, r, http.StatusMethodNotAllowed,
			core.Errorf(core.EINVALID, "Method %s is not allowed for %s; use %s", r.Method, r.URL.Path, allowed))
	}
}

// decode reads the JSON object in the body of r into v. Unknown fields are
// ignored; anything else that is not a JSON object is EINVALID with the
// reason, and a body over the limit is ETOOLARGE.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := httpx.ReadLimited(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		if httpx.IsTooLarge(err) {
			return core.Errorf(core.ETOOLARGE, "request body exceeds the limit of %d bytes", s.opts.MaxBodyBytes)
		}
		return core.Errorf(core.EINVALID, "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return core.Errorf(core.EINVALID, "request body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return core.Errorf(core.EINVALID, "malformed JSON: unexpected data after the top-level object at offset %d", dec.InputOffset())
	}
	return nil
}

// jsonError explains a decoding failure with its position or field.
func jsonError(body []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return core.Errorf(core.EINVALID, "malformed JSON at line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return core.Errorf(core.EINVALID, "malformed JSON: the body must be a JSON object, not %s", typ.Value)
		}
		return core.Errorf(core.EINVALID, "invalid field %q: want %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return core.Errorf(core.EINVALID, "malformed JSON: the body ends before the object is complete")
	}
	return core.Errorf(core.EINVALID, "malformed JSON: %v", err)
}

// jsonKind names what a Go type expects on the wire.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// position turns a SyntaxError offset (just past the offending byte) into the
// 1-based line and column of that byte.
func position(body []byte, off int64) (line, col int) {
	idx := int(min(max(off-1, 0), int64(len(body))))
	before := body[:idx]
	line = bytes.Count(before, []byte("\n")) + 1
	col = idx - bytes.LastIndexByte(before, '\n')
	return line, col
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *server) reply(w http.ResponseWriter, v any) { writeJSON(w, http.StatusOK, v) }
