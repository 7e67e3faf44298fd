// Package blob stores artifacts behind one interface: a local folder or any
// S3-compatible store. Keys are slash-separated relative paths; every
// implementation refuses keys that could escape the root.
package blob

import (
	"context"
	"io"
)

// Entry is one item of a directory listing.
type Entry struct {
	Path  string // relative to the listed prefix's root key (the full key, as given to Put)
	IsDir bool
	Size  int64 // bytes; 0 for directories
}

// Part identifies one uploaded part of a multipart upload.
type Part struct {
	Number int
	ETag   string
}

// Bucket is an artifact store. Methods return *core.Error with ENOTFOUND for a
// missing key and EINVALID for an unsafe key.
type Bucket interface {
	// Put streams r to key, replacing any existing object. size is -1 when unknown.
	// A reader error leaves no partial object behind.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens key for streaming and returns its size.
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// List returns the immediate children of the directory dir ("" is the root),
	// sorted by path. A missing directory lists as empty.
	List(ctx context.Context, dir string) ([]Entry, error)
	// Delete removes key, or every object under key/ when key is a directory.
	// Deleting what does not exist is not an error.
	Delete(ctx context.Context, key string) error

	// Multipart uploads, for large files sent in parts.
	CreateMultipart(ctx context.Context, key string) (uploadID string, err error)
	UploadPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (etag string, err error)
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error
	AbortMultipart(ctx context.Context, key, uploadID string) error

	Close() error
}
