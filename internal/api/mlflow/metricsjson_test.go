package mlflow

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// TestWriteMetricsMatchesEncodingJSON checks the hand-written history encoder against
// encoding/json on the wire type, including NaN, ±Inf, escapes and omitted fields.
func TestWriteMetricsMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	ms := []core.Metric{
		{Key: "loss", Value: 0.25, Timestamp: 1700000000000, Step: 0, RunID: "r1"},
		{Key: "loss", Value: math.NaN(), Timestamp: 1, Step: 1, RunID: "r1"},
		{Key: "odd \"key\"\n\\ é", Value: math.Inf(1), Timestamp: 2, Step: -3, RunID: "r2", ModelID: "m-1"},
		{Key: "x", Value: math.Inf(-1), Timestamp: 3, Step: 4, DatasetName: "ds<1>", DatasetDigest: "abc&"},
		{Key: "y", Value: 1e300, Timestamp: 4, Step: 5},
		{Key: "z", Value: -7, Timestamp: 5, Step: 6},
	}
	for _, tc := range []struct {
		withRunID bool
		next      string
		ms        []core.Metric
	}{{false, "", ms}, {true, "", ms}, {false, "tok/en==", ms}, {true, "", nil}, {false, "only-token", nil}} {
		rec := httptest.NewRecorder()
		writeMetrics(rec, tc.ms, tc.withRunID, tc.next)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Metrics       []wireMetric `json:"metrics,omitempty"`
			NextPageToken string       `json:"next_page_token,omitempty"`
		}{toWireMetrics(tc.ms, tc.withRunID), tc.next}); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("withRunID=%v next=%q:\n got %s\nwant %s", tc.withRunID, tc.next, got, want.String())
		}
	}
}

// toWireMetrics is the reference the hand-written encoder is compared with.
func toWireMetrics(ms []core.Metric, withRunID bool) []wireMetric {
	if len(ms) == 0 {
		return nil
	}
	out := make([]wireMetric, len(ms))
	for i, m := range ms {
		out[i] = toWireMetric(m, withRunID)
	}
	return out
}
