package poll_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/poll"
)

// TestSchedule runs the client against a fake transport in a synctest
// bubble, where time is exact: requests are intended on the grid
// start + k·Interval; a slow response makes the next ones late (Start −
// Intended) but does not move the grid; after a failure polling resumes on
// the first slot past the backoff, Retry-After included (clamped); with
// LongPoll each request is intended when the previous one returned, unless
// the server answered "no change" at once (it does not hold requests).
func TestSchedule(t *testing.T) {
	const s = time.Second
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name       string
		client     poll.Client
		fake       delayer
		n          int             // exchanges to run
		intended   []time.Duration // from the start; nil: not checked
		starts     []time.Duration // from the start
		lateAfter  time.Duration   // the retry (the second success) intended at or after this
		lateBefore time.Duration   // and at or before this
	}{
		{
			name:     "on-time",
			client:   poll.Client{Interval: s},
			fake:     delayer{delays: []time.Duration{ms(100), ms(100), ms(100), ms(100)}},
			n:        4,
			intended: []time.Duration{0, s, 2 * s, 3 * s},
			starts:   []time.Duration{0, s, 2 * s, 3 * s},
		},
		{
			name:     "slow-response-no-drift",
			client:   poll.Client{Interval: s},
			fake:     delayer{delays: []time.Duration{ms(100), ms(2500), ms(100), ms(100), ms(100), ms(100)}},
			n:        6,
			intended: []time.Duration{0, s, 2 * s, 3 * s, 4 * s, 5 * s},
			starts:   []time.Duration{0, s, ms(3500), ms(3600), 4 * s, 5 * s},
		},
		{
			// Floor = Cap = 1.5s makes the backoff exact: the 503 at 1s is
			// retried at the first slot after 2.5s.
			name: "failure-next-slot-after-backoff",
			client: poll.Client{Interval: s,
				Reconnect: transport.Reconnect{Initial: ms(1500), Floor: ms(1500), Cap: ms(1500)}},
			fake:     delayer{status: []int{200, 503, 200, 200}},
			n:        4, // the successful ones
			intended: []time.Duration{0, 3 * s, 4 * s, 5 * s},
			starts:   []time.Duration{0, 3 * s, 4 * s, 5 * s},
		},
		{
			// Retry-After: 5 with full jitter waits 2.5s to 5s (without it,
			// 100ms): the retry lands on slot 4, 5 or 6.
			name: "retry-after-honoured",
			client: poll.Client{Interval: s,
				Reconnect: transport.Reconnect{Initial: ms(100), Floor: ms(100), Cap: 10 * s}},
			fake:       delayer{status: []int{200, 429, 200}, header: map[int]http.Header{1: {"Retry-After": {"5"}}}},
			n:          3,
			lateAfter:  4 * s,
			lateBefore: 6 * s,
		},
		{
			// Retry-After: 3600 is clamped to Cap (10s): 5s to 10s.
			name: "retry-after-clamped",
			client: poll.Client{Interval: s,
				Reconnect: transport.Reconnect{Initial: ms(100), Floor: ms(100), Cap: 10 * s}},
			fake:       delayer{status: []int{200, 503, 200}, header: map[int]http.Header{1: {"Retry-After": {"3600"}}}},
			n:          3,
			lateAfter:  6 * s,
			lateBefore: 11 * s,
		},
		{
			name:     "long-poll-back-to-back",
			client:   poll.Client{Interval: s, LongPoll: 30 * s},
			fake:     delayer{delays: []time.Duration{ms(10), 3 * s, ms(500), 2 * s}},
			n:        4,
			intended: []time.Duration{0, ms(10), ms(3010), ms(3510)},
			starts:   []time.Duration{0, ms(10), ms(3010), ms(3510)},
		},
		{
			// A server that ignores wait= and answers "no change" at once
			// is polled every Interval, not hammered.
			name:     "long-poll-server-does-not-hold",
			client:   poll.Client{Interval: s, LongPoll: 30 * s},
			fake:     delayer{delays: []time.Duration{ms(10), ms(10), ms(10), ms(10)}, body: `{"state":"same"}`},
			n:        4,
			intended: []time.Duration{0, ms(10), ms(1020), ms(2030)},
			starts:   []time.Duration{0, ms(10), ms(1020), ms(2030)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				o := &observer{OnExchange: func(n int, x *transport.Exchange) {
					if n == tt.n+failures(tt.fake.status[:min(len(tt.fake.status), tt.n)]) {
						cancel()
					}
				}}
				c := tt.client
				c.Request.URL = "http://rtbench.test/poll"
				c.HTTP = &http.Client{Transport: &tt.fake}
				t0 := time.Now()
				if err := c.Run(ctx, o); err != nil {
					t.Fatalf("Run: %v", err)
				}
				var xs []transport.Exchange
				for _, x := range o.exchanges() {
					if x.Status == http.StatusOK {
						xs = append(xs, x)
					}
				}
				if len(xs) != tt.n {
					t.Fatalf("%d successful exchanges, want %d", len(xs), tt.n)
				}
				for i, x := range xs {
					if tt.intended != nil && x.Intended.Sub(t0) != tt.intended[i] {
						t.Errorf("exchange %d intended at %v, want %v", i, x.Intended.Sub(t0), tt.intended[i])
					}
					if tt.starts != nil && x.Start.Sub(t0) != tt.starts[i] {
						t.Errorf("exchange %d started at %v, want %v", i, x.Start.Sub(t0), tt.starts[i])
					}
					if x.Start.Before(x.Intended) || x.End.Before(x.Start) {
						t.Errorf("exchange %d: intended %v start %v end %v out of order", i, x.Intended, x.Start, x.End)
					}
				}
				_, _, errs, closes := o.Snapshot()
				if want := failures(tt.fake.status); len(errs) != want {
					t.Errorf("%d errors, want %d", len(errs), want)
				}
				for i, e := range errs {
					if e.Fatal || e.Code != tt.fake.status[1] || !closes[i].Reconnect {
						t.Errorf("error %+v, close %+v: want non-fatal with the status, a reconnecting close", e, closes[i])
					}
				}
				if tt.lateBefore > 0 {
					if at := xs[1].Intended.Sub(t0); at < tt.lateAfter || at > tt.lateBefore || at%s != 0 {
						t.Errorf("retry intended at %v, want a slot in [%v, %v]", at, tt.lateAfter, tt.lateBefore)
					}
				}
			})
		})
	}
}

func failures(status []int) int {
	n := 0
	for _, s := range status {
		if s != 0 && s != http.StatusOK {
			n++
		}
	}
	return n
}
