package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/batch"
	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// BatchConfig tunes batch jobs: the shards this process works (`plinth server` and
// `plinth worker`) and how a dead worker's shard is noticed.
type BatchConfig struct {
	// Workers is how many shards this process works at once; 0 in `plinth server`
	// leaves the work to `plinth worker` processes. Each shard evaluates on every core;
	// a second lets one shard's reading and writing overlap the other's evaluation
	// (about 30% more rows/s on 2 cores, twice the memory).
	Workers    int           `yaml:"workers"`
	ShardRows  int64         `yaml:"shard_rows"`  // target rows per shard
	Heartbeat  time.Duration `yaml:"heartbeat"`   // how often a worker confirms it holds its shard
	StaleAfter time.Duration `yaml:"stale_after"` // a heartbeat this old frees the shard for another worker
	CacheDir   string        `yaml:"cache_dir"`   // downloaded models ("" is a temporary folder)
	TempDir    string        `yaml:"temp_dir"`    // parts being written ("" is the system's)
}

// newBatch opens the batch service on the configured database.
func newBatch(ctx context.Context, cfg Config, st store.Store, bucket blob.Bucket, log *slog.Logger, slots int) (*batch.Service, error) {
	kind, target, err := ParseDB(cfg.DB)
	if err != nil {
		return nil, err
	}
	b := cfg.Batch
	return batch.New(ctx, st, bucket, batch.Options{
		DBKind: kind, DBTarget: target,
		S3:    blob.S3Options{Endpoint: cfg.S3.Endpoint, Region: cfg.S3.Region, PathStyle: cfg.S3.PathStyle},
		Slots: slots, ShardRows: b.ShardRows, Heartbeat: b.Heartbeat, StaleAfter: b.StaleAfter,
		CacheDir: b.CacheDir, TempDir: b.TempDir, Logger: log,
	})
}

// batchAPI adapts the batch service to what the REST API calls.
type batchAPI struct{ s *batch.Service }

func (b batchAPI) Submit(ctx context.Context, spec core.BatchJobSpec, actor string, force bool) (core.BatchJob, bool, error) {
	return b.s.Submit(ctx, spec, batch.SubmitOptions{Actor: actor, Force: force})
}
func (b batchAPI) Cancel(ctx context.Context, id string) (core.BatchJob, error) {
	return b.s.Cancel(ctx, id)
}
func (b batchAPI) Retry(ctx context.Context, id string) (core.BatchJob, error) {
	return b.s.Retry(ctx, id)
}
func (b batchAPI) CreateSchedule(ctx context.Context, sc core.BatchSchedule) (core.BatchSchedule, error) {
	return b.s.CreateSchedule(ctx, sc)
}
func (b batchAPI) NextRun(sc core.BatchSchedule) (v1.Time, error) {
	t, err := batch.NextRun(sc)
	return v1.Time{Time: t}, err
}

// Worker is `plinth worker`: it works batch shards (and runs schedules) from the
// shared database until stopped.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	bucket   blob.Bucket
	batch    *batch.Service
	http     *http.Server
	listener net.Listener
}

// NewWorker opens storage and the job queue.
func NewWorker(ctx context.Context, cfg Config, log *slog.Logger) (*Worker, error) {
	if cfg.Batch.Workers < 1 {
		return nil, fmt.Errorf("a worker needs --workers 1 or more (shards worked at once)")
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	bucket, err := OpenArtifacts(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc, err := newBatch(ctx, cfg, st, bucket, log, cfg.Batch.Workers)
	if err != nil {
		bucket.Close()
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		svc.Stop(ctx)
		bucket.Close()
		st.Close()
		return nil, fmt.Errorf("listen on %s:%d: %w (pick another port with --port)", cfg.Host, cfg.Port, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, Version) })
	return &Worker{cfg: cfg, log: log, store: st, bucket: bucket, batch: svc, listener: ln,
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the address of the worker's /health and /metrics.
func (w *Worker) Addr() string { return w.listener.Addr().String() }

// Run works shards until ctx ends, then lets the shards in progress finish within
// the shutdown timeout (a shard cut short is taken over by another worker).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.batch.Start(ctx); err != nil {
		return err
	}
	go w.http.Serve(w.listener)
	w.log.Info("plinth worker started", "addr", "http://"+w.Addr(), "db", redactDB(w.cfg.DB), "slots", w.cfg.Batch.Workers, "version", Version)
	<-ctx.Done()
	w.log.Info("shutting down: finishing shards in progress")
	sctx, cancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(w.batch.Stop(sctx), w.http.Shutdown(sctx), w.store.Close(), w.bucket.Close())
}
