package store

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
)

// BatchJobQuery selects batch jobs, newest first.
type BatchJobQuery struct {
	Status       string // "" for any
	ScheduleName string // "" for any
	MaxResults   int    // 1..1000; 0 means 100
	PageToken    string
}

// ShardClaim is the outcome of ClaimBatchShard.
type ShardClaim struct {
	Shard core.BatchShard
	Job   core.BatchJob
	// Claimed is true when the caller now holds the shard (it is RUNNING under the
	// caller's worker id, Attempts incremented, the job RUNNING). Otherwise Reason says
	// why not: "done" (already finished: never recompute), "stopped" (the job is
	// cancelled, failed or succeeded), "held" (another worker's heartbeat is fresh),
	// "parallelism" (the job already runs Spec.Parallelism shards).
	Claimed bool
	Reason  string
}

// BatchStore keeps batch jobs, their shards and schedules. Shards are the unit of
// work that workers claim; a claim is a row update in one transaction, serialised per
// job (a row lock on PostgreSQL), so two workers never both hold a shard with a fresh
// heartbeat, a finished shard is never handed out again, and exactly one worker sees
// the last shard finish. Errors: ENOTFOUND for unknown ids or names, EEXISTS for a
// duplicate schedule name, ECONFLICT for a transition the current state forbids,
// EINVALID for bad arguments.
type BatchStore interface {
	// CreateBatchJob stores job (ID, Key, Spec, model, Actor, ScheduleName, Inputs set by
	// the caller; an empty ID gets a new one) and its shards (Index 0..n-1: the store
	// numbers them by position) in one transaction, with Status QUEUED, Generation 1,
	// ShardsTotal len(shards), shards PENDING and CreationTime now. When a job with the
	// same non-empty Key exists and force is false, nothing is written and that job (the
	// newest forced one, or else the first) is returned with existed = true. EEXISTS for
	// a caller-chosen ID that is taken.
	CreateBatchJob(ctx context.Context, job core.BatchJob, shards []core.BatchShard, force bool) (stored core.BatchJob, existed bool, err error)
	GetBatchJob(ctx context.Context, id string) (core.BatchJob, error)
	ListBatchJobs(ctx context.Context, q BatchJobQuery) (jobs []core.BatchJob, nextPageToken string, err error)
	// ListBatchShards returns a job's shards by index.
	ListBatchShards(ctx context.Context, jobID string) ([]core.BatchShard, error)

	// ClaimBatchShard gives shard (jobID, index) to worker when it is PENDING, FAILED
	// (a retry after an error) or RUNNING with a heartbeat older than staleBefore (ms;
	// its worker died), and the job is QUEUED or RUNNING, and fewer than the job's
	// Spec.Parallelism shards are RUNNING with a fresh heartbeat. On a claim the shard
	// becomes RUNNING (Worker, HeartbeatTime = now, StartTime = now, Attempts+1, Error
	// cleared) and a QUEUED job becomes RUNNING with StartTime now.
	ClaimBatchShard(ctx context.Context, jobID string, index int, worker string, now, staleBefore int64) (ShardClaim, error)
	// HeartbeatBatchShard sets HeartbeatTime = now while worker holds the shard (it is
	// RUNNING under worker). ECONFLICT when it does not, or the job is no longer QUEUED
	// or RUNNING: the worker must stop.
	HeartbeatBatchShard(ctx context.Context, jobID string, index int, worker string, now int64) error
	// CompleteBatchShard commits a finished shard: s.RowsIn, RowsOut, RowsRejected, Part,
	// PartDigest, PartBytes, RejectsPart and EndTime are stored, Status DONE, and the
	// job's ShardsDone and row counters grow by the shard's. ECONFLICT unless s.Worker
	// holds the shard and the job is RUNNING. remaining is the number of the job's
	// shards not DONE after this commit; exactly one commit of a job sees 0.
	CompleteBatchShard(ctx context.Context, s core.BatchShard) (remaining int, err error)
	// FailBatchShard records a shard's error while worker holds it. With final the
	// shard is FAILED and so is the job (Error names the shard, EndTime now); without,
	// the shard goes back to PENDING for another attempt. ECONFLICT unless worker holds it.
	FailBatchShard(ctx context.Context, jobID string, index int, worker, msg string, final bool, now int64) error
	// FinishBatchJob marks a RUNNING job whose shards are all DONE as SUCCEEDED with its
	// manifest location and EndTime now. ECONFLICT otherwise. A QUEUED job whose shards
	// are all DONE (it has none, or a retry found nothing left to run) finishes too,
	// with StartTime now.
	FinishBatchJob(ctx context.Context, id, manifest string, now int64) (core.BatchJob, error)
	// CancelBatchJob moves a QUEUED or RUNNING job to CANCELLED (EndTime now) and its
	// PENDING, RUNNING and FAILED shards to CANCELLED; DONE shards stay. ECONFLICT for
	// a job that already ended.
	CancelBatchJob(ctx context.Context, id string, now int64) (core.BatchJob, error)
	// RetryBatchJob moves a FAILED or CANCELLED job back to QUEUED with Generation+1,
	// Error and EndTime cleared, and its shards that are not DONE to PENDING (Error
	// cleared); it returns the job and the indexes of those shards. ECONFLICT for a job
	// that is QUEUED, RUNNING or SUCCEEDED.
	RetryBatchJob(ctx context.Context, id string) (job core.BatchJob, pending []int, err error)

	CreateBatchSchedule(ctx context.Context, s core.BatchSchedule) (core.BatchSchedule, error)
	GetBatchSchedule(ctx context.Context, name string) (core.BatchSchedule, error)
	// ListBatchSchedules returns every schedule, by name.
	ListBatchSchedules(ctx context.Context) ([]core.BatchSchedule, error)
	DeleteBatchSchedule(ctx context.Context, name string) error
	// ClaimScheduleRun records that the run of schedule name due at scheduled (ms)
	// started as job jobID, only if LastRunTime < scheduled; it reports whether this
	// caller won (several replicas may tick at once; one run each time).
	ClaimScheduleRun(ctx context.Context, name string, scheduled int64, jobID string) (bool, error)

	// ListStaleBatchShards returns up to max RUNNING shards of QUEUED or RUNNING jobs
	// whose heartbeat is older than staleBefore (ms): their workers died. Oldest
	// heartbeat first.
	ListStaleBatchShards(ctx context.Context, staleBefore int64, max int) ([]core.BatchShard, error)
}
