//go:build !unix

package bench

import "errors"

// openFileLimit is not known on this OS: CheckFiles does not refuse.
func openFileLimit() (soft, hard uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}

// RaiseFileLimit does nothing where the OS has no file limit.
func RaiseFileLimit(uint64) {}
