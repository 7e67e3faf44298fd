package serving

import (
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the serving metrics, labelled by endpoint and model version.
type metrics struct {
	requests *prometheus.CounterVec   // endpoint, version, role, code
	latency  *prometheus.HistogramVec // endpoint, version, role
	rows     *prometheus.HistogramVec // endpoint: rows per request (the batch size)
	swaps    *prometheus.CounterVec   // endpoint, role, result
	shadowed *prometheus.CounterVec   // endpoint, result: ok, error, skipped
	logged   *prometheus.CounterVec   // endpoint, result: written, sampled_out, dropped
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_serving_requests_total", Help: "Prediction requests answered, by endpoint, model version, traffic role and HTTP status.",
		}, []string{"endpoint", "model_version", "role", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plinth_serving_request_duration_seconds", Help: "Time from request to response of prediction requests.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint", "model_version", "role"}),
		rows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plinth_serving_batch_rows", Help: "Rows per prediction request.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384, 65536},
		}, []string{"endpoint"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_serving_model_swaps_total", Help: "Model versions loaded and checked for an endpoint: ok (swapped in) or failed (kept out).",
		}, []string{"endpoint", "role", "result"}),
		shadowed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_serving_shadow_requests_total", Help: "Copies of requests sent to shadow targets: ok, error, or skipped when too many were running.",
		}, []string{"endpoint", "result"}),
		logged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_serving_logged_requests_total", Help: "Prediction log decisions per request: written, sampled_out, or dropped (log buffer full).",
		}, []string{"endpoint", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.rows, m.swaps, m.shadowed, m.logged)
	}
	return m
}

// versionMetrics are the series of one loaded version, resolved once at load so that
// the request path does not hash label values.
type versionMetrics struct {
	ok      map[string]prometheus.Counter  // role → code 200 counter
	latency map[string]prometheus.Observer // role → histogram
	m       *metrics
	labels  [2]string
}

var roles = []string{"primary", "canary", "shadow"}

func (m *metrics) forVersion(endpoint, version string) *versionMetrics {
	vm := &versionMetrics{ok: map[string]prometheus.Counter{}, latency: map[string]prometheus.Observer{}, m: m, labels: [2]string{endpoint, version}}
	for _, r := range roles {
		vm.ok[r] = m.requests.WithLabelValues(endpoint, version, r, "200")
		vm.latency[r] = m.latency.WithLabelValues(endpoint, version, r)
	}
	return vm
}

func (vm *versionMetrics) observe(role string, status int, seconds float64) {
	if status == 200 {
		vm.ok[role].Inc()
	} else {
		vm.m.requests.WithLabelValues(vm.labels[0], vm.labels[1], role, strconv.Itoa(status)).Inc()
	}
	vm.latency[role].Observe(seconds)
}

func numCPU() int { return runtime.GOMAXPROCS(0) }
