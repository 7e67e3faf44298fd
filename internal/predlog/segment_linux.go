package predlog

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mmapSegment appends by copying frames into a shared mapping of a file whose blocks
// were reserved up front. A store into a MAP_SHARED mapping lands in the page cache,
// so, as with write(2), a frame copied before the answer is sent survives kill -9;
// without the system call per request the log costs less CPU on the request path.
// Reserving the blocks (fallocate) matters: a store into a hole of a full disk would
// kill the process with SIGBUS instead of failing the Append.
type mmapSegment struct {
	f    *os.File
	data []byte // the whole file, mapped
	n    int    // bytes written
}

// newSegment reserves capacity bytes for the new, empty file f and maps them; where
// the file system cannot reserve blocks it falls back to plain writes.
func newSegment(f *os.File, capacity int64) (activeSegment, error) {
	err := unix.Fallocate(int(f.Fd()), 0, 0, capacity)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return newFileSegment(f)
	}
	if err != nil {
		return nil, fmt.Errorf("reserve %d bytes: %w", capacity, err)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(capacity), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map the segment: %w", err)
	}
	s := &mmapSegment{f: f, data: data}
	return s, s.append([]byte(segmentMagic))
}

func (s *mmapSegment) append(frame []byte) error {
	s.n += copy(s.data[s.n:], frame)
	return nil
}

func (s *mmapSegment) fits(n int) bool { return n <= len(s.data)-s.n }
func (s *mmapSegment) size() int64     { return int64(s.n) }
func (s *mmapSegment) file() *os.File  { return s.f }

// close unmaps the file and cuts it to the bytes written, so a closed segment looks
// the same as one written with write(2). A crash before close leaves the reserved
// zeros after the last frame, which the reader takes as the end of the segment.
func (s *mmapSegment) close(sync bool) error {
	err := unix.Munmap(s.data)
	s.data = nil
	if terr := s.f.Truncate(int64(s.n)); err == nil {
		err = terr
	}
	if sync {
		if serr := s.f.Sync(); err == nil {
			err = serr
		}
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
