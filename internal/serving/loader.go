package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
)

// Registry is what serving reads of the model registry.
type Registry interface {
	GetRegisteredModel(ctx context.Context, name string) (core.RegisteredModel, error)
	GetModelVersion(ctx context.Context, name string, version int64) (core.ModelVersion, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (core.ModelVersion, error)
}

// Limits on what a model download may hold, so a mistaken registration (a source
// pointing at a whole experiment) fails clearly instead of filling the disk.
const (
	maxModelFiles = 10000
	maxModelBytes = 8 << 30
)

// Loader resolves registry references and loads model versions, downloading their
// files from the artifact bucket into a local cache once per storage location.
type Loader struct {
	reg    Registry
	bucket blob.Bucket
	cache  string

	mu     sync.Mutex
	loaded map[string]*pyfunc.Model // by storage location: endpoints sharing a version share it
}

// NewLoader returns a loader caching model files under cacheDir.
func NewLoader(reg Registry, bucket blob.Bucket, cacheDir string) *Loader {
	return &Loader{reg: reg, bucket: bucket, cache: cacheDir, loaded: map[string]*pyfunc.Model{}}
}

// Resolve finds the model version a reference names now (an alias is read afresh).
func (l *Loader) Resolve(ctx context.Context, ref core.ModelRef) (core.ModelVersion, error) {
	if ref.Alias != "" {
		return l.reg.GetModelVersionByAlias(ctx, ref.Name, ref.Alias)
	}
	return l.reg.GetModelVersion(ctx, ref.Name, ref.Version)
}

// CheckApproval refuses, for a model that requires approval, a version that is not
// approved: approvals gate what answers traffic, whichever alias or pin names it.
func (l *Loader) CheckApproval(ctx context.Context, mv core.ModelVersion) error {
	rm, err := l.reg.GetRegisteredModel(ctx, mv.Name)
	if err != nil {
		return err
	}
	if rm.RequiresApproval && mv.Approval != core.ApprovalApproved {
		return fmt.Errorf("version %d of %s is %s: the model requires approval before a version answers traffic (plinth models approve %s %d)",
			mv.Version, mv.Name, mv.Approval, mv.Name, mv.Version)
	}
	return nil
}

// Load returns the model stored at mv's location, loading it on first use.
func (l *Loader) Load(ctx context.Context, mv core.ModelVersion) (*pyfunc.Model, error) {
	loc := mv.StorageLocation
	l.mu.Lock()
	m := l.loaded[loc]
	l.mu.Unlock()
	if m != nil {
		return m, nil
	}
	dir, err := l.fetch(ctx, loc)
	if err != nil {
		return nil, err
	}
	m, err = pyfunc.Load(dir)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if prev := l.loaded[loc]; prev != nil {
		m = prev
	} else {
		l.loaded[loc] = m
	}
	l.mu.Unlock()
	return m, nil
}

// Forget drops loaded models whose storage locations are not in keep, so a long-running
// server does not hold every version it ever served.
func (l *Loader) Forget(keep map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for loc := range l.loaded {
		if !keep[loc] {
			delete(l.loaded, loc)
		}
	}
}

// Prune deletes the downloaded files of every storage location not in keep. Call it
// only while no load runs in this process (the manager does, between refreshes).
func (l *Loader) Prune(keep map[string]bool) {
	entries, err := os.ReadDir(l.cache)
	if err != nil {
		return // no cache yet
	}
	kept := make(map[string]bool, len(keep))
	for loc := range keep {
		kept[cacheName(loc)] = true
	}
	for _, e := range entries {
		// Dot-folders are downloads in progress (perhaps another process's).
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !kept[e.Name()] {
			os.RemoveAll(filepath.Join(l.cache, e.Name()))
		}
	}
}

// cacheName is the cache folder of a storage location.
func cacheName(loc string) string {
	sum := sha256.Sum256([]byte(loc))
	return hex.EncodeToString(sum[:12])
}

// fetch returns a local folder holding the model files at loc: the folder itself for a
// local path, else a cache folder filled from the artifact bucket.
func (l *Loader) fetch(ctx context.Context, loc string) (string, error) {
	if dir, ok := localDir(loc); ok {
		return dir, nil
	}
	key, ok := blob.ProxiedKey(loc)
	if !ok {
		return "", fmt.Errorf("model files at %q: only files behind Plinth's artifact store (mlflow-artifacts:/…) or a local folder can be served", loc)
	}
	dir := filepath.Join(l.cache, cacheName(loc))
	if _, err := os.Stat(filepath.Join(dir, "MLmodel")); err == nil {
		return dir, nil // a complete earlier download (folders appear only by rename)
	}
	if err := os.MkdirAll(l.cache, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	tmp, err := os.MkdirTemp(l.cache, ".download-")
	if err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	var budget downloadBudget
	if err := l.download(ctx, key, tmp, &budget); err != nil {
		return "", fmt.Errorf("download model files from %s: %w", loc, err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "MLmodel")); err != nil {
		return "", fmt.Errorf("model files at %s have no MLmodel file; was the model logged with mlflow's log_model?", loc)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "MLmodel")); statErr == nil {
			return dir, nil // another load of the same version won the race
		}
		return "", fmt.Errorf("model cache: %w", err)
	}
	return dir, nil
}

type downloadBudget struct {
	files int
	bytes int64
}

// download copies every object under key into dir, recursively.
func (l *Loader) download(ctx context.Context, key, dir string, b *downloadBudget) error {
	entries, err := l.bucket.List(ctx, key)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Path[strings.LastIndexByte(e.Path, '/')+1:]
		if name == "" || name == "." || name == ".." {
			continue
		}
		local := filepath.Join(dir, name)
		if e.IsDir {
			if err := os.Mkdir(local, 0o755); err != nil {
				return err
			}
			if err := l.download(ctx, e.Path, local, b); err != nil {
				return err
			}
			continue
		}
		b.files++
		b.bytes += e.Size
		if b.files > maxModelFiles || b.bytes > maxModelBytes {
			return errors.New("more than " + strconv.Itoa(maxModelFiles) + " files or 8 GiB: is the registered source the model folder?")
		}
		if err := l.copyObject(ctx, e.Path, local); err != nil {
			return err
		}
	}
	return nil
}

func (l *Loader) copyObject(ctx context.Context, key, path string) error {
	r, _, err := l.bucket.Get(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// localDir recognises a model stored in a local folder (file:///path or /path).
func localDir(loc string) (string, bool) {
	if p, ok := strings.CutPrefix(loc, "file://"); ok {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		return p, strings.HasPrefix(p, "/")
	}
	return loc, strings.HasPrefix(loc, "/")
}
