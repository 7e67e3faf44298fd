package mlflow

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRoutes(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := setup(t, func(o *Options) { o.Metrics = reg })
	tests := []struct {
		method, path string
		status       int
		code, body   string
	}{
		{"GET", "/api/2.0/mlflow/no/such/thing", 404, codeEndpointNotFound, ""},
		{"POST", "/api/2.0/mlflow/runs/log-spans", 404, codeEndpointNotFound, ""},
		{"GET", "/api/3.0/mlflow/traces/search", 404, codeEndpointNotFound, ""},
		{"GET", "/api/2.0/mlflow/runs/create", 405, codeEndpointNotFound, ""},
		{"DELETE", "/api/2.0/mlflow/experiments/search", 405, codeEndpointNotFound, ""},
		{"POST", "/health", 405, codeEndpointNotFound, ""},
		{"GET", "/health", 200, "", "OK"},
		{"GET", "/version", 200, "", "0.1.0"},
		{"GET", "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0", 200, "", ""},
		{"POST", "/ajax-api/2.0/mlflow/experiments/search", 200, "", ""},
		// Logged models: a search needs experiment_ids; /logged-models only creates.
		{"POST", "/api/2.0/mlflow/logged-models/search", 400, codeInvalidParameterValue, ""},
		{"GET", "/api/2.0/mlflow/logged-models", 405, codeEndpointNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.with(t).do(tt.method, tt.path, "")
			if r.status != tt.status || (tt.code != "" && r.body["error_code"] != tt.code) ||
				(tt.body != "" && string(r.raw) != tt.body) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Fatal("no request id")
			}
		})
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) == 0 {
		t.Fatalf("no metrics gathered: %v", err)
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.MaxBodyBytes = 4096; o.MaxUploadBytes = 1000 })
	id := e.createRun("0")
	big := jsonOf(t, map[string]any{"run_id": id, "metrics": repeatMetric(200)})
	if len(big) <= 4096 {
		t.Fatalf("test body only %d bytes", len(big))
	}
	e.fail("POST", api+"/runs/log-batch", big, 413, codeInvalidParameterValue, "exceeds the limit of 4096 bytes")
	if h := e.ok("GET", api+"/metrics/get-history?run_id="+id+"&metric_key=k", ""); h["metrics"] != nil {
		t.Fatalf("oversized batch was written: %v", h)
	}
	e.fail("PUT", artAPI+"/artifacts/x/big.bin", strings.Repeat("z", 1001), 413, codeInvalidParameterValue, "exceeds the limit of 1000 bytes")
	e.fail("GET", artAPI+"/artifacts/x/big.bin", "", 404, codeResourceDoesNotExist, "")
	e.ok("PUT", artAPI+"/artifacts/x/ok.bin", strings.Repeat("z", 1000))
}

// The client double-encodes nothing today, but MLflow's server accepts a
// JSON string holding the object, and an empty body means {}.
func TestDecodeBodyForms(t *testing.T) {
	t.Parallel()
	var req logBatchRequest
	inner := `{"run_id":"abc","metrics":[{"key":"m","value":"-Infinity","timestamp":"12","step":3}]}`
	quoted, _ := json.Marshal(inner)
	if err := decodeBody(quoted, &req); err != nil || req.RunID != "abc" || req.Metrics[0].Timestamp.V != 12 {
		t.Fatalf("double-encoded: %v %+v", err, req)
	}
	if err := decodeBody([]byte("  "), &req); err != nil {
		t.Fatalf("empty body: %v", err)
	}
	for _, bad := range []string{`{"run_id":`, `"just a string"`, `null`, `{"metrics":[{"value":true}]}`, `{"metrics":[{"step":"1.5"}]}`} {
		if err := decodeBody([]byte(bad), &logBatchRequest{}); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
	if b := appendFloat(nil, 0.1); !bytes.Equal(b, []byte("0.1")) {
		t.Fatalf("0.1 rendered %s", b)
	}
	if b := appendFloat(nil, 1e300); !bytes.Equal(b, []byte("1e+300")) {
		t.Fatalf("1e300 rendered %s", b)
	}
	_ = http.StatusOK
}

// FuzzLogBatchDecode feeds arbitrary bodies through log-batch decoding and
// validation: it must never panic, and whatever it accepts must be within
// MLflow's limits and fully formed.
func FuzzLogBatchDecode(f *testing.F) {
	f.Add([]byte(`{"run_id":"0123456789abcdef0123456789abcdef","metrics":[{"key":"m","value":1,"timestamp":1,"step":0}],"params":[{"key":"p","value":"v"}],"tags":[{"key":"t","value":"v"}]}`))
	f.Add([]byte(`{"run_id":"r1","metrics":[{"key":"m","value":"NaN","timestamp":"5"}]}`))
	f.Add([]byte(`"{\"run_id\":\"x\"}"`))
	f.Add([]byte(`{"run_id":"x","params":[{"key":"a"},{"key":"a"}]}`))
	f.Add([]byte(`{"metrics":[{"key":"a/../b","value":1e400,"timestamp":-1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req logBatchRequest
		if err := decodeBody(body, &req); err != nil {
			return
		}
		id, metrics, params, tags, err := parseLogBatch(&req)
		if err != nil {
			return
		}
		if !runIDRe.MatchString(id) || len(metrics) > maxMetricsPerBatch || len(params) > maxParamsTagsPerBatch ||
			len(tags) > maxParamsTagsPerBatch || len(metrics)+len(params)+len(tags) > maxEntitiesPerBatch {
			t.Fatalf("accepted out-of-limit batch: %s", body)
		}
		seen := map[string]bool{}
		for _, p := range params {
			if p.Key == "" || seen[p.Key] || len([]rune(p.Value)) > maxParamValueLength {
				t.Fatalf("accepted bad param %q: %s", p.Key, body)
			}
			seen[p.Key] = true
		}
		for _, m := range metrics {
			if checkName("k", m.Key) != nil || m.Timestamp < 0 || m.RunID != id {
				t.Fatalf("accepted bad metric %+v: %s", m, body)
			}
		}
		for _, tg := range tags {
			if checkName("k", tg.Key) != nil {
				t.Fatalf("accepted bad tag %q: %s", tg.Key, body)
			}
		}
	})
}
