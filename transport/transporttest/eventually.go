package transporttest

import (
	"testing"
	"time"
)

// Eventually waits until cond holds, checking it with a short backoff, and
// fails t if it does not hold within timeout. Use it for state that is only
// observable by polling (a server's counters, a goroutine count); wait on a
// channel whenever there is one.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Microsecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(wait)
		wait = min(2*wait, 20*time.Millisecond)
	}
}
