// Package httpx holds HTTP middleware and helpers shared by Plinth's APIs:
// request ids, the actor, access logs, panic recovery, Prometheus metrics and
// body size limits. It knows nothing of any particular API.
package httpx

import (
	"context"
	"net/http"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first one listed is the outermost.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// routeHolder is filled in by WithPattern after the mux has matched, so that
// outer middleware (metrics) can label by route pattern rather than raw path.
type routeHolder struct{ pattern string }

type routeKey struct{}

func withRouteHolder(r *http.Request) (*http.Request, *routeHolder) {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		return r, h
	}
	h := &routeHolder{}
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, h)), h
}

// WithPattern wraps a ServeMux (or anything that sets Request.Pattern in place)
// and records the matched pattern for the Metrics middleware.
func WithPattern(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok && h.pattern == "" {
			h.pattern = r.Pattern
		}
	})
}

// SetRoute records the route label of a request explicitly, for handlers that
// dispatch without a ServeMux.
func SetRoute(ctx context.Context, pattern string) {
	if h, ok := ctx.Value(routeKey{}).(*routeHolder); ok {
		h.pattern = pattern
	}
}
