package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
	"github.com/plinth-ml/plinth/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "plinth.db"), store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
