package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/plinth-ml/plinth/internal/core"
)

// S3Options configure an S3-compatible bucket. Empty credentials mean the
// default AWS chain (environment, shared config, instance role...).
type S3Options struct {
	Endpoint        string // e.g. http://127.0.0.1:7070; empty for AWS
	Region          string // default: the AWS config's region, else us-east-1
	PathStyle       bool   // http://host/bucket/key instead of http://bucket.host/key
	AccessKeyID     string
	SecretAccessKey string
}

const (
	defaultPartSize = 8 << 20 // buffer per streaming Put; 10,000 parts reach 80 GB
	minPartSize     = 5 << 20 // S3's minimum for every part but the last
	maxObjectSize   = 5 << 40 // S3's maximum object size
	deleteBatchSize = 1000    // S3's maximum keys per DeleteObjects
)

// S3 is a Bucket in an S3-compatible object store, under an optional key prefix.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string // cleaned, without trailing slash; "" for the bucket root

	partSize    int64 // Put reads the body in parts of this size
	listPage    int32 // ListObjectsV2 page size; 0 lets the server choose
	deleteBatch int
	bufs        sync.Pool
}

var _ Bucket = (*S3)(nil)

// NewS3 opens "s3://bucket/prefix". It makes no request: a wrong bucket or
// credentials show up on first use.
func NewS3(ctx context.Context, location string, opts S3Options) (*S3, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, core.Errorf(core.EINVALID, "artifact location %q is not of the form s3://bucket/prefix", location)
	}
	prefix, err := CleanKey(strings.TrimLeft(u.Path, "/"))
	if err != nil {
		return nil, core.Errorf(core.EINVALID, "artifact location %q has an invalid prefix: %s", location, core.ErrorMessage(err))
	}
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return nil, core.Errorf(core.EINVALID, "S3 access key id and secret access key must be given together")
	}
	var loaders []func(*config.LoadOptions) error
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" {
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// Default CRC checksums use aws-chunked trailers that many S3-compatible
		// servers reject; send them only where the API requires one.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{
		client:      client,
		bucket:      u.Host,
		prefix:      prefix,
		partSize:    defaultPartSize,
		deleteBatch: deleteBatchSize,
	}, nil
}

func (b *S3) Close() error { return nil }

// full maps a cleaned key to the object key in the bucket.
func (b *S3) full(k string) string {
	switch {
	case b.prefix == "":
		return k
	case k == "":
		return b.prefix
	}
	return b.prefix + "/" + k
}

// buffer returns a part buffer of n bytes; default-sized ones are pooled.
func (b *S3) buffer(n int64) (buf []byte, release func()) {
	if n != b.partSize {
		return make([]byte, n), func() {}
	}
	if p, ok := b.bufs.Get().(*[]byte); ok {
		return *p, func() { b.bufs.Put(p) }
	}
	buf = make([]byte, n)
	return buf, func() { b.bufs.Put(&buf) }
}

// Put reads the body in parts of bounded size: a body that fits in one part
// goes up with PutObject, a longer one as a multipart upload that is aborted
// on any error, so memory stays constant and no partial object appears.
func (b *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	if size > maxObjectSize {
		return core.Errorf(core.ETOOLARGE, "artifact of %d bytes exceeds the %d byte limit", size, int64(maxObjectSize))
	}
	partSize := b.partSize
	if size >= 0 && size < partSize {
		partSize = size + 1 // one spare byte detects a body longer than announced
	} else if size >= 0 && size/maxParts >= partSize {
		partSize = size/maxParts + 1
	}
	buf, release := b.buffer(partSize)
	defer release()
	r = ctxReader{ctx, r}

	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	if err != nil { // the whole body fits in one request
		if size >= 0 && int64(n) != size {
			return sizeMismatch(int64(n), size)
		}
		_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        &b.bucket,
			Key:           aws.String(b.full(k)),
			Body:          bytes.NewReader(buf[:n]),
			ContentLength: aws.Int64(int64(n)),
		})
		return s3Err("put", k, err)
	}
	return b.putMultipart(ctx, k, r, size, buf)
}

// putMultipart uploads buf, already full, and the rest of r as parts.
func (b *S3) putMultipart(ctx context.Context, k string, r io.Reader, size int64, buf []byte) (err error) {
	id, err := b.CreateMultipart(ctx, k)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			b.abortQuietly(ctx, k, id)
		}
	}()
	var parts []Part
	total := int64(0)
	n := len(buf)
	for number := 1; ; number++ {
		total += int64(n)
		if size >= 0 && total > size {
			return sizeMismatch(total, size)
		}
		if number > maxParts {
			return core.Errorf(core.ETOOLARGE, "artifact exceeds %d parts of %d bytes", maxParts, len(buf))
		}
		etag, err := b.uploadPart(ctx, k, id, number, bytes.NewReader(buf[:n]), int64(n), false)
		if err != nil {
			return err
		}
		parts = append(parts, Part{Number: number, ETag: etag})
		if n < len(buf) {
			break // short read: that was the last part
		}
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		} else if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
	}
	if size >= 0 && total != size {
		return sizeMismatch(total, size)
	}
	return b.CompleteMultipart(ctx, k, id, parts)
}

func (b *S3) abortQuietly(ctx context.Context, k, id string) {
	// The request context may be what failed; the abort must still happen.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = b.AbortMultipart(ctx, k, id)
}

func sizeMismatch(got, want int64) error {
	if got > want {
		return core.Errorf(core.EINVALID, "body is longer than the announced %d bytes", want)
	}
	return core.Errorf(core.EINVALID, "body has %d bytes, expected %d", got, want)
}

func (b *S3) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	k, err := objectKey(key)
	if err != nil {
		return nil, 0, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(b.full(k))})
	if err != nil {
		return nil, 0, s3Err("get", k, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

func (b *S3) List(ctx context.Context, dir string) ([]Entry, error) {
	k, err := CleanKey(dir)
	if err != nil {
		return nil, err
	}
	prefix := b.full(k)
	if prefix != "" {
		prefix += "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix, Delimiter: aws.String("/")}
	if b.listPage > 0 {
		in.MaxKeys = aws.Int32(b.listPage)
	}
	entries := []Entry{}
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s3Err("list", k, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if safeName(name) {
				entries = append(entries, Entry{Path: joinKey(k, name), IsDir: true})
			}
		}
		for _, obj := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(obj.Key), prefix)
			if safeName(name) { // "" is a folder marker object, not a child
				entries = append(entries, Entry{Path: joinKey(k, name), Size: aws.ToInt64(obj.Size)})
			}
		}
	}
	sortEntries(entries)
	return entries, nil
}

// safeName reports whether a listed child name, written by any tool, maps back
// to a key that CleanKey accepts unchanged.
func safeName(name string) bool {
	if name == "" || strings.Contains(name, "/") {
		return false
	}
	c, err := CleanKey(name)
	return err == nil && c == name
}

// Delete removes the object key and every object under key/, listing and
// deleting in batches.
func (b *S3) Delete(ctx context.Context, key string) error {
	k, err := CleanKey(key)
	if err != nil {
		return err
	}
	if k == "" {
		return core.Errorf(core.EINVALID, "refusing to delete the artifact root")
	}
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(b.full(k))})
	if err = s3Err("delete", k, err); err != nil && core.ErrorCode(err) != core.ENOTFOUND {
		return err
	}
	prefix := b.full(k) + "/"
	in := &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix}
	if b.listPage > 0 {
		in.MaxKeys = aws.Int32(b.listPage)
	}
	var batch []types.ObjectIdentifier
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s3Err("list", k, err)
		}
		for _, obj := range page.Contents {
			batch = append(batch, types.ObjectIdentifier{Key: obj.Key})
			if len(batch) == b.deleteBatch {
				if err := b.deleteObjects(ctx, k, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		return b.deleteObjects(ctx, k, batch)
	}
	return nil
}

func (b *S3) deleteObjects(ctx context.Context, k string, ids []types.ObjectIdentifier) error {
	out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &b.bucket,
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return s3Err("delete", k, err)
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue
		}
		return fmt.Errorf("s3 delete %q: %s: %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

func (b *S3) CreateMultipart(ctx context.Context, key string) (string, error) {
	k, err := objectKey(key)
	if err != nil {
		return "", err
	}
	out, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.bucket, Key: aws.String(b.full(k))})
	if err != nil {
		return "", s3Err("create upload", k, err)
	}
	return aws.ToString(out.UploadId), nil
}

// UploadPart streams a part of known size straight through; a part of unknown
// size is spooled to a temporary file first, since S3 needs its length.
func (b *S3) UploadPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (string, error) {
	k, err := objectKey(key)
	if err != nil {
		return "", err
	}
	if err := checkPartNumber(number); err != nil {
		return "", err
	}
	if uploadID == "" {
		return "", noSuchUpload(uploadID)
	}
	if size >= 0 {
		body := &exactReader{r: ctxReader{ctx, r}, left: size}
		etag, err := b.uploadPart(ctx, k, uploadID, number, body, size, true)
		if err != nil && body.err != nil {
			return "", body.err
		}
		if err == nil && body.extra() {
			// The part went up truncated; refuse its ETag so it is never completed.
			return "", core.Errorf(core.EINVALID, "body is longer than the announced %d bytes", size)
		}
		return etag, err
	}
	f, err := os.CreateTemp("", "plinth-part-*")
	if err != nil {
		return "", fmt.Errorf("spool part: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("spool part: %w", err)
	}
	return b.uploadPart(ctx, k, uploadID, number, f, n, false)
}

func (b *S3) uploadPart(ctx context.Context, k, uploadID string, number int, body io.Reader, size int64, unsigned bool) (string, error) {
	var optFns []func(*s3.Options)
	if unsigned {
		// A plain stream cannot be hashed up front for the SigV4 signature.
		optFns = append(optFns, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &b.bucket,
		Key:           aws.String(b.full(k)),
		UploadId:      &uploadID,
		PartNumber:    aws.Int32(int32(number)),
		Body:          body,
		ContentLength: aws.Int64(size),
	}, optFns...)
	if err != nil {
		return "", s3Err("upload part", k, err)
	}
	return aws.ToString(out.ETag), nil
}

// exactReader fails when the body is longer or shorter than announced, so a
// wrong Content-Length cannot store a truncated part.
type exactReader struct {
	r    io.Reader
	left int64
	err  error // the first read error, which the SDK's retry layer would hide
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		err = core.Errorf(core.EINVALID, "body is %d bytes shorter than announced", e.left)
	case err == io.EOF:
		return n, nil // the next call reports EOF
	}
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// extra reports whether the underlying reader still has data.
func (e *exactReader) extra() bool {
	var one [1]byte
	n, _ := io.ReadFull(e.r, one[:])
	return n > 0
}

func (b *S3) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	if uploadID == "" {
		return noSuchUpload(uploadID)
	}
	parts, err = sortParts(parts)
	if err != nil {
		return err
	}
	done := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(p.ETag)}
	}
	_, err = b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &b.bucket,
		Key:             aws.String(b.full(k)),
		UploadId:        &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	return s3Err("complete upload", k, err)
}

func (b *S3) AbortMultipart(ctx context.Context, key, uploadID string) error {
	k, err := objectKey(key)
	if err != nil {
		return err
	}
	if uploadID == "" {
		return noSuchUpload(uploadID)
	}
	_, err = b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &b.bucket, Key: aws.String(b.full(k)), UploadId: &uploadID,
	})
	return s3Err("abort upload", k, err)
}

// s3Err maps S3 error codes onto core errors; anything else stays internal.
func s3Err(op, k string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return notFound(k)
		case "NoSuchUpload":
			return core.Errorf(core.ENOTFOUND, "multipart upload for %q not found", k)
		case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidArgument":
			return core.Errorf(core.EINVALID, "%s %q: %s", op, k, ae.ErrorMessage())
		case "ObjectParentIsFile", "ExistingObjectIsDirectory": // posix-backed servers
			return core.Errorf(core.ECONFLICT, "artifact path %q conflicts with an existing file or folder", k)
		case "EntityTooLarge":
			return core.Errorf(core.ETOOLARGE, "%s %q: %s", op, k, ae.ErrorMessage())
		}
	}
	return fmt.Errorf("s3 %s %q: %w", op, k, err)
}
