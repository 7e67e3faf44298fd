package v1

import (
	"context"
	"net/http"
	"strconv"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Batch jobs: submissions, cancels, retries and schedules go through Options.Batch
// (planning needs the model and the input files); reads come from the store.

// Batch is what the API needs of the batch service.
type Batch interface {
	Submit(ctx context.Context, spec core.BatchJobSpec, actor string, force bool) (job core.BatchJob, existed bool, err error)
	Cancel(ctx context.Context, id string) (core.BatchJob, error)
	Retry(ctx context.Context, id string) (core.BatchJob, error)
	CreateSchedule(ctx context.Context, s core.BatchSchedule) (core.BatchSchedule, error)
	// NextRun is when a schedule runs next.
	NextRun(s core.BatchSchedule) (Time, error)
}

// BatchJobSpec is what to score, as submitted.
type BatchJobSpec struct {
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

// SubmitBatchJobRequest is the body of POST /batch-jobs.
type SubmitBatchJobRequest struct {
	BatchJobSpec
	// Force runs the job again even when the same one (spec, model version, input
	// digests) exists; without it the existing job is returned (200 instead of 201).
	Force bool `json:"force,omitempty"`
}

// BatchJob is a job with its lineage; Shards only in GET /batch-jobs/{id}.
type BatchJob struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	BatchJobSpec `json:"spec"`
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version"`
	ModelSource  string           `json:"model_source"`
	Error        string           `json:"error,omitempty"`
	Actor        string           `json:"actor"`
	Schedule     string           `json:"schedule,omitempty"`
	Generation   int              `json:"generation"`
	Inputs       []BatchInputFile `json:"inputs"`
	ShardsTotal  int              `json:"shards_total"`
	ShardsDone   int              `json:"shards_done"`
	RowsIn       int64            `json:"rows_in"`
	RowsOut      int64            `json:"rows_out"`
	RowsRejected int64            `json:"rows_rejected"`
	Manifest     string           `json:"manifest,omitempty"`
	CreatedAt    Time             `json:"created_at"`
	StartedAt    Time             `json:"started_at,omitzero"`
	EndedAt      Time             `json:"ended_at,omitzero"`
	// Existed is true when a submission found this job instead of creating it.
	Existed bool         `json:"existed,omitempty"`
	Shards  []BatchShard `json:"shards,omitempty"`
}

// BatchInputFile is one input file as planned: size and digest.
type BatchInputFile struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

// BatchShard is one unit of work and, once done, its output part.
type BatchShard struct {
	Index         int    `json:"index"`
	File          string `json:"file"`
	RowGroupStart int    `json:"row_group_start,omitempty"`
	RowGroupEnd   int    `json:"row_group_end,omitempty"`
	ByteStart     int64  `json:"byte_start,omitempty"` // a range of a CSV or JSON Lines file
	ByteEnd       int64  `json:"byte_end,omitempty"`
	FirstRow      int64  `json:"first_row"`
	FirstLine     int64  `json:"first_line,omitempty"`
	Rows          int64  `json:"rows,omitempty"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	Worker        string `json:"worker,omitempty"`
	RowsIn        int64  `json:"rows_in"`
	RowsOut       int64  `json:"rows_out"`
	RowsRejected  int64  `json:"rows_rejected"`
	Part          string `json:"part,omitempty"`
	PartDigest    string `json:"part_digest,omitempty"`
	PartBytes     int64  `json:"part_bytes,omitempty"`
	RejectsPart   string `json:"rejects_part,omitempty"`
	Error         string `json:"error,omitempty"`
	StartedAt     Time   `json:"started_at,omitzero"`
	EndedAt       Time   `json:"ended_at,omitzero"`
}

// BatchJobList is a page of jobs, newest first.
type BatchJobList struct {
	Jobs          []BatchJob `json:"jobs"`
	NextPageToken string     `json:"next_page_token,omitempty"`
}

// BatchSchedule runs a spec on a cron schedule.
type BatchSchedule struct {
	Name      string       `json:"name"`
	Cron      string       `json:"cron"`
	Spec      BatchJobSpec `json:"spec"`
	Actor     string       `json:"actor"`
	LastRunAt Time         `json:"last_run_at,omitzero"`
	LastJobID string       `json:"last_job_id,omitempty"`
	NextRunAt Time         `json:"next_run_at,omitzero"`
	CreatedAt Time         `json:"created_at"`
}

// BatchScheduleList is every schedule, by name.
type BatchScheduleList struct {
	Schedules []BatchSchedule `json:"schedules"`
}

func specOf(s BatchJobSpec) core.BatchJobSpec { return core.BatchJobSpec(s) }

func msTime(ms int64) Time {
	if ms == 0 {
		return Time{}
	}
	return timeOf(ms)
}

func batchJobOf(j core.BatchJob) BatchJob {
	out := BatchJob{
		ID: j.ID, Status: j.Status, BatchJobSpec: BatchJobSpec(j.Spec),
		ModelName: j.ModelName, ModelVersion: j.ModelVersion, ModelSource: j.ModelSource,
		Error: j.Error, Actor: j.Actor, Schedule: j.ScheduleName, Generation: j.Generation,
		Inputs:      make([]BatchInputFile, 0, len(j.Inputs)),
		ShardsTotal: j.ShardsTotal, ShardsDone: j.ShardsDone,
		RowsIn: j.RowsIn, RowsOut: j.RowsOut, RowsRejected: j.RowsRejected, Manifest: j.Manifest,
		CreatedAt: timeOf(j.CreationTime), StartedAt: msTime(j.StartTime), EndedAt: msTime(j.EndTime),
	}
	for _, f := range j.Inputs {
		out.Inputs = append(out.Inputs, BatchInputFile(f))
	}
	return out
}

func batchShardOf(s core.BatchShard) BatchShard {
	return BatchShard{
		Index: s.Index, File: s.File, RowGroupStart: s.RowGroupStart, RowGroupEnd: s.RowGroupEnd,
		ByteStart: s.ByteStart, ByteEnd: s.ByteEnd, FirstRow: s.FirstRow, FirstLine: s.FirstLine, Rows: s.Rows, Status: s.Status, Attempts: s.Attempts, Worker: s.Worker,
		RowsIn: s.RowsIn, RowsOut: s.RowsOut, RowsRejected: s.RowsRejected,
		Part: s.Part, PartDigest: s.PartDigest, PartBytes: s.PartBytes, RejectsPart: s.RejectsPart,
		Error: s.Error, StartedAt: msTime(s.StartTime), EndedAt: msTime(s.EndTime),
	}
}

func (s *server) batchSchedule(sc core.BatchSchedule) BatchSchedule {
	out := BatchSchedule{
		Name: sc.Name, Cron: sc.Cron, Spec: BatchJobSpec(sc.Spec), Actor: sc.Actor,
		LastRunAt: msTime(sc.LastRunTime), LastJobID: sc.LastJobID, CreatedAt: timeOf(sc.CreationTime),
	}
	if s.opts.Batch != nil {
		if next, err := s.opts.Batch.NextRun(sc); err == nil {
			out.NextRunAt = next
		}
	}
	return out
}

// batch returns the batch service, or answers that this process has none.
func (s *server) batch(w http.ResponseWriter, r *http.Request) Batch {
	if s.opts.Batch == nil {
		s.writeErrorStatus(w, r, http.StatusServiceUnavailable,
			core.Errorf(core.ECONFLICT, "this process does not run batch jobs; send batch requests to plinth server"))
	}
	return s.opts.Batch
}

func (s *server) submitBatchJob(w http.ResponseWriter, r *http.Request) {
	b := s.batch(w, r)
	if b == nil {
		return
	}
	var req SubmitBatchJobRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, existed, err := b.Submit(r.Context(), specOf(req.BatchJobSpec), core.ActorFrom(r.Context()), req.Force)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := batchJobOf(job)
	out.Existed = existed
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
}

func (s *server) listBatchJobs(w http.ResponseWriter, r *http.Request) {
	q := store.BatchJobQuery{
		Status: r.URL.Query().Get("status"), ScheduleName: r.URL.Query().Get("schedule"),
		PageToken: r.URL.Query().Get("page_token"),
	}
	if v := r.URL.Query().Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, core.Errorf(core.EINVALID, "max_results %q: want a positive number", v))
			return
		}
		q.MaxResults = n
	}
	jobs, next, err := s.st.ListBatchJobs(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := BatchJobList{Jobs: make([]BatchJob, 0, len(jobs)), NextPageToken: next}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, batchJobOf(j))
	}
	s.reply(w, out)
}

func (s *server) getBatchJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, err := s.st.GetBatchJob(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	shards, err := s.st.ListBatchShards(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := batchJobOf(job)
	out.Shards = make([]BatchShard, 0, len(shards))
	for _, sh := range shards {
		out.Shards = append(out.Shards, batchShardOf(sh))
	}
	s.reply(w, out)
}

func (s *server) cancelBatchJob(w http.ResponseWriter, r *http.Request) {
	s.batchAction(w, r, Batch.Cancel)
}

func (s *server) retryBatchJob(w http.ResponseWriter, r *http.Request) {
	s.batchAction(w, r, Batch.Retry)
}

func (s *server) batchAction(w http.ResponseWriter, r *http.Request, act func(Batch, context.Context, string) (core.BatchJob, error)) {
	b := s.batch(w, r)
	if b == nil {
		return
	}
	job, err := act(b, r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, batchJobOf(job))
}

func (s *server) createBatchSchedule(w http.ResponseWriter, r *http.Request) {
	b := s.batch(w, r)
	if b == nil {
		return
	}
	var req BatchSchedule
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	sc, err := b.CreateSchedule(r.Context(), core.BatchSchedule{
		Name: req.Name, Cron: req.Cron, Spec: specOf(req.Spec), Actor: core.ActorFrom(r.Context()),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.batchSchedule(sc))
}

func (s *server) listBatchSchedules(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.ListBatchSchedules(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := BatchScheduleList{Schedules: make([]BatchSchedule, 0, len(list))}
	for _, sc := range list {
		out.Schedules = append(out.Schedules, s.batchSchedule(sc))
	}
	s.reply(w, out)
}

func (s *server) getBatchSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.st.GetBatchSchedule(r.Context(), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.reply(w, s.batchSchedule(sc))
}

func (s *server) deleteBatchSchedule(w http.ResponseWriter, r *http.Request) {
	if err := s.st.DeleteBatchSchedule(r.Context(), r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
