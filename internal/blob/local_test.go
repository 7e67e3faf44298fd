package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

var bg = context.Background()

func newLocal(t *testing.T) (*Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "artifacts")
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

func stagingEmpty(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{tmpDir, mpDir} {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Fatalf("staging folder %s not empty: %v", d, entries)
		}
	}
}

func TestLocalStoresUnderRoot(t *testing.T) {
	l, dir := newLocal(t)
	if l.Dir() != dir {
		t.Fatalf("Dir() = %q, want %q", l.Dir(), dir)
	}
	if err := l.Put(bg, "a//b/./c.txt", strings.NewReader("hi"), 2); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "a", "b", "c.txt"))
	if err != nil || string(data) != "hi" {
		t.Fatalf("file on disk: %q, %v", data, err)
	}
	stagingEmpty(t, dir)
}

func TestLocalFailedWritesLeaveNoTrace(t *testing.T) {
	l, dir := newLocal(t)
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("partial"), iotestErr{boom})
	if err := l.Put(bg, "x", r, -1); !errors.Is(err, boom) {
		t.Fatalf("Put = %v", err)
	}
	if err := l.Put(bg, "y", strings.NewReader("abc"), 4); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("Put with size mismatch = %v", err)
	}
	id, err := l.CreateMultipart(bg, "z")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UploadPart(bg, "z", id, 1, io.MultiReader(strings.NewReader("p"), iotestErr{boom}), -1); !errors.Is(err, boom) {
		t.Fatalf("UploadPart = %v", err)
	}
	if err := l.AbortMultipart(bg, "z", id); err != nil {
		t.Fatal(err)
	}
	stagingEmpty(t, dir)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != reservedDir {
		t.Fatalf("root holds %v, want only the staging folder", entries)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestLocalStagingIsHidden(t *testing.T) {
	l, dir := newLocal(t)
	id, err := l.CreateMultipart(bg, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UploadPart(bg, "big.bin", id, 1, strings.NewReader("part"), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, mpDir, id, "part-00001")); err != nil {
		t.Fatalf("part not staged: %v", err)
	}
	entries, err := l.List(bg, "")
	if err != nil || len(entries) != 0 {
		t.Fatalf("List(\"\") = %v, %v; staging must be hidden", entries, err)
	}
	// Path tricks in the upload id cannot reach other folders.
	for _, bad := range []string{"../mp/" + id, id + "/..", strings.ToUpper(id), ""} {
		if _, err := l.UploadPart(bg, "big.bin", bad, 1, strings.NewReader("x"), 1); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("UploadPart with id %q = %v, want ENOTFOUND", bad, err)
		}
	}
}

func TestLocalConflicts(t *testing.T) {
	l, _ := newLocal(t)
	if err := l.Put(bg, "f", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(bg, "f/below", strings.NewReader("x"), 1); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("Put below a file = %v, want ECONFLICT", err)
	}
	if err := l.Put(bg, "d/inner", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(bg, "d", strings.NewReader("x"), 1); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("Put over a folder = %v, want ECONFLICT", err)
	}
}

func TestLocalSymlinks(t *testing.T) {
	l, dir := newLocal(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "secret-link")); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(bg, "inside/f", strings.NewReader("ok"), 2); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside", filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}

	for _, k := range []string{"escape/secret", "secret-link"} {
		if rc, _, err := l.Get(bg, k); err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("Get(%q) read %q through a symlink leaving the root", k, data)
		}
	}
	if err := l.Put(bg, "escape/planted", strings.NewReader("x"), 1); err == nil {
		t.Fatal("Put through an escaping symlink succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !os.IsNotExist(err) {
		t.Fatalf("a file was written outside the root: %v", err)
	}
	if entries, err := l.List(bg, "escape"); err == nil && len(entries) > 0 {
		t.Fatalf("List through an escaping symlink = %v", entries)
	}
	_ = l.Delete(bg, "escape/secret")
	// Listing the root hides links whose target is outside.
	entries, err := l.List(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path)
	}
	if got := strings.Join(names, " "); got != "alias inside" {
		t.Fatalf("List(\"\") = %q, want \"alias inside\"", got)
	}
	// A link that stays inside the root works like the folder it names.
	if rc, _, err := l.Get(bg, "alias/f"); err != nil {
		t.Fatalf("Get through an inside symlink: %v", err)
	} else {
		rc.Close()
	}
	// Deleting the link removes the link, not its target.
	if err := l.Delete(bg, "escape"); err != nil {
		t.Fatalf("Delete(escape): %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(data) != "top secret" {
		t.Fatalf("the symlink target was damaged: %q, %v", data, err)
	}
}

func TestLocalRemovesStaleStaging(t *testing.T) {
	_, dir := newLocal(t)
	old := filepath.Join(dir, tmpDir, "leftover")
	fresh := filepath.Join(dir, tmpDir, "in-progress")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleAfter)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	l2, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("stale staging file survived: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("recent staging file removed: %v", err)
	}
}

func TestLocalCompleteChecksEveryPart(t *testing.T) {
	l, _ := newLocal(t)
	id, err := l.CreateMultipart(bg, "k")
	if err != nil {
		t.Fatal(err)
	}
	e1, err := l.UploadPart(bg, "k", id, 1, bytes.NewReader([]byte("one")), 3)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := l.UploadPart(bg, "k", id, 2, bytes.NewReader([]byte("two")), 3)
	if err != nil {
		t.Fatal(err)
	}
	// ETags of swapped parts: each exists, but not under that number.
	err = l.CompleteMultipart(bg, "k", id, []Part{{1, e2}, {2, e1}})
	if core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("Complete with swapped ETags = %v, want EINVALID", err)
	}
	// Only listed parts count: completing with part 2 alone is valid.
	if err := l.CompleteMultipart(bg, "k", id, []Part{{2, e2}}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := l.Get(bg, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, _ := io.ReadAll(rc); string(data) != "two" {
		t.Fatalf("Get = %q", data)
	}
}

func TestLocalContextCancelledBeforePut(t *testing.T) {
	l, dir := newLocal(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := l.Put(ctx, "x", strings.NewReader("data"), 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v", err)
	}
	stagingEmpty(t, dir)
}

func TestLocalGetSkipsSpecialFiles(t *testing.T) {
	l, dir := newLocal(t)
	if err := syscallMkfifo(filepath.Join(dir, "fifo")); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := l.Get(bg, "fifo"); done <- err }()
	select {
	case err := <-done:
		if core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("Get(fifo) = %v, want ENOTFOUND", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get of a FIFO blocked")
	}
}

// RemoveStaging leaves a written folder with only its files, keeps staging that is in
// use, and a later write (through this bucket or another on the folder) still works.
func TestLocalRemoveStaging(t *testing.T) {
	l, dir := newLocal(t)
	other, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := l.Put(bg, "a.txt", strings.NewReader("a"), 1); err != nil {
		t.Fatal(err)
	}
	id, err := l.CreateMultipart(bg, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	l.RemoveStaging()
	if _, err := os.Stat(filepath.Join(dir, mpDir, id)); err != nil {
		t.Fatalf("an upload in progress lost its staging: %v", err)
	}
	if err := l.AbortMultipart(bg, "big.bin", id); err != nil {
		t.Fatal(err)
	}
	l.RemoveStaging()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "a.txt" {
		t.Fatalf("folder after RemoveStaging: %v %v; want only a.txt", entries, err)
	}
	for _, b := range []*Local{other, l} {
		if err := b.Put(bg, "b.txt", strings.NewReader("bb"), 2); err != nil {
			t.Fatalf("write after RemoveStaging: %v", err)
		}
	}
}
