package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// Location is a parsed input/output/rejects URI: a bucket and a key (a file or a prefix) in it.
type Location struct {
	URI    string
	Bucket blob.Bucket
	Key    string
}

// OpenLocation accepts a local path (file or folder), file:///abs/path, or
// s3://bucket/prefix (S3 options as blob.Open takes them). Close the bucket with
// loc.Bucket.Close().
//
// A local file opens its folder with Key the file's name; a local folder opens with
// Key "". Nothing is written to a local folder until something is stored in it, and a
// folder that does not exist is created by the first write (an output), while reading
// it finds nothing (ListInputs says it does not exist).
func OpenLocation(ctx context.Context, uri string, s3 blob.S3Options) (Location, error) {
	if strings.TrimSpace(uri) == "" {
		return Location{}, core.Errorf(core.EINVALID, "location is empty: give a file, a folder or an s3://bucket/prefix")
	}
	scheme, _, hasScheme := strings.Cut(uri, "://")
	if hasScheme {
		switch strings.ToLower(scheme) {
		case "s3":
			return openS3Location(ctx, uri, s3)
		case "file":
			u, err := url.Parse(uri)
			if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" || u.RawQuery != "" {
				return Location{}, core.Errorf(core.EINVALID, "location %q is not of the form file:///absolute/path", uri)
			}
			return openLocalLocation(uri, u.Path)
		default:
			return Location{}, core.Errorf(core.EINVALID, "location %q: unsupported scheme %q (use a path, file:///path or s3://bucket/prefix)", uri, scheme)
		}
	}
	return openLocalLocation(uri, uri)
}

func openS3Location(ctx context.Context, uri string, opts blob.S3Options) (Location, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, core.Errorf(core.EINVALID, "location %q is not of the form s3://bucket/prefix", uri)
	}
	key, err := blob.CleanKey(strings.TrimLeft(u.Path, "/"))
	if err != nil {
		return Location{}, core.Errorf(core.EINVALID, "location %q: %s", uri, core.ErrorMessage(err))
	}
	// The bucket is opened at its root, so Key can name a single object as well as a prefix.
	b, err := blob.NewS3(ctx, "s3://"+u.Host, opts)
	if err != nil {
		return Location{}, err
	}
	return Location{URI: uri, Bucket: b, Key: key}, nil
}

func openLocalLocation(uri, p string) (Location, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return Location{}, fmt.Errorf("location %q: %w", uri, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Location{URI: uri, Bucket: &pendingLocal{dir: abs}}, nil
	case err != nil:
		return Location{}, fmt.Errorf("location %q: %w", uri, err)
	case st.Mode().IsRegular():
		b, err := blob.OpenLocalDir(filepath.Dir(abs))
		if err != nil {
			return Location{}, fmt.Errorf("location %q: %w", uri, err)
		}
		return Location{URI: uri, Bucket: b, Key: filepath.Base(abs)}, nil
	case st.IsDir():
		b, err := blob.OpenLocalDir(abs)
		if err != nil {
			return Location{}, fmt.Errorf("location %q: %w", uri, err)
		}
		return Location{URI: uri, Bucket: b}, nil
	}
	return Location{}, core.Errorf(core.EINVALID, "location %q is neither a file nor a folder", uri)
}

// fileKey is the key of rel (a path relative to the location; "" is the location itself).
func (l Location) fileKey(rel string) string {
	switch {
	case rel == "":
		return l.Key
	case l.Key == "":
		return rel
	}
	return l.Key + "/" + rel
}

// uriOf names rel under the location for people (messages, manifests).
func (l Location) uriOf(rel string) string {
	if rel == "" {
		return l.URI
	}
	return strings.TrimRight(l.URI, "/") + "/" + rel
}

// fileName is how rejects name the file at rel: its path under the input, or its own
// name when the input is the file itself.
func (l Location) fileName(rel string) string {
	if rel != "" {
		return rel
	}
	return path.Base(l.Key)
}

// pendingLocal is a local folder that does not exist yet: it reads as empty and
// becomes a blob.Local (creating the folder) on the first write.
type pendingLocal struct {
	dir string
	mu  sync.Mutex
	b   *blob.Local
}

var (
	_ blob.Bucket      = (*pendingLocal)(nil)
	_ blob.RangeReader = (*pendingLocal)(nil)
	_ blob.Statter     = (*pendingLocal)(nil)
)

func (p *pendingLocal) existing() *blob.Local {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.b
}

func (p *pendingLocal) create() (*blob.Local, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.b == nil {
		b, err := blob.NewLocal(p.dir)
		if err != nil {
			return nil, err
		}
		p.b = b
	}
	return p.b, nil
}

// removeStaging removes the empty staging folders that writing to a local folder
// leaves in it (nothing for S3).
func removeStaging(loc Location) {
	switch b := loc.Bucket.(type) {
	case *blob.Local:
		b.RemoveStaging()
	case *pendingLocal:
		if l := b.existing(); l != nil {
			l.RemoveStaging()
		}
	}
}

func (p *pendingLocal) missing(key string) error {
	return core.Errorf(core.ENOTFOUND, "%s does not exist", filepath.Join(p.dir, filepath.FromSlash(key)))
}

func (p *pendingLocal) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := p.create()
	if err != nil {
		return err
	}
	return b.Put(ctx, key, r, size)
}

func (p *pendingLocal) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if b := p.existing(); b != nil {
		return b.Get(ctx, key)
	}
	return nil, 0, p.missing(key)
}

func (p *pendingLocal) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if b := p.existing(); b != nil {
		return b.GetRange(ctx, key, offset, length)
	}
	return nil, p.missing(key)
}

func (p *pendingLocal) Stat(ctx context.Context, key string) (blob.ObjectInfo, error) {
	if b := p.existing(); b != nil {
		return b.Stat(ctx, key)
	}
	return blob.ObjectInfo{}, p.missing(key)
}

func (p *pendingLocal) List(ctx context.Context, dir string) ([]blob.Entry, error) {
	if b := p.existing(); b != nil {
		return b.List(ctx, dir)
	}
	return []blob.Entry{}, nil
}

func (p *pendingLocal) Delete(ctx context.Context, key string) error {
	if b := p.existing(); b != nil {
		return b.Delete(ctx, key)
	}
	return nil
}

func (p *pendingLocal) CreateMultipart(ctx context.Context, key string) (string, error) {
	b, err := p.create()
	if err != nil {
		return "", err
	}
	return b.CreateMultipart(ctx, key)
}

func (p *pendingLocal) UploadPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (string, error) {
	b, err := p.create()
	if err != nil {
		return "", err
	}
	return b.UploadPart(ctx, key, uploadID, number, r, size)
}

func (p *pendingLocal) CompleteMultipart(ctx context.Context, key, uploadID string, parts []blob.Part) error {
	b, err := p.create()
	if err != nil {
		return err
	}
	return b.CompleteMultipart(ctx, key, uploadID, parts)
}

func (p *pendingLocal) AbortMultipart(ctx context.Context, key, uploadID string) error {
	b, err := p.create()
	if err != nil {
		return err
	}
	return b.AbortMultipart(ctx, key, uploadID)
}

func (p *pendingLocal) Close() error {
	if b := p.existing(); b != nil {
		return b.Close()
	}
	return nil
}
