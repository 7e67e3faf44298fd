//go:build !unix

package predlog

import "os"

// lockFile does nothing where flock is missing: one writer per folder is then the
// operator's duty (see the package documentation).
func lockFile(*os.File) (held bool, err error) { return false, nil }
