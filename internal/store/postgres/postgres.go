// Package postgres is the storage backend for teams that outgrow one machine:
// any number of Plinth replicas share one PostgreSQL database through pgx.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlstore"
)

//go:embed migrations/*.up.sql
var migrations embed.FS

// migrationLock serialises migrations of replicas that start at the same time.
const migrationLock = `SELECT pg_advisory_xact_lock(727001)`

// Store is the PostgreSQL backend.
type Store struct {
	*sqlstore.Store
}

// Dialect is what PostgreSQL needs from the shared SQL store.
var Dialect = sqlstore.Dialect{
	Name:     "postgres",
	Numbered: true,
	ArrayIDs: true,
	ILike:    func(expr string) string { return expr + ` ILIKE ? ESCAPE '\'` },
	IsUniqueViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
}

// Open connects to the database at dsn (a postgres:// URL) and applies migrations.
func Open(ctx context.Context, dsn string, opts store.Options) (*Store, error) {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := sqlstore.Migrate(ctx, db, migrationsFS(), migrationLock); err != nil {
		db.Close()
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, db, Dialect, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{s}, nil
}

// Migrate applies pending migrations and reports how many ran.
func Migrate(ctx context.Context, dsn string) (int, error) {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return sqlstore.Migrate(ctx, db, migrationsFS(), migrationLock)
}

func openDB(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	// Plinth's queries are short: compiling them costs far more than it saves (about
	// 200 ms a query for a search page before the planner has statistics). A jit
	// setting in the address wins.
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
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
