package predlog

import (
	"fmt"
	"os"
)

// activeSegment is the WAL segment that Appends go to. Two kinds implement it: on
// Linux a preallocated file mapped into memory (mmapSegment: an Append is a copy, no
// system call), elsewhere, or where the file system cannot preallocate, a plain file
// written with one write(2) per Append (fileSegment). Both leave the frame in the
// kernel's page cache when append returns, so it survives a crash of the process.
// Calls are serialised by Log.mu.
type activeSegment interface {
	// append adds one frame; the caller has checked that it fits.
	append(frame []byte) error
	// fits reports whether n more bytes fit.
	fits(n int) bool
	// size is the number of bytes written, the magic included.
	size() int64
	// file is the open file, for fsync.
	file() *os.File
	// close makes the file hold exactly the written bytes (fsynced with sync) and
	// closes it.
	close(sync bool) error
}

// fileSegment appends with write(2): one system call per frame, any size.
type fileSegment struct {
	f *os.File
	n int64
}

func newFileSegment(f *os.File) (*fileSegment, error) {
	s := &fileSegment{f: f}
	return s, s.append([]byte(segmentMagic))
}

func (s *fileSegment) append(frame []byte) error {
	n, err := s.f.Write(frame)
	s.n += int64(n)
	if err != nil {
		return fmt.Errorf("wrote %d of %d bytes: %w", n, len(frame), err)
	}
	return nil
}

func (s *fileSegment) fits(int) bool  { return true }
func (s *fileSegment) size() int64    { return s.n }
func (s *fileSegment) file() *os.File { return s.f }
func (s *fileSegment) close(sync bool) error {
	var err error
	if sync {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
