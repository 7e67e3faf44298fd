package blob

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/plinth-ml/plinth/internal/core"
)

// ObjectInfo is what a store knows of one object without reading it.
type ObjectInfo struct {
	Key  string // the full key, as given to Put
	Size int64
	ETag string // S3's entity tag without quotes; "" for a local file
}

// RangeReader reads part of an object: both Local and S3 implement it, so a reader
// of a large file (Parquet's row groups) fetches only the bytes it needs.
type RangeReader interface {
	// GetRange streams length bytes of key from offset; it is an error (EINVALID) for
	// the range to reach past the end of the object.
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
}

// Statter describes one object without reading it (ENOTFOUND when key is not an
// object; a folder is not one).
type Statter interface {
	Stat(ctx context.Context, key string) (ObjectInfo, error)
}

// TreeLister lists every object under a folder, at any depth, sorted by key, with its
// entity tag; one paged request where List would need one per folder.
type TreeLister interface {
	ListTree(ctx context.Context, dir string) ([]ObjectInfo, error)
}

var (
	_ RangeReader = (*Local)(nil)
	_ RangeReader = (*S3)(nil)
	_ Statter     = (*Local)(nil)
	_ Statter     = (*S3)(nil)
	_ TreeLister  = (*S3)(nil)
)

// OpenLocalDir opens an existing folder as a bucket without writing to it: unlike
// NewLocal, it creates neither the folder nor the staging folder, which the first write
// makes. Reading a read-only folder (input data on a read-only mount) works.
func OpenLocalDir(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", dir, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open folder: %w", err)
	}
	return &Local{root: root, dir: abs}, nil
}

// ensureStaging creates the staging folders of a bucket opened by OpenLocalDir.
func (l *Local) ensureStaging() error {
	if l.staged.Load() {
		return nil
	}
	for _, d := range []string{tmpDir, mpDir} {
		if err := l.root.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create staging folder: %w", err)
		}
	}
	l.staged.Store(true)
	return nil
}

// RemoveStaging removes the staging folders if they are empty, so that a folder
// written through the bucket (a batch job's output) holds only what was written. The
// next write makes them again.
func (l *Local) RemoveStaging() {
	l.staged.Store(false)
	for _, d := range []string{tmpDir, mpDir, reservedDir} {
		_ = l.root.Remove(d) // refused, and kept, when not empty
	}
}

func checkRange(k string, offset, length, size int64) error {
	if offset < 0 || length < 0 || offset > size || length > size-offset {
		return core.Errorf(core.EINVALID, "range of %d bytes at offset %d lies outside %q (%d bytes)", length, offset, k, size)
	}
	return nil
}

func (l *Local) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, size, err := l.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := checkRange(key, offset, length, size); err != nil {
		rc.Close()
		return nil, err
	}
	f := rc.(*os.File)
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, offset, length), f}, nil
}

func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	k, err := objectKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := l.root.Stat(k)
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, notFound(k)
		}
		return ObjectInfo{}, fmt.Errorf("stat %q: %w", k, err)
	}
	if !st.Mode().IsRegular() {
		return ObjectInfo{}, notFound(k)
	}
	return ObjectInfo{Key: k, Size: st.Size()}, nil
}

func (b *S3) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	k, err := objectKey(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, checkRange(k, offset, length, 0)
	}
	if length == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &b.bucket,
		Key:    aws.String(b.full(k)),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)),
	})
	if err != nil {
		return nil, s3Err("get", k, err)
	}
	// A server answers a range past the end with fewer bytes (or ignores Range and
	// sends everything): hand out exactly what was asked or fail.
	if n := aws.ToInt64(out.ContentLength); n != length {
		out.Body.Close()
		return nil, core.Errorf(core.EINVALID, "range of %d bytes at offset %d of %q: the store answered with %d bytes", length, offset, k, n)
	}
	return out.Body, nil
}

func (b *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	k, err := objectKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(b.full(k))})
	if err != nil {
		return ObjectInfo{}, s3Err("stat", k, err)
	}
	return ObjectInfo{Key: k, Size: aws.ToInt64(out.ContentLength), ETag: trimETag(aws.ToString(out.ETag))}, nil
}

// ListTree lists the objects under dir/ at any depth; keys that CleanKey would change
// (written by other tools: "a//b", "x/../y") and folder markers are left out.
func (b *S3) ListTree(ctx context.Context, dir string) ([]ObjectInfo, error) {
	k, err := CleanKey(dir)
	if err != nil {
		return nil, err
	}
	prefix := b.full(k)
	if prefix != "" {
		prefix += "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix}
	if b.listPage > 0 {
		in.MaxKeys = aws.Int32(b.listPage)
	}
	objs := []ObjectInfo{}
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s3Err("list", k, err)
		}
		for _, obj := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(obj.Key), prefix)
			if c, err := CleanKey(rel); err != nil || c != rel || rel == "" {
				continue
			}
			objs = append(objs, ObjectInfo{Key: joinKey(k, rel), Size: aws.ToInt64(obj.Size), ETag: trimETag(aws.ToString(obj.ETag))})
		}
	}
	// ListObjectsV2 returns keys in byte order already; sort anyway for stores that do not.
	sortObjects(objs)
	return objs, nil
}

func sortObjects(o []ObjectInfo) {
	slices.SortFunc(o, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
}
