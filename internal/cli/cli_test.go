package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "plinth ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestDBMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "plinth.db")
	db := "sqlite:" + path
	files, err := filepath.Glob("../store/sqlite/migrations/*.up.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("the SQLite migrations: %v %v", files, err)
	}
	if code, out, errOut := run(t, "db", "migrate", "--db", db); code != 0 || !strings.Contains(out, fmt.Sprintf("applied %d migration", len(files))) {
		t.Fatalf("first migrate: %d %q %q", code, out, errOut)
	}
	// The batch job queue's tables (River's) are created too.
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow("SELECT count(*) FROM river_job").Scan(&n); err != nil {
		t.Fatalf("the job queue's tables are missing after db migrate: %v", err)
	}
	if code, out, _ := run(t, "db", "migrate", "--db", db); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %d %q", code, out)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PLINTH_DB", "sqlite:"+filepath.Join(dir, "from-env.db"))
	// The flag wins over the environment.
	flagDB := filepath.Join(dir, "from-flag.db")
	if code, _, errOut := run(t, "db", "migrate", "--db", "sqlite:"+flagDB); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, _ := run(t, "db", "migrate", "--db", "sqlite:"+flagDB); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("flag ignored: %q", out)
	}
	// Without the flag the environment is used.
	if code, out, _ := run(t, "db", "migrate"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("env ignored: %q", out)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "migrate", "--db", "mysql://x"}, "want sqlite:PATH or postgres://"},
		{[]string{"server", "--port", "99999"}, "out of range"},
		{[]string{"server", "--log-level", "loud"}, "want debug, info, warn or error"},
		{[]string{"nosuch"}, "unknown command"},
	} {
		code, _, errOut := run(t, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", tt.args, code, errOut, tt.want)
		}
	}
}
