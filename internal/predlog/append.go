package predlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-ml/plinth/internal/core"
)

// framePool holds encoding buffers, so a steady stream of Appends allocates nothing
// for framing. Buffers grown past maxPooledFrame (a huge request) are not kept.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledFrame = 1 << 20

// Append writes recs to the WAL as one frame (a copy into a memory-mapped file on
// Linux, one write(2) elsewhere; and an fsync with Options.Sync) before returning:
// once it returns nil, the records survive a crash of the process. When the backlog is at MaxBufferBytes the records are dropped, counted,
// and ErrFull is returned. Every record needs a valid endpoint name (it becomes a
// folder of the bucket); otherwise nothing is written. Records with a zero Time get
// the current time.
func (l *Log) Append(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if err := core.ValidateEndpointName(recs[i].Endpoint); err != nil {
			return fmt.Errorf("predlog: record %d: %w", i, err)
		}
	}
	bp := framePool.Get().(*[]byte)
	frame, err := appendFrame((*bp)[:0], recs, time.Now())
	if err == nil {
		l.mu.Lock()
		var syncFile *os.File
		syncFile, err = l.writeLocked(frame, len(recs))
		l.mu.Unlock()
		// fsync outside the lock so concurrent appends share the disk flush. If a
		// rotation closed the file meanwhile, it fsynced it first: ErrClosed is fine.
		if syncFile != nil {
			if serr := syncFile.Sync(); serr != nil && !errors.Is(serr, os.ErrClosed) {
				err = fmt.Errorf("predlog: fsync WAL segment: %w", serr)
			}
		}
	}
	if cap(frame) <= maxPooledFrame {
		*bp = frame[:0]
		framePool.Put(bp)
	}
	switch {
	case err == nil:
		addByEndpoint(l.m.appended, recs)
	case errors.Is(err, ErrFull):
		addByEndpoint(l.m.dropped, recs)
	}
	return err
}

// writeLocked writes one encoded frame to the active segment, opening one if needed,
// and rotates it when it reaches SegmentBytes. With Options.Sync it returns the file
// to fsync.
func (l *Log) writeLocked(frame []byte, nrecs int) (*os.File, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if l.backlog+int64(len(frame)) > l.opts.MaxBufferBytes {
		l.dropped += int64(nrecs)
		if !l.degraded {
			l.degraded = true
			l.log.Error("prediction log backlog is full; dropping records until uploads catch up",
				"backlog_bytes", l.backlog, "max_buffer_bytes", l.opts.MaxBufferBytes, "last_error", l.lastErr)
		}
		return nil, ErrFull
	}
	if l.active != nil && !l.active.fits(len(frame)) {
		l.rotateLocked()
	}
	if l.active == nil {
		if err := l.openSegmentLocked(len(frame)); err != nil {
			return nil, err
		}
	}
	before := l.active.size()
	err := l.active.append(frame)
	n := l.active.size() - before
	l.activeSize += n
	l.backlog += n
	if err != nil {
		// A short write leaves a torn frame at the end of the segment. Close the
		// segment there: readers stop at the torn frame, and nothing follows it.
		l.log.Error("prediction log: WAL write failed; closing the segment", "segment", l.activeNum, "err", err)
		l.rotateLocked()
		return nil, fmt.Errorf("predlog: write WAL segment: %w", err)
	}
	l.appended += int64(nrecs)
	var syncFile *os.File
	if l.opts.Sync {
		syncFile = l.active.file()
	}
	if l.activeSize >= l.opts.SegmentBytes {
		l.rotateLocked()
	}
	return syncFile, nil
}

// openSegmentLocked starts a new active segment with the next number, with room for
// at least a frame of need bytes. The number is saved first, so no number is ever used
// twice, even after every segment was uploaded and deleted: object names stay unique.
func (l *Log) openSegmentLocked(need int) error {
	num := l.lastSeq + 1
	if err := writeFileAtomic(l.dir, seqName, []byte(strconv.FormatUint(num, 10)+"\n"), l.opts.Sync); err != nil {
		return fmt.Errorf("predlog: save segment sequence: %w", err)
	}
	l.lastSeq = num
	p := filepath.Join(l.dir, segmentName(num))
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("predlog: create WAL segment: %w", err)
	}
	seg, err := newSegment(f, max(l.opts.SegmentBytes, int64(len(segmentMagic)+need)))
	if err == nil && l.opts.Sync {
		if err = f.Sync(); err == nil {
			err = syncDir(l.dir)
		}
	}
	if err != nil {
		if seg != nil {
			seg.close(false)
		} else {
			f.Close()
		}
		os.Remove(p)
		return fmt.Errorf("predlog: start WAL segment: %w", err)
	}
	l.active, l.activeNum, l.activeSize = seg, num, seg.size()
	l.backlog += l.activeSize
	return nil
}

// rotateLocked closes the active segment and queues it for upload (or deletes it when
// it holds no frame).
func (l *Log) rotateLocked() {
	f := l.active
	if f == nil {
		return
	}
	l.active = nil
	if err := f.close(l.opts.Sync); err != nil {
		l.log.Error("prediction log: close WAL segment", "segment", l.activeNum, "err", err)
	}
	seg := segment{num: l.activeNum, size: l.activeSize}
	if seg.size <= int64(len(segmentMagic)) {
		os.Remove(filepath.Join(l.dir, segmentName(seg.num)))
		l.backlog -= seg.size
		return
	}
	l.pending = append(l.pending, seg)
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// addByEndpoint adds one to v per record, labelled by endpoint; a request's rows
// share an endpoint, so this is usually one Add.
func addByEndpoint(v *prometheus.CounterVec, recs []Record) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].Endpoint == recs[i].Endpoint {
			j++
		}
		v.WithLabelValues(recs[i].Endpoint).Add(float64(j - i))
		i = j
	}
}
