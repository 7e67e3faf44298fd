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

// The store's connections run without JIT compilation unless the address asks for it.
func TestJITOff(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	for _, c := range []struct{ dsn, want string }{{dsn, "off"}, {dsn + "&jit=on", "on"}} {
		db, err := openDB(context.Background(), c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.QueryRow("SHOW jit").Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: jit = %q (%v), want %q", c.dsn, got, err, c.want)
		}
		db.Close()
	}
}
