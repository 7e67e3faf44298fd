package postgres

import (
	"context"
	"testing"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/storetest"
	"github.com/plinth-ml/plinth/internal/testutil/pgtest"
)

func TestVersionTagsBackfill(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db, err := openDB(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckVersionTagsBackfill(t, db, migrationsFS(), func() store.Store {
		s, err := Open(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
