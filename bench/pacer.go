package bench

import (
	"math"
	"time"
)

// Pacer is the open model's schedule: it says when each hit (one request
// session) is meant to start. The engine runs one pacer centrally and hands
// every hit its intended time, so latency is measured from when the
// schedule wanted the request sent, not from when a busy generator got round
// to sending it (wrk2's fix for coordinated omission). Workers never pace
// themselves.
type Pacer interface {
	// Hit returns the intended start of hit n (0 for the first) as an
	// offset from the start of the run; ok is false when the schedule has
	// no hit n (it has ended).
	Hit(n uint64) (at time.Duration, ok bool)
	// Rate is the intended rate, in hits per second, at elapsed.
	Rate(elapsed time.Duration) float64
}

// ConstantRate is a steady rate: hit n is due at n/PerSecond seconds, the
// first at once. A rate of 0 or less has no hits.
type ConstantRate struct {
	PerSecond float64
}

// Hit implements Pacer.
func (c ConstantRate) Hit(n uint64) (time.Duration, bool) {
	if !(c.PerSecond > 0) || math.IsInf(c.PerSecond, 0) {
		return 0, false
	}
	return seconds(float64(n) / c.PerSecond)
}

// Rate implements Pacer.
func (c ConstantRate) Rate(time.Duration) float64 { return max(c.PerSecond, 0) }

// seconds converts s seconds to a Duration rounded to the nanosecond; ok is
// false when it does not fit.
func seconds(s float64) (time.Duration, bool) {
	ns := math.Round(s * float64(time.Second))
	if !(ns >= 0) || ns >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(ns), true
}
