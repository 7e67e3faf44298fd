package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// maxInputFiles bounds the files of one job's input (each becomes at least one shard
// and one row in the job's lineage).
const maxInputFiles = 100_000

// ListInputs returns the input files at loc: the one file at loc, or every file under
// the prefix (recursively, sorted by path, skipping names that start with "_" or ".",
// such as _SUCCESS, _rejects/ or .plinth-uploads/), each with its format (from the
// extension unless format is given), size and digest: "etag:<ETag>" from S3,
// "sha256:<hex>" of the content of a local file.
func ListInputs(ctx context.Context, loc Location, format string) ([]core.BatchInputFile, error) {
	if format != "" {
		if _, err := tabular.FormatFromPath("", format); err != nil {
			return nil, core.Errorf(core.EINVALID, "input format: %v", err)
		}
	}
	if _, ok := loc.Bucket.(*pendingLocal); ok {
		return nil, core.Errorf(core.EINVALID, "input %s does not exist; give a CSV, JSON Lines or Parquet file, a folder of them or an s3://bucket/prefix", loc.URI)
	}
	objs, single, err := findInputs(ctx, loc)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, core.Errorf(core.EINVALID, "input %s holds no files to score (names starting with _ or . are skipped); "+
			"give a CSV, JSON Lines or Parquet file, a folder of them or an s3://bucket/prefix", loc.URI)
	}
	if len(objs) > maxInputFiles {
		return nil, core.Errorf(core.EINVALID, "input %s holds %d files, more than the %d one job takes; split it into several jobs or merge small files",
			loc.URI, len(objs), maxInputFiles)
	}
	files := make([]core.BatchInputFile, 0, len(objs))
	for _, o := range objs {
		rel := ""
		if !single {
			rel = relPath(loc.Key, o.Key)
		}
		f, err := tabular.FormatFromPath(o.Key, format)
		if err != nil {
			return nil, core.Errorf(core.EINVALID, "input %s: %v (or move other files out of the input folder, or name them with a leading _)",
				loc.uriOf(rel), err)
		}
		digest := ""
		if o.ETag != "" {
			digest = "etag:" + o.ETag
		} else if digest, err = contentDigest(ctx, loc.Bucket, o.Key); err != nil {
			return nil, fmt.Errorf("input %s: %w", loc.uriOf(rel), err)
		}
		files = append(files, core.BatchInputFile{Path: rel, Format: f.String(), Size: o.Size, Digest: digest})
	}
	return files, nil
}

// findInputs returns the object at loc.Key (single) or the objects under it.
func findInputs(ctx context.Context, loc Location) (objs []blob.ObjectInfo, single bool, err error) {
	if loc.Key != "" {
		st, ok := loc.Bucket.(blob.Statter)
		if !ok {
			return nil, false, fmt.Errorf("input %s: the store cannot describe files", loc.URI)
		}
		info, err := st.Stat(ctx, loc.Key)
		switch {
		case err == nil:
			return []blob.ObjectInfo{info}, true, nil
		case core.ErrorCode(err) != core.ENOTFOUND:
			return nil, false, fmt.Errorf("input %s: %w", loc.URI, err)
		}
	}
	var all []blob.ObjectInfo
	if tl, ok := loc.Bucket.(blob.TreeLister); ok {
		if all, err = tl.ListTree(ctx, loc.Key); err != nil {
			return nil, false, fmt.Errorf("input %s: %w", loc.URI, err)
		}
	} else if all, err = walk(ctx, loc.Bucket, loc.Key, 0); err != nil {
		return nil, false, fmt.Errorf("input %s: %w", loc.URI, err)
	}
	for _, o := range all {
		if !hidden(relPath(loc.Key, o.Key)) {
			objs = append(objs, o)
		}
	}
	return objs, false, nil
}

// walk lists the files under dir folder by folder (hidden folders are not entered).
func walk(ctx context.Context, b blob.Bucket, dir string, depth int) ([]blob.ObjectInfo, error) {
	if depth > 64 {
		return nil, fmt.Errorf("folders nested more than 64 deep under %s", dir)
	}
	entries, err := b.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []blob.ObjectInfo
	for _, e := range entries {
		if hidden(path.Base(e.Path)) {
			continue
		}
		if !e.IsDir {
			out = append(out, blob.ObjectInfo{Key: e.Path, Size: e.Size})
			continue
		}
		sub, err := walk(ctx, b, e.Path, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
		if len(out) > maxInputFiles {
			return out, nil // ListInputs reports the excess
		}
	}
	return out, nil
}

// hidden reports whether any segment of a relative path starts with "_" or ".".
func hidden(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

func relPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return strings.TrimPrefix(key, prefix+"/")
}

// contentDigest hashes an object's content.
func contentDigest(ctx context.Context, b blob.Bucket, key string) (string, error) {
	rc, _, err := b.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, rc}); err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long read once ctx is done.
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
