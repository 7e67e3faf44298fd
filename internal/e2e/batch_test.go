package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/tabular"
	"github.com/plinth-ml/plinth/internal/testutil/pgtest"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

// batchFixture is the model the batch tests score with; its expected.json holds the
// library's own predictions for 60 rows. Input row with id k is golden row k % 60.
const batchFixture = "xgb-classifier"

// batchInput is a generated input: files to write, and what the job must produce.
type batchInput struct {
	files    map[string][]byte // relative path → content
	rows     int               // rows that must be scored (ids 0..rows-1 minus the bad ones)
	bad      map[string]int64  // "file#row_index" → id of a row that must be rejected
	expected []float64         // the library's predict, by golden row
}

// makeBatchInput writes parquetFiles Parquet files of rowsPerFile rows (row groups of
// group rows) and one CSV file of csvRows rows, two of which cannot be scored: a
// non-numeric value and a line with too few fields.
func makeBatchInput(t *testing.T, parquetFiles, rowsPerFile, group, csvRows int) batchInput {
	t.Helper()
	columns, rows := goldenRows(t, batchFixture)
	var e struct {
		Predict [][]float64 `json:"predict"` // one list per row (a label here)
	}
	raw, err := os.ReadFile(filepath.Join(golden, batchFixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &e); err != nil || len(e.Predict) != len(rows) {
		t.Fatalf("expected.json: %v (%d predictions for %d rows)", err, len(e.Predict), len(rows))
	}
	in := batchInput{files: map[string][]byte{}, bad: map[string]int64{}}
	for _, p := range e.Predict {
		in.expected = append(in.expected, p[0])
	}
	id := 0
	for f := range parquetFiles {
		tab := &tabular.Table{Columns: []tabular.Column{{Name: "id", Type: tabular.Int64}}}
		for _, name := range columns {
			tab.Columns = append(tab.Columns, tabular.Column{Name: name, Type: tabular.Float64})
		}
		for range rowsPerFile {
			tab.Columns[0].Ints = append(tab.Columns[0].Ints, int64(id))
			for j := range columns {
				tab.Columns[j+1].Floats = append(tab.Columns[j+1].Floats, number(t, rows[id%len(rows)][j]))
			}
			id++
		}
		var buf bytes.Buffer
		w, err := tabular.NewWriterWith(&buf, tabular.Parquet, tabular.WriteOptions{RowGroupRows: group})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(tab); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		in.files[fmt.Sprintf("part-%d.parquet", f)] = buf.Bytes()
	}
	var csv strings.Builder
	csv.WriteString("id," + strings.Join(columns, ",") + "\n")
	for r := range csvRows {
		fields := []string{strconv.Itoa(id)}
		for j := range columns {
			fields = append(fields, strconv.FormatFloat(number(t, rows[id%len(rows)][j]), 'g', -1, 64))
		}
		switch r {
		case 3: // a value the signature cannot take
			fields[1] = "abc"
			in.bad["extra.csv#3"] = int64(id)
		case 7, csvRows - 2: // a line with too few fields (the second in the file's last shard)
			fields = fields[:2]
			in.bad["extra.csv#"+strconv.Itoa(r)] = int64(id)
		}
		csv.WriteString(strings.Join(fields, ",") + "\n")
		id++
	}
	in.files["extra.csv"] = []byte(csv.String())
	in.files["_ignored.txt"] = []byte("files starting with _ are not input")
	in.rows = id
	return in
}

func number(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case nil:
		return math.NaN()
	}
	t.Fatalf("golden cell %v (%T) is not a number", v, v)
	return 0
}

// batchJob is the part of the job JSON the tests read.
type batchJob struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Error        string `json:"error"`
	Existed      bool   `json:"existed"`
	ModelVersion string `json:"model_version"`
	ShardsTotal  int    `json:"shards_total"`
	ShardsDone   int    `json:"shards_done"`
	RowsIn       int64  `json:"rows_in"`
	RowsOut      int64  `json:"rows_out"`
	RowsRejected int64  `json:"rows_rejected"`
	Manifest     string `json:"manifest"`
	Inputs       []struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		Digest string `json:"digest"`
	} `json:"inputs"`
	Shards []struct {
		Index      int    `json:"index"`
		Status     string `json:"status"`
		Attempts   int    `json:"attempts"`
		Worker     string `json:"worker"`
		Part       string `json:"part"`
		PartDigest string `json:"part_digest"`
	} `json:"shards"`
}

func submitBatch(t *testing.T, base string, spec map[string]any, want int) batchJob {
	t.Helper()
	var job batchJob
	doJSON(t, "POST", base+"/api/v1/batch-jobs", spec, &job, want)
	return job
}

func getBatch(t *testing.T, base, id string) batchJob {
	t.Helper()
	var job batchJob
	doJSON(t, "GET", base+"/api/v1/batch-jobs/"+id, nil, &job, 200)
	return job
}

func waitBatch(t *testing.T, base, id string, timeout time.Duration) batchJob {
	t.Helper()
	var job batchJob
	waitUntil(t, timeout, "job "+id+" to end", func() (bool, string) {
		job = getBatch(t, base, id)
		return job.Status == "SUCCEEDED" || job.Status == "FAILED" || job.Status == "CANCELLED",
			fmt.Sprintf("%s, %d/%d shards", job.Status, job.ShardsDone, job.ShardsTotal)
	})
	if job.Status != "SUCCEEDED" {
		t.Fatalf("job %s %s: %s", id, job.Status, job.Error)
	}
	return job
}

// checkBatchOutput reads the job's output through its manifest and checks that every
// input row that can be scored is there exactly once with the library's prediction,
// next to its id, and that the rejects are exactly the bad rows.
func checkBatchOutput(t *testing.T, out, rejects blob.Bucket, in batchInput) {
	t.Helper()
	ctx := context.Background()
	var manifest struct {
		Parts []struct {
			Path   string `json:"path"`
			Rows   int64  `json:"rows"`
			Digest string `json:"sha256"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(readObject(t, out, "_manifest.json"), &manifest); err != nil {
		t.Fatalf("_manifest.json: %v", err)
	}
	seen := map[int64]int{}
	for _, p := range manifest.Parts {
		tab := readParquet(t, readObject(t, out, p.Path))
		if int64(tab.Rows()) != p.Rows {
			t.Errorf("part %s has %d rows, the manifest says %d", p.Path, tab.Rows(), p.Rows)
		}
		ids, pred := tab.Column("id"), &tab.Columns[len(tab.Columns)-1]
		if ids == nil || ids.Type != tabular.Int64 || tab.Columns[0].Name != "id" {
			t.Fatalf("part %s: columns %v; want the passthrough id first", p.Path, names(tab))
		}
		for i, id := range ids.Ints {
			seen[id]++
			want := in.expected[int(id)%len(in.expected)]
			if got := value(pred, i); math.Abs(got-want) > 1e-6 {
				t.Fatalf("id %d: predicted %v, the library %v", id, got, want)
			}
		}
	}
	for id := range int64(in.rows) {
		bad := false
		for _, b := range in.bad {
			bad = bad || b == id
		}
		switch {
		case bad && seen[id] != 0:
			t.Errorf("id %d is a bad row but was scored", id)
		case !bad && seen[id] != 1:
			t.Errorf("id %d is in the output %d times, want once", id, seen[id])
		}
	}
	entries, err := rejects.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		if e.IsDir || !strings.HasSuffix(e.Path, ".parquet") {
			continue
		}
		tab := readParquet(t, readObject(t, rejects, e.Path))
		file, row, reason := tab.Column("source_file"), tab.Column("row_index"), tab.Column("reason")
		if file == nil || row == nil || reason == nil {
			t.Fatalf("rejects %s: columns %v", e.Path, names(tab))
		}
		for i := range tab.Rows() {
			key := path.Base(file.Strings[i]) + "#" + strconv.FormatInt(row.Ints[i], 10)
			if _, ok := in.bad[key]; !ok || reason.Strings[i] == "" {
				t.Errorf("unexpected reject %s (%q)", key, reason.Strings[i])
			}
			got[key] = true
		}
	}
	for key := range in.bad {
		if !got[key] {
			t.Errorf("bad row %s is not in the rejects", key)
		}
	}
}

func value(c *tabular.Column, i int) float64 {
	if c.Type == tabular.Int64 {
		return float64(c.Ints[i])
	}
	return c.Floats[i]
}

func names(t *tabular.Table) []string {
	var n []string
	for _, c := range t.Columns {
		n = append(n, c.Name)
	}
	return n
}

func readObject(t *testing.T, b blob.Bucket, key string) []byte {
	t.Helper()
	rc, _, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readParquet(t *testing.T, data []byte) *tabular.Table {
	t.Helper()
	r, err := tabular.NewReader(bytes.NewReader(data), tabular.Parquet, tabular.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	all := &tabular.Table{}
	for {
		b, err := r.Next(1 << 20)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Columns) == 0 {
			all = b
			continue
		}
		for j := range all.Columns {
			c, n := &all.Columns[j], &b.Columns[j]
			c.Ints, c.Floats, c.Strings = append(c.Ints, n.Ints...), append(c.Floats, n.Floats...), append(c.Strings, n.Strings...)
			c.Bools = append(c.Bools, n.Bools...)
		}
	}
	return all
}

func putFiles(t *testing.T, b blob.Bucket, prefix string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := b.Put(context.Background(), path.Join(prefix, name), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBatchJobSQLiteLocal scores a folder of two Parquet files (several shards each)
// and a CSV file with a server on SQLite and a local folder: outputs equal the
// library's predictions, ids line up, rejects hold exactly the bad rows, the lineage
// records every input's digest and every part's, and submitting again finds the job.
func TestBatchJobSQLiteLocal(t *testing.T) {
	dir := t.TempDir()
	srv := startProc(t, "server", nil, "server",
		"--db", "sqlite:"+filepath.Join(dir, "plinth.db"), "--artifacts", filepath.Join(dir, "artifacts"),
		"--shard-rows", "256")
	createRegisteredModel(t, srv.URL, "churn")
	version := registerVersion(t, srv.URL, "churn", batchFixture)
	setAliasMLflow(t, srv.URL, "churn", "champion", version)

	in := makeBatchInput(t, 2, 1000, 128, 600) // the CSV file is 3 shards of 256 rows
	inDir, outDir := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	local, err := blob.NewLocal(inDir)
	if err != nil {
		t.Fatal(err)
	}
	putFiles(t, local, "", in.files)

	spec := map[string]any{"model_uri": "models:/churn@champion", "input": inDir, "output": outDir, "passthrough": []string{"id"}}
	job := submitBatch(t, srv.URL, spec, 201)
	if job.ModelVersion != version || len(job.Inputs) != 3 || job.ShardsTotal != 11 {
		t.Fatalf("submitted %+v; want version %s, 3 inputs and 2×4 Parquet + 3 CSV shards", job, version)
	}
	job = waitBatch(t, srv.URL, job.ID, 2*time.Minute)
	if bad := len(in.bad); job.RowsRejected != int64(bad) || job.RowsOut != int64(in.rows-bad) {
		t.Errorf("job counts: %d out, %d rejected; want %d and %d", job.RowsOut, job.RowsRejected, in.rows-bad, bad)
	}
	for _, f := range job.Inputs {
		if !strings.HasPrefix(f.Digest, "sha256:") || f.Size != int64(len(in.files[f.Path])) {
			t.Errorf("input %+v: want its size %d and a sha256 digest", f, len(in.files[f.Path]))
		}
	}
	for _, s := range job.Shards {
		if s.Status != "DONE" || s.Part == "" || !strings.HasPrefix(s.PartDigest, "sha256:") {
			t.Errorf("shard %+v: want DONE with a part and its digest", s)
		}
	}
	for _, d := range []string{outDir, filepath.Join(outDir, "_rejects")} {
		if _, err := os.Stat(filepath.Join(d, ".plinth-uploads")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s keeps the store's staging folder (%v): the output should hold only its files", d, err)
		}
	}
	outB, err := blob.NewLocal(outDir)
	if err != nil {
		t.Fatal(err)
	}
	rejB, err := blob.NewLocal(filepath.Join(outDir, "_rejects"))
	if err != nil {
		t.Fatal(err)
	}
	checkBatchOutput(t, outB, rejB, in)

	again := submitBatch(t, srv.URL, spec, 200)
	if !again.Existed || again.ID != job.ID {
		t.Errorf("the same submission gave job %s (existed %v), want %s", again.ID, again.Existed, job.ID)
	}
	spec["force"] = true
	if forced := submitBatch(t, srv.URL, spec, 201); forced.ID == job.ID {
		t.Errorf("force gave the same job")
	}

	// A schema that cannot fit fails at submission, before any work.
	bad := map[string]any{"model_uri": "models:/churn@champion", "input": inDir, "output": outDir + "-2", "passthrough": []string{"no_such_column"}}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	doJSON(t, "POST", srv.URL+"/api/v1/batch-jobs", bad, &e, 400)
	if !strings.Contains(e.Error.Message, "no_such_column") {
		t.Errorf("schema error %q does not name the missing column", e.Error.Message)
	}
}

// TestBatchWorkerCrashOnPostgresAndS3: a job on PostgreSQL and S3 worked by two
// `plinth worker` processes, one killed with SIGKILL while it holds a shard. The job
// completes, the dead worker's shard is taken over, and the output has every input
// row exactly once.
func TestBatchWorkerCrashOnPostgresAndS3(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s3 := s3server.Start(t)
	env := []string{"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_REGION=" + s3.Region}
	dir := t.TempDir()
	common := []string{"--db", dsn, "--artifacts", "s3://" + s3.Bucket + "/artifacts", "--s3-endpoint", s3.Endpoint, "--s3-path-style"}
	srv := startProc(t, "server", env, append([]string{"server", "--batch-workers", "0", "--shard-rows", "512",
		"--predictions", filepath.Join(dir, "predictions"), "--prediction-log-dir", filepath.Join(dir, "wal")}, common...)...)
	worker := func(name string) *proc {
		return startProc(t, name, env, append([]string{"worker",
			"--heartbeat", "200ms", "--stale-after", "2s"}, common...)...)
	}
	w1, w2 := worker("worker1"), worker("worker2")

	createRegisteredModel(t, srv.URL, "churn")
	version := registerVersion(t, srv.URL, "churn", batchFixture)
	setAliasMLflow(t, srv.URL, "churn", "champion", version)
	in := makeBatchInput(t, 4, 20000, 512, 1200) // the CSV file is 3 shards of 512 rows, read by ranges
	for _, kv := range [][2]string{{"AWS_ACCESS_KEY_ID", s3.AccessKey}, {"AWS_SECRET_ACCESS_KEY", s3.SecretKey}} {
		t.Setenv(kv[0], kv[1])
	}
	bucket, err := blob.Open(context.Background(), "s3://"+s3.Bucket, blob.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	putFiles(t, bucket, "in", in.files)

	job := submitBatch(t, srv.URL, map[string]any{
		"model_uri": "models:/churn@champion", "input": "s3://" + s3.Bucket + "/in/",
		"output": "s3://" + s3.Bucket + "/out/", "passthrough": []string{"id"},
	}, 201)
	for _, f := range job.Inputs {
		if !strings.HasPrefix(f.Digest, "etag:") {
			t.Errorf("S3 input %s has digest %q, want its ETag", f.Path, f.Digest)
		}
	}
	// Kill worker 1 while it holds a shard, once some shards are done.
	w1id := "-" + strconv.Itoa(w1.cmd.Process.Pid)
	var victim int = -1
	// The worker is frozen (SIGSTOP) before the shards are read, so the shard it holds
	// cannot finish between the look and the kill.
	held := func(j batchJob) int {
		for _, s := range j.Shards {
			if s.Status == "RUNNING" && strings.HasSuffix(s.Worker, w1id) {
				return s.Index
			}
		}
		return -1
	}
	waitUntil(t, 2*time.Minute, "worker 1 to hold a shard after some are done", func() (bool, string) {
		j := getBatch(t, srv.URL, job.ID)
		if j.Status != "QUEUED" && j.Status != "RUNNING" {
			return true, ""
		}
		if j.ShardsDone < 2 || held(j) < 0 {
			return false, fmt.Sprintf("%s, %d/%d done", j.Status, j.ShardsDone, j.ShardsTotal)
		}
		if err := w1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if victim = held(getBatch(t, srv.URL, job.ID)); victim < 0 {
			w1.cmd.Process.Signal(syscall.SIGCONT)
			return false, "worker 1 was between shards"
		}
		return true, ""
	})
	if victim < 0 {
		t.Fatalf("the job ended before worker 1 could be killed mid-shard: make it bigger")
	}
	w1.Kill()
	job = waitBatch(t, srv.URL, job.ID, 3*time.Minute)
	if s := job.Shards[victim]; s.Attempts < 2 || strings.HasSuffix(s.Worker, w1id) {
		t.Errorf("shard %d of the killed worker: %+v; want it finished by the other worker on a later attempt", victim, s)
	}
	out, err := blob.Open(context.Background(), "s3://"+s3.Bucket+"/out", blob.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	rej, err := blob.Open(context.Background(), "s3://"+s3.Bucket+"/out/_rejects", blob.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rej.Close()
	checkBatchOutput(t, out, rej, in)
	w2.Stop()
}

// runCLI runs `plinth args…` as a child process and returns its output and exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	encoded, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+string(encoded))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run plinth %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestBatchCLI drives a job through `plinth batch`: run --wait with its progress
// lines, list, describe with the lineage, and cancel and retry with their errors.
func TestBatchCLI(t *testing.T) {
	dir := t.TempDir()
	srv := startProc(t, "server", nil, "server",
		"--db", "sqlite:"+filepath.Join(dir, "plinth.db"), "--artifacts", filepath.Join(dir, "artifacts"), "--shard-rows", "128")
	createRegisteredModel(t, srv.URL, "churn")
	setAliasMLflow(t, srv.URL, "churn", "champion", registerVersion(t, srv.URL, "churn", batchFixture))
	in := makeBatchInput(t, 1, 500, 128, 10)
	inDir := filepath.Join(dir, "in")
	local, err := blob.NewLocal(inDir)
	if err != nil {
		t.Fatal(err)
	}
	putFiles(t, local, "", in.files)

	out, errOut, code := runCLI(t, "batch", "run", "--server", srv.URL, "--model", "models:/churn@champion",
		"--input", inDir, "--output", filepath.Join(dir, "out"), "--passthrough", "id", "--wait", "--poll", "100ms")
	if code != 0 {
		t.Fatalf("batch run --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"Submitted job", "shards", "succeeded"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress output lacks %q:\n%s", want, errOut)
		}
	}
	for _, want := range []string{"Status:        SUCCEEDED", "churn version 1", "sha256:", "part-00000.parquet", "_manifest.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	id := strings.Fields(strings.SplitN(errOut, "Submitted job ", 2)[1])[0]
	id = strings.TrimSuffix(id, ":")

	out, _, code = runCLI(t, "batch", "list", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("batch list (exit %d):\n%s", code, out)
	}
	out, _, code = runCLI(t, "batch", "describe", id, "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "Inputs:") || !strings.Contains(out, "Shards:") {
		t.Errorf("batch describe (exit %d):\n%s", code, out)
	}
	_, errOut, code = runCLI(t, "batch", "cancel", id, "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, "SUCCEEDED") {
		t.Errorf("cancelling a finished job: exit %d, %s", code, errOut)
	}
	_, errOut, code = runCLI(t, "batch", "describe", "nope", "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, "plinth batch list") {
		t.Errorf("describe of an unknown job: exit %d, %s", code, errOut)
	}
}
