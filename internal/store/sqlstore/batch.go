package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Batch jobs (store.BatchStore): one row per job in batch_jobs, its shards in
// batch_shards (batch_shards.go), schedules in batch_schedules (batch_schedules.go).
// Every write that moves a job or one of its shards first locks the job row, so the
// writes of one job are serialised on PostgreSQL as they are by SQLite's one writer.

var _ store.BatchStore = (*Store)(nil)

const (
	defaultBatchJobResults = 100
	maxBatchJobResults     = 1000
	batchShardInsertChunk  = 200 // shards per INSERT: 12 parameters each, far below both limits
)

// batchJobColumns are the columns of batch_jobs that scanBatchJob reads, in its order.
const batchJobColumns = `job_id, job_key, spec, model_name, model_version, model_source, status, error,
	actor, schedule_name, generation, inputs, shards_total, shards_done, rows_in, rows_out, rows_rejected,
	manifest, creation_time, start_time, end_time`

func batchJobNotFound(id string) error {
	return core.Errorf(core.ENOTFOUND, "Batch job '%s' not found", id)
}

// batchSpecJSON is how a spec is kept in a text column; the tags, not Go's field
// names, are the stored format.
type batchSpecJSON struct {
	ModelURI     string   `json:"model_uri"`
	Input        string   `json:"input"`
	InputFormat  string   `json:"input_format,omitempty"`
	Output       string   `json:"output"`
	OutputFormat string   `json:"output_format,omitempty"`
	Rejects      string   `json:"rejects,omitempty"`
	Passthrough  []string `json:"passthrough,omitempty"`
	PredictKind  string   `json:"predict_kind,omitempty"`
	Parallelism  int      `json:"parallelism,omitempty"`
}

type batchInputJSON struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

func encodeBatchSpec(s core.BatchJobSpec) string {
	raw, _ := json.Marshal(batchSpecJSON(s)) // strings and ints always encode
	return string(raw)
}

func decodeBatchSpec(raw string) (core.BatchJobSpec, error) {
	var j batchSpecJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return core.BatchJobSpec{}, fmt.Errorf("stored batch spec: %w", err)
	}
	return core.BatchJobSpec(j), nil
}

func encodeBatchInputs(in []core.BatchInputFile) string {
	out := make([]batchInputJSON, len(in))
	for i, f := range in {
		out[i] = batchInputJSON(f)
	}
	raw, _ := json.Marshal(out)
	return string(raw)
}

func decodeBatchInputs(raw string) ([]core.BatchInputFile, error) {
	var in []batchInputJSON
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("stored batch inputs: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]core.BatchInputFile, len(in))
	for i, f := range in {
		out[i] = core.BatchInputFile(f)
	}
	return out, nil
}

// validateBatchSpec checks what the store relies on or can check without I/O; model
// resolution, paths and formats of the files themselves are the planner's business.
func validateBatchSpec(s core.BatchJobSpec) error {
	switch {
	case s.ModelURI == "":
		return core.Errorf(core.EINVALID, "A batch job needs a model URI (models:/NAME@ALIAS or models:/NAME/VERSION)")
	case s.Input == "":
		return core.Errorf(core.EINVALID, "A batch job needs an input (a file, a folder or an s3:// prefix)")
	case s.Output == "":
		return core.Errorf(core.EINVALID, "A batch job needs an output (a folder or an s3:// prefix)")
	case s.Parallelism < 0:
		return core.Errorf(core.EINVALID, "Invalid parallelism %d: use 0 (no limit) or a positive number of shards", s.Parallelism)
	case !slices.Contains([]string{"", "csv", "jsonl", "parquet"}, s.InputFormat):
		return core.Errorf(core.EINVALID, "Invalid input format %q: use csv, jsonl or parquet", s.InputFormat)
	case !slices.Contains([]string{"", "parquet", "csv"}, s.OutputFormat):
		return core.Errorf(core.EINVALID, "Invalid output format %q: use parquet or csv", s.OutputFormat)
	case !slices.Contains([]string{"", "predict", "predict_proba", "margin"}, s.PredictKind):
		return core.Errorf(core.EINVALID, "Invalid predict kind %q: use predict, predict_proba or margin", s.PredictKind)
	}
	for _, c := range s.Passthrough {
		if c == "" {
			return core.Errorf(core.EINVALID, "Invalid passthrough column: names must not be empty")
		}
	}
	return nil
}

var batchJobStates = []string{core.BatchQueued, core.BatchRunning, core.BatchSucceeded, core.BatchFailed, core.BatchCancelled}

func (s *Store) CreateBatchJob(ctx context.Context, job core.BatchJob, shards []core.BatchShard, force bool) (core.BatchJob, bool, error) {
	if err := validateBatchSpec(job.Spec); err != nil {
		return core.BatchJob{}, false, err
	}
	if job.ID == "" {
		job.ID = newRunID()
	}
	// Copies, so the result does not alias the caller's slices; empty ones become nil
	// as a read returns them.
	job.Spec.Passthrough = slices.Clone(job.Spec.Passthrough)
	if len(job.Spec.Passthrough) == 0 {
		job.Spec.Passthrough = nil
	}
	job.Inputs = slices.Clone(job.Inputs)
	if len(job.Inputs) == 0 {
		job.Inputs = nil
	}
	job.Status, job.Error, job.Generation = core.BatchQueued, "", 1
	job.ShardsTotal, job.ShardsDone = len(shards), 0
	job.RowsIn, job.RowsOut, job.RowsRejected = 0, 0, 0
	job.Manifest, job.StartTime, job.EndTime = "", 0, 0
	job.CreationTime = nowMillis()

	var existing core.BatchJob
	existed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if job.Key != "" {
			// The key row decides between concurrent submissions: on PostgreSQL the
			// second INSERT waits for the first transaction and then sees its row.
			if force {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO batch_job_keys (job_key, job_id) VALUES (?, ?)
					ON CONFLICT (job_key) DO UPDATE SET job_id = excluded.job_id`), job.Key, job.ID); err != nil {
					return err
				}
			} else {
				res, err := tx.ExecContext(ctx, s.q(`INSERT INTO batch_job_keys (job_key, job_id) VALUES (?, ?)
					ON CONFLICT (job_key) DO NOTHING`), job.Key, job.ID)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					var id string
					if err := tx.QueryRowContext(ctx, s.q(`SELECT job_id FROM batch_job_keys WHERE job_key = ?`), job.Key).Scan(&id); err != nil {
						return err
					}
					existing, err = s.getBatchJob(ctx, tx, id, "")
					existed = err == nil
					return err
				}
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO batch_jobs (job_id, job_key, spec, model_name, model_version,
			model_source, status, actor, schedule_name, generation, inputs, shards_total, creation_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`),
			job.ID, job.Key, encodeBatchSpec(job.Spec), job.ModelName, job.ModelVersion, job.ModelSource,
			job.Status, job.Actor, job.ScheduleName, job.Generation, encodeBatchInputs(job.Inputs),
			job.ShardsTotal, job.CreationTime)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return core.Errorf(core.EEXISTS, "Batch job '%s' already exists", job.ID)
		}
		return s.insertBatchShards(ctx, tx, job.ID, shards)
	})
	if err != nil {
		return core.BatchJob{}, false, err
	}
	if existed {
		return existing, true, nil
	}
	return job, false, nil
}

// insertBatchShards writes a new job's shards, numbered by their position, as PENDING.
func (s *Store) insertBatchShards(ctx context.Context, tx *sql.Tx, jobID string, shards []core.BatchShard) error {
	for start := 0; start < len(shards); start += batchShardInsertChunk {
		chunk := shards[start:min(start+batchShardInsertChunk, len(shards))]
		rows := make([]string, len(chunk))
		args := make([]any, 0, 12*len(chunk))
		for i, sh := range chunk {
			rows[i] = "(" + placeholders(12) + ")"
			args = append(args, jobID, start+i, sh.File, sh.Format, sh.RowGroupStart, sh.RowGroupEnd,
				sh.ByteStart, sh.ByteEnd, sh.FirstRow, sh.FirstLine, sh.Rows, core.ShardPending)
		}
		query := `INSERT INTO batch_shards (job_id, idx, file, format, row_group_start, row_group_end,
			byte_start, byte_end, first_row, first_line, num_rows, status) VALUES ` + strings.Join(rows, ", ")
		if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) GetBatchJob(ctx context.Context, id string) (core.BatchJob, error) {
	return s.getBatchJob(ctx, s.rdb, id, "")
}

// getBatchJob reads one job; suffix is appended to the query (a row lock).
func (s *Store) getBatchJob(ctx context.Context, db regDB, id, suffix string) (core.BatchJob, error) {
	j, err := scanBatchJob(db.QueryRowContext(ctx, s.q(`SELECT `+batchJobColumns+` FROM batch_jobs WHERE job_id = ?`+suffix), id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.BatchJob{}, batchJobNotFound(id)
	}
	return j, err
}

// lockBatchJob reads a job inside a write transaction and, on PostgreSQL, locks its
// row until the transaction ends: every state change of a job or its shards takes
// this lock first, so they apply one after the other.
func (s *Store) lockBatchJob(ctx context.Context, tx *sql.Tx, id string) (core.BatchJob, error) {
	return s.getBatchJob(ctx, tx, id, s.forUpdate())
}

func (s *Store) ListBatchJobs(ctx context.Context, q store.BatchJobQuery) ([]core.BatchJob, string, error) {
	limit := q.MaxResults
	if limit == 0 {
		limit = defaultBatchJobResults
	}
	if limit < 0 || limit > maxBatchJobResults {
		return nil, "", core.Errorf(core.EINVALID, "Invalid max_results %d: use 1 to %d", q.MaxResults, maxBatchJobResults)
	}
	if q.Status != "" && !slices.Contains(batchJobStates, q.Status) {
		return nil, "", core.Errorf(core.EINVALID, "Invalid batch job status %q: use one of %v", q.Status, batchJobStates)
	}
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + batchJobColumns + ` FROM batch_jobs WHERE 1 = 1`
	var args []any
	if q.Status != "" {
		query += ` AND status = ?`
		args = append(args, q.Status)
	}
	if q.ScheduleName != "" {
		query += ` AND schedule_name = ?`
		args = append(args, q.ScheduleName)
	}
	// One row more than the page tells whether another page follows.
	query += ` ORDER BY creation_time DESC, seq DESC LIMIT ? OFFSET ?`
	args = append(args, limit+1, offset)
	jobs := []core.BatchJob{}
	err = regEachRow(ctx, s.rdb, s.q(query), args, func(r *sql.Rows) error {
		j, err := scanBatchJob(r)
		if err != nil {
			return err
		}
		jobs = append(jobs, j)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(jobs) > limit {
		jobs = jobs[:limit]
		next = encodePageToken(offset + limit)
	}
	return jobs, next, nil
}

func scanBatchJob(r interface{ Scan(...any) error }) (core.BatchJob, error) {
	var j core.BatchJob
	var spec, inputs string
	if err := r.Scan(&j.ID, &j.Key, &spec, &j.ModelName, &j.ModelVersion, &j.ModelSource, &j.Status, &j.Error,
		&j.Actor, &j.ScheduleName, &j.Generation, &inputs, &j.ShardsTotal, &j.ShardsDone, &j.RowsIn, &j.RowsOut,
		&j.RowsRejected, &j.Manifest, &j.CreationTime, &j.StartTime, &j.EndTime); err != nil {
		return core.BatchJob{}, err
	}
	var err error
	if j.Spec, err = decodeBatchSpec(spec); err != nil {
		return core.BatchJob{}, fmt.Errorf("batch job %s: %w", j.ID, err)
	}
	if j.Inputs, err = decodeBatchInputs(inputs); err != nil {
		return core.BatchJob{}, fmt.Errorf("batch job %s: %w", j.ID, err)
	}
	return j, nil
}
