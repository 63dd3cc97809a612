package poll

import (
	"context"
	"time"
)

// waitEnd says why a held request woke.
type waitEnd int

const (
	woke     waitEnd = iota // the wake channel was closed: the state may have changed
	timedOut                // the timer fired
	ended                   // the request context ended
)

// hold blocks until timer fires, wake is closed (a nil wake never is) or ctx
// ends. A held request sleeps here and nowhere else: there are no polling
// loops, only one timer per request set to the exact time of the next change
// or the end of the wait.
func hold(ctx context.Context, timer <-chan time.Time, wake <-chan struct{}) waitEnd {
	select {
	case <-ctx.Done():
		return ended
	case <-timer:
		return timedOut
	case <-wake:
		return woke
	}
}

// until returns the duration from now to at, both Unix ns, never negative.
func until(now, at int64) time.Duration {
	return time.Duration(max(at-now, 0))
}
