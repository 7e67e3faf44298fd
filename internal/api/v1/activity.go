package v1

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/plinth-ml/plinth/internal/core"
)

// GET /endpoints/{name}/activity: what this process answered for an endpoint lately,
// from the serving side's in-memory recorder (Options.Activity).

// EndpointActivity is the answer of GET /endpoints/{name}/activity.
type EndpointActivity struct {
	Endpoint string `json:"endpoint"`
	// Scope says whose numbers these are: ActivityScope, or ActivityNotServed.
	Scope         string `json:"scope"`
	BucketSeconds int    `json:"bucket_seconds"`
	// Buckets are the minutes that had requests, oldest first.
	Buckets []ActivityBucket `json:"buckets"`
	// Recent are the last prediction rows answered, newest first.
	Recent []RecentPrediction `json:"recent"`
}

// ActivityBucket is one minute of prediction requests.
type ActivityBucket struct {
	Time     Time  `json:"time"` // start of the minute
	Requests int64 `json:"requests"`
	Rows     int64 `json:"rows"`   // rows predicted by the requests answered with 200
	Errors   int64 `json:"errors"` // requests answered with another status
	// Latency percentiles in milliseconds, from a histogram (see docs/serving.md).
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// RecentPrediction is one prediction row, as the prediction log records it.
type RecentPrediction struct {
	RequestID   string `json:"request_id"`
	InferenceID string `json:"inference_id,omitempty"`
	Row         int    `json:"row"` // index of the row in its request
	Time        Time   `json:"time"`
	// ModelVersion and Role are "" for a request refused before a model was chosen
	// (no version loaded yet, or a version path the endpoint does not serve).
	ModelVersion string  `json:"model_version"`
	Role         string  `json:"role"`
	Status       int     `json:"status"`
	LatencyMs    float64 `json:"latency_ms"`
	// Inputs and Outputs are the row's JSON objects; null when there are none (a
	// request that failed before its rows were read, or the outputs of an error).
	Inputs  json.RawMessage `json:"inputs"`
	Outputs json.RawMessage `json:"outputs"`
	Error   string          `json:"error"`
}

// The scope texts of an activity answer.
const (
	ActivityScope     = "this server process since it started"
	ActivityNotServed = "this process does not serve the endpoint"
)

// Activity windows, in minutes.
const (
	DefaultActivityMinutes = 60
	MaxActivityMinutes     = 1440
)

// RawJSON is text as raw JSON: null when empty, a JSON string when it is not JSON.
func RawJSON(s string) json.RawMessage {
	switch {
	case s == "":
		return json.RawMessage("null")
	case json.Valid([]byte(s)):
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

func (s *server) getActivity(w http.ResponseWriter, r *http.Request) {
	name, err := pathEndpoint(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	minutes := DefaultActivityMinutes
	if q := r.URL.Query(); q.Has("minutes") {
		v := q.Get("minutes")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxActivityMinutes {
			s.writeError(w, r, core.Errorf(core.EINVALID,
				"invalid minutes %q: want a whole number of minutes from 1 to %d (default %d)", v, MaxActivityMinutes, DefaultActivityMinutes))
			return
		}
		minutes = n
	}
	// The store says whether the endpoint exists, as for GET /endpoints/{name}.
	if _, err := s.st.GetEndpoint(r.Context(), name); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := EndpointActivity{Scope: ActivityNotServed}
	if s.opts.Activity != nil {
		if a, ok := s.opts.Activity(name, minutes); ok {
			out = a
			out.Scope = ActivityScope
		}
	}
	out.Endpoint, out.BucketSeconds = name, 60
	if out.Buckets == nil {
		out.Buckets = []ActivityBucket{}
	}
	if out.Recent == nil {
		out.Recent = []RecentPrediction{}
	}
	s.reply(w, out)
}
