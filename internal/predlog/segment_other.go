//go:build !linux

package predlog

import "os"

// newSegment starts a segment written with write(2): memory-mapped segments are only
// used on Linux, where blocks can be reserved first.
func newSegment(f *os.File, _ int64) (activeSegment, error) { return newFileSegment(f) }
