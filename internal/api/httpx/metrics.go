package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute labels requests that matched no route, so that scanners
// cannot blow up the label cardinality with random paths.
const UnmatchedRoute = "unmatched"

// Metrics counts requests and observes their duration, labelled by route
// pattern (see WithPattern), method and status. The collectors are registered
// on reg; it panics if they are already registered there, like MustRegister.
func Metrics(reg prometheus.Registerer) Middleware {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plinth_http_requests_total",
		Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "plinth_http_request_duration_seconds",
		Help:    "HTTP request duration by route pattern and method.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
	}, []string{"route", "method"})
	reg.MustRegister(requests, duration)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r, holder := withRouteHolder(r)
			sw := wrapWriter(w)
			defer func() {
				route := holder.pattern
				if route == "" {
					route = UnmatchedRoute
				}
				method := r.Method
				if !knownMethod(method) {
					method = "OTHER"
				}
				requests.WithLabelValues(route, method, strconv.Itoa(sw.Status())).Inc()
				duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
