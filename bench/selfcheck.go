package bench

import "time"

// Self-check settings (jHiccup's idea): a timer that should fire every
// SelfCheckInterval records how late it fires. When rtbench itself is short
// of CPU or stalled by GC, that lateness is in every latency it measured;
// SaturationP99 is the p99 lateness above which the run is reported as
// saturated.
const (
	SelfCheckInterval = time.Millisecond
	SaturationP99     = 5 * time.Millisecond
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
				now := time.Now()
				h.Record(max(now.Sub(due), 0))
				due = now.Add(SelfCheckInterval)
				t.Reset(SelfCheckInterval)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// Saturated reports whether the generator was saturated during the run
// recorded in r: its self-check's p99 lateness is above SaturationP99, so
// its latencies include its own stalls and the report must say so loudly.
func Saturated(r *Recording) bool {
	return r.SelfCheck != nil && r.SelfCheck.Count() > 0 && r.SelfCheck.Quantile(99) > SaturationP99
}
