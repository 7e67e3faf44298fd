package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving"
	"github.com/plinth-ml/plinth/internal/store"
)

// Options tune a Service. Zero values take the documented defaults.
type Options struct {
	// DBKind and DBTarget name the database (app.ParseDB): River's tables live there.
	DBKind, DBTarget string
	S3               blob.S3Options
	// Slots is how many shards this process works at once; 0 makes a service that
	// submits and manages jobs but works none (a server started with --no-batch-worker).
	Slots int
	// ShardRows is the target size of a shard; default 1,048,576 rows.
	ShardRows int64
	// Heartbeat is how often a worker confirms it still holds its shard; default 5s.
	Heartbeat time.Duration
	// StaleAfter is how old a heartbeat may get before another worker takes the shard
	// over; default 30s.
	StaleAfter time.Duration
	// Threads evaluating rows per shard; 0: all cores.
	Threads int
	// CacheDir holds downloaded models (default: a temporary folder of this process,
	// removed by Stop); TempDir the parts being written (default: the system's).
	CacheDir, TempDir string
	// WorkerID names this process in shard claims; default host-pid.
	WorkerID string
	Logger   *slog.Logger
}

// Service submits and manages batch jobs and, with Slots > 0, works their shards.
type Service struct {
	st     store.Store
	loader *serving.Loader
	q      queue
	close  func()
	opts   Options
	log    *slog.Logger
	// removeCache deletes the model cache this service made for itself; nil when the
	// cache folder was given.
	removeCache func()

	usedMu sync.Mutex
	used   map[string]time.Time // when each loaded model (by location) was last asked for
}

// idleModelTime is how long a loaded model stays in memory after a job last used it:
// a long-lived server that scores a new version every day must not keep them all.
const idleModelTime = 10 * time.Minute

// loadModel loads a model version (downloaded and parsed once per process while it is
// in use) and notes the use.
func (s *Service) loadModel(ctx context.Context, mv core.ModelVersion) (*pyfunc.Model, error) {
	s.usedMu.Lock()
	if s.used == nil {
		s.used = map[string]time.Time{}
	}
	s.used[mv.StorageLocation] = time.Now()
	s.usedMu.Unlock()
	return s.loader.Load(ctx, mv)
}

// forgetIdleModels drops from memory the models no job has asked for since
// now - idleModelTime (a shard still scoring with one keeps it: it holds the model).
func (s *Service) forgetIdleModels(now time.Time) {
	s.usedMu.Lock()
	defer s.usedMu.Unlock()
	keep := make(map[string]bool, len(s.used))
	for loc, t := range s.used {
		if now.Sub(t) < idleModelTime {
			keep[loc] = true
		} else {
			delete(s.used, loc)
		}
	}
	s.loader.Forget(keep)
}

// New opens the job queue. bucket is the artifact store that models are downloaded from.
func New(ctx context.Context, st store.Store, bucket blob.Bucket, opts Options) (*Service, error) {
	if opts.ShardRows <= 0 {
		opts.ShardRows = 1 << 20
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WorkerID == "" {
		host, _ := os.Hostname()
		opts.WorkerID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if opts.TempDir != "" {
		if err := os.MkdirAll(opts.TempDir, 0o755); err != nil {
			return nil, fmt.Errorf("batch: temporary folder: %w", err)
		}
	}
	ownCache := opts.CacheDir == ""
	if ownCache {
		dir, err := os.MkdirTemp(opts.TempDir, "plinth-batch-models-")
		if err != nil {
			return nil, fmt.Errorf("batch: model cache: %w", err)
		}
		opts.CacheDir = dir
	}
	s := &Service{st: st, loader: serving.NewLoader(st, bucket, opts.CacheDir), opts: opts,
		log: opts.Logger.With("component", "batch")}
	if ownCache {
		s.removeCache = func() { os.RemoveAll(opts.CacheDir) }
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &shardWorker{s: s})
	river.AddWorker(workers, &commitWorker{s: s})
	q, closeQ, err := openQueue(ctx, queueConfig{
		kind: opts.DBKind, target: opts.DBTarget, workers: workers, slots: opts.Slots,
		clientID: opts.WorkerID, logger: opts.Logger,
	})
	if err != nil {
		if s.removeCache != nil {
			s.removeCache()
		}
		return nil, err
	}
	s.q, s.close = q, closeQ
	return s, nil
}

// Start begins working shards (when Slots > 0), running schedules and queueing again
// the work of dead workers; a server that leaves the shards to workers still does the
// last two.
func (s *Service) Start(ctx context.Context) error {
	if s.opts.Slots > 0 {
		if err := s.q.Start(ctx); err != nil {
			return fmt.Errorf("batch: start workers: %w", err)
		}
	}
	go s.runSchedules(ctx)
	go s.reapStale(ctx)
	return nil
}

// requeueLost queues again the work of queue jobs that a worker fetched but died with
// before it claimed the shard (the shard is still PENDING) or finished the commit (the
// batch job is still RUNNING): the queue counts those jobs as running, and would hand
// them out again only after a day. A live worker claims within moments of a fetch, so a
// job running for StaleAfter whose shard is unclaimed has lost its worker; queueing it
// twice is harmless, since the claim lets one worker work a shard.
func (s *Service) requeueLost(ctx context.Context) {
	res, err := s.q.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).
		Kinds(shardArgs{}.Kind(), commitArgs{}.Kind()).First(500))
	if err != nil {
		s.log.Warn("batch: list running queue jobs", "err", err)
		return
	}
	cutoff := time.Now().Add(-s.opts.StaleAfter)
	for _, rj := range res.Jobs {
		if rj.AttemptedAt == nil || rj.AttemptedAt.After(cutoff) {
			continue
		}
		var args shardArgs // commitArgs has the same job_id and generation
		if err := json.Unmarshal(rj.EncodedArgs, &args); err != nil {
			continue
		}
		job, err := s.st.GetBatchJob(ctx, args.JobID)
		if err != nil || (job.Status != core.BatchQueued && job.Status != core.BatchRunning) || job.Generation != args.Generation {
			continue
		}
		var again river.JobArgs = commitArgs{JobID: args.JobID, Generation: args.Generation, Lost: rj.ID}
		if rj.Kind == (shardArgs{}).Kind() {
			shards, err := s.st.ListBatchShards(ctx, args.JobID)
			if err != nil || args.Index >= len(shards) || shards[args.Index].Status != core.ShardPending {
				continue
			}
			again = shardArgs{JobID: args.JobID, Index: args.Index, Generation: args.Generation, Lost: rj.ID}
		}
		if _, err := s.q.Insert(ctx, again, nil); err != nil {
			s.log.Warn("batch: queue lost work again", "job", args.JobID, "err", err)
			continue
		}
		s.log.Info("batch work of a dead worker queued again", "job", args.JobID, "kind", rj.Kind, "shard", args.Index)
	}
}

// reapStale queues again, every half StaleAfter, the shards whose worker stopped
// sending heartbeats (killed, or cut off from the database): whichever worker takes
// the new job claims the shard, since its heartbeat is stale. Every worker process
// reaps; the queue's unique arguments (job, shard, attempt) make that one job.
func (s *Service) reapStale(ctx context.Context) {
	t := time.NewTicker(max(s.opts.StaleAfter/2, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.requeueLost(ctx)
		s.forgetIdleModels(time.Now())
		stale, err := s.st.ListStaleBatchShards(ctx, time.Now().Add(-s.opts.StaleAfter).UnixMilli(), 100)
		if err != nil {
			s.log.Warn("batch: look for shards of dead workers", "err", err)
			continue
		}
		for _, sh := range stale {
			job, err := s.st.GetBatchJob(ctx, sh.JobID)
			if err != nil {
				continue
			}
			args := shardArgs{JobID: sh.JobID, Index: sh.Index, Generation: job.Generation, Takeover: sh.Attempts}
			if _, err := s.q.Insert(ctx, args, nil); err != nil {
				s.log.Warn("batch: queue a dead worker's shard again", "job", sh.JobID, "shard", sh.Index, "err", err)
				continue
			}
			s.log.Info("batch shard of a dead worker queued again", "job", sh.JobID, "shard", sh.Index,
				"worker", sh.Worker, "last_heartbeat", time.UnixMilli(sh.HeartbeatTime))
		}
	}
}

// Stop lets running shards finish their current work (bounded by ctx) and closes the
// queue's connections. A shard cut short is taken over by another worker.
func (s *Service) Stop(ctx context.Context) error {
	var err error
	if s.opts.Slots > 0 {
		err = s.q.Stop(ctx)
	}
	s.close()
	if s.removeCache != nil {
		s.removeCache()
	}
	return err
}

// SubmitOptions are a submission's extras.
type SubmitOptions struct {
	Actor string
	Force bool // run again even if the same job (same spec, model version and inputs) exists
	// Key and ScheduleName are set by the scheduler: one job per schedule and time.
	Key          string
	ScheduleName string
}

// Submit validates spec, pins the model version, lists and fingerprints the inputs,
// checks that the model can score them and plans the shards, then stores the job and
// queues its shards. The same spec on the same model version and unchanged inputs
// returns the existing job (existed) unless opt.Force.
func (s *Service) Submit(ctx context.Context, spec core.BatchJobSpec, opt SubmitOptions) (job core.BatchJob, existed bool, err error) {
	if err := validateSpec(&spec); err != nil {
		return core.BatchJob{}, false, err
	}
	ref, err := core.ParseModelRef(spec.ModelURI)
	if err != nil {
		return core.BatchJob{}, false, err
	}
	mv, err := s.loader.Resolve(ctx, ref)
	if err != nil {
		return core.BatchJob{}, false, err
	}
	if err := s.loader.CheckApproval(ctx, mv); err != nil {
		return core.BatchJob{}, false, core.Errorf(core.ECONFLICT, "%s", reason(err))
	}
	model, err := s.loadModel(ctx, mv)
	if err != nil {
		return core.BatchJob{}, false, core.Errorf(core.EINVALID, "model %s version %d cannot be loaded: %s", mv.Name, mv.Version, reason(err))
	}
	in, err := OpenLocation(ctx, spec.Input, s.opts.S3)
	if err != nil {
		return core.BatchJob{}, false, core.Errorf(core.EINVALID, "input %s: %s", spec.Input, reason(err))
	}
	defer in.Bucket.Close()
	inputs, err := ListInputs(ctx, in, spec.InputFormat)
	if err != nil {
		return core.BatchJob{}, false, core.Errorf(core.EINVALID, "input %s: %s", spec.Input, reason(err))
	}
	shards, err := Plan(ctx, in, inputs, model, spec.Passthrough, s.opts.ShardRows)
	if err != nil {
		return core.BatchJob{}, false, core.Errorf(core.EINVALID, "the model cannot score %s: %s", spec.Input, reason(err))
	}
	job = core.BatchJob{
		Spec: spec, ModelName: mv.Name, ModelVersion: strconv.FormatInt(mv.Version, 10),
		ModelSource: mv.StorageLocation, Actor: opt.Actor, ScheduleName: opt.ScheduleName, Inputs: inputs,
		Key: opt.Key,
	}
	if job.Key == "" {
		job.Key = jobKey(job)
	}
	job, existed, err = s.st.CreateBatchJob(ctx, job, shards, opt.Force)
	if err != nil || existed {
		return job, existed, err
	}
	if err := s.enqueue(ctx, job, allIndexes(len(shards))); err != nil {
		return job, false, err
	}
	s.log.Info("batch job submitted", "job", job.ID, "model", job.ModelName, "version", job.ModelVersion,
		"inputs", len(inputs), "shards", len(shards), "actor", opt.Actor)
	return job, false, nil
}

// Cancel stops a queued or running job; shards in progress stop at their next heartbeat.
func (s *Service) Cancel(ctx context.Context, id string) (core.BatchJob, error) {
	return s.st.CancelBatchJob(ctx, id, time.Now().UnixMilli())
}

// Retry runs the unfinished shards of a failed or cancelled job again.
func (s *Service) Retry(ctx context.Context, id string) (core.BatchJob, error) {
	job, pending, err := s.st.RetryBatchJob(ctx, id)
	if err != nil {
		return job, err
	}
	if len(pending) == 0 { // every shard was done: only the commit was missing
		_, err = s.q.Insert(ctx, commitArgs{JobID: job.ID, Generation: job.Generation}, nil)
		return job, err
	}
	return job, s.enqueue(ctx, job, pending)
}

func (s *Service) enqueue(ctx context.Context, job core.BatchJob, indexes []int) error {
	params := make([]river.InsertManyParams, len(indexes))
	for i, idx := range indexes {
		params[i] = river.InsertManyParams{Args: shardArgs{JobID: job.ID, Index: idx, Generation: job.Generation}}
	}
	if _, err := s.q.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("batch: queue the shards of job %s: %w (plinth batch cancel %s, then plinth batch retry %s, queues them again)", job.ID, err, job.ID, job.ID)
	}
	return nil
}

func allIndexes(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// jobKey fingerprints what a job computes: the spec, the pinned model version and
// the inputs' digests. Submitting it again finds the job instead of redoing it.
func jobKey(job core.BatchJob) string {
	b, _ := json.Marshal(struct {
		Spec    core.BatchJobSpec
		Model   string
		Version string
		Inputs  []core.BatchInputFile
	}{job.Spec, job.ModelName, job.ModelVersion, job.Inputs})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// validateSpec checks a spec and fills defaults; errors are EINVALID and name the field.
func validateSpec(spec *core.BatchJobSpec) error {
	switch {
	case spec.ModelURI == "":
		return core.Errorf(core.EINVALID, "model_uri is required: models:/NAME@ALIAS or models:/NAME/VERSION")
	case spec.Input == "":
		return core.Errorf(core.EINVALID, "input is required: a file, a folder or an s3:// prefix")
	case spec.Output == "":
		return core.Errorf(core.EINVALID, "output is required: a folder or an s3:// prefix")
	case spec.Parallelism < 0:
		return core.Errorf(core.EINVALID, "parallelism %d: want 0 (no limit) or more", spec.Parallelism)
	}
	spec.OutputFormat = strings.ToLower(spec.OutputFormat)
	switch spec.OutputFormat {
	case "":
		spec.OutputFormat = "parquet"
	case "parquet", "csv":
	default:
		return core.Errorf(core.EINVALID, "output_format %q: want parquet or csv", spec.OutputFormat)
	}
	spec.InputFormat = strings.ToLower(spec.InputFormat)
	switch spec.InputFormat {
	case "", "csv", "jsonl", "parquet":
	default:
		return core.Errorf(core.EINVALID, "input_format %q: want csv, jsonl or parquet (or leave it out to go by file extension)", spec.InputFormat)
	}
	if spec.PredictKind == "" {
		spec.PredictKind = string(pyfunc.Predict)
	}
	if _, err := pyfunc.ParseOutput(spec.PredictKind); err != nil {
		return core.Errorf(core.EINVALID, "predict_kind: %v", err)
	}
	if spec.Rejects == "" {
		spec.Rejects = strings.TrimSuffix(spec.Output, "/") + "/_rejects"
	}
	if strings.TrimSuffix(spec.Input, "/") == strings.TrimSuffix(spec.Output, "/") {
		return core.Errorf(core.EINVALID, "output %s is the input: write the predictions somewhere else", spec.Output)
	}
	seen := map[string]bool{}
	for _, c := range spec.Passthrough {
		if c == "" || seen[c] {
			return core.Errorf(core.EINVALID, "passthrough: empty or repeated column %q", c)
		}
		seen[c] = true
	}
	return nil
}

// reason is err's message for a caller: an application error's message without its
// code (which the API puts next to it), any other error's text.
func reason(err error) string {
	var e *core.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// isStopped reports whether err says the job or shard was taken away from us.
func isStopped(err error) bool {
	return errors.Is(err, errStopped) || core.ErrorCode(err) == core.ECONFLICT
}
