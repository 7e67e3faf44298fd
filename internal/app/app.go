package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/api/mlflow"
	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/batch"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/postgres"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
	"github.com/plinth-ml/plinth/web"
)

// Version is set at build time with -ldflags "-X …/internal/app.Version=…".
var Version = "0.1.0-dev"

// NewLogger builds the process logger from the config.
func NewLogger(cfg Config, w *os.File) (*slog.Logger, error) {
	level, err := cfg.LogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// OpenStore opens the configured database backend, applying migrations.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	kind, target, err := ParseDB(cfg.DB)
	if err != nil {
		return nil, err
	}
	opts := store.Options{DefaultArtifactRoot: "mlflow-artifacts:"}
	if kind == "postgres" {
		return postgres.Open(ctx, target, opts)
	}
	return sqlite.Open(ctx, target, opts)
}

// Migrate applies pending migrations to the configured database.
func Migrate(ctx context.Context, cfg Config) (int, error) {
	kind, target, err := ParseDB(cfg.DB)
	if err != nil {
		return 0, err
	}
	var n int
	if kind == "postgres" {
		n, err = postgres.Migrate(ctx, target)
	} else {
		n, err = sqlite.Migrate(ctx, target)
	}
	if err != nil {
		return n, err
	}
	// The job queue's tables (River's own migrations) live in the same database.
	return n, batch.MigrateQueue(ctx, kind, target, slog.New(slog.DiscardHandler))
}

// OpenArtifacts opens the configured artifact bucket. S3 credentials come from the
// standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …).
func OpenArtifacts(ctx context.Context, cfg Config) (blob.Bucket, error) {
	return blob.Open(ctx, cfg.Artifacts, blob.S3Options{
		Endpoint:  cfg.S3.Endpoint,
		Region:    cfg.S3.Region,
		PathStyle: cfg.S3.PathStyle,
	})
}

// Server is the HTTP server with its store and bucket.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	bucket   blob.Bucket
	serving  *servingParts  // nil when serving is disabled
	batch    *batch.Service // nil in a replica
	replica  bool
	http     *http.Server
	listener net.Listener
}

// NewServer opens storage and binds the listen address (port 0 picks a free port). The
// server answers the MLflow API, Plinth's API and, unless disabled, the endpoints.
func NewServer(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	return newServer(ctx, cfg, log, false)
}

// NewReplica is `plinth serve`: a stateless serving process that reads endpoints and the
// registry from the shared database and models from the artifact store, and answers only
// prediction requests (plus health, metrics and a read-only view of its endpoints).
func NewReplica(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if !cfg.Serving.Enabled {
		return nil, errNoServing
	}
	return newServer(ctx, cfg, log, true)
}

func newServer(ctx context.Context, cfg Config, log *slog.Logger, replica bool) (s *Server, err error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var closers []func() error
	closers = append(closers, st.Close)
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	bucket, err := OpenArtifacts(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	closers = append(closers, bucket.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var sp *servingParts
	v1opts := v1.Options{Logger: log}
	if cfg.Serving.Enabled {
		sp, err = newServing(ctx, cfg, st, bucket, log, reg)
		if err != nil {
			return nil, err
		}
		closers = append(closers, sp.stop)
		v1opts.EndpointState = sp.manager.State
		v1opts.Activity = sp.activity
	}
	// The APIs get no Metrics of their own: one httpx.Metrics around the whole
	// mux measures them all (a registry holds its collectors only once); each
	// API still labels requests with its own route patterns.
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if sp != nil {
		sp.mount(mux)
	}
	var bs *batch.Service
	if !replica {
		bs, err = newBatch(ctx, cfg, st, bucket, log, cfg.Batch.Workers)
		if err != nil {
			return nil, fmt.Errorf("batch jobs: %w", err)
		}
		closers = append(closers, func() error { return bs.Stop(context.Background()) })
		v1opts.Batch = batchAPI{bs}
	}
	if replica {
		endpoints := readOnly(v1.New(st, v1opts))
		mux.Handle(v1.Prefix+"/endpoints", endpoints)
		mux.Handle(v1.Prefix+"/endpoints/", endpoints)
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") })
		mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, Version) })
	} else {
		mux.Handle(v1.Prefix+"/", v1.New(st, v1opts))
		ui := web.Handler()
		mux.Handle("GET /{$}", ui)
		mux.Handle("GET /assets/", ui)
		mux.Handle("/", mlflow.New(st, bucket, mlflow.Options{
			Logger:       log,
			MaxBodyBytes: cfg.MaxRequestBytes,
			Version:      Version,
		}))
	}
	handler := httpx.Chain(httpx.WithPattern(mux), httpx.Metrics(reg))

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s:%d: %w (is another server using the port? pick one with --port)", cfg.Host, cfg.Port, err)
	}
	return &Server{
		cfg: cfg, log: log, store: st, bucket: bucket, serving: sp, batch: bs, replica: replica, listener: ln,
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			// No ReadTimeout/WriteTimeout: artifact transfers of many GB stream for minutes.
			// Prediction requests are bounded by the serving body limit and request timeout.
			IdleTimeout: 120 * time.Second,
			ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx is cancelled, then stops accepting connections, lets requests in
// flight finish (up to the shutdown timeout) and closes storage.
func (s *Server) Run(ctx context.Context) error {
	if s.serving != nil {
		s.serving.start(ctx)
	}
	if s.batch != nil {
		if err := s.batch.Start(ctx); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	what := "plinth server"
	if s.replica {
		what = "plinth serving replica"
	}
	s.log.Info(what+" listening", "addr", "http://"+s.Addr(), "db", redactDB(s.cfg.DB), "artifacts", s.cfg.Artifacts, "version", Version)
	if !s.replica && !web.Built() {
		s.log.Warn("this binary has no web UI (built without `make build`): / answers with how to build it")
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
		s.log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		serveErr = s.http.Shutdown(sctx)
		cancel()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	var servingErr, batchErr error
	if s.serving != nil {
		servingErr = s.serving.stop() // after the HTTP shutdown: answered requests are in the log
	}
	if s.batch != nil {
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		batchErr = s.batch.Stop(sctx) // shards in progress finish, or another worker takes them over
		cancel()
	}
	return errors.Join(serveErr, servingErr, batchErr, s.store.Close(), s.bucket.Close())
}

// redactDB hides a password in a database URL before it is logged.
func redactDB(db string) string {
	kind, _, err := ParseDB(db)
	if err != nil || kind != "postgres" {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
