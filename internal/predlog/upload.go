package predlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Upload retry: exponential backoff between these bounds while the bucket fails.
const (
	retryMin   = 250 * time.Millisecond
	retryMax   = 30 * time.Second
	putTimeout = 2 * time.Minute // one object; a hung store must not stall the log forever
)

var errNotSegment = errors.New("not a prediction-log segment")

// run is the background uploader: it closes the active segment every FlushInterval
// and uploads closed segments as they appear, retrying with backoff while the
// bucket fails.
func (l *Log) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(l.opts.FlushInterval)
	defer tick.Stop()
	wake := make(chan struct{}, 1)
	wake <- struct{}{} // upload what the previous process left at once
	var backoff time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-l.kick:
		case <-tick.C:
			l.mu.Lock()
			l.rotateLocked()
			l.mu.Unlock()
		}
		for {
			err := l.uploadPending(ctx)
			if err == nil || ctx.Err() != nil {
				backoff = 0
				break
			}
			backoff = min(max(2*backoff, retryMin), retryMax)
			l.log.Warn("prediction log upload failed; retrying", "in", backoff, "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// uploadPending uploads closed segments, oldest first, until none is left or one
// fails.
func (l *Log) uploadPending(ctx context.Context) error {
	l.uploadMu.Lock()
	defer l.uploadMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.mu.Unlock()
			return nil
		}
		seg := l.pending[0]
		l.mu.Unlock()
		n, err := l.uploadSegment(ctx, seg)
		if err != nil {
			if ctx.Err() == nil {
				l.m.uploadErrors.Inc()
				l.mu.Lock()
				l.lastErr = err.Error()
				l.mu.Unlock()
			}
			return err
		}
		l.mu.Lock()
		l.pending = slices.Delete(l.pending, 0, 1) // only this pass removes, under uploadMu
		l.backlog -= seg.size
		l.uploaded += n
		l.lastUpload = time.Now()
		l.lastErr = ""
		if l.degraded && l.backlog <= l.opts.MaxBufferBytes/2 {
			l.degraded = false
			l.log.Info("prediction log backlog drained; recording again", "backlog_bytes", l.backlog)
		}
		l.mu.Unlock()
	}
}

// uploadSegment turns closed segment seg into one Parquet object per (endpoint, date)
// and deletes the segment once every object is written. Object names depend only on
// the segment, so a retry or a replay after a crash overwrites what a previous attempt
// wrote. It returns the number of records uploaded.
func (l *Log) uploadSegment(ctx context.Context, seg segment) (int64, error) {
	p := filepath.Join(l.dir, segmentName(seg.num))
	scan, err := readSegment(p)
	if errors.Is(err, errNotSegment) {
		// Not ours or damaged at the start: nothing can be recovered automatically.
		// Keep it aside for a human rather than block the log behind it.
		bad := p + badSuffix
		if rerr := os.Rename(p, bad); rerr != nil {
			return 0, fmt.Errorf("predlog: set aside %s: %w", p, rerr)
		}
		l.log.Error("prediction log: segment is unreadable; set aside", "file", bad, "err", err)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if scan.Tail > 0 {
		l.log.Warn("prediction log: ignoring the torn end of a segment (a crash during a write)",
			"segment", seg.num, "bytes", scan.Tail, "reason", scan.TailReason, "records_kept", len(scan.Records))
	}
	parts, groups := splitByPartition(scan.Records)
	for _, part := range parts {
		data, err := encodeObject(scan.Records, groups[part])
		if err != nil {
			return 0, err
		}
		key := objectKey(l.opts.Prefix, part, l.replica, seg.num)
		pctx, cancel := context.WithTimeout(ctx, putTimeout)
		err = l.opts.Bucket.Put(pctx, key, bytes.NewReader(data), int64(len(data)))
		cancel()
		if err != nil {
			return 0, fmt.Errorf("predlog: upload %s: %w", key, err)
		}
		l.m.objects.Inc()
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("predlog: delete uploaded segment: %w", err)
	}
	for _, part := range parts {
		l.m.uploaded.WithLabelValues(part.endpoint).Add(float64(len(groups[part])))
	}
	return int64(len(scan.Records)), nil
}

// readSegment reads and decodes a closed segment file. A file shorter than the magic
// that starts like it is a segment whose creation was cut short: it holds nothing.
func readSegment(p string) (frameScan, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return frameScan{}, fmt.Errorf("predlog: read WAL segment: %w", err)
	}
	if len(data) < len(segmentMagic) {
		if string(data) == segmentMagic[:len(data)] {
			return frameScan{}, nil
		}
		return frameScan{}, fmt.Errorf("predlog: %s: %w", p, errNotSegment)
	}
	if string(data[:len(segmentMagic)]) != segmentMagic {
		return frameScan{}, fmt.Errorf("predlog: %s: %w (bad magic %q)", p, errNotSegment, data[:len(segmentMagic)])
	}
	return decodeFrames(data[len(segmentMagic):]), nil
}
