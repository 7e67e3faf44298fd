package blob

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cases := map[string]string{
		"plain/relative":                              filepath.Join(dir, "plain", "relative"),
		filepath.Join(dir, "abs"):                     filepath.Join(dir, "abs"),
		"file://" + filepath.Join(dir, "url"):         filepath.Join(dir, "url"),
		"file://localhost" + filepath.Join(dir, "lh"): filepath.Join(dir, "lh"),
	}
	for loc, want := range cases {
		b, err := Open(bg, loc, S3Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", loc, err)
		}
		l, ok := b.(*Local)
		if !ok || l.Dir() != want {
			t.Fatalf("Open(%q) = %T %v, want a local bucket at %s", loc, b, b, want)
		}
		if st, err := os.Stat(want); err != nil || !st.IsDir() {
			t.Fatalf("Open(%q) did not create the folder: %v", loc, err)
		}
		b.Close()
	}

	b, err := Open(bg, "s3://bucket/some/prefix", S3Options{Region: "eu-west-3", AccessKeyID: "k", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := b.(*S3)
	if !ok || s.bucket != "bucket" || s.prefix != "some/prefix" || s.client.Options().Region != "eu-west-3" {
		t.Fatalf("Open(s3://...) = %#v", b)
	}

	for _, loc := range []string{"", "gs://bucket/x", "file://otherhost/x", "file://", "mlflow-artifacts:/x://"} {
		if _, err := Open(bg, loc, S3Options{}); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", loc, err)
		}
	}
}

func TestOpenS3DefaultRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	b, err := NewS3(bg, "s3://bucket", S3Options{AccessKeyID: "k", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if r := b.client.Options().Region; r != "us-east-1" {
		t.Fatalf("region %q, want us-east-1", r)
	}
}
