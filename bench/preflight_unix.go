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

// RaiseFileLimit raises RLIMIT_NOFILE (soft and, where allowed, hard) to n
// when it is lower, so processes started afterwards inherit it; a failure
// leaves the limit as it was (pre-flight says what is missing).
func RaiseFileLimit(n uint64) {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil || uint64(l.Cur) >= n { //nolint:unconvert
		return
	}
	want := l
	want.Cur = max(l.Cur, n)
	want.Max = max(l.Max, n)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		want.Max = l.Max
		want.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	}
}
