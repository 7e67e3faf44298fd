package mlflow

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/core"
)

// MLflow error codes (databricks_pb2.ErrorCode names) that Plinth sends.
const (
	codeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	codeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	codeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	codeEndpointNotFound      = "ENDPOINT_NOT_FOUND"
	codeUnauthenticated       = "UNAUTHENTICATED"
	codePermissionDenied      = "PERMISSION_DENIED"
	codeInternalError         = "INTERNAL_ERROR"
)

// errorMapping is how one core error code looks on MLflow's wire.
type errorMapping struct {
	code   string
	status int
}

// errorTable maps every core error code to MLflow's error_code and HTTP status.
// ECONFLICT is INVALID_PARAMETER_VALUE because that is what MLflow answers for
// writes to a deleted run or a param re-logged with another value.
// ETOOLARGE keeps MLflow's error code but uses 413 so that proxies and
// clients can tell a size problem from a bad value.
var errorTable = map[string]errorMapping{
	core.EINVALID:      {codeInvalidParameterValue, http.StatusBadRequest},
	core.ENOTFOUND:     {codeResourceDoesNotExist, http.StatusNotFound},
	core.EEXISTS:       {codeResourceAlreadyExists, http.StatusBadRequest},
	core.ECONFLICT:     {codeInvalidParameterValue, http.StatusBadRequest},
	core.EUNAUTHORIZED: {codeUnauthenticated, http.StatusUnauthorized},
	core.EFORBIDDEN:    {codePermissionDenied, http.StatusForbidden},
	core.ETOOLARGE:     {codeInvalidParameterValue, http.StatusRequestEntityTooLarge},
	core.EINTERNAL:     {codeInternalError, http.StatusInternalServerError},
}

// apiError is an error that already has its MLflow form, for the few answers
// that have no core code (unknown endpoint, wrong method).
type apiError struct {
	code    string
	status  int
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func invalidf(format string, args ...any) error { return core.Errorf(core.EINVALID, format, args...) }

// writeError sends err as {"error_code","message"}. Internal errors are logged
// with their detail and shown as "internal error".
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSONStatus(w, ae.status, errorBody{ae.code, ae.message})
		return
	}
	if httpx.IsTooLarge(err) {
		err = core.Errorf(core.ETOOLARGE, "request body exceeds the limit of %d bytes", maxBytesOf(err))
	}
	code := core.ErrorCode(err)
	m, ok := errorTable[code]
	if !ok {
		m = errorTable[core.EINTERNAL]
	}
	if m.status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("request_id", httpx.RequestIDFrom(r.Context())),
			slog.String("error", err.Error()))
	}
	writeJSONStatus(w, m.status, errorBody{m.code, core.ErrorMessage(err)})
}

func maxBytesOf(err error) int64 {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe.Limit
	}
	return 0
}

type errorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// writePanic is the body of a recovered panic.
func writePanic(w http.ResponseWriter, _ *http.Request) {
	writeJSONStatus(w, http.StatusInternalServerError, errorBody{codeInternalError, "internal error"})
}
