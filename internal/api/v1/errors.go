package v1

import (
	"log/slog"
	"net/http"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/core"
)

// statusOf maps every core error code to its HTTP status: the one table of this API.
var statusOf = map[string]int{
	core.EINVALID:      http.StatusBadRequest,
	core.ENOTFOUND:     http.StatusNotFound,
	core.EEXISTS:       http.StatusConflict,
	core.ECONFLICT:     http.StatusConflict,
	core.EUNAUTHORIZED: http.StatusUnauthorized,
	core.EFORBIDDEN:    http.StatusForbidden,
	core.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	core.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a core error code and a message meant for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err with the status of its code. Internal errors (and
// codes missing from the table) are logged with their detail and shown as
// "internal error".
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeErrorStatus(w, r, 0, err)
}

// writeErrorStatus is writeError with the status forced (when not 0), for the
// answers that the table does not cover, such as 405.
func (s *server) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	code, msg := core.ErrorCode(err), core.ErrorMessage(err)
	st, ok := statusOf[code]
	if !ok {
		code, msg, st = core.EINTERNAL, "internal error", http.StatusInternalServerError
	}
	if status == 0 {
		status = st
	}
	if code == core.EINTERNAL {
		s.log.ErrorContext(r.Context(), "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("request_id", httpx.RequestIDFrom(r.Context())),
			slog.String("error", err.Error()))
	}
	writeJSON(w, status, ErrorBody{ErrorDetail{code, msg}})
}

// writePanic is the body of a recovered panic.
func writePanic(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusInternalServerError,
		ErrorBody{ErrorDetail{core.EINTERNAL, "internal error"}})
}
