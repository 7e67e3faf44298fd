package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/storetest"
)

func TestVersionTagsBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plinth.db")
	db, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckVersionTagsBackfill(t, db, migrationsFS(), func() store.Store {
		s, err := Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
