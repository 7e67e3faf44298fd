// Package blobtest is the conformance suite every blob.Bucket passes: run it
// from a test with a constructor that returns a fresh, empty bucket.
package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// Run runs every conformance test; newBucket must return an empty bucket
// that the test may close.
func Run(t *testing.T, newBucket func(t *testing.T) blob.Bucket) {
	tests := []struct {
		name string
		fn   func(*testing.T, blob.Bucket)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"SizeMismatch", testSizeMismatch},
		{"ReaderError", testReaderError},
		{"CancelledPut", testCancelledPut},
		{"NotFound", testNotFound},
		{"List", testList},
		{"ListMany", testListMany},
		{"Delete", testDelete},
		{"UnsafeKeys", testUnsafeKeys},
		{"Multipart", testMultipart},
		{"MultipartErrors", testMultipartErrors},
		{"Concurrent", testConcurrent},
		{"LargeStream", testLargeStream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(t)
			t.Cleanup(func() { b.Close() })
			tc.fn(t, b)
		})
	}
}

var ctx = context.Background()

func put(t *testing.T, b blob.Bucket, key, body string) {
	t.Helper()
	if err := b.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, b blob.Bucket, key string) string {
	t.Helper()
	rc, size, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	if int64(len(data)) != size {
		t.Fatalf("Get(%q) announced %d bytes, streamed %d", key, size, len(data))
	}
	return string(data)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := core.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func wantMissing(t *testing.T, b blob.Bucket, key string) {
	t.Helper()
	rc, _, err := b.Get(ctx, key)
	if err == nil {
		rc.Close()
	}
	wantCode(t, "Get("+key+")", err, core.ENOTFOUND)
}

func list(t *testing.T, b blob.Bucket, dir string) string {
	t.Helper()
	entries, err := b.List(ctx, dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
	}
	if entries == nil {
		t.Fatalf("List(%q) returned nil, want an empty slice", dir)
	}
	var parts []string
	for _, e := range entries {
		if e.IsDir {
			parts = append(parts, e.Path+"/")
		} else {
			parts = append(parts, fmt.Sprintf("%s:%d", e.Path, e.Size))
		}
	}
	return strings.Join(parts, " ")
}

func testPutGet(t *testing.T, b blob.Bucket) {
	cases := map[string]string{
		"top.txt":                 "hello",
		"a/b/c/deep.json":         `{"x": 1}`,
		"with space/ünïcødé ✓.md": "unicode",
		"empty":                   "",
		"dots/..hidden/...x":      "dots are fine when not a '..' segment",
	}
	for k, v := range cases {
		put(t, b, k, v)
	}
	for k, v := range cases {
		if got := get(t, b, k); got != v {
			t.Errorf("Get(%q) = %q, want %q", k, got, v)
		}
	}
	// Non-canonical spellings of the same key reach the same object.
	put(t, b, "n//x/./y/", "normalised")
	if got := get(t, b, "n/x/y"); got != "normalised" {
		t.Fatalf("Get(n/x/y) = %q", got)
	}
	if got := get(t, b, "./n/x//y"); got != "normalised" {
		t.Fatalf("Get(./n/x//y) = %q", got)
	}
	// Unknown size streams too.
	if err := b.Put(ctx, "unknown-size", strings.NewReader("abc"), -1); err != nil {
		t.Fatalf("Put size -1: %v", err)
	}
	if got := get(t, b, "unknown-size"); got != "abc" {
		t.Fatalf("Get(unknown-size) = %q", got)
	}
}

func testOverwrite(t *testing.T, b blob.Bucket) {
	put(t, b, "f", "first version, longer")
	put(t, b, "f", "second")
	if got := get(t, b, "f"); got != "second" {
		t.Fatalf("after overwrite Get = %q", got)
	}
}

func testSizeMismatch(t *testing.T, b blob.Bucket) {
	err := b.Put(ctx, "short", strings.NewReader("12345"), 10)
	wantCode(t, "Put with fewer bytes than announced", err, core.EINVALID)
	wantMissing(t, b, "short")
	err = b.Put(ctx, "long", strings.NewReader("12345"), 3)
	wantCode(t, "Put with more bytes than announced", err, core.EINVALID)
	wantMissing(t, b, "long")
}

// failingReader yields n bytes and then an error.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	m := min(len(p), f.n)
	for i := range p[:m] {
		p[i] = 'x'
	}
	f.n -= m
	return m, nil
}

func testReaderError(t *testing.T, b blob.Bucket) {
	boom := errors.New("client went away")
	for _, n := range []int{0, 100, 12 << 20} { // empty, small, and past one S3 part
		key := fmt.Sprintf("broken-%d", n)
		err := b.Put(ctx, key, &failingReader{n: n, err: boom}, -1)
		if !errors.Is(err, boom) {
			t.Fatalf("Put(%s) = %v, want the reader's error", key, err)
		}
		wantMissing(t, b, key)
	}
	// A failed replace keeps the old object whole.
	put(t, b, "kept", "original")
	if err := b.Put(ctx, "kept", &failingReader{n: 50, err: boom}, 100); err == nil {
		t.Fatal("Put with failing reader succeeded")
	}
	if got := get(t, b, "kept"); got != "original" {
		t.Fatalf("after failed replace Get = %q", got)
	}
	if got := list(t, b, ""); got != "kept:8" {
		t.Fatalf("failed puts left something visible: %s", got)
	}
}

// cancelReader cancels its context after n bytes and keeps yielding data.
type cancelReader struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	m := min(len(p), 4096)
	c.n -= m
	return m, nil
}

func testCancelledPut(t *testing.T, b blob.Bucket) {
	for _, n := range []int{1000, 10 << 20} {
		cctx, cancel := context.WithCancel(ctx)
		err := b.Put(cctx, "cancelled", &cancelReader{n: n, cancel: cancel}, -1)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Put after %d bytes = %v, want context.Canceled", n, err)
		}
		wantMissing(t, b, "cancelled")
	}
}

func testNotFound(t *testing.T, b blob.Bucket) {
	wantMissing(t, b, "nope")
	wantMissing(t, b, "no/such/deep/key")
	put(t, b, "dir/file", "x")
	wantMissing(t, b, "dir")            // a folder is not an object
	wantMissing(t, b, "dir/file/below") // below a file
	_, _, err := b.Get(ctx, "")
	wantCode(t, "Get of the root", err, core.EINVALID)
}

func testList(t *testing.T, b blob.Bucket) {
	if got := list(t, b, ""); got != "" {
		t.Fatalf("fresh bucket lists %q", got)
	}
	put(t, b, "run/artifacts/model/MLmodel", "abc")
	put(t, b, "run/artifacts/model/weights.bin", "0123456789")
	put(t, b, "run/artifacts/metrics.json", "{}")
	put(t, b, "run/artifacts/b.txt", "b")
	put(t, b, "run/artifacts/a.txt", "aa")
	put(t, b, "run/artifacts-other/x", "x")
	put(t, b, "top", "t")

	checks := map[string]string{
		"":                    "run/ top:1",
		"run":                 "run/artifacts/ run/artifacts-other/",
		"run/artifacts":       "run/artifacts/a.txt:2 run/artifacts/b.txt:1 run/artifacts/metrics.json:2 run/artifacts/model/",
		"run/artifacts/":      "run/artifacts/a.txt:2 run/artifacts/b.txt:1 run/artifacts/metrics.json:2 run/artifacts/model/",
		"./run//artifacts":    "run/artifacts/a.txt:2 run/artifacts/b.txt:1 run/artifacts/metrics.json:2 run/artifacts/model/",
		"run/artifacts/model": "run/artifacts/model/MLmodel:3 run/artifacts/model/weights.bin:10",
		"run/art":             "", // a prefix that is not a folder lists nothing
		"missing/dir":         "",
		"top":                 "", // a file has no children
	}
	for dir, want := range checks {
		if got := list(t, b, dir); got != want {
			t.Errorf("List(%q)\n got %q\nwant %q", dir, got, want)
		}
	}
}

func testListMany(t *testing.T, b blob.Bucket) {
	var want []string
	for i := range 60 {
		key := fmt.Sprintf("many/f%03d", i)
		put(t, b, key, strings.Repeat("x", i))
		want = append(want, fmt.Sprintf("%s:%d", key, i))
	}
	for i := range 5 {
		put(t, b, fmt.Sprintf("many/sub%d/inner", i), "y")
		want = append(want, fmt.Sprintf("many/sub%d/", i))
	}
	slices.Sort(want)
	if got := list(t, b, "many"); got != strings.Join(want, " ") {
		t.Fatalf("List(many)\n got %q\nwant %q", got, strings.Join(want, " "))
	}
}

func testDelete(t *testing.T, b blob.Bucket) {
	put(t, b, "d/keep.txt", "k")
	put(t, b, "d/gone.txt", "g")
	put(t, b, "tree/a", "1")
	put(t, b, "tree/sub/b", "2")
	put(t, b, "tree/sub/deeper/c", "3")
	put(t, b, "tree2/survivor", "s") // shares a prefix with "tree", not a folder

	if err := b.Delete(ctx, "d/gone.txt"); err != nil {
		t.Fatalf("Delete file: %v", err)
	}
	wantMissing(t, b, "d/gone.txt")
	if got := get(t, b, "d/keep.txt"); got != "k" {
		t.Fatalf("sibling damaged: %q", got)
	}
	if err := b.Delete(ctx, "tree/"); err != nil {
		t.Fatalf("Delete folder: %v", err)
	}
	for _, k := range []string{"tree/a", "tree/sub/b", "tree/sub/deeper/c"} {
		wantMissing(t, b, k)
	}
	if got := get(t, b, "tree2/survivor"); got != "s" {
		t.Fatalf("tree2/survivor damaged: %q", got)
	}
	if got := list(t, b, ""); got != "d/ tree2/" {
		t.Fatalf("after deletes root lists %q", got)
	}
	for _, k := range []string{"never/existed", "tree", "d/gone.txt"} {
		if err := b.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q) of nothing: %v", k, err)
		}
	}
	for _, root := range []string{"", ".", "/", "./"} {
		wantCode(t, fmt.Sprintf("Delete(%q)", root), b.Delete(ctx, root), core.EINVALID)
	}
	if got := get(t, b, "d/keep.txt"); got != "k" {
		t.Fatalf("root delete attempt damaged data: %q", got)
	}
}

// UnsafeKeys are refused by every method of every bucket.
var UnsafeKeys = []string{
	"../escape", "a/../../escape", "a/..", "..", "/etc/passwd", "//server/share",
	`a\..\b`, `..\escape`, "C:/Windows", "c:evil", "a\x00b", "a\nb", "tab\there", "\x7f",
	"\xff\xfe", ".plinth-uploads/x", "./.PLINTH-UPLOADS", strings.Repeat("k", blob.MaxKeyLen+1),
}

func testUnsafeKeys(t *testing.T, b blob.Bucket) {
	for _, k := range UnsafeKeys {
		wantCode(t, fmt.Sprintf("Put(%q)", k), b.Put(ctx, k, strings.NewReader("x"), 1), core.EINVALID)
		_, _, err := b.Get(ctx, k)
		wantCode(t, fmt.Sprintf("Get(%q)", k), err, core.EINVALID)
		_, err = b.List(ctx, k)
		wantCode(t, fmt.Sprintf("List(%q)", k), err, core.EINVALID)
		wantCode(t, fmt.Sprintf("Delete(%q)", k), b.Delete(ctx, k), core.EINVALID)
		_, err = b.CreateMultipart(ctx, k)
		wantCode(t, fmt.Sprintf("CreateMultipart(%q)", k), err, core.EINVALID)
	}
	if got := list(t, b, ""); got != "" {
		t.Fatalf("refused keys left something behind: %s", got)
	}
}

// pattern returns n deterministic bytes that differ per seed.
func pattern(seed byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31) ^ seed
	}
	return p
}

func md5ETag(p []byte) string {
	s := md5.Sum(p)
	return hex.EncodeToString(s[:])
}

func uploadPart(t *testing.T, b blob.Bucket, key, id string, n int, body []byte) blob.Part {
	t.Helper()
	etag, err := b.UploadPart(ctx, key, id, n, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("UploadPart %d: %v", n, err)
	}
	if strings.Trim(etag, `"`) != md5ETag(body) {
		t.Fatalf("part %d ETag %s, want the MD5 %s", n, etag, md5ETag(body))
	}
	return blob.Part{Number: n, ETag: etag}
}

func testMultipart(t *testing.T, b blob.Bucket) {
	const key = "mp/model.bin"
	p1, p2, p3 := pattern(1, 5<<20), pattern(2, 5<<20), pattern(3, 1234)
	id, err := b.CreateMultipart(ctx, key)
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	// Parts arrive out of order; part 2 is sent twice and the last copy wins.
	e3 := uploadPart(t, b, key, id, 3, p3)
	uploadPart(t, b, key, id, 2, pattern(9, 5<<20))
	e2 := uploadPart(t, b, key, id, 2, p2)
	// A part of unknown size.
	etag, err := b.UploadPart(ctx, key, id, 1, bytes.NewReader(p1), -1)
	if err != nil {
		t.Fatalf("UploadPart of unknown size: %v", err)
	}
	e1 := blob.Part{Number: 1, ETag: etag}

	if got := list(t, b, ""); got != "" {
		t.Fatalf("an unfinished upload is visible: %s", got)
	}
	wantMissing(t, b, key)
	if err := b.CompleteMultipart(ctx, key, id, []blob.Part{e3, e1, e2}); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	want := slices.Concat(p1, p2, p3)
	if got := get(t, b, key); got != string(want) {
		t.Fatalf("completed object differs: %d bytes, want %d", len(got), len(want))
	}
	if got := list(t, b, "mp"); got != fmt.Sprintf("mp/model.bin:%d", len(want)) {
		t.Fatalf("List(mp) = %s", got)
	}
	// The upload is gone once completed.
	_, err = b.UploadPart(ctx, key, id, 4, strings.NewReader("x"), 1)
	wantCode(t, "UploadPart after complete", err, core.ENOTFOUND)

	// Abort discards everything.
	id, err = b.CreateMultipart(ctx, "mp/aborted")
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	uploadPart(t, b, "mp/aborted", id, 1, []byte("some data"))
	if err := b.AbortMultipart(ctx, "mp/aborted", id); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	wantMissing(t, b, "mp/aborted")
	_, err = b.UploadPart(ctx, "mp/aborted", id, 2, strings.NewReader("x"), 1)
	wantCode(t, "UploadPart after abort", err, core.ENOTFOUND)
	err = b.CompleteMultipart(ctx, "mp/aborted", id, []blob.Part{{Number: 1, ETag: md5ETag([]byte("some data"))}})
	wantCode(t, "CompleteMultipart after abort", err, core.ENOTFOUND)
	if got := list(t, b, "mp"); got != fmt.Sprintf("mp/model.bin:%d", len(want)) {
		t.Fatalf("after abort List(mp) = %s", got)
	}
}

func testMultipartErrors(t *testing.T, b blob.Bucket) {
	const key = "mpe/obj"
	id, err := b.CreateMultipart(ctx, key)
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	good := uploadPart(t, b, key, id, 1, []byte("only part"))

	for _, n := range []int{0, -1, 10001} {
		_, err := b.UploadPart(ctx, key, id, n, strings.NewReader("x"), 1)
		wantCode(t, fmt.Sprintf("UploadPart number %d", n), err, core.EINVALID)
	}
	_, err = b.UploadPart(ctx, key, id, 2, strings.NewReader("abc"), 10)
	wantCode(t, "UploadPart shorter than announced", err, core.EINVALID)

	bad := []struct {
		name  string
		parts []blob.Part
	}{
		{"no parts", nil},
		{"wrong etag", []blob.Part{{Number: 1, ETag: `"` + md5ETag([]byte("other")) + `"`}}},
		{"missing part", []blob.Part{good, {Number: 7, ETag: md5ETag([]byte("x"))}}},
		{"duplicate part", []blob.Part{good, good}},
	}
	for _, tc := range bad {
		wantCode(t, "CompleteMultipart with "+tc.name, b.CompleteMultipart(ctx, key, id, tc.parts), core.EINVALID)
		wantMissing(t, b, key)
	}
	// Unknown upload ids, and a real id used with another key.
	for _, other := range []string{"0123456789abcdef0123456789abcdef", "not-an-upload"} {
		_, err := b.UploadPart(ctx, key, other, 1, strings.NewReader("x"), 1)
		wantCode(t, "UploadPart with unknown id", err, core.ENOTFOUND)
		wantCode(t, "CompleteMultipart with unknown id", b.CompleteMultipart(ctx, key, other, []blob.Part{good}), core.ENOTFOUND)
		wantCode(t, "AbortMultipart with unknown id", b.AbortMultipart(ctx, key, other), core.ENOTFOUND)
	}
	_, err = b.UploadPart(ctx, "mpe/other-key", id, 1, strings.NewReader("x"), 1)
	wantCode(t, "UploadPart with another key", err, core.ENOTFOUND)
	_, err = b.UploadPart(ctx, "../x", id, 1, strings.NewReader("x"), 1)
	wantCode(t, "UploadPart with unsafe key", err, core.EINVALID)

	// The upload survived the failed attempts and still completes.
	if err := b.CompleteMultipart(ctx, key, id, []blob.Part{good}); err != nil {
		t.Fatalf("CompleteMultipart after failed attempts: %v", err)
	}
	if got := get(t, b, key); got != "only part" {
		t.Fatalf("Get = %q", got)
	}
}

func testConcurrent(t *testing.T, b blob.Bucket) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			key := fmt.Sprintf("conc/%d/file", i%4) // shared folders, distinct files
			key += fmt.Sprint(i)
			body := strings.Repeat(fmt.Sprint(i), 1000+i)
			if err := b.Put(ctx, key, strings.NewReader(body), -1); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Put: %v", err)
	}
	for i := range 16 {
		key := fmt.Sprintf("conc/%d/file%d", i%4, i)
		if got := get(t, b, key); got != strings.Repeat(fmt.Sprint(i), 1000+i) {
			t.Fatalf("Get(%s) has %d bytes", key, len(got))
		}
	}
}

// LargeStreamSize is the size of the streaming test; smaller under the race
// detector, whose instrumentation makes generating bytes slow.
var LargeStreamSize int64 = 100 << 20

func testLargeStream(t *testing.T, b blob.Bucket) {
	size := LargeStreamSize
	if raceEnabled || testing.Short() {
		size = 24 << 20
	}
	want := hashStream(t, newGenerator(size))

	mem := startMemWatch()
	if err := b.Put(ctx, "large/stream.bin", newGenerator(size), -1); err != nil {
		t.Fatalf("Put of %d bytes: %v", size, err)
	}
	rc, n, err := b.Get(ctx, "large/stream.bin")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got := hashStream(t, rc)
	rc.Close()
	peak := mem.stop()

	if n != size {
		t.Fatalf("Get announced %d bytes, want %d", n, size)
	}
	if got != want {
		t.Fatalf("streamed content differs from what was put")
	}
	if got := list(t, b, "large"); got != fmt.Sprintf("large/stream.bin:%d", size) {
		t.Fatalf("List(large) = %s", got)
	}
	// Streaming must not hold the object: allow buffers, not the body.
	if limit := uint64(48 << 20); peak > limit {
		t.Fatalf("heap grew by %d MiB while streaming %d MiB; the object is being buffered", peak>>20, size>>20)
	}
	t.Logf("streamed %d MiB with %d MiB peak heap growth", size>>20, peak>>20)
}

func hashStream(t *testing.T, r io.Reader) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("read stream: %v", err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
