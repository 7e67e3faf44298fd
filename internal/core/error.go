// Package core holds Plinth's domain types and its one error vocabulary.
// It imports nothing of ours, so every other package can depend on it.
package core

import (
	"errors"
	"fmt"
)

// Error codes. Each API maps them to its own wire format in one table.
const (
	EINVALID      = "invalid"        // the caller sent something malformed or out of range
	ENOTFOUND     = "not_found"      // the named thing does not exist
	EEXISTS       = "already_exists" // a create collided with an existing name or id
	ECONFLICT     = "conflict"       // the request is valid but the state forbids it
	EUNAUTHORIZED = "unauthorized"   // no valid credentials
	EFORBIDDEN    = "forbidden"      // credentials valid, permission missing
	ETOOLARGE     = "too_large"      // a body or a field exceeds a limit
	EINTERNAL     = "internal"       // a bug or an infrastructure failure; details are logged, not shown
)

// Error is an application error with a code from the list above and a message
// that is safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error, or EINTERNAL for any other error
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an application error, or "internal error" for
// any other error so that internals never leak to callers.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
