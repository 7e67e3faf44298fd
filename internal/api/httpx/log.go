package httpx

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

// AccessLog writes one structured line per request. 5xx responses are logged
// at error level, 4xx at info, the rest at debug, so a busy server's info log
// shows what callers got wrong without every successful call.
func AccessLog(logger *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := wrapWriter(w)
			next.ServeHTTP(sw, r)
			status := sw.Status()
			level := slog.LevelDebug
			switch {
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelInfo
			}
			ctx := r.Context()
			if !logger.Enabled(ctx, level) {
				return
			}
			logger.LogAttrs(ctx, level, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", RequestIDFrom(ctx)),
				slog.String("actor", core.ActorFrom(ctx)),
			)
		})
	}
}
