package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// readBlock is the least a ReaderAt fetches for a small read outside its spool: a
// Parquet footer and its length, read one after the other, come in one request.
const readBlock = 64 << 10

// ReaderAt gives random access to an object through ranged requests. Small reads are
// served from the last block fetched; Prefetch copies a region (the row groups a reader
// is about to scan) to a temporary file in one request, so scanning it costs no further
// requests and no more memory than a block.
type ReaderAt struct {
	ctx  context.Context
	src  RangeReader
	key  string
	size int64

	mu       sync.Mutex
	block    []byte
	blockOff int64
	spool    *os.File
	spoolOff int64
	spoolLen int64
}

// NewReaderAt reads key, of size bytes, from src; ctx bounds every request.
func NewReaderAt(ctx context.Context, src RangeReader, key string, size int64) *ReaderAt {
	return &ReaderAt{ctx: ctx, src: src, key: key, size: size}
}

// Size is the object's size.
func (r *ReaderAt) Size() int64 { return r.size }

func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %q at negative offset %d", r.key, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if int64(len(want)) > r.size-off {
		want = want[:r.size-off]
	}
	n, err := r.readAt(want, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (r *ReaderAt) readAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := off + int64(len(p))
	if r.spool != nil && off >= r.spoolOff && end <= r.spoolOff+r.spoolLen {
		return r.spool.ReadAt(p, off-r.spoolOff)
	}
	if off >= r.blockOff && end <= r.blockOff+int64(len(r.block)) {
		return copy(p, r.block[off-r.blockOff:]), nil
	}
	if len(p) >= readBlock {
		return r.fetch(p, off)
	}
	// Fetch a block holding the read; near the end of the object, the block that ends
	// there, so a footer read after its length is already in hand.
	start := off
	if start+readBlock > r.size {
		start = max(0, r.size-readBlock)
	}
	n := min(int64(readBlock), r.size-start)
	if cap(r.block) < int(n) {
		r.block = make([]byte, n)
	}
	r.block = r.block[:n]
	if _, err := r.fetch(r.block, start); err != nil {
		r.block = r.block[:0]
		return 0, err
	}
	r.blockOff = start
	return copy(p, r.block[off-start:]), nil
}

func (r *ReaderAt) fetch(p []byte, off int64) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	body, err := r.src.GetRange(r.ctx, r.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p)
	if err != nil {
		return n, fmt.Errorf("read %d bytes of %q at offset %d: %w", len(p), r.key, off, err)
	}
	return n, nil
}

// Prefetch copies bytes [off, off+length) of the object to a temporary file in dir
// ("" is os.TempDir()) with one request; reads inside that region are then served
// from the file. A second Prefetch replaces the first. Close removes the file.
func (r *ReaderAt) Prefetch(off, length int64, dir string) error {
	if err := checkRange(r.key, off, length, r.size); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropSpool()
	f, err := os.CreateTemp(dir, "plinth-range-*")
	if err != nil {
		return fmt.Errorf("prefetch %q: %w", r.key, err)
	}
	body, err := r.src.GetRange(r.ctx, r.key, off, length)
	if err == nil {
		var n int64
		n, err = io.Copy(f, ctxReader{r.ctx, body})
		body.Close()
		if err == nil && n != length {
			err = fmt.Errorf("got %d bytes, want %d", n, length)
		}
		if err != nil {
			err = fmt.Errorf("prefetch %d bytes of %q at offset %d: %w", length, r.key, off, err)
		}
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	r.spool, r.spoolOff, r.spoolLen = f, off, length
	return nil
}

func (r *ReaderAt) dropSpool() error {
	if r.spool == nil {
		return nil
	}
	name := r.spool.Name()
	err := errors.Join(r.spool.Close(), os.Remove(name))
	r.spool = nil
	return err
}

// Close removes the prefetched file, if any.
func (r *ReaderAt) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.block = nil
	return r.dropSpool()
}
