// Package bounds is the one validation of rates, intervals and durations for
// every route of the mock server and every flag of `rtbench serve`, so that
// /sse, /ws, /poll, the AI routes and the flags accept the same values.
//
// The bounds:
//
//   - a rate (events, ticks or tokens per second) is MinRate (one per
//     1000 s) or more, up to a per-parameter maximum; some parameters also
//     accept 0 (nothing at all);
//   - an interval (a heartbeat, a tick period, a retry) is MinInterval (1 ms)
//     or more, up to MaxDuration (1 h); some parameters also accept 0 (off);
//   - every other duration (a jitter, a delay, a timeout) is from 0 (or from
//     its own minimum) up to its maximum, MaxDuration at most;
//   - a span (n events at a rate) is computed in floating point and compared
//     with its cap before it becomes a time.Duration, so no overflow can
//     turn a tiny rate into a huge rate.
//
// A value out of bounds is an *Error: one line naming the parameter, the
// accepted values and what was sent.
package bounds

import (
	"math"
	"strconv"
	"time"
)

// The common bounds.
const (
	// MinRate is the lowest non-zero rate: one event per 1000 s.
	MinRate = 0.001
	// MinInterval is the shortest interval between two things a server
	// sends on its own (heartbeats, ticks, retries).
	MinInterval = time.Millisecond
	// MaxDuration is the longest duration or interval any parameter takes.
	MaxDuration = time.Hour
)

// Error is a value out of bounds: Name is the parameter ("rate",
// "X-RTBench-TPS", "--heartbeat"), Want the values it takes, Got what was
// sent.
type Error struct {
	Name, Want, Got string
}

func (e *Error) Error() string {
	got := e.Got
	if len(got) > 64 {
		got = got[:64] + "..."
	}
	return e.Name + ": want " + e.Want + "; got " + strconv.Quote(got)
}

// Rate describes a rate parameter.
type Rate struct {
	Name string  // the parameter, as the client or user wrote it
	Unit string  // what is counted per second: "events", "ticks", "tokens"
	Max  float64 // the highest value accepted; at least MinRate
	Zero string  // what 0 means ("no ticks"); "" when 0 is refused
}

// As returns r for a parameter of another name (a flag with the same bounds
// as a query parameter).
func (r Rate) As(name string) Rate { r.Name = name; return r }

// Want describes the accepted values: "ticks per second, 0 (no ticks) or a
// number from 0.001 to 1000".
func (r Rate) Want() string {
	s := r.Unit + " per second, "
	if r.Zero != "" {
		s += "0 (" + r.Zero + ") or "
	}
	return s + "a number from " + fmtFloat(MinRate) + " to " + fmtFloat(r.Max)
}

// Parse reads a decimal rate and checks it.
func (r Rate) Parse(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &Error{r.Name, r.Want(), s}
	}
	return f, r.check(f, s)
}

// Check checks a rate that is already a number (a flag's value).
func (r Rate) Check(f float64) error { return r.check(f, fmtFloat(f)) }

func (r Rate) check(f float64, s string) error {
	if f == 0 && r.Zero != "" {
		return nil
	}
	if !(f >= MinRate && f <= r.Max) { // also refuses NaN
		return &Error{r.Name, r.Want(), s}
	}
	return nil
}

// Duration describes a duration or interval parameter.
type Duration struct {
	Name string
	Min  time.Duration // the lowest non-zero value; MinInterval for an interval
	Max  time.Duration // the highest value; 0 means MaxDuration
	Zero string        // what 0 means ("off"); "" when 0 is refused (unless Min is 0)
	Ex   string        // an example value, "250ms"
}

// Interval describes an interval: 0 (zero, when it is not "") or from
// MinInterval to MaxDuration.
func Interval(name, zero, example string) Duration {
	return Duration{Name: name, Min: MinInterval, Max: MaxDuration, Zero: zero, Ex: example}
}

// Upto describes a duration from 0 to max (at most MaxDuration).
func Upto(name string, max time.Duration, example string) Duration {
	return Duration{Name: name, Max: max, Ex: example}
}

// As returns d for a parameter of another name.
func (d Duration) As(name string) Duration { d.Name = name; return d }

func (d Duration) max() time.Duration {
	if d.Max <= 0 || d.Max > MaxDuration {
		return MaxDuration
	}
	return d.Max
}

// Want describes the accepted values: "a duration, 0 (off) or from 1ms to
// 1h, such as 15s".
func (d Duration) Want() string {
	s := "a duration"
	switch {
	case d.Min <= 0:
		s += " from 0s"
	case d.Zero != "":
		s += ", 0 (" + d.Zero + ") or from " + d.Min.String()
	default:
		s += " from " + d.Min.String()
	}
	s += " to " + fmtDuration(d.max())
	if d.Ex != "" {
		s += ", such as " + d.Ex
	}
	return s
}

// Parse reads a Go duration ("250ms") and checks it.
func (d Duration) Parse(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, &Error{d.Name, d.Want(), s}
	}
	return v, d.check(v, s)
}

// Check checks a duration that is already a time.Duration (a flag's value).
func (d Duration) Check(v time.Duration) error { return d.check(v, v.String()) }

func (d Duration) check(v time.Duration, s string) error {
	switch {
	case v == 0 && (d.Zero != "" || d.Min <= 0):
		return nil
	case v < d.Min, v < 0, v > d.max():
		return &Error{d.Name, d.Want(), s}
	}
	return nil
}

// Span returns how long n things take at rate per second, saturated at
// math.MaxInt64 nanoseconds instead of overflowing; 0 when n <= 0 and
// math.MaxInt64 when rate <= 0 (or NaN) and n > 0.
func Span(n, rate float64) time.Duration {
	if !(n > 0) {
		return 0
	}
	if !(rate > 0) {
		return math.MaxInt64
	}
	return Seconds(n / rate)
}

// Seconds converts seconds to a Duration, saturating at the int64 range
// (Go's float-to-int conversion of an out-of-range value is undefined, and
// on amd64 gives math.MinInt64: a negative duration that passes every
// "at most" check).
func Seconds(s float64) time.Duration {
	ns := s * float64(time.Second)
	switch {
	case ns != ns:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// Add adds durations, saturating instead of overflowing.
func Add(ds ...time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		switch {
		case d > 0 && sum > math.MaxInt64-d:
			sum = math.MaxInt64
		case d < 0 && sum < math.MinInt64-d:
			sum = math.MinInt64
		default:
			sum += d
		}
	}
	return sum
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// fmtDuration prints whole hours and minutes as "1h" and "10m", not
// "1h0m0s".
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
