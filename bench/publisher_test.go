package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestPublishLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			seqs []uint64
			lags []time.Duration
		)
		start := time.Now()
		pub := func(ctx context.Context, seq uint64, sched time.Time) error {
			mu.Lock()
			seqs = append(seqs, seq)
			lags = append(lags, sched.Sub(start))
			mu.Unlock()
			time.Sleep(250 * time.Millisecond) // slower than the interval: the schedule holds
			if seq%5 == 0 {
				return &transport.Error{Class: transport.ClassPusherError, Code: 401, Err: errors.New("Invalid signature")}
			}
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second-time.Millisecond)
		defer cancel()
		st := PublishLoop(ctx, 10, pub)
		if len(seqs) != 10 {
			t.Fatalf("published %d messages in 1s at 10/s: %v", len(seqs), seqs)
		}
		for i, l := range lags {
			if seqs[i] != uint64(i+1) || l != time.Duration(i)*100*time.Millisecond {
				t.Errorf("message %d: seq %d intended at +%v, want %d at +%v", i, seqs[i], l, i+1, time.Duration(i)*100*time.Millisecond)
			}
		}
		// 5 fails; 10 fails too, but after the run ended: cut off, not a
		// failure. The rest succeeded (9 ends after the run, but ends well).
		if st.Failed != 1 || st.Published != 8 {
			t.Errorf("published %d, failed %d; want 8 and 1", st.Published, st.Failed)
		}
		if ec := st.Errors[transport.ClassPusherError]; ec == nil || ec.Codes[401] != 1 {
			t.Errorf("errors %+v, want one pusher_error 401", st.Errors)
		}
	})
}

// lateCtx has a deadline but ends later than it, as a run's context does on
// a machine too busy to notice the deadline on time.
type lateCtx struct {
	context.Context
	deadline time.Time
}

func (c lateCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// TestPublishLoopStopsAtTheDeadline: a run of 1 s at 10/s publishes 10
// messages (the last intended at +900 ms), also when the context's end is
// noticed half a second late, and when the timer of the 11th fires with it.
func TestPublishLoopStopsAtTheDeadline(t *testing.T) {
	for _, late := range []time.Duration{0, 500 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			var n atomic.Int64
			pub := func(ctx context.Context, seq uint64, sched time.Time) error {
				n.Add(1)
				return nil
			}
			deadline := time.Now().Add(time.Second)
			ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(late))
			defer cancel()
			st := PublishLoop(lateCtx{ctx, deadline}, 10, pub)
			if n.Load() != 10 || st.Published != 10 {
				t.Errorf("ended %v late: published %d (%d counted) in 1s at 10/s, want 10", late, n.Load(), st.Published)
			}
		})
	}
}
