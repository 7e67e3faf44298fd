package mlflow

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/postgres"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// BenchmarkSearchRunsSeeded times the benchmark's search (bench/cmd/plinth-bench search)
// through the handler, without the network, on a database that plinth-bench seed-search
// filled: PLINTH_BENCH_SEARCH_DB is a postgres:// DSN or a SQLite file, and
// PLINTH_BENCH_SEARCH_EXP the seeded experiment's id. Skipped without them.
func BenchmarkSearchRunsSeeded(b *testing.B) {
	db, exp := os.Getenv("PLINTH_BENCH_SEARCH_DB"), os.Getenv("PLINTH_BENCH_SEARCH_EXP")
	if db == "" || exp == "" {
		b.Skip("PLINTH_BENCH_SEARCH_DB and PLINTH_BENCH_SEARCH_EXP not set")
	}
	ctx := context.Background()
	var st store.Store
	var err error
	if strings.HasPrefix(db, "postgres://") {
		st, err = postgres.Open(ctx, db, store.Options{})
	} else {
		st, err = sqlite.Open(ctx, db, store.Options{})
	}
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := New(st, nil, Options{})
	body := `{"experiment_ids":["` + exp + `"],"filter":"metrics.m0 > 0.5","max_results":1000,"order_by":["metrics.m1 DESC"],"run_view_type":"ACTIVE_ONLY"}`
	size := 0
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/search", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/op")
}
