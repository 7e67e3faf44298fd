// Package sqlstore implements store.Store once, in SQL that SQLite and PostgreSQL
// both understand. The differences between the two live in a Dialect that the
// sqlite and postgres packages supply: placeholders, case-insensitive matching and
// how a duplicate key is reported; migrations are serialised by the caller.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-ml/plinth/internal/store"
)

// Dialect is what differs between the SQL backends.
type Dialect struct {
	Name string
	// Numbered rewrites "?" placeholders to "$1, $2, …" (PostgreSQL).
	Numbered bool
	// ILike renders a case-insensitive LIKE of expr against the placeholder.
	ILike func(expr string) string
	// IsUniqueViolation recognises the driver's error for a duplicate key, which a
	// concurrent writer can cause after our own existence check passed.
	IsUniqueViolation func(error) bool
	// ArrayIDs says the driver takes a list of run ids as one array parameter, and the
	// database can expand it with unnest and LATERAL (PostgreSQL).
	ArrayIDs bool
}

// Store is a store.Store over database/sql. Writes go through wdb, reads through rdb;
// for SQLite wdb is a single connection (one writer) and rdb a pool, for PostgreSQL
// both are the same pool.
type Store struct {
	rdb, wdb *sql.DB
	d        Dialect
	opts     store.Options
}

var _ store.Store = (*Store)(nil)

// New returns a Store on migrated databases and makes sure experiment "0" exists.
func New(ctx context.Context, rdb, wdb *sql.DB, d Dialect, opts store.Options) (*Store, error) {
	s := &Store{rdb: rdb, wdb: wdb, d: d, opts: opts}
	now := nowMillis()
	_, err := s.wdb.ExecContext(ctx, s.q(`INSERT INTO experiments
		(experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING`),
		s.artifactLocation("0"), now, now)
	if err != nil {
		return nil, fmt.Errorf("create default experiment: %w", err)
	}
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

func (s *Store) artifactLocation(expID string) string {
	root := strings.TrimSuffix(s.opts.DefaultArtifactRoot, "/")
	if root == "" {
		root = "mlflow-artifacts:"
	}
	return root + "/" + expID
}

// q adapts a query written with "?" placeholders to the dialect.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// inTx runs fn in a write transaction and commits it only when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func nowMillis() int64 { return time.Now().UnixMilli() }
