//go:build !unix

package outfile

import "errors"

// mkfifo has no counterpart off unix: the FIFO tests skip there.
func mkfifo(string) error { return errors.New("no FIFOs on this platform") }
