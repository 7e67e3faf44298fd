package batch

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

func TestOpenLocationLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in", "x.csv"), "a\n1\n")

	file := openLoc(t, filepath.Join(dir, "in", "x.csv"))
	if file.Key != "x.csv" || file.fileKey("") != "x.csv" || file.fileName("") != "x.csv" {
		t.Errorf("file location: key %q", file.Key)
	}
	folder := openLoc(t, "file://"+filepath.Join(dir, "in"))
	if folder.Key != "" || folder.fileKey("sub/y.csv") != "sub/y.csv" || folder.uriOf("y.csv") != "file://"+filepath.Join(dir, "in", "y.csv") {
		t.Errorf("folder location: key %q, uri %q", folder.Key, folder.uriOf("y.csv"))
	}
	// Reading a folder writes nothing into it (inputs may be read-only).
	if _, err := ListInputs(bg, folder, ""); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "in")); len(entries) != 1 {
		t.Errorf("the input folder now holds %v", entries)
	}

	// A missing folder reads as missing and is created by the first write.
	out := openLoc(t, filepath.Join(dir, "out", "deeper"))
	if _, _, err := out.Bucket.Get(bg, "x"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("Get in a missing folder: %v", err)
	}
	if err := out.Bucket.Delete(bg, "x"); err != nil {
		t.Errorf("Delete in a missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Fatalf("the output folder exists before any write: %v", err)
	}
	if err := out.Bucket.Put(bg, "part-00000.csv", strings.NewReader("a\n"), 2); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "deeper", "part-00000.csv")); err != nil || string(b) != "a\n" {
		t.Errorf("stored %q, %v", b, err)
	}

	for _, bad := range []string{"", "ftp://host/x", "file://host/x", "s3://", "s3://bucket/../x"} {
		if loc, err := OpenLocation(bg, bad, blob.S3Options{}); err == nil {
			loc.Bucket.Close()
			t.Errorf("OpenLocation(%q): no error", bad)
		}
	}
}

// rangeCounter counts the bytes fetched by ranged reads of an S3 bucket.
type rangeCounter struct {
	*blob.S3
	bytes atomic.Int64
}

func (c *rangeCounter) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.bytes.Add(n)
	return c.S3.GetRange(ctx, key, off, n)
}

func TestS3InputAndOutput(t *testing.T) {
	srv := s3server.Start(t)
	opts := blob.S3Options{Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	big := filepath.Join(dir, "big.parquet")
	writeTable(t, big, tabular.Parquet, g.table(0, 80000), 10000) // 8 row groups
	small := filepath.Join(dir, "small.csv")
	writeTable(t, small, tabular.CSV, g.table(80000, 80100), 0)
	put := func(key, path string) []byte {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Client().PutObject(bg, &s3.PutObjectInput{Bucket: &srv.Bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		return body
	}
	bigBody := put("data/in/2024/big.parquet", big)
	pf, err := tabular.OpenParquet(bytes.NewReader(bigBody), int64(len(bigBody)))
	if err != nil {
		t.Fatal(err)
	}
	smallBody := put("data/in/small.csv", small)
	put("data/in/_SUCCESS", small)
	put("data/inside.csv", small) // a sibling that only shares the prefix's name

	in, err := OpenLocation(bg, "s3://"+srv.Bucket+"/data/in", opts)
	if err != nil {
		t.Fatal(err)
	}
	counter := &rangeCounter{S3: in.Bucket.(*blob.S3)}
	in.Bucket = counter
	files, err := ListInputs(bg, in, "")
	if err != nil {
		t.Fatal(err)
	}
	etag := func(b []byte) string { s := md5.Sum(b); return "etag:" + hex.EncodeToString(s[:]) }
	want := []core.BatchInputFile{
		{Path: "2024/big.parquet", Format: "parquet", Size: int64(len(bigBody)), Digest: etag(bigBody)},
		{Path: "small.csv", Format: "csv", Size: int64(len(smallBody)), Digest: etag(smallBody)},
	}
	if !slices.Equal(files, want) {
		t.Fatalf("inputs %+v\nwant %+v", files, want)
	}
	one, err := OpenLocation(bg, "s3://"+srv.Bucket+"/data/in/small.csv", opts)
	if err != nil {
		t.Fatal(err)
	}
	if single, err := ListInputs(bg, one, ""); err != nil || len(single) != 1 || single[0].Path != "" || single[0].Digest != etag(smallBody) {
		t.Fatalf("single S3 file: %+v, %v", single, err)
	}

	shards, err := Plan(bg, in, files, g.model, []string{"id"}, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 5 || shards[2].RowGroupStart != 4 || shards[2].RowGroupEnd != 6 || shards[2].FirstRow != 40000 {
		t.Fatalf("shards %+v", shards)
	}
	out, err := OpenLocation(bg, "s3://"+srv.Bucket+"/data/out/", opts)
	if err != nil {
		t.Fatal(err)
	}
	rej, _ := OpenLocation(bg, "s3://"+srv.Bucket+"/data/out/_rejects", opts)
	job := core.BatchJob{ID: "job-1", Spec: core.BatchJobSpec{Input: in.URI, Output: out.URI}, Inputs: files}
	for i := range shards {
		before := counter.bytes.Load()
		res, err := RunShard(bg, g.model, in, out, rej, shards[i], ShardOptions{Passthrough: []string{"id"}, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		fetched := counter.bytes.Load() - before
		if shards[i].Format == "parquet" {
			// The shard's row groups in one request, and a block each for the magic
			// bytes at the start and the footer at the end.
			var groups int64
			for _, rg := range pf.RowGroups()[shards[i].RowGroupStart:shards[i].RowGroupEnd] {
				groups += rg.Bytes
			}
			if limit := groups + 2*64<<10; fetched > limit || fetched >= int64(len(bigBody)) {
				t.Errorf("shard %d (2 of 8 row groups, %d bytes) fetched %d of the file's %d bytes", i, groups, fetched, len(bigBody))
			}
		}
		// Read the part back from S3 and check its ids.
		rc, _, err := out.Bucket.Get(bg, out.fileKey(res.Part))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		r, err := tabular.NewReader(bytes.NewReader(body), tabular.Parquet, tabular.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part, err := r.Next(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		first := shards[i].FirstRow
		if shards[i].Format == "csv" {
			first = 80000
		}
		for k, id := range part.Columns[0].Ints {
			if id != first+int64(k) {
				t.Fatalf("shard %d row %d: id %d", i, k, id)
			}
			g.checkRow(t, id, 0, part.Columns[1].Floats[k])
		}
		shards[i].Status, shards[i].RowsIn, shards[i].RowsOut, shards[i].Part, shards[i].PartDigest, shards[i].PartBytes =
			core.ShardDone, res.RowsIn, res.RowsOut, res.Part, res.PartDigest, res.PartBytes
	}
	uri, err := WriteManifest(bg, out, job, shards)
	if err != nil {
		t.Fatal(err)
	}
	if uri != "s3://"+srv.Bucket+"/data/out/_manifest.json" {
		t.Errorf("manifest at %s", uri)
	}
	rc, _, err := out.Bucket.Get(bg, "data/out/_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var m Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 5 || m.Totals.RowsOut != 80100 || m.Inputs[0].Digest != etag(bigBody) {
		t.Errorf("manifest %+v", m)
	}
}
