package predlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-ml/plinth/internal/blob"
)

// Record is one answered (or failed) prediction row.
type Record struct {
	RequestID     string
	InferenceID   string // caller-supplied id for joining ground truth later; may be ""
	Row           int32  // row index within the request
	Endpoint      string // a valid endpoint name (core.ValidateEndpointName)
	Model         string // registered model name
	ModelVersion  string
	Role          string    // core.RolePrimary, core.RoleCanary or core.RoleShadow
	Time          time.Time // when the request arrived; zero means "now"; kept to the microsecond
	LatencyMicros int64
	Status        int32  // HTTP status of the answer
	Error         string // message when Status is not 200
	Inputs        string // JSON object of the row's input features
	Outputs       string // JSON object of the row's outputs ("" on error)
	SubjectID     string // value of the endpoint's declared subject field, or ""
}

// Options configure a Log. Zero values take the documented defaults.
type Options struct {
	// Dir is the local WAL folder (created). One process at a time: Open takes an
	// flock, and a second Open of the same folder fails.
	Dir    string
	Bucket blob.Bucket
	// Prefix is the key prefix in the bucket; default "predictions"; "." is the
	// bucket's root (for a bucket that holds nothing but the log).
	Prefix string
	// MaxBufferBytes bounds the WAL bytes not yet uploaded; beyond it Append drops
	// records (counted) and Status().Degraded is true. Default 1 GiB.
	MaxBufferBytes int64
	// SegmentBytes rotates the active segment at this size; default 16 MiB.
	SegmentBytes int64
	// FlushInterval rotates and uploads a non-empty segment at least this often;
	// default 10s.
	FlushInterval time.Duration
	// Sync fsyncs after each append, for power-loss safety. Off by default: a frame in
	// the page cache already survives a crash of the process (kill -9).
	Sync bool
	// StopTimeout bounds the final upload in Stop; default 10s. What it cannot upload
	// stays in Dir for the next Open.
	StopTimeout time.Duration
	Logger      *slog.Logger
	// Metrics, when set, receives the log's collectors (plinth_predlog_*).
	Metrics prometheus.Registerer
}

// Defaults.
const (
	DefaultPrefix         = "predictions"
	DefaultMaxBufferBytes = 1 << 30
	DefaultSegmentBytes   = 16 << 20
	DefaultFlushInterval  = 10 * time.Second
	DefaultStopTimeout    = 10 * time.Second
)

// Status is a snapshot of the log's health.
type Status struct {
	BacklogBytes int64 // WAL bytes not yet uploaded (active and closed segments)
	// Degraded is true after Append dropped records for lack of room, until the backlog
	// has drained to half of MaxBufferBytes.
	Degraded   bool
	Dropped    int64     // records dropped since Open
	Appended   int64     // records written to the WAL since Open
	Uploaded   int64     // records uploaded since Open (replayed ones included)
	Pending    int       // closed segments waiting for upload
	LastError  string    // the last upload error; "" once an upload succeeds again
	LastUpload time.Time // when a segment was last uploaded; zero if never
}

var (
	// ErrFull is returned by Append when the backlog is at MaxBufferBytes: the records
	// were dropped and counted.
	ErrFull = errors.New("predlog: local backlog is full; records dropped")
	// ErrClosed is returned by Append after Stop.
	ErrClosed = errors.New("predlog: log is stopped")
)

// Log is the durable prediction log of one serving process. Append is safe for
// concurrent use.
type Log struct {
	opts    Options
	log     *slog.Logger
	dir     string
	replica string
	lock    *os.File
	m       *metrics

	mu         sync.Mutex
	closed     bool
	active     activeSegment // nil until the next Append
	activeNum  uint64
	activeSize int64
	lastSeq    uint64    // last segment number handed out
	pending    []segment // closed segments, oldest first
	backlog    int64
	degraded   bool
	dropped    int64
	appended   int64
	uploaded   int64
	lastErr    string
	lastUpload time.Time

	uploadMu sync.Mutex    // one upload pass at a time
	kick     chan struct{} // wakes the uploader when a segment closes

	startOnce sync.Once
	stopOnce  sync.Once
	cancel    context.CancelFunc // set by Start, under mu
	done      chan struct{}      // closed when the uploader exits; nil before Start
}

// Open opens (creating it) the WAL folder. Segments left by a previous process are
// queued for upload; Start uploads them, as does Flush.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("predlog: Options.Dir is required")
	}
	if opts.Bucket == nil {
		return nil, errors.New("predlog: Options.Bucket is required")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	prefix, err := blob.CleanKey(opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("predlog: bad key prefix %q: %v", opts.Prefix, err)
	}
	opts.Prefix = prefix
	if opts.MaxBufferBytes <= 0 {
		opts.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("predlog: WAL folder %q: %w", opts.Dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{opts: opts, log: opts.Logger.With("component", "predlog"), dir: dir, lock: lock, kick: make(chan struct{}, 1)}
	fail := func(err error) (*Log, error) {
		lock.Close()
		return nil, err
	}
	if l.replica, err = loadReplicaID(dir); err != nil {
		return fail(err)
	}
	segs, last, err := scanDir(dir)
	if err != nil {
		return fail(err)
	}
	l.pending, l.lastSeq = segs, last
	for _, s := range segs {
		l.backlog += s.size
	}
	if l.m, err = newMetrics(l, opts.Metrics); err != nil {
		return fail(fmt.Errorf("predlog: register metrics: %w", err))
	}
	if len(segs) > 0 {
		l.log.Info("replaying prediction log segments left by a previous process", "segments", len(segs), "bytes", l.backlog)
	}
	return l, nil
}

// ReplicaID is the id persisted in Dir that names this log's Parquet objects.
func (l *Log) ReplicaID() string { return l.replica }

// Start runs the background uploader until ctx ends or Stop is called. Calls after
// the first, or after Stop, do nothing.
func (l *Log) Start(ctx context.Context) {
	l.startOnce.Do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			return
		}
		ctx, l.cancel = context.WithCancel(ctx)
		l.done = make(chan struct{})
		go l.run(ctx, l.done)
	})
}

// Flush closes the active segment and uploads every closed segment now, one attempt
// each. It returns the first upload error; segments it could not upload stay queued.
func (l *Log) Flush(ctx context.Context) error {
	l.mu.Lock()
	l.rotateLocked()
	l.mu.Unlock()
	return l.uploadPending(ctx)
}

// Stop ends the uploader, refuses further Appends (ErrClosed), uploads what is left
// within StopTimeout and releases Dir. Whatever could not be uploaded stays in Dir and
// is replayed by the next Open. Safe to call more than once.
func (l *Log) Stop() {
	l.stopOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		cancel, done := l.cancel, l.done
		l.mu.Unlock()
		if cancel != nil {
			cancel()
			<-done
		}
		ctx, cancelFlush := context.WithTimeout(context.Background(), l.opts.StopTimeout)
		defer cancelFlush()
		if err := l.Flush(ctx); err != nil {
			st := l.Status()
			l.log.Warn("prediction log: segments left for the next start", "segments", st.Pending, "bytes", st.BacklogBytes, "err", err)
		}
		l.lock.Close() // releases the flock
	})
}

// Status returns a snapshot of the log's health.
func (l *Log) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Status{
		BacklogBytes: l.backlog,
		Degraded:     l.degraded,
		Dropped:      l.dropped,
		Appended:     l.appended,
		Uploaded:     l.uploaded,
		Pending:      len(l.pending),
		LastError:    l.lastErr,
		LastUpload:   l.lastUpload,
	}
}
