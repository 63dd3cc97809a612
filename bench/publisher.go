package bench

import (
	"context"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// MaxPublishInFlight bounds the publishes a PublishLoop has in flight; past
// it the loop waits, and the messages go out late (their sched_ns still
// the intended time, so delivery latency shows it).
const MaxPublishInFlight = 64

// PublishStats is what a PublishLoop did.
type PublishStats struct {
	Published int64 // accepted by the service
	Failed    int64
	// Errors are the failures by class, with an example and the codes.
	Errors map[transport.Class]*ErrorCount
}

// PublishLoop publishes through pub at rate messages per second from now
// until ctx ends: message n (from 1) is intended at start + (n-1)/rate,
// sent at that time on a schedule of its own (one central pacer, never a
// per-publish sleep), and stamped with that intended time. A message
// intended at or after ctx's deadline is not sent, however late the
// deadline is noticed, so a run of d at rate r publishes ⌈d·r⌉ messages.
// It returns when every publish it started has ended.
func PublishLoop(ctx context.Context, rate float64, pub transport.Publisher) *PublishStats {
	st := &PublishStats{Errors: map[transport.Class]*ErrorCount{}}
	if rate <= 0 {
		return st
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, MaxPublishInFlight)
	)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Unix(1<<62, 0) // none: until ctx ends
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for n := uint64(1); ; n++ {
		intended := start.Add(time.Duration(n-1) * interval)
		if !intended.Before(deadline) {
			wg.Wait()
			return st
		}
		t.Reset(time.Until(intended))
		select {
		case <-ctx.Done():
			wg.Wait()
			return st
		case <-t.C:
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return st
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := pub(ctx, n, intended)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				st.Published++
				return
			}
			if ctx.Err() != nil {
				return // cut by the end of the run: not a failure
			}
			st.Failed++
			e := transport.AsError(err)
			ec := st.Errors[e.Class]
			if ec == nil {
				ec = &ErrorCount{Example: e.Error()}
				st.Errors[e.Class] = ec
			}
			ec.Count++
			if e.Code != 0 {
				ec.addCodes(map[int]int64{e.Code: 1})
			}
		})
	}
}

// AddErrors adds errors counted outside the sessions (a publisher's) to
// the recording's.
func (r *Recording) AddErrors(errs map[transport.Class]*ErrorCount) {
	for c, e := range errs {
		have := r.Errors[c]
		if have == nil {
			if r.Errors == nil {
				r.Errors = map[transport.Class]*ErrorCount{}
			}
			have = &ErrorCount{Example: e.Example}
			r.Errors[c] = have
		}
		have.Count += e.Count
		have.addCodes(e.Codes)
	}
}
