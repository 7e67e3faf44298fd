package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, admin, want string
	}{
		{"url keeps options", "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable",
			"postgres://postgres@127.0.0.1:55432/db1?sslmode=disable"},
		{"url with password and scheme postgresql", "postgresql://u:p%40ss@h:5/admin",
			"postgresql://u:p%40ss@h:5/db1"},
		{"url without database", "postgres://u@h:5432", "postgres://u@h:5432/db1"},
		{"keywords tcp", "host=127.0.0.1 port=6000 user=adm password=secret dbname=postgres sslmode=disable",
			"postgres://adm:secret@127.0.0.1:6000/db1?sslmode=disable"},
		{"keywords socket", "host=/tmp/sock port=55432 user=postgres sslmode=disable",
			"postgres://postgres@/db1?host=%2Ftmp%2Fsock&port=55432&sslmode=disable"},
		{"keywords prefer", "host=h user=u sslmode=prefer", "postgres://u@h:5432/db1?sslmode=prefer"},
		{"keywords require", "host=h user=u sslmode=require", "postgres://u@h:5432/db1?sslmode=require"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := withDatabase(tt.admin, "db1")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("withDatabase(%q) = %q, want %q", tt.admin, got, tt.want)
			}
		})
	}
}

func TestWithDatabaseInvalid(t *testing.T) {
	t.Parallel()
	for _, admin := range []string{"postgres://h:notaport/db", "host=h port=x", "host=h connect_timeout=abc"} {
		if got, err := withDatabase(admin, "db1"); err == nil {
			t.Errorf("withDatabase(%q) = %q, want an error", admin, got)
		}
	}
}

// fakeTB records how NewDatabase gives up, stopping the goroutine as testing.T would.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	how    string
	msg    string
	inited bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) stop(how string, args ...any) {
	f.mu.Lock()
	f.how, f.msg = how, fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any)                  { f.stop("skip", args...) }
func (f *fakeTB) Fatal(args ...any)                 { f.stop("fatal", args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.stop("fatal", fmt.Sprintf(format, args...)) }
func (f *fakeTB) Cleanup(func())                    { f.inited = true }

func runFake(f *fakeTB) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewDatabase(f)
	}()
	<-done
}

func TestNewDatabaseWithoutServer(t *testing.T) {
	tests := []struct {
		require, want string
	}{
		{"", "skip"},
		{"0", "skip"},
		{"1", "fatal"},
	}
	for _, tt := range tests {
		t.Run("require="+tt.require, func(t *testing.T) {
			t.Setenv(EnvDSN, "")
			t.Setenv(EnvRequire, tt.require)
			f := &fakeTB{}
			runFake(f)
			if f.how != tt.want {
				t.Fatalf("gave up with %q, want %q", f.how, tt.want)
			}
			if !strings.Contains(f.msg, "scripts/postgres.sh") {
				t.Errorf("message %q does not say how to start a server", f.msg)
			}
		})
	}
}

func TestNewDatabaseUnreachable(t *testing.T) {
	// Port 1 on loopback refuses connections: NewDatabase must fail, not skip.
	t.Setenv(EnvDSN, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")
	f := &fakeTB{}
	runFake(f)
	if f.how != "fatal" || !strings.Contains(f.msg, "create database") {
		t.Fatalf("got %s %q, want a fatal create database error", f.how, f.msg)
	}
	if f.inited {
		t.Error("registered a cleanup for a database it never created")
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func dbExists(t *testing.T, name string) bool {
	t.Helper()
	conn := connect(t, os.Getenv(EnvDSN))
	var n int
	err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestNewDatabase(t *testing.T) {
	if os.Getenv(EnvDSN) == "" {
		NewDatabase(t) // skips or fails with the standard message
	}
	var names []string
	var leaks []*pgx.Conn
	defer func() {
		for _, c := range leaks {
			c.Close(context.Background())
		}
	}()
	for i := range 2 {
		t.Run(fmt.Sprint("db", i), func(t *testing.T) {
			dsn := NewDatabase(t)
			u, err := url.Parse(dsn)
			if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
				t.Fatalf("DSN %q is not a postgres:// URL (%v)", dsn, err)
			}
			conn := connect(t, dsn)
			ctx := context.Background()
			var name string
			if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			if "/"+name != u.Path || !strings.HasPrefix(name, "plinth_test_") {
				t.Fatalf("connected to %q via %q", name, dsn)
			}
			// The database starts empty and is writable.
			var tables int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Fatalf("new database has %d tables", tables)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
				t.Fatal(err)
			}
			// A connection still open at cleanup (closed only after the subtest) must not block the drop.
			leak, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			leaks = append(leaks, leak)
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("want two distinct databases, got %v", names)
	}
	for _, name := range names {
		if dbExists(t, name) {
			t.Errorf("database %s still exists after its test finished", name)
		}
	}
}
