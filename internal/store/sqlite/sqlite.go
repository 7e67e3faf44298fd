// Package sqlite is the embedded storage backend: a pure-Go SQLite (no cgo, so the
// binary stays static) in WAL mode, with one writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlstore"
	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.up.sql
var migrations embed.FS

// Store is the SQLite backend.
type Store struct {
	*sqlstore.Store
}

// Dialect is what SQLite needs from the shared SQL store.
var Dialect = sqlstore.Dialect{
	Name:  "sqlite",
	ILike: func(expr string) string { return "LOWER(" + expr + ") LIKE LOWER(?) ESCAPE '\\'" },
	IsUniqueViolation: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
}

// pragmas every connection gets. case_sensitive_like makes LIKE behave as in
// PostgreSQL and MLflow (ILIKE is the case-insensitive one).
var pragmas = []string{
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"busy_timeout(10000)",
	"foreign_keys(1)",
	"case_sensitive_like(1)",
	"cache_size(-65536)",
	"mmap_size(1073741824)", // reads come straight from the page cache of the OS, shared by all readers
	"temp_store(MEMORY)",
}

func dsn(path string, extra url.Values) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return "file:" + path + "?" + v.Encode()
}

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string, opts store.Options) (*Store, error) {
	wdb, err := openDB(path)
	if err != nil {
		return nil, err
	}
	// One writer: SQLite serialises writes anyway, and a single connection turns
	// contention into a queue in Go instead of busy-wait retries in SQLite.
	wdb.SetMaxOpenConns(1)
	if _, err := sqlstore.Migrate(ctx, wdb, migrationsFS(), ""); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": append(append([]string{}, pragmas...), "query_only(1)")}))
	if err != nil {
		wdb.Close()
		return nil, err
	}
	n := max(4, 2*runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	s, err := sqlstore.New(ctx, rdb, wdb, Dialect, opts)
	if err != nil {
		rdb.Close()
		wdb.Close()
		return nil, err
	}
	return &Store{s}, nil
}

// Migrate applies pending migrations to the database at path and reports how many ran.
func Migrate(ctx context.Context, path string) (int, error) {
	db, err := openDB(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return sqlstore.Migrate(ctx, db, migrationsFS(), "")
}

func openDB(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return db, nil
}

func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	return sub
}
