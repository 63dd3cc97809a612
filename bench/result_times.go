package bench

import (
	"fmt"
	"math"
	"time"
)

// checkTimes refuses a result whose times cannot be a run's: a negative or
// non-finite duration, a start after the end, a measured window outside
// the run. Rates divide by duration_s; such a file would print nonsense.
func (r *Result) checkTimes() error {
	switch {
	case math.IsNaN(r.DurationS) || math.IsInf(r.DurationS, 0) || r.DurationS < 0:
		return fmt.Errorf("field duration_s: %v: a run's measured time cannot be negative", r.DurationS)
	case r.StartedAt.After(r.EndedAt):
		return fmt.Errorf("field started_at: %s is after ended_at %s", r.StartedAt.Format(time.RFC3339Nano), r.EndedAt.Format(time.RFC3339Nano))
	case !r.MeasuredFrom.IsZero() && (r.MeasuredFrom.Before(r.StartedAt) || r.MeasuredFrom.After(r.EndedAt)):
		return fmt.Errorf("field measured_from: %s is outside the run (%s to %s)", r.MeasuredFrom.Format(time.RFC3339Nano), r.StartedAt.Format(time.RFC3339Nano), r.EndedAt.Format(time.RFC3339Nano))
	}
	return nil
}
