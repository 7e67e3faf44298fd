package blob

import (
	"context"
	"net/url"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// Open returns the bucket named by location: "s3://bucket/prefix" for an
// S3-compatible store (configured by opts), "file:///abs/dir" or a plain
// path for a local folder, which is created when missing.
func Open(ctx context.Context, location string, opts S3Options) (Bucket, error) {
	if location == "" {
		return nil, core.Errorf(core.EINVALID, "artifact location is empty")
	}
	scheme, _, ok := strings.Cut(location, "://")
	if !ok {
		return NewLocal(location) // a plain path, also "C:\dir" on Windows
	}
	switch strings.ToLower(scheme) {
	case "s3":
		return NewS3(ctx, location, opts)
	case "file":
		u, err := url.Parse(location)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" || u.RawQuery != "" {
			return nil, core.Errorf(core.EINVALID, "artifact location %q is not of the form file:///absolute/path", location)
		}
		return NewLocal(u.Path)
	}
	return nil, core.Errorf(core.EINVALID, "artifact location %q: unsupported scheme %q (use a path, file:// or s3://)", location, scheme)
}
