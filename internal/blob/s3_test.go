package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

func openS3(t *testing.T, srv *s3server.Server, prefix string) *S3 {
	t.Helper()
	b, err := NewS3(bg, "s3://"+srv.Bucket+prefix, S3Options{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rawPut(t *testing.T, srv *s3server.Server, key, body string) {
	t.Helper()
	_, err := srv.Client().PutObject(bg, &s3.PutObjectInput{Bucket: &srv.Bucket, Key: &key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("raw put %q: %v", key, err)
	}
}

func rawKeys(t *testing.T, srv *s3server.Server) []string {
	t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(srv.Client(), &s3.ListObjectsV2Input{Bucket: &srv.Bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// Small pages and batches make List and Delete walk several of each.
func TestS3Pagination(t *testing.T) {
	srv := s3server.Start(t)
	b := openS3(t, srv, "/pages")
	b.listPage, b.deleteBatch = 7, 5
	var want []string
	for i := range 40 {
		k := fmt.Sprintf("dir/f%02d", i)
		if err := b.Put(bg, k, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	for i := range 9 {
		if err := b.Put(bg, fmt.Sprintf("dir/sub%d/deep/x", i), strings.NewReader("y"), 1); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("dir/sub%d/", i))
	}
	entries, err := b.List(bg, "dir")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		p := e.Path
		if e.IsDir {
			p += "/"
		}
		got = append(got, p)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List(dir)\n got %v\nwant %v", got, want)
	}
	if err := b.Put(bg, "dirx", strings.NewReader("z"), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(bg, "dir"); err != nil {
		t.Fatal(err)
	}
	if keys := rawKeys(t, srv); strings.Join(keys, " ") != "pages/dirx" {
		t.Fatalf("after Delete(dir) the bucket holds %v", keys)
	}
}

func TestS3PrefixIsolation(t *testing.T) {
	srv := s3server.Start(t)
	rawPut(t, srv, "root-object", "r")
	rawPut(t, srv, "pre.txt", "a file named like the prefix")
	rawPut(t, srv, "prefix-sibling/x", "s")
	b := openS3(t, srv, "/pre/")
	if err := b.Put(bg, "mine", strings.NewReader("m"), 1); err != nil {
		t.Fatal(err)
	}
	entries, err := b.List(bg, "")
	if err != nil || len(entries) != 1 || entries[0].Path != "mine" {
		t.Fatalf("List(\"\") = %v, %v; want only mine", entries, err)
	}
	for _, k := range []string{"root-object", "../pre"} {
		if _, _, err := b.Get(bg, k); err == nil {
			t.Fatalf("Get(%q) reached outside the prefix", k)
		}
	}
	if err := b.Delete(bg, "mine"); err != nil {
		t.Fatal(err)
	}
	if keys := rawKeys(t, srv); strings.Join(keys, " ") != "pre.txt prefix-sibling/x root-object" {
		t.Fatalf("bucket holds %v", keys)
	}
}

// Names written by other tools that would not survive CleanKey are not listed.
func TestS3ListSkipsUnsafeNames(t *testing.T) {
	srv := s3server.Start(t)
	rawPut(t, srv, "d/ok.txt", "ok")
	rawPut(t, srv, `d/back\slash`, "b")
	b := openS3(t, srv, "")
	entries, err := b.List(bg, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Path != "d/ok.txt" || entries[0].Size != 2 {
		t.Fatalf("List(d) = %+v", entries)
	}
}

func TestS3FailedPutAbortsUpload(t *testing.T) {
	srv := s3server.Start(t)
	b := openS3(t, srv, "")
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(make([]byte, 3*defaultPartSize/2)), iotestErr{boom})
	if err := b.Put(bg, "big", r, -1); !errors.Is(err, boom) {
		t.Fatalf("Put = %v", err)
	}
	out, err := srv.Client().ListMultipartUploads(bg, &s3.ListMultipartUploadsInput{Bucket: &srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("failed Put left %d multipart uploads behind", len(out.Uploads))
	}
	// Announced size larger than the body, detected after the first part.
	r = bytes.NewReader(make([]byte, defaultPartSize+10))
	if err := b.Put(bg, "big", r, 2*defaultPartSize); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("Put with short body = %v", err)
	}
	if len(rawKeys(t, srv)) != 0 {
		t.Fatal("failed Put left an object")
	}
}

func TestS3MissingBucketIsNotNotFound(t *testing.T) {
	srv := s3server.Start(t)
	srv.Bucket = "plinth-no-such-bucket"
	b := openS3(t, srv, "")
	_, _, err := b.Get(bg, "k")
	if err == nil || core.ErrorCode(err) == core.ENOTFOUND {
		t.Fatalf("Get from a missing bucket = %v; a missing bucket is a configuration error", err)
	}
}

func TestNewS3Validation(t *testing.T) {
	bad := []string{"s3://", "s3:///prefix", "s3://b/../x", "s3://b/a?x=1", "s3://user@b/x", "http://b/x"}
	for _, loc := range bad {
		if _, err := NewS3(bg, loc, S3Options{}); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("NewS3(%q) = %v, want EINVALID", loc, err)
		}
	}
	if _, err := NewS3(bg, "s3://b/p", S3Options{AccessKeyID: "only-id"}); core.ErrorCode(err) != core.EINVALID {
		t.Errorf("half credentials: %v", err)
	}
	b, err := NewS3(context.Background(), "s3://bkt//a/./b/", S3Options{AccessKeyID: "k", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if b.bucket != "bkt" || b.prefix != "a/b" || b.full("x/y") != "a/b/x/y" {
		t.Fatalf("parsed bucket %q prefix %q", b.bucket, b.prefix)
	}
}
