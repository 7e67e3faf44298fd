package predlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

// TestS3RoundTrip writes the log to a real S3-compatible server (skipped, like the
// blob tests, when none is available) and reads it back.
func TestS3RoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an S3 server")
	}
	srv := s3server.Start(t)
	b, err := blob.Open(context.Background(), "s3://"+srv.Bucket+"/"+t.Name(), blob.S3Options{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := Open(Options{Dir: t.TempDir(), Bucket: b, Prefix: "logs/predictions"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	at := time.Date(2025, 2, 3, 4, 5, 6, 7000, time.UTC)
	want := append(requestRecords("a", "ep-one", 2, at), requestRecords("b", "ep-two", 1, at.Add(24*time.Hour))...)
	mustAppend(t, l, want)
	mustFlush(t, l)
	keys, err := ListObjects(t.Context(), b, "logs/predictions")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "logs/predictions/endpoint=ep-one/date=2025-02-03/") {
		t.Fatalf("keys %v", keys)
	}
	var got []Record
	for _, k := range keys {
		recs, err := ReadObject(t.Context(), b, k)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	sortRecords(got)
	compareRecords(t, got, want)
}
