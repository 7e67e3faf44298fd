package predlog

import (
	"testing"
	"time"
)

// TestMappedSegment: on Linux the active segment is a mapped file whose blocks are
// reserved up front, and closing it cuts the file to the frames written.
func TestMappedSegment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) { o.SegmentBytes = 1 << 20 })
	mustAppend(t, l, requestRecords("a", "ep", 3, time.Now()))
	l.mu.Lock()
	seg, mapped := l.active.(*mmapSegment)
	l.mu.Unlock()
	if !mapped {
		t.Skipf("the file system of %s cannot reserve blocks; the segment is written with write(2)", e.dir)
	}
	files := segmentFiles(t, e.dir)
	if len(files) != 1 || fileSize(t, files[0]) != 1<<20 {
		t.Fatalf("segments %v; want one of 1 MiB reserved", files)
	}
	written := seg.size()
	// A frame larger than the room left goes to a new segment sized for it.
	big := requestRecords("big", "ep", 1, time.Now())
	big[0].Inputs = string(make([]byte, 2<<20))
	mustAppend(t, l, big)
	l.mu.Lock()
	l.rotateLocked()
	l.mu.Unlock()
	files = segmentFiles(t, e.dir)
	if len(files) != 2 || fileSize(t, files[0]) != written || fileSize(t, files[1]) < 2<<20 {
		t.Fatalf("segments %v (sizes %d, %d); want the first cut to %d bytes and the second holding the big frame",
			files, fileSize(t, files[0]), fileSize(t, files[len(files)-1]), written)
	}
	mustFlush(t, l)
	if got := e.readAll(t); len(got) != 4 {
		t.Fatalf("read back %d records, want 4", len(got))
	}
}
