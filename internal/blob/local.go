package blob

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

// Staging layout inside the reserved folder: tmp/ holds files being written
// (renamed into place when complete), mp/<uploadID>/ holds multipart uploads.
const (
	tmpDir     = reservedDir + "/tmp"
	mpDir      = reservedDir + "/mp"
	keyFile    = "key"
	maxParts   = 10000
	staleAfter = 24 * time.Hour
)

// Local is a Bucket in a folder of the local filesystem. All access goes
// through an os.Root, so neither ".." nor symlinks can reach outside it.
type Local struct {
	root   *os.Root
	dir    string
	staged atomic.Bool // the staging folders exist (OpenLocalDir makes them on first write)
}

var _ Bucket = (*Local)(nil)

// NewLocal opens (creating it if needed) the folder dir as a bucket.
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("artifact folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create artifact folder: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open artifact folder: %w", err)
	}
	for _, d := range []string{tmpDir, mpDir} {
		if err := root.MkdirAll(d, 0o700); err != nil {
			root.Close()
			return nil, fmt.Errorf("create staging folder: %w", err)
		}
	}
	l := &Local{root: root, dir: abs}
	l.staged.Store(true)
	l.removeStale()
	return l, nil
}

// Dir returns the absolute path of the bucket's folder.
func (l *Local) Dir() string { return l.dir }

// removeStale deletes staging leftovers of a crash, best effort.
func (l *Local) removeStale() {
	cutoff := time.Now().Add(-staleAfter)
	for _, d := range []string{tmpDir, mpDir} {
		entries, err := fs.ReadDir(l.root.FS(), d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				_ = l.root.RemoveAll(d + "/" + e.Name())
			}
		}
	}
}

func (l *Local) Close() error { return l.root.Close() }

// ctxReader fails reads once ctx is done, so a cancelled request stops a copy.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// writeTemp copies r into a new staging file and returns its name. On any
// error, including a size mismatch, the file is removed. h, when not nil,
// sees every byte written.
func (l *Local) writeTemp(ctx context.Context, r io.Reader, size int64, h hash.Hash) (string, error) {
	if err := l.ensureStaging(); err != nil {
		return "", err
	}
	name := tmpDir + "/" + randomHex(16)
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) { // RemoveStaging took the folder (perhaps through another bucket)
		l.staged.Store(false)
		if err := l.ensureStaging(); err != nil {
			return "", err
		}
		f, err = l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("create staging file: %w", err)
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(w, ctxReader{ctx, r}, *buf)
	copyBufs.Put(buf)
	if err == nil && size >= 0 && n != size {
		err = core.Errorf(core.EINVALID, "body has %d bytes, expected %d", n, size)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write staging file: %w", cerr)
	}
	if err != nil {
		_ = l.root.Remove(name)
		return "", err
	}
	return name, nil
}

// publish moves a finished staging file to key, creating parent folders.
func (l *Local) publish(tmp, key string) error {
	var err error
	// A concurrent Delete may prune the parent between MkdirAll and Rename: retry once.
	for range 2 {
		if dir := path.Dir(key); dir != "." {
			if err = l.root.MkdirAll(dir, 0o755); err != nil {
				break
			}
		}
		if err = l.root.Rename(tmp, key); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err == nil {
		return nil
	}
	_ = l.root.Remove(tmp)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) {
		return core.Errorf(core.ECONFLICT, "artifact path %q conflicts with an existing file or folder", key)
	}
	return fmt.Errorf("store artifact %q: %w", key, err)
}

func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	tmp, err := l.writeTemp(ctx, r, size, nil)
	if err != nil {
		return err
	}
	return l.publish(tmp, k)
}

func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	k, err := objectKey(key)
	if err != nil {
		return nil, 0, err
	}
	// Stat first: opening a FIFO someone left in the folder would block.
	if st, err := l.root.Stat(k); err == nil && !st.Mode().IsRegular() {
		return nil, 0, notFound(k)
	}
	f, err := l.root.Open(k)
	if err != nil {
		if isNotFound(err) {
			return nil, 0, notFound(k)
		}
		return nil, 0, fmt.Errorf("open artifact %q: %w", k, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat artifact %q: %w", k, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, notFound(k)
	}
	return f, st.Size(), nil
}

func (l *Local) List(ctx context.Context, dir string) ([]Entry, error) {
	k, err := CleanKey(dir)
	if err != nil {
		return nil, err
	}
	name := k
	if name == "" {
		name = "."
	}
	f, err := l.root.Open(name)
	if err != nil {
		if isNotFound(err) {
			return []Entry{}, nil
		}
		return nil, fmt.Errorf("list %q: %w", k, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.IsDir() {
		return []Entry{}, nil
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", k, err)
	}
	entries := make([]Entry, 0, len(des))
	for _, de := range des {
		if k == "" && de.Name() == reservedDir {
			continue
		}
		p := joinKey(k, de.Name())
		// Stat through the root: a symlink counts only when its target stays inside.
		info, err := l.root.Stat(p)
		if err != nil {
			continue
		}
		switch {
		case info.IsDir():
			entries = append(entries, Entry{Path: p, IsDir: true})
		case info.Mode().IsRegular():
			entries = append(entries, Entry{Path: p, Size: info.Size()})
		}
	}
	sortEntries(entries)
	return entries, nil
}

func (l *Local) Delete(ctx context.Context, key string) error {
	k, err := CleanKey(key)
	if err != nil {
		return err
	}
	if k == "" {
		return core.Errorf(core.EINVALID, "refusing to delete the artifact root")
	}
	if err := l.root.RemoveAll(k); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %q: %w", k, err)
	}
	// Prune emptied parents so folders vanish as they do on S3; Remove fails on non-empty ones.
	for d := path.Dir(k); d != "."; d = path.Dir(d) {
		if l.root.Remove(d) != nil {
			break
		}
	}
	return nil
}

// upload returns the staging folder of a multipart upload after checking that
// it exists and belongs to key. Unknown or malformed ids are ENOTFOUND, as S3
// answers for an upload id it never issued.
func (l *Local) upload(key, uploadID string) (string, error) {
	if !isHex(uploadID, 32) {
		return "", noSuchUpload(uploadID)
	}
	dir := mpDir + "/" + uploadID
	owner, err := l.root.ReadFile(dir + "/" + keyFile)
	if err != nil || string(owner) != key {
		return "", noSuchUpload(uploadID)
	}
	return dir, nil
}

func (l *Local) CreateMultipart(ctx context.Context, key string) (string, error) {
	k, err := objectKey(key)
	if err != nil {
		return "", err
	}
	if err := l.ensureStaging(); err != nil {
		return "", err
	}
	id := randomHex(16)
	dir := mpDir + "/" + id
	if err := l.root.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create upload: %w", err)
	}
	if err := l.root.WriteFile(dir+"/"+keyFile, []byte(k), 0o600); err != nil {
		_ = l.root.RemoveAll(dir)
		return "", fmt.Errorf("create upload: %w", err)
	}
	return id, nil
}

func partName(dir string, number int) string { return fmt.Sprintf("%s/part-%05d", dir, number) }

func (l *Local) UploadPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (string, error) {
	k, err := objectKey(key)
	if err != nil {
		return "", err
	}
	if err := checkPartNumber(number); err != nil {
		return "", err
	}
	dir, err := l.upload(k, uploadID)
	if err != nil {
		return "", err
	}
	h := md5.New()
	tmp, err := l.writeTemp(ctx, r, size, h)
	if err != nil {
		return "", err
	}
	if err := l.root.Rename(tmp, partName(dir, number)); err != nil {
		_ = l.root.Remove(tmp)
		if isNotFound(err) { // aborted meanwhile
			return "", noSuchUpload(uploadID)
		}
		return "", fmt.Errorf("store part: %w", err)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`, nil
}

func (l *Local) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	dir, err := l.upload(k, uploadID)
	if err != nil {
		return err
	}
	parts, err = sortParts(parts)
	if err != nil {
		return err
	}
	name := tmpDir + "/" + randomHex(16)
	out, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create staging file: %w", err)
	}
	err = l.concat(ctx, out, dir, parts)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write staging file: %w", cerr)
	}
	if err != nil {
		_ = l.root.Remove(name)
		return err
	}
	if err := l.publish(name, k); err != nil {
		return err
	}
	_ = l.root.RemoveAll(dir)
	return nil
}

// concat appends the parts to out in order, checking each part's ETag as it goes.
func (l *Local) concat(ctx context.Context, out io.Writer, dir string, parts []Part) error {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	for _, p := range parts {
		f, err := l.root.Open(partName(dir, p.Number))
		if err != nil {
			if isNotFound(err) {
				return core.Errorf(core.EINVALID, "part %d was not uploaded", p.Number)
			}
			return fmt.Errorf("open part %d: %w", p.Number, err)
		}
		h := md5.New()
		_, err = io.CopyBuffer(io.MultiWriter(out, h), ctxReader{ctx, f}, *buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("copy part %d: %w", p.Number, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != trimETag(p.ETag) {
			return core.Errorf(core.EINVALID, "part %d: ETag %s does not match the uploaded part", p.Number, p.ETag)
		}
	}
	return nil
}

func (l *Local) AbortMultipart(ctx context.Context, key, uploadID string) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	dir, err := l.upload(k, uploadID)
	if err != nil {
		return err
	}
	if err := l.root.RemoveAll(dir); err != nil {
		return fmt.Errorf("abort upload: %w", err)
	}
	return nil
}

// Helpers shared by both implementations.

func notFound(key string) error {
	return core.Errorf(core.ENOTFOUND, "artifact %q not found", key)
}

func noSuchUpload(id string) error {
	return core.Errorf(core.ENOTFOUND, "multipart upload %q not found", id)
}

func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func checkPartNumber(n int) error {
	if n < 1 || n > maxParts {
		return core.Errorf(core.EINVALID, "part number %d is outside 1..%d", n, maxParts)
	}
	return nil
}

// sortParts returns the parts ordered by number, refusing an empty list,
// out-of-range numbers and duplicates.
func sortParts(parts []Part) ([]Part, error) {
	if len(parts) == 0 {
		return nil, core.Errorf(core.EINVALID, "a multipart upload needs at least one part")
	}
	sorted := slices.Clone(parts)
	slices.SortFunc(sorted, func(a, b Part) int { return a.Number - b.Number })
	for i, p := range sorted {
		if err := checkPartNumber(p.Number); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Number == p.Number {
			return nil, core.Errorf(core.EINVALID, "part %d is listed twice", p.Number)
		}
	}
	return sorted, nil
}

func trimETag(s string) string { return strings.Trim(s, `"`) }

func sortEntries(e []Entry) {
	slices.SortFunc(e, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
