package storetest

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Batch jobs, their shards and schedules (store.BatchStore). The concurrency tests are
// the point: claims and commits of one job must apply one at a time on every backend.
var batchTests = []testCase{
	{"CreateGet", testBatchCreateGet},
	{"CreateInvalid", testBatchCreateInvalid},
	{"IdempotentCreate", testBatchIdempotentCreate},
	{"ConcurrentIdempotentCreate", testBatchConcurrentIdempotentCreate},
	{"ListPaging", testBatchListPaging},
	{"ClaimLifecycle", testBatchClaimLifecycle},
	{"ConcurrentClaims", testBatchConcurrentClaims},
	{"ConcurrentCompletes", testBatchConcurrentCompletes},
	{"Parallelism", testBatchParallelism},
	{"CancelRetry", testBatchCancelRetry},
	{"FailShard", testBatchFailShard},
	{"Finish", testBatchFinish},
	{"NotFound", testBatchNotFound},
	{"Schedules", testBatchSchedules},
	{"ScheduleInvalid", testBatchScheduleInvalid},
	{"ClaimScheduleRun", testBatchClaimScheduleRun},
}

// ---- batch fixtures ----

// bjT0 is the suite's "now" for claims and heartbeats; the store takes it from the caller.
const bjT0 = int64(1_700_000_000_000)

func bjSpec() core.BatchJobSpec {
	return core.BatchJobSpec{ModelURI: "models:/fraud@champion", Input: "s3://in/daily/", Output: "s3://out/daily/"}
}

func bjShards(n int) []core.BatchShard {
	out := make([]core.BatchShard, n)
	for i := range out {
		out[i] = core.BatchShard{File: fmt.Sprintf("part-%03d.parquet", i/2), Format: "parquet",
			RowGroupStart: (i % 2) * 4, RowGroupEnd: (i%2)*4 + 4, FirstRow: int64(i%2) * 4000, Rows: 4000}
	}
	return out
}

// bjCreate creates a job with n shards (a fresh key unless job has one).
func bjCreate(t *testing.T, s store.Store, job core.BatchJob, n int) core.BatchJob {
	t.Helper()
	if job.Spec.ModelURI == "" {
		job.Spec = bjSpec()
	}
	out, existed, err := s.CreateBatchJob(t.Context(), job, bjShards(n), false)
	must(t, err, "CreateBatchJob")
	if existed {
		t.Fatalf("CreateBatchJob key %q: existed = true for a new job", job.Key)
	}
	return out
}

func bjGet(t *testing.T, s store.Store, id string) core.BatchJob {
	t.Helper()
	j, err := s.GetBatchJob(t.Context(), id)
	must(t, err, "GetBatchJob "+id)
	return j
}

func bjShardsOf(t *testing.T, s store.Store, id string) []core.BatchShard {
	t.Helper()
	shs, err := s.ListBatchShards(t.Context(), id)
	must(t, err, "ListBatchShards "+id)
	return shs
}

func bjStatuses(t *testing.T, s store.Store, id string) []string {
	t.Helper()
	var out []string
	for _, sh := range bjShardsOf(t, s, id) {
		out = append(out, sh.Status)
	}
	return out
}

// bjClaim claims a shard and fails the test unless the claim outcome is want ("" = claimed).
func bjClaim(t *testing.T, s store.Store, id string, idx int, worker string, now, stale int64, want string) store.ShardClaim {
	t.Helper()
	c, err := s.ClaimBatchShard(t.Context(), id, idx, worker, now, stale)
	must(t, err, fmt.Sprintf("claim shard %d by %s", idx, worker))
	if c.Claimed != (want == "") || c.Reason != want {
		t.Fatalf("claim shard %d by %s: claimed=%v reason=%q, want reason %q", idx, worker, c.Claimed, c.Reason, want)
	}
	if c.Shard.Index != idx || c.Job.ID != id {
		t.Fatalf("claim shard %d of %s returned shard %d of %s", idx, id, c.Shard.Index, c.Job.ID)
	}
	return c
}

func bjDone(jobID string, idx int, worker string, rows int64) core.BatchShard {
	return core.BatchShard{JobID: jobID, Index: idx, Worker: worker, RowsIn: rows, RowsOut: rows - 1, RowsRejected: 1,
		Part: fmt.Sprintf("part-%05d.parquet", idx), PartDigest: "sha256:" + strings.Repeat("ab", 32), PartBytes: rows * 8,
		RejectsPart: fmt.Sprintf("rejects-%05d.jsonl", idx), EndTime: bjT0 + 500}
}

// bjRace runs fn(0), …, fn(n-1) at once and returns the i for which fn reported a win.
func bjRace(n int, fn func(i int) bool) []int {
	won := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { won[i] = fn(i) })
	}
	wg.Wait()
	var out []int
	for i, w := range won {
		if w {
			out = append(out, i)
		}
	}
	return out
}

func bjComplete(t *testing.T, s store.Store, c core.BatchShard, wantRemaining int) {
	t.Helper()
	rem, err := s.CompleteBatchShard(t.Context(), c)
	must(t, err, fmt.Sprintf("complete shard %d", c.Index))
	if rem != wantRemaining {
		t.Fatalf("complete shard %d: remaining %d, want %d", c.Index, rem, wantRemaining)
	}
}

// ---- jobs ----

func testBatchCreateGet(t *testing.T, s store.Store) {
	before := time.Now().UnixMilli()
	spec := core.BatchJobSpec{ModelURI: "models:/fraud/3", Input: "/data/in", InputFormat: "csv", Output: "/data/out",
		OutputFormat: "csv", Rejects: "/data/rejects", Passthrough: []string{"id", "ts"}, PredictKind: "predict_proba", Parallelism: 4}
	in := core.BatchJob{Key: "sha256:k1", Spec: spec, ModelName: "fraud", ModelVersion: "3", ModelSource: "mlflow-artifacts:/1/m/artifacts",
		Actor: "alice", ScheduleName: "nightly", Status: "bogus", ShardsDone: 7, Manifest: "x", Generation: 9,
		Inputs: []core.BatchInputFile{{Path: "a.csv", Format: "csv", Size: 10, Digest: "sha256:00"}, {Path: "b.csv", Format: "csv", Size: 20, Digest: "etag:\"e\""}}}
	shards := bjShards(3)
	shards[2].Index = 42 // numbered by position whatever the caller says
	// A byte range of a CSV file keeps its range, first row and first line.
	shards[1] = core.BatchShard{File: "a.csv", Format: "csv", ByteStart: 1 << 33, ByteEnd: 1<<33 + 5000, FirstRow: 3_000_000_000,
		FirstLine: 3_000_000_002, Rows: 100}
	got, existed, err := s.CreateBatchJob(t.Context(), in, shards, false)
	must(t, err, "CreateBatchJob")
	if existed || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got.ID) || got.CreationTime < before {
		t.Fatalf("created job: existed=%v id=%q creation=%d (before %d)", existed, got.ID, got.CreationTime, before)
	}
	want := in
	want.ID, want.CreationTime, want.Status, want.ShardsDone, want.Manifest, want.Generation, want.ShardsTotal =
		got.ID, got.CreationTime, core.BatchQueued, 0, "", 1, 3
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("created job:\ngot  %+v\nwant %+v", got, want)
	}
	if g := bjGet(t, s, got.ID); !reflect.DeepEqual(g, want) {
		t.Fatalf("get job:\ngot  %+v\nwant %+v", g, want)
	}
	for i, sh := range bjShardsOf(t, s, got.ID) {
		w := shards[i]
		w.JobID, w.Index, w.Status = got.ID, i, core.ShardPending
		if !reflect.DeepEqual(sh, w) {
			t.Fatalf("shard %d:\ngot  %+v\nwant %+v", i, sh, w)
		}
	}
	// A caller-chosen id is kept; taking it twice is EEXISTS.
	mine := bjCreate(t, s, core.BatchJob{ID: "job-chosen"}, 0)
	if mine.ID != "job-chosen" || mine.Inputs != nil || mine.Spec.Passthrough != nil {
		t.Fatalf("job with chosen id: %+v", mine)
	}
	if shs := bjShardsOf(t, s, "job-chosen"); len(shs) != 0 {
		t.Fatalf("job without shards lists %d", len(shs))
	}
	_, _, err = s.CreateBatchJob(t.Context(), core.BatchJob{ID: "job-chosen", Spec: bjSpec()}, bjShards(1), false)
	wantCode(t, err, core.EEXISTS, "create with a taken id")
	if j := bjGet(t, s, "job-chosen"); j.ShardsTotal != 0 {
		t.Fatalf("failed create changed the job: %+v", j)
	}
}

func testBatchCreateInvalid(t *testing.T, s store.Store) {
	with := func(f func(*core.BatchJobSpec)) core.BatchJobSpec {
		sp := bjSpec()
		f(&sp)
		return sp
	}
	cases := []struct {
		what string
		spec core.BatchJobSpec
		msg  string
	}{
		{"no model", with(func(sp *core.BatchJobSpec) { sp.ModelURI = "" }), "model URI"},
		{"no input", with(func(sp *core.BatchJobSpec) { sp.Input = "" }), "input"},
		{"no output", with(func(sp *core.BatchJobSpec) { sp.Output = "" }), "output"},
		{"negative parallelism", with(func(sp *core.BatchJobSpec) { sp.Parallelism = -1 }), "parallelism -1"},
		{"input format", with(func(sp *core.BatchJobSpec) { sp.InputFormat = "xlsx" }), "input format"},
		{"output format", with(func(sp *core.BatchJobSpec) { sp.OutputFormat = "jsonl" }), "output format"},
		{"predict kind", with(func(sp *core.BatchJobSpec) { sp.PredictKind = "explain" }), "predict kind"},
		{"empty passthrough column", with(func(sp *core.BatchJobSpec) { sp.Passthrough = []string{"id", ""} }), "passthrough"},
	}
	for _, c := range cases {
		_, _, err := s.CreateBatchJob(t.Context(), core.BatchJob{Key: "k", Spec: c.spec}, bjShards(2), false)
		wantMessage(t, err, core.EINVALID, c.msg, "create with "+c.what)
	}
	jobs, _, err := s.ListBatchJobs(t.Context(), store.BatchJobQuery{})
	must(t, err, "ListBatchJobs")
	if len(jobs) != 0 {
		t.Fatalf("invalid creates stored %d jobs", len(jobs))
	}
	// The key was not taken by the failed creates.
	bjCreate(t, s, core.BatchJob{Key: "k"}, 1)
}

func testBatchIdempotentCreate(t *testing.T, s store.Store) {
	first := bjCreate(t, s, core.BatchJob{Key: "key-a", Actor: "alice"}, 2)
	again, existed, err := s.CreateBatchJob(t.Context(), core.BatchJob{Key: "key-a", Spec: bjSpec(), Actor: "bob"}, bjShards(5), false)
	must(t, err, "create again")
	if !existed || !reflect.DeepEqual(again, first) {
		t.Fatalf("create again: existed=%v job %+v, want the first %+v", existed, again, first)
	}
	if n := len(bjShardsOf(t, s, first.ID)); n != 2 {
		t.Fatalf("first job has %d shards after a repeated create, want 2", n)
	}
	regTick()
	forced, existed, err := s.CreateBatchJob(t.Context(), core.BatchJob{Key: "key-a", Spec: bjSpec(), Actor: "carol"}, bjShards(3), true)
	must(t, err, "forced create")
	if existed || forced.ID == first.ID || forced.Actor != "carol" || forced.ShardsTotal != 3 {
		t.Fatalf("forced create: existed=%v %+v", existed, forced)
	}
	// Without force the newest job with the key answers.
	again, existed, err = s.CreateBatchJob(t.Context(), core.BatchJob{Key: "key-a", Spec: bjSpec()}, bjShards(1), false)
	must(t, err, "create after force")
	if !existed || again.ID != forced.ID {
		t.Fatalf("create after force: existed=%v id %s, want the forced %s", existed, again.ID, forced.ID)
	}
	// Another key, and no key at all, make new jobs.
	other := bjCreate(t, s, core.BatchJob{Key: "key-b"}, 1)
	a, b := bjCreate(t, s, core.BatchJob{}, 1), bjCreate(t, s, core.BatchJob{}, 1)
	if len(map[string]bool{first.ID: true, forced.ID: true, other.ID: true, a.ID: true, b.ID: true}) != 5 {
		t.Fatal("jobs share ids")
	}
	jobs, _, err := s.ListBatchJobs(t.Context(), store.BatchJobQuery{})
	must(t, err, "ListBatchJobs")
	if len(jobs) != 5 {
		t.Fatalf("%d jobs stored, want 5", len(jobs))
	}
}

func testBatchConcurrentIdempotentCreate(t *testing.T, s store.Store) {
	const n = 10
	ids := make([]string, n)
	created := bjRace(n, func(i int) bool {
		j, existed, err := s.CreateBatchJob(t.Context(), core.BatchJob{Key: "same", Spec: bjSpec()}, bjShards(4), false)
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
		ids[i] = j.ID
		return err == nil && !existed
	})
	if len(created) != 1 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 1 {
		t.Fatalf("%d concurrent creates of one key: %d created, ids %v; want one job", n, len(created), ids)
	}
	if shs := bjShardsOf(t, s, ids[0]); len(shs) != 4 {
		t.Fatalf("job has %d shards, want 4", len(shs))
	}
}

func testBatchListPaging(t *testing.T, s store.Store) {
	var ids []string // in creation order
	for i := range 7 {
		sched := ""
		if i%3 == 0 {
			sched = "nightly"
		}
		ids = append(ids, bjCreate(t, s, core.BatchJob{ScheduleName: sched}, 1).ID)
	}
	// Jobs 1 and 4 run; job 4 is cancelled.
	bjClaim(t, s, ids[1], 0, "w", bjT0, bjT0, "")
	bjClaim(t, s, ids[4], 0, "w", bjT0, bjT0, "")
	_, err := s.CancelBatchJob(t.Context(), ids[4], bjT0)
	must(t, err, "cancel")
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)

	list := func(q store.BatchJobQuery) []string {
		t.Helper()
		var got []string
		for page := 0; ; page++ {
			jobs, next, err := s.ListBatchJobs(t.Context(), q)
			must(t, err, fmt.Sprintf("ListBatchJobs page %d", page))
			if q.MaxResults > 0 && len(jobs) > q.MaxResults {
				t.Fatalf("page %d has %d jobs, max %d", page, len(jobs), q.MaxResults)
			}
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if next == "" {
				return got
			}
			if page > 20 {
				t.Fatal("paging does not end")
			}
			q.PageToken = next
		}
	}
	pick := func(idx ...int) []string {
		var out []string
		for _, i := range slices.Backward(idx) {
			out = append(out, ids[i])
		}
		return out
	}
	sameOrder(t, "all, default page", list(store.BatchJobQuery{}), newestFirst)
	sameOrder(t, "all, pages of 3", list(store.BatchJobQuery{MaxResults: 3}), newestFirst)
	sameOrder(t, "all, pages of 1", list(store.BatchJobQuery{MaxResults: 1}), newestFirst)
	sameOrder(t, "queued", list(store.BatchJobQuery{Status: core.BatchQueued, MaxResults: 2}), pick(0, 2, 3, 5, 6))
	sameOrder(t, "running", list(store.BatchJobQuery{Status: core.BatchRunning}), pick(1))
	sameOrder(t, "cancelled", list(store.BatchJobQuery{Status: core.BatchCancelled}), pick(4))
	sameOrder(t, "nightly", list(store.BatchJobQuery{ScheduleName: "nightly", MaxResults: 2}), pick(0, 3, 6))
	sameOrder(t, "queued nightly", list(store.BatchJobQuery{ScheduleName: "nightly", Status: core.BatchQueued}), pick(0, 3, 6))
	if got := list(store.BatchJobQuery{Status: core.BatchFailed}); len(got) != 0 {
		t.Fatalf("failed jobs: %v", got)
	}
	for _, q := range []store.BatchJobQuery{{MaxResults: -1}, {MaxResults: 1001}, {Status: "DONE"}, {PageToken: "%%%"}} {
		_, _, err := s.ListBatchJobs(t.Context(), q)
		wantCode(t, err, core.EINVALID, fmt.Sprintf("ListBatchJobs %+v", q))
	}
}

// testBatchClaimLifecycle walks one shard through claim, heartbeat, a lost worker,
// a re-claim and the commit.
func testBatchClaimLifecycle(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 3)
	c := bjClaim(t, s, j.ID, 1, "w1", bjT0, bjT0-30_000, "")
	if sh := c.Shard; sh.Status != core.ShardRunning || sh.Worker != "w1" || sh.Attempts != 1 || sh.HeartbeatTime != bjT0 || sh.StartTime != bjT0 {
		t.Fatalf("claimed shard: %+v", sh)
	}
	if c.Job.Status != core.BatchRunning || c.Job.StartTime != bjT0 {
		t.Fatalf("job after the first claim: %+v", c.Job)
	}
	if got := bjShardsOf(t, s, j.ID)[1]; !reflect.DeepEqual(got, c.Shard) {
		t.Fatalf("stored shard %+v, claim returned %+v", got, c.Shard)
	}
	// A second claim does not move the job's start.
	bjClaim(t, s, j.ID, 0, "w3", bjT0+5, bjT0-30_000, "")
	if g := bjGet(t, s, j.ID); g.StartTime != bjT0 || g.Status != core.BatchRunning {
		t.Fatalf("job after a second claim: %+v", g)
	}
	must(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w1", bjT0+10_000), "heartbeat")
	wantCode(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w2", bjT0+10_000), core.ECONFLICT, "heartbeat by another worker")
	wantCode(t, s.HeartbeatBatchShard(t.Context(), j.ID, 2, "w1", bjT0+10_000), core.ECONFLICT, "heartbeat of a pending shard")
	// Fresh heartbeat: held. Stale: taken over.
	bjClaim(t, s, j.ID, 1, "w2", bjT0+20_000, bjT0+10_000, "held")
	bjClaim(t, s, j.ID, 1, "w1", bjT0+20_000, bjT0+10_000, "held")
	c = bjClaim(t, s, j.ID, 1, "w2", bjT0+50_000, bjT0+10_001, "")
	if sh := c.Shard; sh.Worker != "w2" || sh.Attempts != 2 || sh.HeartbeatTime != bjT0+50_000 || sh.StartTime != bjT0+50_000 {
		t.Fatalf("re-claimed shard: %+v", sh)
	}
	// The old worker has lost it.
	wantCode(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w1", bjT0+50_001), core.ECONFLICT, "heartbeat by the old worker")
	_, err := s.CompleteBatchShard(t.Context(), bjDone(j.ID, 1, "w1", 100))
	wantCode(t, err, core.ECONFLICT, "complete by the old worker")
	done := bjDone(j.ID, 1, "w2", 100)
	bjComplete(t, s, done, 2)
	got := bjShardsOf(t, s, j.ID)[1]
	want := c.Shard
	want.Status, want.RowsIn, want.RowsOut, want.RowsRejected, want.Part, want.PartDigest, want.PartBytes, want.RejectsPart, want.EndTime =
		core.ShardDone, 100, 99, 1, done.Part, done.PartDigest, 800, done.RejectsPart, done.EndTime
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("completed shard:\ngot  %+v\nwant %+v", got, want)
	}
	if g := bjGet(t, s, j.ID); g.ShardsDone != 1 || g.RowsIn != 100 || g.RowsOut != 99 || g.RowsRejected != 1 {
		t.Fatalf("job after one commit: %+v", g)
	}
	// A finished shard is never handed out again, however old its heartbeat.
	bjClaim(t, s, j.ID, 1, "w3", bjT0+1e9, bjT0+1e9, "done")
	_, err = s.CompleteBatchShard(t.Context(), done)
	wantCode(t, err, core.ECONFLICT, "complete twice")
	if g := bjGet(t, s, j.ID); g.ShardsDone != 1 || g.RowsIn != 100 {
		t.Fatalf("a second commit counted: %+v", g)
	}
	_, err = s.ClaimBatchShard(t.Context(), j.ID, 2, "", bjT0, bjT0)
	wantCode(t, err, core.EINVALID, "claim without a worker")
	_, err = s.CompleteBatchShard(t.Context(), core.BatchShard{JobID: j.ID, Index: 0, Worker: "w3", RowsIn: -1})
	wantCode(t, err, core.EINVALID, "negative row count")
}

func testBatchConcurrentClaims(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 3)
	const workers = 12
	for round := range 3 {
		// Round 0 claims a pending shard; rounds 1 and 2 its stale holder's shard.
		now, stale := bjT0+int64(round)*60_000, bjT0+int64(round)*60_000-30_000
		worker := func(w int) string { return fmt.Sprintf("r%d-w%d", round, w) }
		won := bjRace(workers, func(w int) bool {
			c, err := s.ClaimBatchShard(t.Context(), j.ID, 0, worker(w), now, stale)
			if err != nil {
				t.Errorf("claim by %s: %v", worker(w), err)
			} else if !c.Claimed && c.Reason != "held" {
				t.Errorf("claim by %s: reason %q, want held", worker(w), c.Reason)
			}
			return err == nil && c.Claimed
		})
		if len(won) != 1 {
			t.Fatalf("round %d: %d of %d concurrent claims won, want exactly 1", round, len(won), workers)
		}
		sh := bjShardsOf(t, s, j.ID)[0]
		if sh.Worker != worker(won[0]) || sh.Attempts != round+1 {
			t.Fatalf("round %d: shard held by %q with %d attempts, want %q with %d", round, sh.Worker, sh.Attempts, worker(won[0]), round+1)
		}
	}
}

func testBatchConcurrentCompletes(t *testing.T, s store.Store) {
	const n = 12
	j := bjCreate(t, s, core.BatchJob{}, n)
	for i := range n {
		bjClaim(t, s, j.ID, i, fmt.Sprintf("w%d", i), bjT0, bjT0, "")
	}
	zero := bjRace(n, func(i int) bool {
		rem, err := s.CompleteBatchShard(t.Context(), bjDone(j.ID, i, fmt.Sprintf("w%d", i), int64(10*(i+1))))
		if err != nil || rem < 0 || rem >= n {
			t.Errorf("complete %d: remaining %d, error %v", i, rem, err)
		}
		return err == nil && rem == 0
	})
	if len(zero) != 1 {
		t.Fatalf("%d of %d concurrent commits saw remaining 0, want exactly 1", len(zero), n)
	}
	wantIn := int64(10 * n * (n + 1) / 2)
	g := bjGet(t, s, j.ID)
	if g.ShardsDone != n || g.RowsIn != wantIn || g.RowsOut != wantIn-n || g.RowsRejected != n || g.Status != core.BatchRunning {
		t.Fatalf("job after %d commits: %+v; want rows in %d", n, g, wantIn)
	}
	for _, st := range bjStatuses(t, s, j.ID) {
		if st != core.ShardDone {
			t.Fatalf("shard statuses %v", bjStatuses(t, s, j.ID))
		}
	}
}

func testBatchParallelism(t *testing.T, s store.Store) {
	spec := bjSpec()
	spec.Parallelism = 2
	j := bjCreate(t, s, core.BatchJob{Spec: spec}, 5)
	stale := bjT0 - 30_000
	bjClaim(t, s, j.ID, 0, "w0", bjT0, stale, "")
	bjClaim(t, s, j.ID, 1, "w1", bjT0+1, stale, "")
	c := bjClaim(t, s, j.ID, 2, "w2", bjT0+2, stale, "parallelism")
	if c.Shard.Status != core.ShardPending || c.Shard.Attempts != 0 {
		t.Fatalf("refused claim changed the shard: %+v", c.Shard)
	}
	// Shard 0's worker goes quiet: its slot counts no longer and its shard can be taken.
	must(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w1", bjT0+40_000), "heartbeat w1")
	bjClaim(t, s, j.ID, 2, "w2", bjT0+40_001, bjT0+10_000, "")
	bjClaim(t, s, j.ID, 0, "w9", bjT0+40_002, bjT0+10_000, "parallelism")
	// A commit frees a slot.
	bjComplete(t, s, bjDone(j.ID, 1, "w1", 5), 4)
	bjClaim(t, s, j.ID, 3, "w3", bjT0+40_003, bjT0+10_000, "")

	// Under concurrency the limit still holds: of many claims of free shards, only as
	// many win as there are slots.
	spec.Parallelism = 3
	k := bjCreate(t, s, core.BatchJob{Spec: spec}, 10)
	won := bjRace(10, func(i int) bool {
		c, err := s.ClaimBatchShard(t.Context(), k.ID, i, fmt.Sprintf("w%d", i), bjT0, stale)
		if err != nil {
			t.Errorf("claim %d: %v", i, err)
		} else if !c.Claimed && c.Reason != "parallelism" {
			t.Errorf("claim %d: reason %q", i, c.Reason)
		}
		return err == nil && c.Claimed
	})
	if len(won) != 3 {
		t.Fatalf("%d of 10 concurrent claims won with parallelism 3", len(won))
	}
}

func testBatchCancelRetry(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 4)
	bjClaim(t, s, j.ID, 0, "w0", bjT0, bjT0, "")
	bjComplete(t, s, bjDone(j.ID, 0, "w0", 10), 3)
	bjClaim(t, s, j.ID, 1, "w1", bjT0, bjT0, "")
	bjClaim(t, s, j.ID, 2, "w2", bjT0, bjT0, "")
	must(t, s.FailBatchShard(t.Context(), j.ID, 2, "w2", "disk full", false, bjT0+1), "fail shard 2")

	c, err := s.CancelBatchJob(t.Context(), j.ID, bjT0+100)
	must(t, err, "cancel")
	if c.Status != core.BatchCancelled || c.EndTime != bjT0+100 || !reflect.DeepEqual(c, bjGet(t, s, j.ID)) {
		t.Fatalf("cancelled job %+v, stored %+v", c, bjGet(t, s, j.ID))
	}
	sameOrder(t, "shards after cancel", bjStatuses(t, s, j.ID),
		[]string{core.ShardDone, core.ShardCancelled, core.ShardCancelled, core.ShardCancelled})
	bjClaim(t, s, j.ID, 3, "w3", bjT0+200, bjT0+200, "stopped")
	bjClaim(t, s, j.ID, 0, "w3", bjT0+200, bjT0+200, "done")
	wantCode(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w1", bjT0+200), core.ECONFLICT, "heartbeat after cancel")
	_, err = s.CompleteBatchShard(t.Context(), bjDone(j.ID, 1, "w1", 10))
	wantCode(t, err, core.ECONFLICT, "complete after cancel")
	wantCode(t, s.FailBatchShard(t.Context(), j.ID, 1, "w1", "x", true, bjT0+200), core.ECONFLICT, "fail after cancel")
	_, err = s.CancelBatchJob(t.Context(), j.ID, bjT0+300)
	wantCode(t, err, core.ECONFLICT, "cancel twice")
	_, err = s.FinishBatchJob(t.Context(), j.ID, "s3://out/_manifest.json", bjT0+300)
	wantCode(t, err, core.ECONFLICT, "finish a cancelled job")

	r, pending, err := s.RetryBatchJob(t.Context(), j.ID)
	must(t, err, "retry")
	want := c
	want.Status, want.Generation, want.EndTime = core.BatchQueued, 2, 0
	if !reflect.DeepEqual(r, want) || !reflect.DeepEqual(bjGet(t, s, j.ID), want) {
		t.Fatalf("retried job %+v, want %+v", r, want)
	}
	if !slices.Equal(pending, []int{1, 2, 3}) {
		t.Fatalf("retry returned pending shards %v, want [1 2 3]", pending)
	}
	for i, sh := range bjShardsOf(t, s, j.ID) {
		if i == 0 && (sh.Status != core.ShardDone || sh.RowsIn != 10) || i > 0 && (sh.Status != core.ShardPending || sh.Error != "") {
			t.Fatalf("shard %d after retry: %+v", i, sh)
		}
	}
	_, _, err = s.RetryBatchJob(t.Context(), j.ID)
	wantCode(t, err, core.ECONFLICT, "retry a queued job")
	bjClaim(t, s, j.ID, 0, "w5", bjT0+400, bjT0+400, "done")
	cl := bjClaim(t, s, j.ID, 1, "w5", bjT0+400, bjT0+400, "")
	if cl.Shard.Attempts != 2 || cl.Job.Status != core.BatchRunning || cl.Job.Generation != 2 {
		t.Fatalf("claim after retry: %+v", cl)
	}
	_, _, err = s.RetryBatchJob(t.Context(), j.ID)
	wantCode(t, err, core.ECONFLICT, "retry a running job")
	for i := 1; i <= 3; i++ {
		if i > 1 {
			bjClaim(t, s, j.ID, i, "w5", bjT0+400, bjT0+400, "")
		}
		bjComplete(t, s, bjDone(j.ID, i, "w5", 10), 3-i)
	}
	if g := bjGet(t, s, j.ID); g.ShardsDone != 4 || g.RowsIn != 40 {
		t.Fatalf("job after the retry ran: %+v", g)
	}
}

func testBatchFailShard(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 3)
	bjClaim(t, s, j.ID, 0, "w0", bjT0, bjT0, "")
	wantCode(t, s.FailBatchShard(t.Context(), j.ID, 0, "w9", "boom", false, bjT0), core.ECONFLICT, "fail by a non-holder")
	wantCode(t, s.FailBatchShard(t.Context(), j.ID, 1, "w0", "boom", false, bjT0), core.ECONFLICT, "fail a pending shard")
	must(t, s.FailBatchShard(t.Context(), j.ID, 0, "w0", "connection reset", false, bjT0+1), "transient failure")
	if sh := bjShardsOf(t, s, j.ID)[0]; sh.Status != core.ShardPending || sh.Error != "connection reset" || sh.Attempts != 1 {
		t.Fatalf("shard after a transient failure: %+v", sh)
	}
	if g := bjGet(t, s, j.ID); g.Status != core.BatchRunning || g.Error != "" {
		t.Fatalf("job after a transient failure: %+v", g)
	}
	c := bjClaim(t, s, j.ID, 0, "w1", bjT0+2, bjT0+2, "")
	if c.Shard.Attempts != 2 || c.Shard.Error != "" {
		t.Fatalf("shard claimed again: %+v", c.Shard)
	}
	bjClaim(t, s, j.ID, 1, "w2", bjT0+2, bjT0+2, "")
	must(t, s.FailBatchShard(t.Context(), j.ID, 0, "w1", "column amount is missing", true, bjT0+3), "final failure")
	sh := bjShardsOf(t, s, j.ID)[0]
	if sh.Status != core.ShardFailed || sh.Error != "column amount is missing" || sh.EndTime != bjT0+3 {
		t.Fatalf("shard after a final failure: %+v", sh)
	}
	g := bjGet(t, s, j.ID)
	if g.Status != core.BatchFailed || g.EndTime != bjT0+3 || !strings.Contains(g.Error, "shard 0") || !strings.Contains(g.Error, "column amount is missing") {
		t.Fatalf("job after a final failure: %+v", g)
	}
	// The other workers must stop; a second final failure keeps the first reason.
	bjClaim(t, s, j.ID, 2, "w3", bjT0+4, bjT0+4, "stopped")
	wantCode(t, s.HeartbeatBatchShard(t.Context(), j.ID, 1, "w2", bjT0+4), core.ECONFLICT, "heartbeat in a failed job")
	_, err := s.CompleteBatchShard(t.Context(), bjDone(j.ID, 1, "w2", 10))
	wantCode(t, err, core.ECONFLICT, "complete in a failed job")
	must(t, s.FailBatchShard(t.Context(), j.ID, 1, "w2", "also broken", true, bjT0+5), "second final failure")
	if g2 := bjGet(t, s, j.ID); g2.Error != g.Error || g2.EndTime != g.EndTime {
		t.Fatalf("second failure changed the job: %+v", g2)
	}
	_, err = s.CancelBatchJob(t.Context(), j.ID, bjT0+6)
	wantCode(t, err, core.ECONFLICT, "cancel a failed job")
	r, pending, err := s.RetryBatchJob(t.Context(), j.ID)
	must(t, err, "retry a failed job")
	if r.Status != core.BatchQueued || r.Generation != 2 || r.Error != "" || r.EndTime != 0 || !slices.Equal(pending, []int{0, 1, 2}) {
		t.Fatalf("retried: %+v pending %v", r, pending)
	}
	sameOrder(t, "shards after retry", bjStatuses(t, s, j.ID), []string{core.ShardPending, core.ShardPending, core.ShardPending})
}

func testBatchFinish(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 2)
	_, err := s.FinishBatchJob(t.Context(), j.ID, "m", bjT0)
	wantCode(t, err, core.ECONFLICT, "finish a job with no shard done")
	for i := range 2 {
		bjClaim(t, s, j.ID, i, "w", bjT0, bjT0, "")
	}
	bjComplete(t, s, bjDone(j.ID, 0, "w", 3), 1)
	_, err = s.FinishBatchJob(t.Context(), j.ID, "m", bjT0)
	wantCode(t, err, core.ECONFLICT, "finish with a shard left")
	bjComplete(t, s, bjDone(j.ID, 1, "w", 3), 0)
	_, err = s.FinishBatchJob(t.Context(), j.ID, "", bjT0)
	wantCode(t, err, core.EINVALID, "finish without a manifest")
	f, err := s.FinishBatchJob(t.Context(), j.ID, "s3://out/daily/_manifest.json", bjT0+9)
	must(t, err, "finish")
	if f.Status != core.BatchSucceeded || f.Manifest != "s3://out/daily/_manifest.json" || f.EndTime != bjT0+9 || f.StartTime != bjT0 ||
		!reflect.DeepEqual(f, bjGet(t, s, j.ID)) {
		t.Fatalf("finished job %+v, stored %+v", f, bjGet(t, s, j.ID))
	}
	_, err = s.FinishBatchJob(t.Context(), j.ID, "m2", bjT0+10)
	wantCode(t, err, core.ECONFLICT, "finish twice")
	_, err = s.CancelBatchJob(t.Context(), j.ID, bjT0+10)
	wantCode(t, err, core.ECONFLICT, "cancel a finished job")
	_, _, err = s.RetryBatchJob(t.Context(), j.ID)
	wantCode(t, err, core.ECONFLICT, "retry a finished job")
	bjClaim(t, s, j.ID, 0, "w", bjT0+1e9, bjT0+1e9, "done")
	// A job with no shards finishes from QUEUED.
	e := bjCreate(t, s, core.BatchJob{}, 0)
	f, err = s.FinishBatchJob(t.Context(), e.ID, "m", bjT0)
	must(t, err, "finish an empty job")
	if f.Status != core.BatchSucceeded || f.StartTime != bjT0 {
		t.Fatalf("finished empty job: %+v", f)
	}
}

func testBatchNotFound(t *testing.T, s store.Store) {
	j := bjCreate(t, s, core.BatchJob{}, 1)
	ctx := t.Context()
	for _, id := range []string{"nope", ""} {
		_, err := s.GetBatchJob(ctx, id)
		wantMessage(t, err, core.ENOTFOUND, "Batch job '"+id+"' not found", "get")
		_, err = s.ListBatchShards(ctx, id)
		wantCode(t, err, core.ENOTFOUND, "list shards")
		_, err = s.ClaimBatchShard(ctx, id, 0, "w", bjT0, bjT0)
		wantCode(t, err, core.ENOTFOUND, "claim")
		wantCode(t, s.HeartbeatBatchShard(ctx, id, 0, "w", bjT0), core.ENOTFOUND, "heartbeat")
		_, err = s.CompleteBatchShard(ctx, bjDone(id, 0, "w", 1))
		wantCode(t, err, core.ENOTFOUND, "complete")
		wantCode(t, s.FailBatchShard(ctx, id, 0, "w", "x", true, bjT0), core.ENOTFOUND, "fail")
		_, err = s.FinishBatchJob(ctx, id, "m", bjT0)
		wantCode(t, err, core.ENOTFOUND, "finish")
		_, err = s.CancelBatchJob(ctx, id, bjT0)
		wantCode(t, err, core.ENOTFOUND, "cancel")
		_, _, err = s.RetryBatchJob(ctx, id)
		wantCode(t, err, core.ENOTFOUND, "retry")
	}
	for _, idx := range []int{1, -1} {
		_, err := s.ClaimBatchShard(ctx, j.ID, idx, "w", bjT0, bjT0)
		wantMessage(t, err, core.ENOTFOUND, fmt.Sprintf("Shard %d of batch job", idx), "claim a missing shard")
		wantCode(t, s.HeartbeatBatchShard(ctx, j.ID, idx, "w", bjT0), core.ENOTFOUND, "heartbeat a missing shard")
		_, err = s.CompleteBatchShard(ctx, bjDone(j.ID, idx, "w", 1))
		wantCode(t, err, core.ENOTFOUND, "complete a missing shard")
		wantCode(t, s.FailBatchShard(ctx, j.ID, idx, "w", "x", false, bjT0), core.ENOTFOUND, "fail a missing shard")
	}
	if g := bjGet(t, s, j.ID); g.Status != core.BatchQueued {
		t.Fatalf("job changed: %+v", g)
	}
}

// ---- schedules ----

func testBatchSchedules(t *testing.T, s store.Store) {
	before := time.Now().UnixMilli()
	spec := bjSpec()
	spec.Passthrough, spec.Parallelism = []string{"id"}, 3
	defs := []core.BatchSchedule{
		{Name: "nightly", Cron: "0 2 * * *", Spec: spec, Actor: "alice"},
		{Name: "a-hourly", Cron: "0 * * * *", Spec: bjSpec(), LastRunTime: bjT0, LastJobID: "j0"},
	}
	for _, d := range defs {
		got, err := s.CreateBatchSchedule(t.Context(), d)
		must(t, err, "create schedule "+d.Name)
		want := d
		want.CreationTime = got.CreationTime
		if got.CreationTime < before || !reflect.DeepEqual(got, want) {
			t.Fatalf("created schedule %+v, want %+v", got, want)
		}
		stored, err := s.GetBatchSchedule(t.Context(), d.Name)
		must(t, err, "get schedule")
		if !reflect.DeepEqual(stored, want) {
			t.Fatalf("stored schedule %+v, want %+v", stored, want)
		}
	}
	_, err := s.CreateBatchSchedule(t.Context(), core.BatchSchedule{Name: "nightly", Cron: "5 5 * * *", Spec: bjSpec()})
	wantMessage(t, err, core.EEXISTS, "Batch schedule 'nightly' already exists", "duplicate schedule")
	if sc, _ := s.GetBatchSchedule(t.Context(), "nightly"); sc.Cron != "0 2 * * *" {
		t.Fatalf("duplicate create changed the schedule: %+v", sc)
	}
	names := func() []string {
		all, err := s.ListBatchSchedules(t.Context())
		must(t, err, "ListBatchSchedules")
		out := []string{}
		for _, sc := range all {
			out = append(out, sc.Name)
		}
		return out
	}
	sameOrder(t, "schedules", names(), []string{"a-hourly", "nightly"})
	must(t, s.DeleteBatchSchedule(t.Context(), "a-hourly"), "delete")
	sameOrder(t, "schedules after delete", names(), []string{"nightly"})
	wantMessage(t, s.DeleteBatchSchedule(t.Context(), "a-hourly"), core.ENOTFOUND, "Batch schedule 'a-hourly' not found", "delete twice")
	_, err = s.GetBatchSchedule(t.Context(), "a-hourly")
	wantCode(t, err, core.ENOTFOUND, "get deleted")
}

func testBatchScheduleInvalid(t *testing.T, s store.Store) {
	bad := bjSpec()
	bad.Output = ""
	cases := []struct {
		what string
		sc   core.BatchSchedule
		msg  string
	}{
		{"empty name", core.BatchSchedule{Name: "", Cron: "* * * * *", Spec: bjSpec()}, "Invalid schedule name"},
		{"upper case", core.BatchSchedule{Name: "Nightly", Cron: "* * * * *", Spec: bjSpec()}, "Invalid schedule name"},
		{"underscore", core.BatchSchedule{Name: "night_ly", Cron: "* * * * *", Spec: bjSpec()}, "Invalid schedule name"},
		{"trailing dash", core.BatchSchedule{Name: "nightly-", Cron: "* * * * *", Spec: bjSpec()}, "Invalid schedule name"},
		{"too long", core.BatchSchedule{Name: strings.Repeat("n", 64), Cron: "* * * * *", Spec: bjSpec()}, "Invalid schedule name"},
		{"no cron", core.BatchSchedule{Name: "nightly", Spec: bjSpec()}, "cron"},
		{"bad spec", core.BatchSchedule{Name: "nightly", Cron: "* * * * *", Spec: bad}, "output"},
	}
	for _, c := range cases {
		_, err := s.CreateBatchSchedule(t.Context(), c.sc)
		wantMessage(t, err, core.EINVALID, c.msg, "create schedule with "+c.what)
	}
	all, err := s.ListBatchSchedules(t.Context())
	must(t, err, "ListBatchSchedules")
	if len(all) != 0 {
		t.Fatalf("invalid creates stored %+v", all)
	}
}

func testBatchClaimScheduleRun(t *testing.T, s store.Store) {
	_, err := s.CreateBatchSchedule(t.Context(), core.BatchSchedule{Name: "daily", Cron: "0 3 * * *", Spec: bjSpec()})
	must(t, err, "create schedule")
	claim := func(at int64, job string, want bool) {
		t.Helper()
		ok, err := s.ClaimScheduleRun(t.Context(), "daily", at, job)
		must(t, err, "ClaimScheduleRun")
		if ok != want {
			t.Fatalf("claim run at %d as %s: %v, want %v", at, job, ok, want)
		}
	}
	day := int64(86_400_000)
	claim(bjT0, "j1", true)
	claim(bjT0, "j1b", false)
	claim(bjT0-day, "j0", false)
	claim(bjT0+day, "j2", true)
	sc, err := s.GetBatchSchedule(t.Context(), "daily")
	must(t, err, "get schedule")
	if sc.LastRunTime != bjT0+day || sc.LastJobID != "j2" {
		t.Fatalf("schedule after claims: %+v", sc)
	}
	// Replicas ticking together: one run.
	for round := 2; round < 5; round++ {
		at := bjT0 + int64(round)*day
		job := func(r int) string { return fmt.Sprintf("j%d-r%d", round, r) }
		won := bjRace(8, func(r int) bool {
			ok, err := s.ClaimScheduleRun(t.Context(), "daily", at, job(r))
			if err != nil {
				t.Errorf("claim by %s: %v", job(r), err)
			}
			return ok
		})
		if len(won) != 1 {
			t.Fatalf("round %d: %d of 8 concurrent claims won, want 1", round, len(won))
		}
		if sc, _ := s.GetBatchSchedule(t.Context(), "daily"); sc.LastJobID != job(won[0]) || sc.LastRunTime != at {
			t.Fatalf("round %d: schedule %+v, winner %s", round, sc, job(won[0]))
		}
	}
	_, err = s.ClaimScheduleRun(t.Context(), "nope", bjT0, "j")
	wantMessage(t, err, core.ENOTFOUND, "Batch schedule 'nope' not found", "claim an unknown schedule")
	_, err = s.ClaimScheduleRun(t.Context(), "daily", bjT0+100*day, "")
	wantCode(t, err, core.EINVALID, "claim without a job id")
}
