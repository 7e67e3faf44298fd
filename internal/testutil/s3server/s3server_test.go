package s3server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartServesFreshBucket(t *testing.T) {
	a := Start(t)
	b := Start(t)
	if a.Bucket == b.Bucket {
		t.Fatalf("two starts returned the same bucket %q", a.Bucket)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := a.Client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &a.Bucket, Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &a.Bucket})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "k" {
		t.Fatalf("bucket holds %v, want just k", out.Contents)
	}
}

func TestFindBinaryHonoursEnv(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "versitygw")
	t.Setenv(EnvBinary, fake)
	if got := FindBinary(); got != "" {
		t.Fatalf("missing explicit binary: got %q, want \"\"", got)
	}
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := FindBinary(); got != fake {
		t.Fatalf("got %q, want %q", got, fake)
	}
}
