package httpx

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in a handler into a 500 and logs it with its stack.
// onPanic writes the error body; nil writes a plain "internal error".
// http.ErrAbortHandler is re-panicked: it is net/http's way to abort a response.
func Recover(logger *slog.Logger, onPanic func(http.ResponseWriter, *http.Request)) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := wrapWriter(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic in handler",
					slog.Any("panic", v),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.String("stack", string(debug.Stack())),
				)
				if sw.wroteHeader() {
					// Too late for a clean error: abort so the client sees a broken response.
					panic(http.ErrAbortHandler)
				}
				if onPanic != nil {
					onPanic(sw, r)
					return
				}
				http.Error(sw, "internal error", http.StatusInternalServerError)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
