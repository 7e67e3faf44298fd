package v1

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestEndpointActivity(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var asked []int
	minute := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	e := setup(t, func(o *Options) {
		o.Activity = func(name string, minutes int) (EndpointActivity, bool) {
			mu.Lock()
			asked = append(asked, minutes)
			mu.Unlock()
			if name != "served" {
				return EndpointActivity{}, false
			}
			return EndpointActivity{
				Buckets: []ActivityBucket{{Time: Time{minute}, Requests: 12, Rows: 30, Errors: 1, P50Ms: 1.2, P90Ms: 3.4, P99Ms: 9.9}},
				Recent: []RecentPrediction{{
					RequestID: "r-2", Row: 0, Time: Time{minute.Add(1500 * time.Millisecond)}, ModelVersion: "3", Role: "primary",
					Status: 200, LatencyMs: 1.3, Inputs: RawJSON(`{"a":1,"b":"x"}`), Outputs: RawJSON(`{"prediction":0.5}`),
				}, {
					RequestID: "r-1", Time: Time{minute}, Status: 400, LatencyMs: 0.2,
					Inputs: RawJSON(""), Outputs: RawJSON(""), Error: "bad input",
				}},
			}, true
		}
	})
	for _, name := range []string{"served", "other"} {
		e.created(`{"name": "` + name + `", "model_uri": "models:/m/1"}`)
	}

	r := e.do("", "GET", endpoints+"/served/activity", "")
	want := `{"endpoint":"served","scope":"this server process since it started","bucket_seconds":60,` +
		`"buckets":[{"time":"2026-11-27T02:00:00.000Z","requests":12,"rows":30,"errors":1,"p50_ms":1.2,"p90_ms":3.4,"p99_ms":9.9}],` +
		`"recent":[{"request_id":"r-2","row":0,"time":"2026-11-27T02:00:01.500Z","model_version":"3","role":"primary","status":200,` +
		`"latency_ms":1.3,"inputs":{"a":1,"b":"x"},"outputs":{"prediction":0.5},"error":""},` +
		`{"request_id":"r-1","row":0,"time":"2026-11-27T02:00:00.000Z","model_version":"","role":"","status":400,` +
		`"latency_ms":0.2,"inputs":null,"outputs":null,"error":"bad input"}]}`
	if r.status != 200 || strings.TrimSpace(string(r.raw)) != want || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("served: %d %s\nwant %s", r.status, r.raw, want)
	}

	// An endpoint that exists but that this process does not serve: empty lists.
	r = e.do("", "GET", endpoints+"/other/activity?minutes=5", "")
	if want := `{"endpoint":"other","scope":"this process does not serve the endpoint","bucket_seconds":60,"buckets":[],"recent":[]}`; r.status != 200 ||
		strings.TrimSpace(string(r.raw)) != want {
		t.Fatalf("not served: %d %s", r.status, r.raw)
	}
	e.ok("", "GET", endpoints+"/served/activity?minutes=1440", "", nil)
	e.ok("", "GET", endpoints+"/served/activity?minutes=1", "", nil)
	mu.Lock()
	if got := asked; len(got) != 4 || got[0] != DefaultActivityMinutes || got[1] != 5 || got[2] != 1440 || got[3] != 1 {
		t.Fatalf("minutes asked %v", got)
	}
	mu.Unlock()

	for _, q := range []string{"0", "abc", "1441", "-1", "", "1.5", "60m"} {
		e.fail("", "GET", endpoints+"/served/activity?minutes="+q, "", http.StatusBadRequest, core.EINVALID,
			"want a whole number of minutes from 1 to 1440")
	}
	e.fail("", "GET", endpoints+"/nope/activity", "", http.StatusNotFound, core.ENOTFOUND, "nope")
	// The same answer as GET /endpoints/nope.
	a, b := e.do("", "GET", endpoints+"/nope/activity", ""), e.do("", "GET", endpoints+"/nope", "")
	if !bytes.Equal(a.raw, b.raw) {
		t.Fatalf("unknown endpoint: %s, GET endpoint says %s", a.raw, b.raw)
	}
	e.fail("", "POST", endpoints+"/served/activity", "{}", http.StatusMethodNotAllowed, core.EINVALID, "use GET")
}

// TestEndpointActivityNoServing is a process that serves no endpoints (serving disabled).
func TestEndpointActivityNoServing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.created(`{"name": "fraud", "model_uri": "models:/m/1"}`)
	var got EndpointActivity
	e.ok("", "GET", endpoints+"/fraud/activity", "", &got)
	if got.Endpoint != "fraud" || got.Scope != ActivityNotServed || got.BucketSeconds != 60 || got.Buckets == nil || len(got.Buckets) != 0 ||
		got.Recent == nil || len(got.Recent) != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestRawJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "null", `{"a":1}`: `{"a":1}`, `{"a":`: `"{\"a\":"`, "not json": `"not json"`} {
		if got := string(RawJSON(in)); got != want {
			t.Errorf("RawJSON(%q) = %s, want %s", in, got, want)
		}
		if !json.Valid(RawJSON(in)) {
			t.Errorf("RawJSON(%q) is not JSON", in)
		}
	}
}
