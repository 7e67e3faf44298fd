// Package pgtest gives tests a fresh, private PostgreSQL database on a server named by
// PLINTH_TEST_POSTGRES_DSN (an admin DSN), so PostgreSQL tests can run in parallel and
// leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// EnvDSN names the admin DSN of the server tests create their databases on.
	EnvDSN = "PLINTH_TEST_POSTGRES_DSN"
	// EnvRequire, when "1", turns a missing server into a failure instead of a skip,
	// so `make test` cannot pass while silently skipping PostgreSQL.
	EnvRequire = "PLINTH_REQUIRE_POSTGRES"
)

// NewDatabase creates an empty database with a random name and returns its DSN in
// postgres:// URL form. The database is dropped when the test and its subtests finish.
// Without PLINTH_TEST_POSTGRES_DSN the test is skipped, or fails if PLINTH_REQUIRE_POSTGRES=1.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		msg := EnvDSN + " is not set; start a test server with `scripts/postgres.sh start` " +
			"and export the DSN it prints (or `eval \"$(scripts/postgres.sh env)\"`)"
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	name := "plinth_test_" + randomHex(8)
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	if err := exec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a test forgot to close, so the drop never hangs.
		if err := exec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// exec runs one statement on its own admin connection (CREATE/DROP DATABASE cannot
// run inside a transaction or a pool's prepared-statement cache).
func exec(admin, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	return err
}

// withDatabase returns admin with its database replaced by name, as a postgres:// URL.
func withDatabase(admin, name string) (string, error) {
	cfg, err := pgconn.ParseConfig(admin)
	if err != nil {
		return "", err
	}
	if u, err := url.Parse(admin); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		// Keep the caller's URL (and its query options) as given; only the database changes.
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value form ("host=... user=..."): rebuild it from the parsed settings.
	u := &url.URL{Scheme: "postgres", Path: "/" + name}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	q := url.Values{}
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		// A unix socket directory goes in the query; the URL host stays empty.
		q.Set("host", cfg.Host)
		q.Set("port", strconv.Itoa(int(cfg.Port)))
	} else {
		u.Host = cfg.Host + ":" + strconv.Itoa(int(cfg.Port))
	}
	q.Set("sslmode", sslMode(cfg))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// sslMode recovers the libpq sslmode from pgconn's parsed form (TLS plus fallbacks).
func sslMode(cfg *pgconn.Config) string {
	if cfg.TLSConfig == nil {
		return "disable"
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil {
			return "prefer"
		}
	}
	return "require"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("pgtest: random: %v", err))
	}
	return hex.EncodeToString(b)
}
