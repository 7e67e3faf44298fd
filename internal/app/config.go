// Package app holds Plinth's typed configuration and wires the services together.
package app

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is everything the server needs, read once at the edge: defaults, then an
// optional YAML file, then PLINTH_* environment variables, then flags (each overrides the last).
type Config struct {
	Host      string `yaml:"host"`
	Port      int    `yaml:"port"`
	DB        string `yaml:"db"`        // sqlite:PATH or postgres://…
	Artifacts string `yaml:"artifacts"` // a folder, file:///…, or s3://bucket/prefix
	S3        struct {
		Endpoint  string `yaml:"endpoint"`
		Region    string `yaml:"region"`
		PathStyle bool   `yaml:"path_style"`
	} `yaml:"s3"`
	Log struct {
		Level  string `yaml:"level"`  // debug, info, warn, error
		Format string `yaml:"format"` // text or json
	} `yaml:"log"`
	MaxRequestBytes int64         `yaml:"max_request_bytes"` // JSON bodies; artifact uploads stream
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Serving         ServingConfig `yaml:"serving"`
	Batch           BatchConfig   `yaml:"batch"`
}

// ServingConfig tunes online serving (the endpoints of `plinth server` and `plinth serve`)
// and its prediction log.
type ServingConfig struct {
	Enabled        bool          `yaml:"enabled"`         // serve endpoints in this process
	Refresh        time.Duration `yaml:"refresh"`         // how often endpoints and aliases are re-read
	MaxBodyBytes   int64         `yaml:"max_body_bytes"`  // prediction request bodies
	RequestTimeout time.Duration `yaml:"request_timeout"` // per prediction request
	CacheDir       string        `yaml:"cache_dir"`       // downloaded model files
	// Predictions is where the prediction log's Parquet files go: a folder or s3://bucket/prefix.
	Predictions string `yaml:"predictions"`
	// LogDir holds the log's local write-ahead files; one process per folder.
	LogDir         string        `yaml:"log_dir"`
	LogBufferBytes int64         `yaml:"log_buffer_bytes"` // local backlog limit before the endpoint is degraded
	LogFlush       time.Duration `yaml:"log_flush"`        // how often log files are written to Predictions
	LogSync        bool          `yaml:"log_sync"`         // fsync each record (power-loss safety; slower)
}

// Defaults returns the embedded default: SQLite and a local folder under ./plinth-data.
func Defaults() Config {
	var c Config
	c.Host = "127.0.0.1"
	c.Port = 5000
	c.DB = "sqlite:./plinth-data/plinth.db"
	c.Artifacts = "./plinth-data/artifacts"
	c.Log.Level = "info"
	c.Log.Format = "text"
	c.MaxRequestBytes = 16 << 20
	c.ShutdownTimeout = 30 * time.Second
	c.Serving = ServingConfig{
		Enabled: true, Refresh: 2 * time.Second, MaxBodyBytes: 64 << 20, RequestTimeout: 30 * time.Second,
		CacheDir: "./plinth-data/serving-cache", Predictions: "./plinth-data/predictions",
		LogDir: "./plinth-data/prediction-wal", LogBufferBytes: 1 << 30, LogFlush: 10 * time.Second,
	}
	c.Batch = BatchConfig{Workers: 2, ShardRows: 1 << 20, Heartbeat: 5 * time.Second, StaleAfter: 30 * time.Second}
	return c
}

// LoadFile overlays the YAML file at path onto c. Unknown keys are an error, so typos surface.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// LoadEnv overlays PLINTH_* variables found by lookup (os.LookupEnv in production).
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok {
			*dst = v
		}
	}
	str("PLINTH_HOST", &c.Host)
	str("PLINTH_DB", &c.DB)
	str("PLINTH_ARTIFACTS", &c.Artifacts)
	str("PLINTH_S3_ENDPOINT", &c.S3.Endpoint)
	str("PLINTH_S3_REGION", &c.S3.Region)
	str("PLINTH_LOG_LEVEL", &c.Log.Level)
	str("PLINTH_LOG_FORMAT", &c.Log.Format)
	str("PLINTH_PREDICTIONS", &c.Serving.Predictions)
	str("PLINTH_PREDICTION_LOG_DIR", &c.Serving.LogDir)
	str("PLINTH_SERVING_CACHE", &c.Serving.CacheDir)
	if v, ok := lookup("PLINTH_PORT"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("PLINTH_PORT=%q: not a number", v)
		}
		c.Port = n
	}
	if v, ok := lookup("PLINTH_S3_PATH_STYLE"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("PLINTH_S3_PATH_STYLE=%q: want true or false", v)
		}
		c.S3.PathStyle = b
	}
	if v, ok := lookup("PLINTH_MAX_REQUEST_BYTES"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("PLINTH_MAX_REQUEST_BYTES=%q: not a number", v)
		}
		c.MaxRequestBytes = n
	}
	return nil
}

// Validate reports the first setting that cannot work, saying what to do instead.
func (c *Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d is out of range 0-65535", c.Port)
	}
	if _, _, err := ParseDB(c.DB); err != nil {
		return err
	}
	if c.Artifacts == "" {
		return fmt.Errorf("artifacts location is empty: give a folder or s3://bucket/prefix")
	}
	if _, err := c.LogLevel(); err != nil {
		return err
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("log format %q: want text or json", c.Log.Format)
	}
	if c.MaxRequestBytes <= 0 {
		return fmt.Errorf("max request bytes must be positive")
	}
	if b := c.Batch; b.Workers < 0 || b.ShardRows <= 0 || b.Heartbeat <= 0 || b.StaleAfter <= b.Heartbeat {
		return fmt.Errorf("batch: workers must be 0 or more, shard rows and the heartbeat positive, and the stale-after time longer than the heartbeat")
	}
	if sv := c.Serving; sv.Enabled {
		switch {
		case sv.Refresh < 100*time.Millisecond:
			return fmt.Errorf("serving refresh %s is too short; use 100ms or more (default 2s)", sv.Refresh)
		case sv.MaxBodyBytes <= 0 || sv.RequestTimeout <= 0:
			return fmt.Errorf("serving body limit and request timeout must be positive")
		case sv.CacheDir == "" || sv.LogDir == "" || sv.Predictions == "":
			return fmt.Errorf("serving needs a model cache folder, a prediction log folder and a predictions location")
		case sv.LogBufferBytes <= 0 || sv.LogFlush <= 0:
			return fmt.Errorf("prediction log buffer and flush interval must be positive")
		}
	}
	return nil
}

// LogLevel parses the configured log level.
func (c *Config) LogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", c.Log.Level)
	}
	return l, nil
}

// ParseDB splits a database URL into its kind ("sqlite" or "postgres") and what the driver needs.
func ParseDB(db string) (kind, target string, err error) {
	switch {
	case strings.HasPrefix(db, "sqlite://"):
		return "sqlite", strings.TrimPrefix(db, "sqlite://"), nil
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if path == "" {
			return "", "", fmt.Errorf("database %q: give a file, e.g. sqlite:./plinth-data/plinth.db", db)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return "postgres", db, nil
	}
	return "", "", fmt.Errorf("database %q: want sqlite:PATH or postgres://user:pass@host/db", db)
}
