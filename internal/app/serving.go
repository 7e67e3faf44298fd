package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/serving"
	"github.com/plinth-ml/plinth/internal/store"
)

// servingParts are online serving's services: the endpoint manager and its prediction log.
type servingParts struct {
	manager *serving.Manager
	log     *predlog.Log
	bucket  blob.Bucket // where the prediction log's files go
}

// newServing opens the prediction log's bucket and local folder and builds the manager.
func newServing(ctx context.Context, cfg Config, st store.Store, artifacts blob.Bucket, logger *slog.Logger, reg prometheus.Registerer) (*servingParts, error) {
	sv := cfg.Serving
	bucket, err := blob.Open(ctx, sv.Predictions, blob.S3Options{
		Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, PathStyle: cfg.S3.PathStyle,
	})
	if err != nil {
		return nil, fmt.Errorf("open predictions location %s: %w", sv.Predictions, err)
	}
	plog, err := predlog.Open(predlog.Options{
		Dir: sv.LogDir, Bucket: bucket, Prefix: ".", // the predictions location is the log's alone
		MaxBufferBytes: sv.LogBufferBytes,
		FlushInterval:  sv.LogFlush, Sync: sv.LogSync, Logger: logger, Metrics: reg,
	})
	if err != nil {
		bucket.Close()
		return nil, fmt.Errorf("prediction log in %s: %w (each server or replica needs its own --prediction-log-dir)", sv.LogDir, err)
	}
	loader := serving.NewLoader(st, artifacts, sv.CacheDir)
	m := serving.NewManager(st, loader, serving.ManagerOptions{
		Refresh: sv.Refresh, MaxBody: sv.MaxBodyBytes, RequestTimeout: sv.RequestTimeout,
		Log: plog, Logger: logger, Metrics: reg, Version: Version,
	})
	return &servingParts{manager: m, log: plog, bucket: bucket}, nil
}

func (p *servingParts) start(ctx context.Context) {
	p.log.Start(ctx)
	p.manager.Start(ctx)
}

// stop ends the manager, then the log (whose Stop makes a last, bounded upload).
func (p *servingParts) stop() error {
	p.manager.Stop()
	p.log.Stop()
	return p.bucket.Close()
}

// mount adds the serving routes to mux.
func (p *servingParts) mount(mux *http.ServeMux) {
	h := p.manager.Handler()
	mux.Handle("/endpoints/", h)
	mux.Handle("/v2/", h)
	mux.Handle("/v2", h)
}

// activity is the manager's activity of an endpoint in the v1 API's form.
func (p *servingParts) activity(name string, minutes int) (v1.EndpointActivity, bool) {
	a, ok := p.manager.Activity(name, minutes)
	if !ok {
		return v1.EndpointActivity{}, false
	}
	out := v1.EndpointActivity{
		Buckets: make([]v1.ActivityBucket, len(a.Buckets)),
		Recent:  make([]v1.RecentPrediction, len(a.Recent)),
	}
	for i, b := range a.Buckets {
		out.Buckets[i] = v1.ActivityBucket{
			Time: v1.Time{Time: b.Time.UTC()}, Requests: b.Requests, Rows: b.Rows, Errors: b.Errors,
			P50Ms: millis(b.P50), P90Ms: millis(b.P90), P99Ms: millis(b.P99),
		}
	}
	for i, r := range a.Recent {
		out.Recent[i] = v1.RecentPrediction{
			RequestID: r.RequestID, InferenceID: r.InferenceID, Row: int(r.Row), Time: v1.Time{Time: r.Time.UTC()},
			ModelVersion: r.ModelVersion, Role: r.Role, Status: int(r.Status),
			LatencyMs: float64(r.LatencyMicros) / 1000,
			Inputs:    v1.RawJSON(r.Inputs), Outputs: v1.RawJSON(r.Outputs), Error: r.Error,
		}
	}
	return out, true
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// readOnly lets only GET and HEAD through: serving replicas show their endpoints' state
// but leave changes to the server.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			json.NewEncoder(w).Encode(v1.ErrorBody{Error: v1.ErrorDetail{
				Code: core.EINVALID, Message: r.URL.Path + " is read-only on a serving replica; send changes to the Plinth server"}})
			return
		}
		h.ServeHTTP(w, r)
	})
}

var errNoServing = errors.New("serving is disabled in this configuration (serving.enabled: false)")
