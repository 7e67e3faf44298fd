package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigLayers(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plinth.yaml")
	err := os.WriteFile(file, []byte("port: 6000\ndb: postgres://u@h/db\ns3:\n  endpoint: http://s3\n  path_style: true\nlog:\n  format: json\n"+
		"serving:\n  refresh: 500ms\n  predictions: s3://logs/p\n  log_sync: true\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PLINTH_PORT": "7000", "PLINTH_ARTIFACTS": "s3://b/p", "PLINTH_PREDICTION_LOG_DIR": "/wal"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The file overrides defaults, the environment overrides the file, untouched keys keep defaults.
	if c.Port != 7000 || c.DB != "postgres://u@h/db" || c.Artifacts != "s3://b/p" || !c.S3.PathStyle ||
		c.S3.Endpoint != "http://s3" || c.Log.Format != "json" || c.Host != "127.0.0.1" {
		t.Fatalf("config = %+v", c)
	}
	if sv := c.Serving; !sv.Enabled || sv.Refresh.String() != "500ms" || sv.Predictions != "s3://logs/p" || !sv.LogSync ||
		sv.LogDir != "/wal" || sv.CacheDir != Defaults().Serving.CacheDir {
		t.Fatalf("serving config = %+v", sv)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("prot: 5000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := c.LoadFile(typo); err == nil || !strings.Contains(err.Error(), "prot") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := c.LoadFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
	env := func(k, v string) func(string) (string, bool) {
		return func(key string) (string, bool) { return v, key == k }
	}
	for _, e := range []struct{ k, v string }{{"PLINTH_PORT", "abc"}, {"PLINTH_S3_PATH_STYLE", "maybe"}, {"PLINTH_MAX_REQUEST_BYTES", "1k"}} {
		c := Defaults()
		if err := c.LoadEnv(env(e.k, e.v)); err == nil || !strings.Contains(err.Error(), e.k) {
			t.Errorf("%s=%s: %v", e.k, e.v, err)
		}
	}
	for name, mutate := range map[string]func(*Config){
		"port":      func(c *Config) { c.Port = 70000 },
		"db":        func(c *Config) { c.DB = "mysql://x" },
		"sqlite":    func(c *Config) { c.DB = "sqlite:" },
		"artifacts": func(c *Config) { c.Artifacts = "" },
		"level":     func(c *Config) { c.Log.Level = "loud" },
		"format":    func(c *Config) { c.Log.Format = "xml" },
		"body":      func(c *Config) { c.MaxRequestBytes = 0 },
		"refresh":   func(c *Config) { c.Serving.Refresh = time.Millisecond },
		"timeout":   func(c *Config) { c.Serving.RequestTimeout = 0 },
		"log dir":   func(c *Config) { c.Serving.LogDir = "" },
		"buffer":    func(c *Config) { c.Serving.LogBufferBytes = -1 },
	} {
		c := Defaults()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
}

func TestParseDB(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, kind, target string }{
		{"sqlite:./plinth-data/plinth.db", "sqlite", "./plinth-data/plinth.db"},
		{"sqlite:///abs/p.db", "sqlite", "/abs/p.db"},
		{"postgres://u:p@h:5432/db", "postgres", "postgres://u:p@h:5432/db"},
		{"postgresql://h/db", "postgres", "postgresql://h/db"},
	} {
		kind, target, err := ParseDB(tt.in)
		if err != nil || kind != tt.kind || target != tt.target {
			t.Errorf("ParseDB(%q) = %q, %q, %v", tt.in, kind, target, err)
		}
	}
	if got := redactDB("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("password logged: %s", got)
	}
}
