package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// The life of a batch job's shards and of the job itself. Each method is one write
// transaction that starts with lockBatchJob, so two of them never interleave for one
// job: a claim cannot slip between another claim's check and its update, and of N
// concurrent completions exactly one sees the job's last shard finish.

// batchShardColumns are the columns of batch_shards that scanBatchShard reads, in its order.
const batchShardColumns = `job_id, idx, file, format, row_group_start, row_group_end, byte_start, byte_end,
	first_row, first_line, num_rows,
	status, attempts, worker, heartbeat_time, rows_in, rows_out, rows_rejected, part, part_digest,
	part_bytes, rejects_part, error, start_time, end_time`

// Reasons a ClaimBatchShard returns when it does not claim.
const (
	claimDone        = "done"
	claimStopped     = "stopped"
	claimHeld        = "held"
	claimParallelism = "parallelism"
)

func batchShardNotFound(jobID string, index int) error {
	return core.Errorf(core.ENOTFOUND, "Shard %d of batch job '%s' not found", index, jobID)
}

func jobIsActive(j core.BatchJob) bool {
	return j.Status == core.BatchQueued || j.Status == core.BatchRunning
}

func (s *Store) ListBatchShards(ctx context.Context, jobID string) ([]core.BatchShard, error) {
	out := []core.BatchShard{}
	err := regEachRow(ctx, s.rdb, s.q(`SELECT `+batchShardColumns+` FROM batch_shards WHERE job_id = ? ORDER BY idx`),
		[]any{jobID}, func(r *sql.Rows) error {
			sh, err := scanBatchShard(r)
			if err != nil {
				return err
			}
			out = append(out, sh)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 { // a job without shards, or no job at all
		if _, err := s.GetBatchJob(ctx, jobID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) getBatchShard(ctx context.Context, db regDB, jobID string, index int) (core.BatchShard, error) {
	sh, err := scanBatchShard(db.QueryRowContext(ctx, s.q(`SELECT `+batchShardColumns+` FROM batch_shards
		WHERE job_id = ? AND idx = ?`), jobID, index))
	if errors.Is(err, sql.ErrNoRows) {
		return core.BatchShard{}, batchShardNotFound(jobID, index)
	}
	return sh, err
}

// lockBatchShard locks the job and reads one of its shards.
func (s *Store) lockBatchShard(ctx context.Context, tx *sql.Tx, jobID string, index int) (core.BatchJob, core.BatchShard, error) {
	job, err := s.lockBatchJob(ctx, tx, jobID)
	if err != nil {
		return core.BatchJob{}, core.BatchShard{}, err
	}
	sh, err := s.getBatchShard(ctx, tx, jobID, index)
	return job, sh, err
}

func (s *Store) ClaimBatchShard(ctx context.Context, jobID string, index int, worker string, now, staleBefore int64) (store.ShardClaim, error) {
	if worker == "" {
		return store.ShardClaim{}, core.Errorf(core.EINVALID, "A shard claim needs a worker id")
	}
	var out store.ShardClaim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		job, sh, err := s.lockBatchShard(ctx, tx, jobID, index)
		if err != nil {
			return err
		}
		out = store.ShardClaim{Shard: sh, Job: job}
		switch {
		case sh.Status == core.ShardDone:
			out.Reason = claimDone
		case !jobIsActive(job) || sh.Status == core.ShardCancelled:
			out.Reason = claimStopped
		case sh.Status == core.ShardRunning && sh.HeartbeatTime >= staleBefore:
			out.Reason = claimHeld
		}
		if out.Reason != "" {
			return nil
		}
		if p := job.Spec.Parallelism; p > 0 {
			var running int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM batch_shards
				WHERE job_id = ? AND idx <> ? AND status = ? AND heartbeat_time >= ?`),
				jobID, index, core.ShardRunning, staleBefore).Scan(&running); err != nil {
				return err
			}
			if running >= p {
				out.Reason = claimParallelism
				return nil
			}
		}
		sh.Status, sh.Worker, sh.Attempts = core.ShardRunning, worker, sh.Attempts+1
		sh.HeartbeatTime, sh.StartTime, sh.EndTime, sh.Error = now, now, 0, ""
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ?, worker = ?, attempts = ?,
			heartbeat_time = ?, start_time = ?, end_time = 0, error = '' WHERE job_id = ? AND idx = ?`),
			sh.Status, sh.Worker, sh.Attempts, now, now, jobID, index); err != nil {
			return err
		}
		if job.Status == core.BatchQueued {
			job.Status, job.StartTime = core.BatchRunning, now
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET status = ?, start_time = ? WHERE job_id = ?`),
				job.Status, now, jobID); err != nil {
				return err
			}
		}
		out = store.ShardClaim{Shard: sh, Job: job, Claimed: true}
		return nil
	})
	if err != nil {
		return store.ShardClaim{}, err
	}
	return out, nil
}

// checkHeld returns ECONFLICT unless worker holds the shard.
func checkHeld(sh core.BatchShard, worker string) error {
	if sh.Status == core.ShardRunning && sh.Worker == worker {
		return nil
	}
	holder := ""
	if sh.Status == core.ShardRunning {
		holder = fmt.Sprintf(" held by worker %q", sh.Worker)
	}
	return core.Errorf(core.ECONFLICT, "Shard %d of batch job '%s' is not held by worker %q: it is %s%s",
		sh.Index, sh.JobID, worker, sh.Status, holder)
}

func jobNotActive(j core.BatchJob) error {
	return core.Errorf(core.ECONFLICT, "Batch job '%s' is %s", j.ID, j.Status)
}

func (s *Store) HeartbeatBatchShard(ctx context.Context, jobID string, index int, worker string, now int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		job, sh, err := s.lockBatchShard(ctx, tx, jobID, index)
		if err != nil {
			return err
		}
		if !jobIsActive(job) {
			return jobNotActive(job)
		}
		if err := checkHeld(sh, worker); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET heartbeat_time = ? WHERE job_id = ? AND idx = ?`),
			now, jobID, index)
		return err
	})
}

func (s *Store) CompleteBatchShard(ctx context.Context, c core.BatchShard) (int, error) {
	if c.RowsIn < 0 || c.RowsOut < 0 || c.RowsRejected < 0 || c.PartBytes < 0 {
		return 0, core.Errorf(core.EINVALID, "Invalid shard result: row and byte counts must not be negative")
	}
	remaining := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		job, sh, err := s.lockBatchShard(ctx, tx, c.JobID, c.Index)
		if err != nil {
			return err
		}
		if err := checkHeld(sh, c.Worker); err != nil {
			return err
		}
		if job.Status != core.BatchRunning {
			return jobNotActive(job)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ?, rows_in = ?, rows_out = ?,
			rows_rejected = ?, part = ?, part_digest = ?, part_bytes = ?, rejects_part = ?, end_time = ?
			WHERE job_id = ? AND idx = ?`),
			core.ShardDone, c.RowsIn, c.RowsOut, c.RowsRejected, c.Part, c.PartDigest, c.PartBytes, c.RejectsPart,
			c.EndTime, c.JobID, c.Index); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET shards_done = shards_done + 1,
			rows_in = rows_in + ?, rows_out = rows_out + ?, rows_rejected = rows_rejected + ? WHERE job_id = ?`),
			c.RowsIn, c.RowsOut, c.RowsRejected, c.JobID); err != nil {
			return err
		}
		// The counter moves only here, under the job's lock, so it is exact.
		remaining = job.ShardsTotal - (job.ShardsDone + 1)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return remaining, nil
}

func (s *Store) FailBatchShard(ctx context.Context, jobID string, index int, worker, msg string, final bool, now int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		job, sh, err := s.lockBatchShard(ctx, tx, jobID, index)
		if err != nil {
			return err
		}
		if err := checkHeld(sh, worker); err != nil {
			return err
		}
		if !final {
			// Back in the queue; the error stays visible until the next claim clears it.
			_, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ?, error = ? WHERE job_id = ? AND idx = ?`),
				core.ShardPending, msg, jobID, index)
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ?, error = ?, end_time = ?
			WHERE job_id = ? AND idx = ?`), core.ShardFailed, msg, now, jobID, index); err != nil {
			return err
		}
		if !jobIsActive(job) {
			return nil // already failed by another shard, or cancelled: keep the first reason
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET status = ?, error = ?, end_time = ? WHERE job_id = ?`),
			core.BatchFailed, fmt.Sprintf("shard %d (%s): %s", index, sh.File, msg), now, jobID)
		return err
	})
}

func (s *Store) FinishBatchJob(ctx context.Context, id, manifest string, now int64) (core.BatchJob, error) {
	if manifest == "" {
		return core.BatchJob{}, core.Errorf(core.EINVALID, "Finishing a batch job needs its manifest location")
	}
	var out core.BatchJob
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		job, err := s.lockBatchJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if !jobIsActive(job) {
			return jobNotActive(job)
		}
		if job.ShardsDone != job.ShardsTotal {
			return core.Errorf(core.ECONFLICT, "Batch job '%s' has %d of %d shards done", id, job.ShardsDone, job.ShardsTotal)
		}
		if job.StartTime == 0 { // a job with nothing left to claim never started a shard
			job.StartTime = now
		}
		job.Status, job.Manifest, job.EndTime = core.BatchSucceeded, manifest, now
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET status = ?, manifest = ?, start_time = ?, end_time = ?
			WHERE job_id = ?`), job.Status, manifest, job.StartTime, now, id); err != nil {
			return err
		}
		out = job
		return nil
	})
	return out, err
}

func (s *Store) CancelBatchJob(ctx context.Context, id string, now int64) (core.BatchJob, error) {
	var out core.BatchJob
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		job, err := s.lockBatchJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if !jobIsActive(job) {
			return core.Errorf(core.ECONFLICT, "Batch job '%s' already ended: it is %s", id, job.Status)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ? WHERE job_id = ? AND status IN (?, ?, ?)`),
			core.ShardCancelled, id, core.ShardPending, core.ShardRunning, core.ShardFailed); err != nil {
			return err
		}
		job.Status, job.EndTime = core.BatchCancelled, now
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET status = ?, end_time = ? WHERE job_id = ?`),
			job.Status, now, id); err != nil {
			return err
		}
		out = job
		return nil
	})
	return out, err
}

func (s *Store) RetryBatchJob(ctx context.Context, id string) (core.BatchJob, []int, error) {
	var out core.BatchJob
	pending := []int{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		job, err := s.lockBatchJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if job.Status != core.BatchFailed && job.Status != core.BatchCancelled {
			return core.Errorf(core.ECONFLICT, "Batch job '%s' is %s: only FAILED or CANCELLED jobs can be retried", id, job.Status)
		}
		err = regEachRow(ctx, tx, s.q(`SELECT idx FROM batch_shards WHERE job_id = ? AND status <> ? ORDER BY idx`),
			[]any{id, core.ShardDone}, func(r *sql.Rows) error {
				var i int
				if err := r.Scan(&i); err != nil {
					return err
				}
				pending = append(pending, i)
				return nil
			})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_shards SET status = ?, error = '', end_time = 0
			WHERE job_id = ? AND status <> ?`), core.ShardPending, id, core.ShardDone); err != nil {
			return err
		}
		job.Status, job.Generation, job.Error, job.EndTime = core.BatchQueued, job.Generation+1, "", 0
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE batch_jobs SET status = ?, generation = ?, error = '', end_time = 0
			WHERE job_id = ?`), job.Status, job.Generation, id); err != nil {
			return err
		}
		out = job
		return nil
	})
	if err != nil {
		return core.BatchJob{}, nil, err
	}
	return out, pending, nil
}

func scanBatchShard(r interface{ Scan(...any) error }) (core.BatchShard, error) {
	var sh core.BatchShard
	err := r.Scan(&sh.JobID, &sh.Index, &sh.File, &sh.Format, &sh.RowGroupStart, &sh.RowGroupEnd, &sh.ByteStart,
		&sh.ByteEnd, &sh.FirstRow, &sh.FirstLine, &sh.Rows, &sh.Status, &sh.Attempts, &sh.Worker, &sh.HeartbeatTime, &sh.RowsIn, &sh.RowsOut,
		&sh.RowsRejected, &sh.Part, &sh.PartDigest, &sh.PartBytes, &sh.RejectsPart, &sh.Error, &sh.StartTime,
		&sh.EndTime)
	return sh, err
}
