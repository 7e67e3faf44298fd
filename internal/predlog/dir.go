package predlog

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files of the WAL folder.
const (
	lockName    = "lock"
	replicaName = "replica-id"
	seqName     = "segment-seq" // the last segment number handed out
	segPrefix   = "seg-"
	segSuffix   = ".wal"
	badSuffix   = ".corrupt" // a segment whose header is not ours, kept for inspection
)

// segment is a WAL file: its number and size in bytes.
type segment struct {
	num  uint64
	size int64
}

func segmentName(num uint64) string { return fmt.Sprintf("%s%012d%s", segPrefix, num, segSuffix) }

// parseSegmentName returns the number in a name made by segmentName.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, segPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, segSuffix)
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil && n > 0
}

// lockDir creates dir and takes its lock file; the returned file holds the lock until
// closed (or the process dies).
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("predlog: create WAL folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("predlog: open lock file: %w", err)
	}
	held, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("predlog: lock WAL folder %s: %w", dir, err)
	}
	if held {
		f.Close()
		return nil, fmt.Errorf("predlog: WAL folder %s is in use by another process (or another Log in this one); each serving replica needs its own folder", dir)
	}
	return f, nil
}

// loadReplicaID reads the folder's replica id, creating a random one on first use.
// The id names every Parquet object this folder produces, so it must never change.
func loadReplicaID(dir string) (string, error) {
	p := filepath.Join(dir, replicaName)
	b, err := os.ReadFile(p)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validReplicaID(id) {
			return "", fmt.Errorf("predlog: %s holds %q, not a replica id (1-64 lowercase letters, digits and '-')", p, id)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("predlog: read replica id: %w", err)
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("predlog: make replica id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	if err := writeFileAtomic(dir, replicaName, []byte(id+"\n"), true); err != nil {
		return "", fmt.Errorf("predlog: save replica id: %w", err)
	}
	return id, nil
}

func validReplicaID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// trimReserved cuts the unwritten, reserved end off a mapped segment whose process
// died before closing it, so that the backlog counts the bytes written. A torn frame
// stays (the upload reports it). It returns the segment's size.
func trimReserved(p string, size int64) (int64, error) {
	scan, err := readSegment(p)
	if err != nil {
		return size, nil // the upload sets an unreadable segment aside
	}
	end := int64(len(segmentMagic) + scan.Used + scan.Tail)
	if end >= size {
		return size, nil
	}
	if err := os.Truncate(p, end); err != nil {
		return 0, fmt.Errorf("predlog: cut the reserved end of %s: %w", p, err)
	}
	return end, nil
}

// scanDir lists the segments left in dir (oldest first) and the last segment number
// handed out, the larger of the sequence file and the newest segment.
func scanDir(dir string) (segs []segment, last uint64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("predlog: list WAL folder: %w", err)
	}
	for _, e := range entries {
		num, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, 0, fmt.Errorf("predlog: stat %s: %w", e.Name(), err)
		}
		segs = append(segs, segment{num: num, size: info.Size()})
		last = max(last, num)
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmpUint(a.num, b.num) })
	if n := len(segs); n > 0 {
		// Only the newest can be a mapped segment that was active when its process died.
		if segs[n-1].size, err = trimReserved(filepath.Join(dir, segmentName(segs[n-1].num)), segs[n-1].size); err != nil {
			return nil, 0, err
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, seqName))
	switch {
	case err == nil:
		n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			return nil, 0, fmt.Errorf("predlog: %s holds %q, not a segment number", filepath.Join(dir, seqName), b)
		}
		last = max(last, n)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, 0, fmt.Errorf("predlog: read segment sequence: %w", err)
	}
	return segs, last, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeFileAtomic replaces dir/name with data through a temporary file and a rename,
// so a reader sees the old content or the new one. With sync it also survives power
// loss: the file and the folder are fsynced.
func writeFileAtomic(dir, name string, data []byte, sync bool) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncDir fsyncs a folder so that files created, renamed or removed in it stay so
// after a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
