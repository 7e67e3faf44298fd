package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// BenchmarkLogBatchHandler measures the handler path of a 1,000-metric log-batch
// (decode, validate, store) without the network, to see what HTTP adds to the store.
func BenchmarkLogBatchHandler(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "p.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	run, err := st.CreateRun(context.Background(), core.RunInfo{ExperimentID: "0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := New(st, nil, Options{})
	b.ResetTimer()
	for i := range b.N {
		var sb strings.Builder
		fmt.Fprintf(&sb, `{"run_id":%q,"metrics":[`, run.Info.RunID)
		for j := range 1000 {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"key":"m%d","value":%g,"timestamp":%d,"step":%d}`, j%10, float64(j)/7, 1700000000000+i, i*100+j/10)
		}
		sb.WriteString("]}")
		req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/log-batch", strings.NewReader(sb.String()))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "metrics/s")
}
