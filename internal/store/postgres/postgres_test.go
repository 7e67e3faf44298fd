package postgres_test

import (
	"context"
	"testing"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/postgres"
	"github.com/plinth-ml/plinth/internal/store/storetest"
	"github.com/plinth-ml/plinth/internal/testutil/pgtest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
