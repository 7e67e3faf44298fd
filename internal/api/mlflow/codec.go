package mlflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/api/httpx"
)

// optInt64 is a protobuf int64 field: the client writes a JSON number, but
// protobuf's JSON form also allows a string, and query strings only have strings.
type optInt64 struct {
	V   int64
	Set bool
}

// scalarText returns a JSON scalar as text, unquoting a string (protobuf's JSON
// and query strings both carry numbers and enums as strings); null reports null.
func scalarText(b []byte) (s string, null bool, err error) {
	if string(b) == "null" {
		return "", true, nil
	}
	s = string(b)
	if len(b) > 0 && b[0] == '"' {
		err = json.Unmarshal(b, &s)
	}
	return s, false, err
}

func (o *optInt64) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	if null || err != nil {
		*o = optInt64{}
		return err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		// protobuf accepts integral floats such as 1e3 or 5.0
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63-1 {
			return fmt.Errorf("%s is not a 64-bit integer", b)
		}
		v = int64(f)
	}
	*o = optInt64{V: v, Set: true}
	return nil
}

// optFloat is a protobuf double: a JSON number, or "NaN", "Infinity",
// "-Infinity" (how protobuf's JSON writes non-finite values) or a numeric string.
type optFloat struct {
	V   float64
	Set bool
}

func (o *optFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = optFloat{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := parseFloatString(s)
		if err != nil {
			return err
		}
		*o = optFloat{V: v, Set: true}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a double", b)
	}
	*o = optFloat{V: v, Set: true}
	return nil
}

func parseFloatString(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a double", s)
	}
	return v, nil
}

// jsonFloat writes a double as protobuf's JSON does: non-finite values as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	return appendFloat(nil, float64(f)), nil
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		// Python's json writes whole floats as 1.0; both parse the same, keep it short.
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// viewType is the ViewType enum: its name or its number.
type viewType struct {
	V   int // 1 ACTIVE_ONLY, 2 DELETED_ONLY, 3 ALL
	Set bool
}

func (v *viewType) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	if null || err != nil {
		*v = viewType{}
		return err
	}
	switch strings.ToUpper(s) {
	case "ACTIVE_ONLY", "1":
		*v = viewType{1, true}
	case "DELETED_ONLY", "2":
		*v = viewType{2, true}
	case "ALL", "3":
		*v = viewType{3, true}
	default:
		return fmt.Errorf("%s is not a ViewType (ACTIVE_ONLY, DELETED_ONLY or ALL)", b)
	}
	return nil
}

// runStatus is the RunStatus enum: its name or its number.
type runStatus struct {
	V   string
	Set bool
}

var runStatusNames = []string{"", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}

func (v *runStatus) UnmarshalJSON(b []byte) error {
	s, null, err := scalarText(b)
	if null || err != nil {
		*v = runStatus{}
		return err
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n < len(runStatusNames) {
		*v = runStatus{runStatusNames[n], true}
		return nil
	}
	for _, name := range runStatusNames[1:] {
		if s == name {
			*v = runStatus{name, true}
			return nil
		}
	}
	return fmt.Errorf("%s is not a RunStatus (RUNNING, SCHEDULED, FINISHED, FAILED or KILLED)", b)
}

// decode fills req from the request as the mlflow client sends it: the query
// string for GET, a JSON body otherwise. Unknown fields are ignored.
func (s *server) decode(w http.ResponseWriter, r *http.Request, req any) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return decodeQuery(r, req)
	}
	body, err := httpx.ReadLimited(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		if httpx.IsTooLarge(err) {
			return err
		}
		return invalidf("could not read the request body: %v", err)
	}
	return decodeBody(body, req)
}

// fastDecoder is a request type that can read the usual shape of its body by hand.
// decodeFast reports false, having changed nothing, for anything else, which then goes
// through encoding/json; where it reports true the result is what encoding/json gives.
type fastDecoder interface {
	decodeFast(body []byte) bool
}

// decodeBody parses a JSON object into req. An empty body is {}; a body that
// is a JSON string holding the object is decoded twice, as MLflow's server
// does for old clients.
func decodeBody(body []byte, req any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if f, ok := req.(fastDecoder); ok && f.decodeFast(body) {
		return nil
	}
	if body[0] == '"' {
		var inner string
		if err := json.Unmarshal(body, &inner); err == nil {
			body = bytes.TrimSpace([]byte(inner))
		}
	}
	if len(body) == 0 || body[0] != '{' {
		return invalidf("Malformed request body: expected a JSON object")
	}
	if err := json.Unmarshal(body, req); err != nil {
		return invalidf("Malformed request body: %s", describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("invalid value for field '%s': expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

// decodeQuery maps the query string onto req's JSON fields: repeated keys fill
// slice fields, single values fill scalars. It goes through JSON so that the
// same field types (optInt64, viewType, …) parse both encodings.
func decodeQuery(r *http.Request, req any) error {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	m := make(map[string]any, len(q))
	t := reflect.TypeOf(req).Elem()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		vals, ok := q[name]
		if name == "" || !ok {
			continue
		}
		if f.Type.Kind() == reflect.Slice {
			m[name] = vals
		} else {
			m[name] = vals[0]
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return invalidf("Malformed query string: %v", err)
	}
	if err := json.Unmarshal(b, req); err != nil {
		return invalidf("Malformed query string: %s", describeJSONError(err))
	}
	return nil
}

// writeJSON sends v with status 200.
func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug (an unsupported type) gets here.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error_code":"INTERNAL_ERROR","message":"internal error"}`)
	}
	writeRaw(w, status, buf.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// empty is the body of calls whose response message has no fields.
var empty = struct{}{}
