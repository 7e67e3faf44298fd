package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrate applies the numbered "NNNN_name.up.sql" files of fsys that the database has not
// seen yet, each in its own transaction, in order. lockSQL, when set, runs first in each
// transaction so that replicas starting together do not race (PostgreSQL's advisory lock).
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, lockSQL string) (applied int, err error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	for _, name := range files {
		version, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			return applied, fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return applied, err
		}
		did, err := applyMigration(ctx, db, version, name, string(body), lockSQL)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		if did {
			applied++
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int64, name, body, lockSQL string) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if lockSQL != "" {
		if _, err := tx.ExecContext(ctx, lockSQL); err != nil {
			return false, err
		}
	}
	var n int
	// The version is a trusted integer from a file name; inlining it keeps this query dialect-free.
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM schema_migrations WHERE version = %d`, version)).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', %d)`,
		version, strings.ReplaceAll(name, "'", ""), time.Now().UnixMilli())); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
