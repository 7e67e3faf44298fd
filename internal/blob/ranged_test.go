package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/testutil/s3server"
)

// rangedBucket is what the range tests need of a bucket.
type rangedBucket interface {
	Bucket
	RangeReader
	Statter
}

func testRanges(t *testing.T, b rangedBucket) {
	data := make([]byte, 700_000)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	if err := b.Put(bg, "r/obj", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ off, n int64 }{{0, 1}, {0, 700_000}, {123_456, 1000}, {699_999, 1}, {700_000, 0}} {
		rc, err := b.GetRange(bg, "r/obj", c.off, c.n)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[c.off:c.off+c.n]) {
			t.Fatalf("GetRange(%d, %d): %d bytes, %v", c.off, c.n, len(got), err)
		}
	}
	for _, c := range []struct{ off, n int64 }{{-1, 2}, {699_999, 2}, {800_000, 1}} {
		if rc, err := b.GetRange(bg, "r/obj", c.off, c.n); err == nil {
			rc.Close()
			t.Errorf("GetRange(%d, %d) past the end: no error", c.off, c.n)
		}
	}
	if _, err := b.GetRange(bg, "r/none", 0, 1); core.ErrorCode(err) != core.ENOTFOUND {
		t.Errorf("GetRange of a missing key: %v", err)
	}
	info, err := b.Stat(bg, "r/obj")
	if err != nil || info.Size != int64(len(data)) || info.Key != "r/obj" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	for _, k := range []string{"r", "r/none"} {
		if _, err := b.Stat(bg, k); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("Stat(%q) = %v, want not found", k, err)
		}
	}

	counted := &countingRanges{RangeReader: b}
	ra := NewReaderAt(bg, counted, "r/obj", int64(len(data)))
	defer ra.Close()
	read := func(off int64, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := ra.ReadAt(p, off)
		want := min(int64(n), int64(len(data))-off)
		if int64(got) != want || !bytes.Equal(p[:got], data[off:off+want]) || (want < int64(n)) != (err == io.EOF) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, got, err)
		}
	}
	read(int64(len(data))-8, 8) // a footer's length…
	read(int64(len(data))-5000, 4992)
	if n := counted.n.Load(); n != 1 {
		t.Errorf("footer reads took %d requests, want 1", n)
	}
	read(int64(len(data))-4, 10) // short at the end: io.EOF
	if err := ra.Prefetch(100_000, 300_000, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	before := counted.n.Load()
	for off := int64(100_000); off < 400_000; off += 4096 {
		read(off, int(min(4096, 400_000-off)))
	}
	if n := counted.n.Load() - before; n != 0 {
		t.Errorf("reads inside the prefetched range took %d requests", n)
	}
	read(50, 1) // outside: fetched
	if err := ra.Prefetch(0, int64(len(data))+1, ""); err == nil {
		t.Error("Prefetch past the end: no error")
	}
}

type countingRanges struct {
	RangeReader
	n atomic.Int64
}

func (c *countingRanges) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.n.Add(1)
	return c.RangeReader.GetRange(ctx, key, off, n)
}

func TestLocalRanges(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	testRanges(t, l)
}

func TestS3Ranges(t *testing.T) {
	srv := s3server.Start(t)
	b := openS3(t, srv, "/ranges")
	testRanges(t, b)
	info, err := b.Stat(bg, "r/obj")
	if err != nil || len(info.ETag) != 32 {
		t.Fatalf("Stat = %+v, %v; want the MD5 ETag of a single-part object", info, err)
	}
}

func TestS3ListTree(t *testing.T) {
	srv := s3server.Start(t)
	rawPut(t, srv, "in/a.csv", "a")
	rawPut(t, srv, "in/sub/b.csv", "bb")
	rawPut(t, srv, "in/sub/deeper/c.csv", "ccc")
	rawPut(t, srv, `in/back\slash`, "x")
	rawPut(t, srv, "in-sibling/d.csv", "d")
	rawPut(t, srv, "ina.csv", "e")
	b := openS3(t, srv, "")
	objs, err := b.ListTree(bg, "in")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		sum := md5.Sum([]byte(strings.Repeat(o.Key[len(o.Key)-5:len(o.Key)-4], int(o.Size))))
		if o.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: ETag %q", o.Key, o.ETag)
		}
		got = append(got, fmt.Sprintf("%s:%d", o.Key, o.Size))
	}
	if strings.Join(got, " ") != "in/a.csv:1 in/sub/b.csv:2 in/sub/deeper/c.csv:3" {
		t.Errorf("ListTree(in) = %v", got)
	}
}

// A folder opened with OpenLocalDir is not written to until something is stored.
func TestOpenLocalDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if entries, err := l.List(bg, ""); err != nil || len(entries) != 1 {
		t.Fatalf("List = %v, %v", entries, err)
	}
	if _, err := os.Stat(filepath.Join(dir, reservedDir)); !os.IsNotExist(err) {
		t.Fatalf("reading made the staging folder: %v", err)
	}
	if err := l.Put(bg, "out/x", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "x")); err != nil || string(b) != "x" {
		t.Fatalf("stored %q, %v", b, err)
	}
	stagingEmpty(t, dir)
	if _, err := OpenLocalDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("OpenLocalDir of a missing folder: no error")
	}
}
