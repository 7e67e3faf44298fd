package blob_test

import (
	"context"
	"testing"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/blob/blobtest"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

func TestLocalConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Bucket {
		b, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestS3Conformance(t *testing.T) {
	srv := s3server.Start(t)
	blobtest.Run(t, func(t *testing.T) blob.Bucket {
		// Each test gets its own prefix in the shared bucket.
		b, err := blob.Open(context.Background(), "s3://"+srv.Bucket+"/"+t.Name(), blob.S3Options{
			Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
			AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
