package batch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// queueName is the River queue of batch work.
const queueName = "plinth_batch"

// queue is the part of a River client that the service uses; River's client type
// depends on the driver (database/sql for SQLite, pgx for PostgreSQL), this does not.
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// queueConfig is how the River client is built.
type queueConfig struct {
	kind, target string // from app.ParseDB: "sqlite" and a path, or "postgres" and a DSN
	workers      *river.Workers
	slots        int // shards worked at once in this process; 0: insert only
	clientID     string
	logger       *slog.Logger
}

// openQueue opens River's own connections to the database (its tables live next to
// Plinth's), applies River's migrations and builds the client.
func openQueue(ctx context.Context, c queueConfig) (queue, func(), error) {
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.logger = slog.New(warnAndAbove{c.logger.Handler()}) // River reports its routine work at info
	cfg := &river.Config{
		ID:      c.clientID,
		Logger:  c.logger,
		Workers: c.workers,
		// Shards are not timed out by River, and a dead worker's shard is handed out
		// again by the service's reaper as soon as its heartbeat is stale (River's own
		// rescue needs a job timeout, which would also cut long shards short). These
		// bounds only clear River's record of a shard whose worker died.
		JobTimeout:           shardTimeout,
		RescueStuckJobsAfter: shardTimeout + time.Hour,
		RetryPolicy:          retryPolicy{},
		MaxAttempts:          shardAttempts,
		FetchPollInterval:    500 * time.Millisecond,
	}
	if c.slots > 0 {
		cfg.Queues = map[string]river.QueueConfig{queueName: {MaxWorkers: c.slots}}
	}
	switch c.kind {
	case "sqlite":
		// River's SQLite driver wants one connection: SQLite has one writer, and its
		// maintenance would otherwise meet "database is locked".
		q := url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)"}, "_txlock": {"immediate"}}
		db, err := sql.Open("sqlite", "file:"+c.target+"?"+q.Encode())
		if err != nil {
			return nil, nil, fmt.Errorf("open the job queue: %w", err)
		}
		db.SetMaxOpenConns(1)
		driver := riversqlite.New(db)
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: c.logger})
		if err := migrateQueue(ctx, m, err); err != nil {
			db.Close()
			return nil, nil, err
		}
		client, err := river.NewClient(driver, cfg)
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("job queue: %w", err)
		}
		return client, func() { db.Close() }, nil
	case "postgres":
		pool, err := pgxpool.New(ctx, c.target)
		if err != nil {
			return nil, nil, fmt.Errorf("open the job queue: %w", err)
		}
		driver := riverpgxv5.New(pool)
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: c.logger})
		if err := migrateQueue(ctx, m, err); err != nil {
			pool.Close()
			return nil, nil, err
		}
		client, err := river.NewClient(driver, cfg)
		if err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("job queue: %w", err)
		}
		return client, pool.Close, nil
	}
	return nil, nil, fmt.Errorf("job queue: unknown database kind %q", c.kind)
}

// MigrateQueue applies the job queue's migrations (River's tables) to the database
// (kind and target as app.ParseDB gives them); opening a Service does it too.
func MigrateQueue(ctx context.Context, kind, target string, logger *slog.Logger) error {
	_, closeQ, err := openQueue(ctx, queueConfig{kind: kind, target: target, workers: river.NewWorkers(), logger: logger})
	if err != nil {
		return err
	}
	closeQ()
	return nil
}

// migrator is rivermigrate.Migrator for either driver.
type migrator interface {
	Migrate(ctx context.Context, direction rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
}

// migrateQueue applies River's migrations. Processes starting together (a server and
// workers) may race to apply the same one; the loser fails on a table that now exists
// and, trying again, finds nothing left to do.
func migrateQueue[M migrator](ctx context.Context, m M, err error) error {
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	for attempt := 1; ; attempt++ {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err == nil || attempt == 5 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// shardAttempts bounds how often a shard is tried before its job fails.
const shardAttempts = 4

// shardTimeout bounds one shard's work: far longer than any sensible shard.
const shardTimeout = 24 * time.Hour

// retryPolicy retries a failed shard after 2, 4, 6 … seconds: River's default waits
// grow to minutes, long for a batch job someone is watching.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(time.Duration(2*max(1, len(job.Errors))) * time.Second)
}

var errStopped = errors.New("the batch job was cancelled or ended")

// warnAndAbove passes on warnings and errors only.
type warnAndAbove struct{ slog.Handler }

func (h warnAndAbove) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnAndAbove) WithAttrs(a []slog.Attr) slog.Handler {
	return warnAndAbove{h.Handler.WithAttrs(a)}
}
func (h warnAndAbove) WithGroup(n string) slog.Handler { return warnAndAbove{h.Handler.WithGroup(n)} }
