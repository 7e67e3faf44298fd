package batch

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
)

// shardArgs is the River job of one shard. Generation makes a retry's jobs new ones,
// Takeover a dead worker's (River keeps jobs for a while, and unique arguments would
// hide the new ones).
type shardArgs struct {
	JobID      string `json:"job_id"`
	Index      int    `json:"index"`
	Generation int    `json:"generation"`
	// Takeover is the attempt of a dead worker that this job takes over (0 at first);
	// Lost is the queue's id of a job that a worker fetched but died before claiming.
	Takeover int   `json:"takeover,omitempty"`
	Lost     int64 `json:"lost,omitempty"`
}

func (shardArgs) Kind() string { return "plinth_batch_shard" }

func (shardArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// commitArgs is the River job that writes a job's manifest once its last shard is done.
type commitArgs struct {
	JobID      string `json:"job_id"`
	Generation int    `json:"generation"`
	Lost       int64  `json:"lost,omitempty"` // as in shardArgs
}

func (commitArgs) Kind() string { return "plinth_batch_commit" }

func (commitArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type shardWorker struct {
	river.WorkerDefaults[shardArgs]
	s *Service
}

// Work claims the shard in Plinth's own table first: River may hand the same shard to
// two workers (a rescue of a slow but live one), the claim lets only one of them work
// it and never recomputes a finished one.
func (w *shardWorker) Work(ctx context.Context, rj *river.Job[shardArgs]) error {
	s, a := w.s, rj.Args
	now := time.Now().UnixMilli()
	claim, err := s.st.ClaimBatchShard(ctx, a.JobID, a.Index, s.opts.WorkerID, now, now-s.opts.StaleAfter.Milliseconds())
	if err != nil {
		return fmt.Errorf("claim shard %d of job %s: %w", a.Index, a.JobID, err)
	}
	if !claim.Claimed {
		switch claim.Reason {
		case "held":
			return river.JobSnooze(s.opts.StaleAfter)
		case "parallelism":
			return river.JobSnooze(2 * time.Second)
		}
		return nil // done, or the job ended
	}
	job, shard := claim.Job, claim.Shard
	log := s.log.With("job", job.ID, "shard", shard.Index, "file", shard.File, "attempt", shard.Attempts)
	log.Info("batch shard started")
	out, err := s.runShard(ctx, job, shard)
	now = time.Now().UnixMilli()
	if err != nil {
		if isStopped(err) {
			log.Info("batch shard stopped: the job was cancelled or the shard taken over")
			return nil
		}
		final := rj.Attempt >= shardAttempts
		log.Warn("batch shard failed", "err", err, "final", final)
		if ferr := s.st.FailBatchShard(context.WithoutCancel(ctx), job.ID, shard.Index, s.opts.WorkerID, err.Error(), final, now); ferr != nil && !isStopped(ferr) {
			return ferr
		}
		if final {
			return river.JobCancel(err)
		}
		return err
	}
	shard.RowsIn, shard.RowsOut, shard.RowsRejected = out.RowsIn, out.RowsOut, out.RowsRejected
	shard.Part, shard.PartDigest, shard.PartBytes, shard.RejectsPart = out.Part, out.PartDigest, out.PartBytes, out.RejectsPart
	shard.Worker, shard.EndTime = s.opts.WorkerID, now
	remaining, err := s.st.CompleteBatchShard(context.WithoutCancel(ctx), shard)
	if err != nil {
		if isStopped(err) {
			return nil
		}
		return fmt.Errorf("commit shard %d of job %s: %w", shard.Index, job.ID, err)
	}
	log.Info("batch shard done", "rows", out.RowsIn, "rejected", out.RowsRejected, "remaining", remaining)
	if remaining == 0 {
		if _, err := s.q.Insert(context.WithoutCancel(ctx), commitArgs{JobID: job.ID, Generation: job.Generation}, nil); err != nil {
			return fmt.Errorf("queue the commit of job %s: %w", job.ID, err)
		}
	}
	return nil
}

// runShard scores one claimed shard while a heartbeat keeps the claim; the work stops
// when the heartbeat is refused (job cancelled, or the shard given to another worker).
func (s *Service) runShard(ctx context.Context, job core.BatchJob, shard core.BatchShard) (ShardOutput, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(s.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := s.st.HeartbeatBatchShard(ctx, job.ID, shard.Index, s.opts.WorkerID, time.Now().UnixMilli())
				if err != nil && isStopped(err) {
					cancel(errStopped)
					return
				}
				if err != nil {
					s.log.Warn("batch shard heartbeat failed", "job", job.ID, "shard", shard.Index, "err", err)
				}
			}
		}
	}()
	model, err := s.model(ctx, job)
	if err != nil {
		return ShardOutput{}, err
	}
	kind, err := pyfunc.ParseOutput(job.Spec.PredictKind)
	if err != nil {
		return ShardOutput{}, err
	}
	locs := make([]Location, 0, 3)
	defer func() {
		for _, l := range locs {
			l.Bucket.Close()
		}
	}()
	for _, uri := range []string{job.Spec.Input, job.Spec.Output, job.Spec.Rejects} {
		l, err := OpenLocation(ctx, uri, s.opts.S3)
		if err != nil {
			return ShardOutput{}, fmt.Errorf("open %s: %w", uri, err)
		}
		locs = append(locs, l)
	}
	out, err := RunShard(ctx, model, locs[0], locs[1], locs[2], shard, ShardOptions{
		Passthrough: job.Spec.Passthrough, PredictKind: kind, OutputFormat: job.Spec.OutputFormat,
		Threads: s.opts.Threads, TempDir: s.opts.TempDir,
	})
	if err != nil && context.Cause(ctx) == errStopped {
		return out, errStopped
	}
	return out, err
}

// model loads the job's pinned model version.
func (s *Service) model(ctx context.Context, job core.BatchJob) (*pyfunc.Model, error) {
	v, err := strconv.ParseInt(job.ModelVersion, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("job %s: model version %q: %w", job.ID, job.ModelVersion, err)
	}
	return s.loadModel(ctx, core.ModelVersion{Name: job.ModelName, Version: v, StorageLocation: job.ModelSource})
}

type commitWorker struct {
	river.WorkerDefaults[commitArgs]
	s *Service
}

// Work writes the manifest — the commit point of the output — and marks the job
// SUCCEEDED. Running it twice writes the same manifest; the second finish is refused.
func (w *commitWorker) Work(ctx context.Context, rj *river.Job[commitArgs]) error {
	s := w.s
	job, err := s.st.GetBatchJob(ctx, rj.Args.JobID)
	if err != nil {
		return err
	}
	if job.Status != core.BatchRunning {
		return nil
	}
	shards, err := s.st.ListBatchShards(ctx, job.ID)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if sh.Status != core.ShardDone {
			return nil // a retry or cancel intervened; the last shard to finish queues the commit again
		}
	}
	out, err := OpenLocation(ctx, job.Spec.Output, s.opts.S3)
	if err != nil {
		return err
	}
	defer out.Bucket.Close()
	manifest, err := WriteManifest(ctx, out, job, shards)
	if err != nil {
		return fmt.Errorf("write the manifest of job %s: %w", job.ID, err)
	}
	removeStaging(out)
	if rej, err := OpenLocation(ctx, job.Spec.Rejects, s.opts.S3); err == nil {
		removeStaging(rej)
		rej.Bucket.Close()
	}
	job, err = s.st.FinishBatchJob(ctx, job.ID, manifest, time.Now().UnixMilli())
	if err != nil {
		if isStopped(err) {
			return nil
		}
		return err
	}
	s.log.Info("batch job succeeded", "job", job.ID, "rows", job.RowsIn, "predictions", job.RowsOut,
		"rejected", job.RowsRejected, "manifest", manifest)
	return nil
}
