package transport

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy says when a session reconnects.
type Policy uint8

const (
	// PolicySpec follows the SSE specification: a network error or a clean
	// end of a 200 stream reconnects; a status other than 200 or a wrong
	// content type fails the session. For WebSockets: an abnormal close
	// (1006) or 1012/1013 reconnects; other closes end the session.
	PolicySpec Policy = iota
	// PolicyAlways also reconnects after HTTP errors (429, 5xx) and after
	// any WebSocket close, honouring Retry-After (clamped).
	PolicyAlways
	// PolicyNever ends the session at the first end of a connection.
	PolicyNever
)

func (p Policy) String() string {
	switch p {
	case PolicySpec:
		return "spec"
	case PolicyAlways:
		return "always"
	case PolicyNever:
		return "never"
	}
	return "unknown"
}

// ParsePolicy reads "spec", "always" or "never".
func ParsePolicy(s string) (Policy, bool) {
	for _, p := range []Policy{PolicySpec, PolicyAlways, PolicyNever} {
		if p.String() == s {
			return p, true
		}
	}
	return 0, false
}

// Defaults for Reconnect.
const (
	DefaultRetry      = 3 * time.Second // before the server sends retry:
	DefaultRetryFloor = 100 * time.Millisecond
	DefaultRetryCap   = 30 * time.Second
)

// Reconnect is a session's reconnect policy. The zero value is the
// specification's behaviour with the defaults.
type Reconnect struct {
	Policy Policy
	// Initial is the reconnection time before the server sets one (SSE
	// retry:); default 3s.
	Initial time.Duration
	// Floor and Cap clamp every delay, the server's retry: included, so that
	// retry: 0 cannot make a tight loop; defaults 100ms and 30s.
	Floor, Cap time.Duration
	// MaxAttempts ends the session after this many reconnects in a row that
	// delivered nothing; 0 means no limit.
	MaxAttempts int
	// Gate, when set, is called before every reconnect and may delay it: the
	// load engine uses it for a global reconnect rate limit, so a server
	// restart under 10,000 sessions does not cause a reconnect storm.
	Gate func(ctx context.Context) error
}

// Delay is the wait before reconnect attempt n (1 for the first reconnect)
// when the server asked for retry (0: it did not). It is "full jitter"
// exponential backoff on the clamped base: a random duration in
// [base/2, min(Cap, base·2^(n-1))], which spreads the reconnects of many
// sessions instead of synchronising them (RFC 6455 §7.2.3 asks for the same).
func (r Reconnect) Delay(n int, retry time.Duration, rnd *rand.Rand) time.Duration {
	floor, ceil := or(r.Floor, DefaultRetryFloor), or(r.Cap, DefaultRetryCap)
	base := or(retry, or(r.Initial, DefaultRetry))
	base = min(max(base, floor), ceil)
	hi := base
	for i := 1; i < n && hi < ceil; i++ {
		hi *= 2
	}
	hi = min(hi, ceil)
	lo := base / 2
	if hi <= lo {
		return max(hi, floor)
	}
	var f float64
	if rnd != nil {
		f = rnd.Float64()
	} else {
		f = rand.Float64()
	}
	return max(lo+time.Duration(f*float64(hi-lo)), floor)
}

// Wait sleeps for d, or until ctx ends (returning its error). A ctx that
// has ended wins over a timer that fired at the same time: select picks
// either, and the caller would start work that is only cut off.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return ctx.Err()
}
