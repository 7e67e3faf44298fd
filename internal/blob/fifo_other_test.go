//go:build !unix

package blob

import "errors"

func syscallMkfifo(string) error { return errors.New("no FIFOs here") }
