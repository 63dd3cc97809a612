package bench

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"
)

// Stage is one step of a ramp: over Duration the value moves linearly from
// where the previous stage left it (0 before the first stage) to Target. A
// stage with Duration 0 jumps to Target at once.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Stages is a piecewise-linear schedule, like k6's ramping executors. The
// same stages describe either a request rate (the open model: Stages is a
// Pacer, as k6's ramping-arrival-rate) or a number of held sessions (the
// closed model: Plan.Stages, as k6's ramping-vus; see Levels).
type Stages []Stage

// Validate reports a stage with a negative duration or a negative, infinite
// or NaN target.
func (s Stages) Validate() error {
	for i, st := range s {
		if st.Duration < 0 {
			return fmt.Errorf("stage %d: negative duration %v", i+1, st.Duration)
		}
		if !(st.Target >= 0) || math.IsInf(st.Target, 0) {
			return fmt.Errorf("stage %d: target %v is not a number of 0 or more", i+1, st.Target)
		}
	}
	if len(s) > 0 && !slices.ContainsFunc(s, func(st Stage) bool { return st.Target > 0 }) {
		return errors.New("every stage's target is 0, so the run would do nothing: give a stage a target above 0, such as 30s:100")
	}
	return nil
}

// Duration is the total length of the stages.
func (s Stages) Duration() time.Duration {
	var d time.Duration
	for _, st := range s {
		d += st.Duration
	}
	return d
}

// Value returns the schedule's value at elapsed: interpolated within its
// stage, the last target after the last stage, 0 before the first.
func (s Stages) Value(elapsed time.Duration) float64 {
	var t0 time.Duration
	from := 0.0
	for _, st := range s {
		if elapsed < t0+st.Duration {
			if elapsed < t0 {
				return from
			}
			f := float64(elapsed-t0) / float64(st.Duration)
			return from + (st.Target-from)*f
		}
		t0 += st.Duration
		from = st.Target
	}
	return from
}

// Rate implements Pacer: the value at elapsed, in hits per second.
func (s Stages) Rate(elapsed time.Duration) float64 { return s.Value(elapsed) }

// Hit implements Pacer, reading the stages as a rate in hits per second:
// hit n is due at the first instant at which the integral of the rate
// reaches n (hit 0 at the start of the first stage whose rate is not 0).
// It is false after the last stage.
func (s Stages) Hit(n uint64) (time.Duration, bool) {
	want := float64(n)
	var t0 time.Duration
	from, done := 0.0, 0.0 // the rate, and the hits due, at t0
	for _, st := range s {
		d := st.Duration.Seconds()
		area := d * (from + st.Target) / 2
		if st.Duration > 0 && area > 0 && done+area >= want {
			m := want - done // hits still to go, within this stage
			var t float64
			if m > 0 {
				// rate(t) = a + k·2t, ∫ = a·t + k·t²; solve a·t + k·t² = m in
				// the form that stays exact as k → 0.
				a, k := from, (st.Target-from)/(2*d)
				t = 2 * m / (a + math.Sqrt(max(a*a+4*k*m, 0)))
			}
			at, ok := seconds(t)
			return t0 + min(at, st.Duration), ok
		}
		t0 += st.Duration
		from, done = st.Target, done+area
	}
	return 0, false
}

// Levels reads the stages as a number of held sessions and yields each
// change of that number: the time and the new level. The level changes when
// the value reaches the next whole number in the direction it moves: ramping
// 0 → 4 over 1 s gives 1 at 250 ms, 2 at 500 ms, 3 at 750 ms and 4 at 1 s;
// ramping back down over the next second gives 3 at 1.25 s … 0 at 2 s. A
// jump (a stage of Duration 0) to a fractional target rounds towards where
// the value came from.
func (s Stages) Levels() iter.Seq2[time.Duration, int] {
	return func(yield func(time.Duration, int) bool) {
		var t0 time.Duration
		from, level := 0.0, 0
		emit := func(at time.Duration, l int) bool {
			if l == level {
				return true
			}
			level = l
			return yield(at, l)
		}
		for _, st := range s {
			a, b := from, st.Target
			switch {
			case st.Duration == 0 && b > a:
				if !emit(t0, int(math.Floor(b))) {
					return
				}
			case st.Duration == 0 && b < a:
				if !emit(t0, int(math.Ceil(b))) {
					return
				}
			case b > a:
				for k := math.Floor(a) + 1; k <= b; k++ {
					if !emit(t0+lerpTime(st.Duration, (k-a)/(b-a)), int(k)) {
						return
					}
				}
			case b < a:
				for k := math.Ceil(a) - 1; k >= b; k-- {
					if !emit(t0+lerpTime(st.Duration, (a-k)/(a-b)), int(k)) {
						return
					}
				}
			}
			t0 += st.Duration
			from = b
		}
	}
}

func lerpTime(d time.Duration, f float64) time.Duration {
	return min(time.Duration(math.Round(float64(d)*f)), d)
}
