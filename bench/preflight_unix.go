//go:build unix

package bench

import "syscall"

// openFileLimit returns RLIMIT_NOFILE.
func openFileLimit() (soft, hard uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, err
	}
	return uint64(l.Cur), uint64(l.Max), nil //nolint:unconvert // int64 on some BSDs
}
