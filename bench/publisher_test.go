package bench

import (
	"context"
	"errors"
	"sync"
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
