package v1

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

// fakeBatch records what the API asks of the batch service and stores jobs through
// the real store, as the service does once it has planned them.
type fakeBatch struct {
	e     *env
	specs []core.BatchJobSpec
	actor string
}

func (f *fakeBatch) Submit(ctx context.Context, spec core.BatchJobSpec, actor string, force bool) (core.BatchJob, bool, error) {
	if spec.ModelURI == "" {
		return core.BatchJob{}, false, core.Errorf(core.EINVALID, "model_uri is required")
	}
	f.specs, f.actor = append(f.specs, spec), actor
	return f.e.st.CreateBatchJob(ctx, core.BatchJob{Spec: spec, Key: spec.Input, Actor: actor, ModelName: "fraud", ModelVersion: "3",
		Inputs: []core.BatchInputFile{{Path: "a.csv", Format: "csv", Size: 10, Digest: "sha256:00"}}},
		[]core.BatchShard{{File: "a.csv", Format: "csv"}}, force)
}

func (f *fakeBatch) Cancel(ctx context.Context, id string) (core.BatchJob, error) {
	return f.e.st.CancelBatchJob(ctx, id, time.Now().UnixMilli())
}

func (f *fakeBatch) Retry(ctx context.Context, id string) (core.BatchJob, error) {
	j, _, err := f.e.st.RetryBatchJob(ctx, id)
	return j, err
}

func (f *fakeBatch) CreateSchedule(ctx context.Context, s core.BatchSchedule) (core.BatchSchedule, error) {
	return f.e.st.CreateBatchSchedule(ctx, s)
}

func (f *fakeBatch) NextRun(s core.BatchSchedule) (Time, error) {
	return timeOf(s.CreationTime + 60000), nil
}

func TestBatchJobsAPI(t *testing.T) {
	t.Parallel()
	fb := &fakeBatch{}
	e := setup(t, func(o *Options) { o.Batch = fb })
	fb.e = e
	body := `{"model_uri": "models:/fraud@champion", "input": "s3://in/x/", "output": "s3://out/x/", "passthrough": ["id"]}`
	r := e.do("ann", "POST", "/api/v1/batch-jobs", body)
	var job BatchJob
	decode(t, r, http.StatusCreated, &job)
	if job.ModelVersion != "3" || job.Actor != "ann" || job.Status != core.BatchQueued || job.ShardsTotal != 1 ||
		len(job.Inputs) != 1 || job.Existed || fb.specs[0].Passthrough[0] != "id" {
		t.Fatalf("submitted %+v", job)
	}
	r = e.do("ann", "POST", "/api/v1/batch-jobs", body)
	var again BatchJob
	decode(t, r, http.StatusOK, &again)
	if !again.Existed || again.ID != job.ID {
		t.Fatalf("resubmission %+v", again)
	}
	var got BatchJob
	e.ok("", "GET", "/api/v1/batch-jobs/"+job.ID, "", &got)
	if len(got.Shards) != 1 || got.Shards[0].Status != core.ShardPending || got.Output != "s3://out/x/" {
		t.Fatalf("get %+v", got)
	}
	var list BatchJobList
	e.ok("", "GET", "/api/v1/batch-jobs?status=QUEUED&max_results=5", "", &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != job.ID || list.Jobs[0].Shards != nil {
		t.Fatalf("list %+v", list)
	}
	e.ok("", "POST", "/api/v1/batch-jobs/"+job.ID+"/cancel", "", &got)
	if got.Status != core.BatchCancelled {
		t.Fatalf("cancel: %+v", got)
	}
	e.fail("", "POST", "/api/v1/batch-jobs/"+job.ID+"/cancel", "", 409, core.ECONFLICT, "")
	e.ok("", "POST", "/api/v1/batch-jobs/"+job.ID+"/retry", "", &got)
	if got.Status != core.BatchQueued || got.Generation != 2 {
		t.Fatalf("retry: %+v", got)
	}

	// Errors in the API's own format, nothing stored.
	e.fail("", "POST", "/api/v1/batch-jobs", `{"input": "x"`, 400, core.EINVALID, "")
	e.fail("", "POST", "/api/v1/batch-jobs", `{"input": "x", "output": "y"}`, 400, core.EINVALID, "model_uri is required")
	e.fail("", "POST", "/api/v1/batch-jobs", `{"model_uri": 5}`, 400, core.EINVALID, "")
	e.fail("", "GET", "/api/v1/batch-jobs/nope", "", 404, core.ENOTFOUND, "nope")
	e.fail("", "POST", "/api/v1/batch-jobs/nope/cancel", "", 404, core.ENOTFOUND, "")
	e.fail("", "GET", "/api/v1/batch-jobs?max_results=x", "", 400, core.EINVALID, "max_results")
	e.fail("", "DELETE", "/api/v1/batch-jobs/"+job.ID, "", 405, core.EINVALID, "")
	if len(fb.specs) != 2 {
		t.Fatalf("the service was asked %d times, want 2", len(fb.specs))
	}
}

func TestBatchSchedulesAPI(t *testing.T) {
	t.Parallel()
	fb := &fakeBatch{}
	e := setup(t, func(o *Options) { o.Batch = fb })
	fb.e = e
	r := e.do("ops", "POST", "/api/v1/batch-schedules",
		`{"name": "nightly", "cron": "0 2 * * *", "spec": {"model_uri": "models:/fraud@champion", "input": "s3://in/", "output": "s3://out/"}}`)
	var sc BatchSchedule
	decode(t, r, http.StatusCreated, &sc)
	if sc.Name != "nightly" || sc.Actor != "ops" || sc.Spec.Input != "s3://in/" || sc.NextRunAt.IsZero() {
		t.Fatalf("created %+v", sc)
	}
	var list BatchScheduleList
	e.ok("", "GET", "/api/v1/batch-schedules", "", &list)
	if len(list.Schedules) != 1 {
		t.Fatalf("list %+v", list)
	}
	e.fail("", "GET", "/api/v1/batch-schedules/other", "", 404, core.ENOTFOUND, "")
	if r := e.do("", "DELETE", "/api/v1/batch-schedules/nightly", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	e.fail("", "GET", "/api/v1/batch-schedules/nightly", "", 404, core.ENOTFOUND, "")
}

// TestBatchWithoutService: a process without the batch service (a serving replica)
// still answers reads and refuses submissions with 503.
func TestBatchWithoutService(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("", "POST", "/api/v1/batch-jobs", `{"model_uri": "models:/m@a", "input": "a", "output": "b"}`)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.raw), "plinth server") {
		t.Fatalf("submit without a service: %d %s", r.status, r.raw)
	}
	var list BatchJobList
	e.ok("", "GET", "/api/v1/batch-jobs", "", &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("list %+v", list)
	}
}

func decode(t *testing.T, r resp, status int, out any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if err := json.Unmarshal(r.raw, out); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}
