package bench

import "time"

// Self-check settings (jHiccup's idea): a timer that should fire every
// SelfCheckInterval records how late it fires. When rtbench itself is short
// of CPU or stalled (GC, the scheduler, a paused process), that lateness is
// in every latency it measured.
//
// A stall makes the ticker miss ticks, so each firing is recorded as
// jHiccup records it (HdrHistogram's RecordCorrectedValue): a firing L late
// also stands for the ticks it missed, L − 1 ms, L − 2 ms, … down to 1 ms.
// The histogram is then time-weighted: its quantile q says for how much of
// the run the generator was at most that late, so a single 168 ms stall
// weighs 168 ms of the run, not one tick in thousands.
//
// The rule: the run is saturated when the generator was more than
// SaturationLate late for more than SaturationShare of its time, that is
// when the self-check's p99.9 is above SaturationLate. Past that, the
// report's p99.9 (and any percentile above the share) may be the
// generator's own delay rather than the target's. docs/calibration.md
// shows the rule against real stalls.
const (
	SelfCheckInterval = time.Millisecond
	SaturationLate    = 5 * time.Millisecond
	// SaturationQuantile is 100 − the share of the run (in %) the generator
	// may spend more than SaturationLate late: p99.9, 0.1 %.
	SaturationQuantile = 99.9
)

// startSelfCheck records the generator's own lateness into h until the
// returned func is called; that func returns once the goroutine has
// stopped, after which h may be read.
func startSelfCheck(h *Hist) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(SelfCheckInterval)
		defer t.Stop()
		due := time.Now().Add(SelfCheckInterval)
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				due = recordTick(h, due, time.Now())
				t.Reset(SelfCheckInterval)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// recordTick records a tick due at due that fired at now, with the ticks a
// late firing missed, and returns when the next tick is due.
func recordTick(h *Hist, due, now time.Time) (next time.Time) {
	h.RecordCorrected(max(now.Sub(due), 0), SelfCheckInterval)
	return now.Add(SelfCheckInterval)
}

// Saturated reports whether the generator was saturated during the run
// recorded in r (see SaturationLate): its latencies include its own stalls
// and the report must say so loudly; thresholds fail unless the user allows
// it.
func Saturated(r *Recording) bool {
	return r.SelfCheck != nil && r.SelfCheck.Count() > 0 && r.SelfCheck.Quantile(SaturationQuantile) > SaturationLate
}
