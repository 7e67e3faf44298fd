package batch

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlite"
)

// serviceEnv is a Service on SQLite that works no shards itself (Slots 0), with the
// golden xgb-classifier registered as churn version 1, alias champion, and a CSV
// input of its rows.
type serviceEnv struct {
	s     *Service
	st    store.Store
	dir   string
	input string
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "plinth.db")
	st, err := sqlite.Open(ctx, db, store.Options{DefaultArtifactRoot: "mlflow-artifacts:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bucket, err := blob.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, st, bucket, Options{DBKind: "sqlite", DBTarget: db, CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })

	model, err := filepath.Abs("../runtime/testdata/mlflow/xgb-classifier/model")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRegisteredModel(ctx, core.RegisteredModel{Name: "churn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateModelVersion(ctx, core.ModelVersion{Name: "churn", Source: model}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRegisteredModelAlias(ctx, "churn", "champion", 1); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(input, []byte("a,b,c,d\n1,2,3,4\n5,6,7,8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &serviceEnv{s: s, st: st, dir: dir, input: input}
}

func (e *serviceEnv) spec(out string) core.BatchJobSpec {
	return core.BatchJobSpec{ModelURI: "models:/churn@champion", Input: e.input, Output: filepath.Join(e.dir, out)}
}

func TestSubmitValidates(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(*core.BatchJobSpec)
		code  string
		words string
	}{
		{"no model", func(s *core.BatchJobSpec) { s.ModelURI = "" }, core.EINVALID, "model_uri is required"},
		{"stage URI", func(s *core.BatchJobSpec) { s.ModelURI = "models:/churn/Production" }, core.EINVALID, "models:/NAME@ALIAS"},
		{"unknown alias", func(s *core.BatchJobSpec) { s.ModelURI = "models:/churn@nope" }, core.ENOTFOUND, "nope"},
		{"no input", func(s *core.BatchJobSpec) { s.Input = "" }, core.EINVALID, "input is required"},
		{"missing input", func(s *core.BatchJobSpec) { s.Input = filepath.Join(e.dir, "absent.csv") }, core.EINVALID, "absent.csv"},
		{"output is input", func(s *core.BatchJobSpec) { s.Output = s.Input }, core.EINVALID, "is the input"},
		{"bad output format", func(s *core.BatchJobSpec) { s.OutputFormat = "xlsx" }, core.EINVALID, "parquet or csv"},
		{"bad predict kind", func(s *core.BatchJobSpec) { s.PredictKind = "logits" }, core.EINVALID, "predict_kind"},
		{"negative parallelism", func(s *core.BatchJobSpec) { s.Parallelism = -1 }, core.EINVALID, "parallelism"},
		{"missing passthrough", func(s *core.BatchJobSpec) { s.Passthrough = []string{"claim_id"} }, core.EINVALID, "claim_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := e.spec("out-" + strings.ReplaceAll(c.name, " ", "-"))
			c.edit(&spec)
			_, _, err := e.s.Submit(ctx, spec, SubmitOptions{Actor: "ann"})
			if core.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.words) || strings.Count(err.Error(), c.code+": ") > 1 {
				t.Fatalf("error %v (code %q); want %s mentioning %q", err, core.ErrorCode(err), c.code, c.words)
			}
		})
	}
	jobs, _, err := e.st.ListBatchJobs(ctx, store.BatchJobQuery{})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("refused submissions stored %d jobs (%v)", len(jobs), err)
	}
}

// TestSubmitPinsVersionAndGatesApproval: the alias is resolved once; a model that
// requires approval scores only with an approved version.
func TestSubmitPinsVersionAndGatesApproval(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	job, existed, err := e.s.Submit(ctx, e.spec("out"), SubmitOptions{Actor: "ann"})
	if err != nil || existed {
		t.Fatalf("submit: %v (existed %v)", err, existed)
	}
	if job.ModelName != "churn" || job.ModelVersion != "1" || job.Actor != "ann" || job.Status != core.BatchQueued ||
		job.ShardsTotal != 1 || len(job.Inputs) != 1 || !strings.HasPrefix(job.Inputs[0].Digest, "sha256:") {
		t.Fatalf("job %+v", job)
	}
	if _, err := e.st.SetApprovalPolicy(ctx, "churn", true, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.s.Submit(ctx, e.spec("out2"), SubmitOptions{})
	if core.ErrorCode(err) != core.ECONFLICT || !strings.Contains(err.Error(), "approve") {
		t.Fatalf("unapproved version: %v; want ECONFLICT saying how to approve", err)
	}
}

// TestCancelAndRetry: a cancelled job can be retried; a finished or unknown one cannot
// be cancelled.
func TestCancelAndRetry(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	job, _, err := e.s.Submit(ctx, e.spec("out"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job, err = e.s.Cancel(ctx, job.ID); err != nil || job.Status != core.BatchCancelled {
		t.Fatalf("cancel: %+v, %v", job, err)
	}
	if _, err := e.s.Cancel(ctx, job.ID); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("cancel twice: %v, want ECONFLICT", err)
	}
	if job, err = e.s.Retry(ctx, job.ID); err != nil || job.Status != core.BatchQueued || job.Generation != 2 {
		t.Fatalf("retry: %+v, %v", job, err)
	}
	if _, err := e.s.Cancel(ctx, "0123"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("cancel unknown: %v, want ENOTFOUND", err)
	}
}

// TestSchedules: a schedule runs once per due time, however many processes tick; runs
// missed while nothing ticked collapse into the latest.
func TestSchedules(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	if _, err := e.s.CreateSchedule(ctx, core.BatchSchedule{Name: "nightly", Cron: "every night", Spec: e.spec("s")}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("bad cron: %v, want EINVALID", err)
	}
	if _, err := e.s.CreateSchedule(ctx, core.BatchSchedule{Name: "Nightly Run", Cron: "0 2 * * *", Spec: e.spec("s")}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("bad name: %v, want EINVALID", err)
	}
	sc, err := e.s.CreateSchedule(ctx, core.BatchSchedule{Name: "minutely", Cron: "* * * * *", Spec: e.spec("s"), Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	created := time.UnixMilli(sc.CreationTime)
	if job, err := e.s.RunScheduleIfDue(ctx, sc, created); err != nil || job != nil {
		t.Fatalf("before the first due time: job %v, %v", job, err)
	}
	now := created.Truncate(time.Minute).Add(3*time.Minute + 10*time.Second)
	job, err := e.s.RunScheduleIfDue(ctx, sc, now) // a first process
	if err != nil || job == nil || job.ScheduleName != "minutely" || job.Actor != "ops" {
		t.Fatalf("due run: %+v, %v", job, err)
	}
	again, err := e.s.RunScheduleIfDue(ctx, sc, now) // a second process with the same stale view
	if err != nil || again == nil || again.ID != job.ID {
		t.Fatalf("second process: %+v, %v; want the same job %s", again, err, job.ID)
	}
	sc, err = e.st.GetBatchSchedule(ctx, "minutely")
	if err != nil || sc.LastJobID != job.ID || sc.LastRunTime != now.Truncate(time.Minute).UnixMilli() {
		t.Fatalf("schedule after the run: %+v, %v", sc, err)
	}
	if job, err := e.s.RunScheduleIfDue(ctx, sc, now.Add(20*time.Second)); err != nil || job != nil {
		t.Fatalf("same minute again: %v, %v", job, err)
	}
	jobs, _, err := e.st.ListBatchJobs(ctx, store.BatchJobQuery{ScheduleName: "minutely"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("schedule ran %d jobs (%v), want 1", len(jobs), err)
	}
	next, err := NextRun(sc)
	if err != nil || !next.Equal(now.Truncate(time.Minute).Add(time.Minute)) {
		t.Fatalf("next run %v, %v", next, err)
	}
}

// TestScheduleFailedRun: a run that cannot be submitted is recorded, so the schedule
// waits for its next time instead of retrying every tick.
func TestScheduleFailedRun(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	spec := e.spec("s")
	sc, err := e.s.CreateSchedule(ctx, core.BatchSchedule{Name: "broken", Cron: "* * * * *", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.input); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(sc.CreationTime).Add(90 * time.Second)
	if job, err := e.s.RunScheduleIfDue(ctx, sc, now); err == nil || job != nil {
		t.Fatalf("run with the input gone: %v, %v; want an error", job, err)
	}
	sc, err = e.st.GetBatchSchedule(ctx, "broken")
	if err != nil || sc.LastJobID != failedRun || sc.LastRunTime != now.Truncate(time.Minute).UnixMilli() {
		t.Fatalf("schedule after a failed run: %+v, %v", sc, err)
	}
}

// A model no job has used for idleModelTime is dropped from memory; one in use stays.
func TestForgetIdleModels(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	mv, err := e.st.GetModelVersion(ctx, "churn", 1)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.s.loadModel(ctx, mv)
	if err != nil {
		t.Fatal(err)
	}
	e.s.forgetIdleModels(time.Now().Add(idleModelTime / 2))
	if again, _ := e.s.loadModel(ctx, mv); again != first {
		t.Fatal("a model used recently was loaded again")
	}
	e.s.forgetIdleModels(time.Now().Add(idleModelTime + time.Second))
	if again, _ := e.s.loadModel(ctx, mv); again == first {
		t.Fatal("a model unused for longer than idleModelTime is still in memory")
	}
}

// A queue job that a worker fetched but died with, before it claimed the shard, is
// queued again once it has been running for StaleAfter; a fresh one is left alone.
func TestRequeueLostWork(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	ctx := context.Background()
	if _, _, err := e.s.Submit(ctx, e.spec("out"), SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "plinth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	shardJobs := func(state rivertype.JobState) []*rivertype.JobRow {
		t.Helper()
		res, err := e.s.q.JobList(ctx, river.NewJobListParams().States(state).Kinds(shardArgs{}.Kind()))
		if err != nil {
			t.Fatal(err)
		}
		return res.Jobs
	}
	queued := shardJobs(rivertype.JobStateAvailable)
	if len(queued) != 1 {
		t.Fatalf("%d shard jobs queued, want 1", len(queued))
	}
	fetched := func(ago string) {
		t.Helper()
		if _, err := db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', ?) WHERE id = ?`,
			ago, queued[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	fetched("-1 seconds") // a live worker, about to claim
	e.s.requeueLost(ctx)
	if again := shardJobs(rivertype.JobStateAvailable); len(again) != 0 {
		t.Fatalf("a job fetched a second ago was queued again: %v", again)
	}
	fetched("-1 hours") // its worker died before claiming
	e.s.requeueLost(ctx)
	again := shardJobs(rivertype.JobStateAvailable)
	if len(again) != 1 {
		t.Fatalf("%d shard jobs queued after the reaper, want 1", len(again))
	}
	var args shardArgs
	if err := json.Unmarshal(again[0].EncodedArgs, &args); err != nil || args.Lost != queued[0].ID || args.Index != 0 {
		t.Fatalf("queued again with %s (%v); want shard 0, lost %d", again[0].EncodedArgs, err, queued[0].ID)
	}
	e.s.requeueLost(ctx) // the new job makes the same arguments: still one
	if n := len(shardJobs(rivertype.JobStateAvailable)); n != 1 {
		t.Fatalf("%d shard jobs after a second pass, want 1", n)
	}
}
