package protocol

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a request that a protocol rejects: the HTTP status, and for the MLflow
// scoring protocol MLflow's error_code and error_class. Every error the decoders return
// is an *Error.
type Error struct {
	Status int
	// Code is MLflow's error_code: BAD_REQUEST for malformed input (MLflow's
	// MlflowInvalidInputException), INVALID_PARAMETER_VALUE for input that does not fit
	// the model.
	Code string
	// Class is MLflow's error_class; "" derives it from Code as MLflow does.
	Class   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// MLflow error codes and classes used here (mlflow/protos/databricks.proto,
// mlflow/error_classification.py).
const (
	CodeBadRequest            = "BAD_REQUEST"
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeInternalError         = "INTERNAL_ERROR"

	ClassSchemaEnforcementFailed = "SCHEMA_ENFORCEMENT_FAILED"
)

// invalidInput is MLflow's MlflowInvalidInputException: 400 BAD_REQUEST, "Invalid input. …".
func invalidInput(format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "Invalid input. " + fmt.Sprintf(format, a...)}
}

// BadRequest wraps err (for example a runtime error about the caller's data) as a 400
// BAD_REQUEST; an *Error passes through unchanged.
func BadRequest(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: err.Error()}
}

// SchemaError wraps err (the input does not fit the model's signature: a missing column,
// a value of the wrong type) as MLflow reports schema enforcement failures: 400
// INVALID_PARAMETER_VALUE with error_class SCHEMA_ENFORCEMENT_FAILED.
func SchemaError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameterValue, Class: ClassSchemaEnforcementFailed, Message: err.Error()}
}

func unsupportedMediaType(msg string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Message: msg}
}

// errorClass and sqlState derive the fields MLflow ≥3.x adds to its error bodies
// (MlflowException.__init__ with error_classification's client-side tables).
func errorClass(e *Error) string {
	if e.Class != "" {
		return e.Class
	}
	switch e.Code {
	case CodeBadRequest, CodeInvalidParameterValue:
		return "INVALID_PARAMETER_VALUE"
	}
	return "CLIENT_INTERNAL_ERROR"
}

func sqlState(class, code string) string {
	switch class {
	case ClassSchemaEnforcementFailed:
		return "KAM01"
	case "PREDICTION_FUNCTION_FAILED":
		return "KAM02"
	}
	if code == CodeInternalError || code == "" {
		return "XXM00"
	}
	return "KAM00"
}

// ErrorBody renders err as MLflow's scoring server answers it: the HTTP status, the
// Content-Type and the body. A 415 is plain text, as MLflow sends it; everything else is
// {"error_code": …, "message": …, "sqlstate": …, "error_class": …} (MLflow's
// serialize_as_json, with Python's spacing). An error that is not an *Error is a 500
// whose detail is not shown: log it before calling this.
func ErrorBody(err error) (status int, contentType string, body []byte) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternalError, Message: "internal error"}
	}
	if e.Status == http.StatusUnsupportedMediaType {
		return e.Status, "text/plain; charset=utf-8", []byte(e.Message)
	}
	code := e.Code
	if code == "" {
		code = CodeBadRequest
		if e.Status >= 500 {
			code = CodeInternalError
		}
	}
	class := errorClass(&Error{Code: code, Class: e.Class})
	b := make([]byte, 0, len(e.Message)+128)
	b = append(b, `{"error_code": `...)
	b = appendString(b, code, true)
	b = append(b, `, "message": `...)
	b = appendString(b, e.Message, true)
	b = append(b, `, "sqlstate": `...)
	b = appendString(b, sqlState(class, code), true)
	b = append(b, `, "error_class": `...)
	b = appendString(b, class, true)
	b = append(b, '}')
	return e.Status, "application/json", b
}

// InferErrorBody renders err as the Open Inference Protocol answers errors:
// {"error": "<message>"} with the error's status (400 for the decoders' errors); an
// error that is not an *Error is a 500 "internal error".
func InferErrorBody(err error) (status int, body []byte) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: "internal error"}
	}
	b := make([]byte, 0, len(e.Message)+16)
	b = append(b, `{"error":`...)
	b = appendString(b, e.Message, false)
	return e.Status, append(b, '}')
}
