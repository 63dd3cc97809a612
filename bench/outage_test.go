package bench

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestEngineOutage: the target is down from 2.01 s to 3.5 s. Three sessions
// lose their streams at their next tick (2.105 s), are refused at 2.11,
// 2.615 and 3.12 s and are back at 3.625 s: one outage of three sessions,
// 1.52 s of downtime, and each session's time to reconnect is 1.52 s.
func TestEngineOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		down, up := log.start.Add(2010*time.Millisecond), log.start.Add(3500*time.Millisecond)
		s := stream{log: log, handshake: 5 * time.Millisecond, period: 100 * time.Millisecond, lat: 3 * time.Millisecond,
			dies: func(now time.Time) bool { return !now.Before(down) && now.Before(up) }}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 3, Duration: 5 * time.Second}, NewSession: s.session}, t.Context())
		if rec.Counters[Outages] != 1 || len(rec.Outages) != 1 {
			t.Fatalf("outages %d %+v, want 1", rec.Counters[Outages], rec.Outages)
		}
		o := rec.Outages[0]
		at := func(tm time.Time) time.Duration { return tm.Sub(log.start) }
		if o.Sessions != 3 || o.Recovered != 3 || at(o.Start) != 2105*time.Millisecond ||
			at(o.FirstBack) != 3625*time.Millisecond || at(o.End) != 3625*time.Millisecond {
			t.Errorf("outage: %d sessions, %d back, start %v, first back %v, end %v; want 3, 3, 2.105s, 3.625s, 3.625s",
				o.Sessions, o.Recovered, at(o.Start), at(o.FirstBack), at(o.End))
		}
		if d := o.FirstBack.Sub(o.Start); d != 1520*time.Millisecond {
			t.Errorf("downtime %v, want 1.52s", d)
		}
		h := rec.Hists[Reconnect]
		if h.Count() != 3 || !approx(h.Min(), 1520*time.Millisecond) || !approx(h.Max(), 1520*time.Millisecond) {
			t.Errorf("reconnect: %d values %v..%v, want 3 of 1.52s", h.Count(), h.Min(), h.Max())
		}
	})
}

// TestEngineOutageOpenAtEnd: a target that never comes back leaves an
// outage without FirstBack or End, its downtime running to the end.
func TestEngineOutageOpenAtEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		down := log.start.Add(1010 * time.Millisecond)
		s := stream{log: log, handshake: 5 * time.Millisecond, period: 100 * time.Millisecond,
			dies: func(now time.Time) bool { return !now.Before(down) }}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 2, Duration: 3 * time.Second}, NewSession: s.session}, t.Context())
		if len(rec.Outages) != 1 {
			t.Fatalf("outages %+v, want 1", rec.Outages)
		}
		o := rec.Outages[0]
		if o.Sessions != 2 || o.Recovered != 0 || !o.FirstBack.IsZero() || !o.End.IsZero() {
			t.Errorf("outage %+v: want 2 sessions, none back, still open", o)
		}
		if d := rec.End.Sub(o.Start); !o.FirstBack.IsZero() || d < 1800*time.Millisecond {
			t.Errorf("downtime %v, want to the end of the run (%v)", d, rec.End.Sub(o.Start))
		}
		if rec.Hists[Reconnect].Count() != 0 {
			t.Errorf("reconnect recorded %d values, want none", rec.Hists[Reconnect].Count())
		}
	})
}

// TestEngineOutageRestart: sessions that end when their stream ends (no
// reconnect of their own) are restarted by the closed model after its
// backoff and the gate: the time until the restart connects is their time
// to reconnect, and the restarts are counted as an outage too.
func TestEngineOutageRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		starts := 0
		session := func(int) transport.Session {
			return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
				mu.Lock()
				starts++
				n := starts
				mu.Unlock()
				obs.Connected(&transport.Connect{Start: time.Now(), Headers: time.Now(), Status: 200})
				if n > 4 { // restarted: hold until the end
					<-ctx.Done()
					obs.Closed(&transport.Close{At: time.Now()})
					return nil
				}
				if transport.Wait(ctx, time.Second) != nil {
					return nil
				}
				obs.Closed(&transport.Close{At: time.Now(), Clean: true})
				return nil
			})
		}
		gate, err := NewGate(2, 1) // one restart every 500 ms
		if err != nil {
			t.Fatal(err)
		}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 4, Duration: 6 * time.Second, RestartDelay: 200 * time.Millisecond, Gate: gate},
			NewSession: session}, t.Context())
		if len(rec.Outages) != 1 || rec.Outages[0].Sessions != 4 || rec.Outages[0].Recovered != 4 {
			t.Fatalf("outages %+v, want one of 4 sessions, all back", rec.Outages)
		}
		h := rec.Hists[Reconnect]
		if h.Count() != 4 {
			t.Fatalf("reconnect: %d values, want 4", h.Count())
		}
		// Backoff in [100, 200] ms, then the gate spaces the 4 restarts by
		// 500 ms: the last is back ≥ 1.5 s after the loss. The histogram
		// keeps 3 significant digits: 100 ms reads back as 99.968 ms.
		if h.Min() < 99*time.Millisecond || h.Max() < 1500*time.Millisecond || h.Max() > 1800*time.Millisecond {
			t.Errorf("reconnect %v..%v, want from ≥100ms to 1.5–1.8s (the gate at 2/s)", h.Min(), h.Max())
		}
		if rec.Counters[ReconnectsDelayed] != 3 {
			t.Errorf("reconnects_delayed %d, want 3", rec.Counters[ReconnectsDelayed])
		}
	})
}

// TestGate: the token bucket passes Burst at once, then one per 1/Rate, and
// counts the waits; a cancelled wait returns the context's error.
func TestGate(t *testing.T) {
	tests := []struct {
		rate  float64
		burst int
		n     int
		want  []time.Duration // when each caller passed, in order
	}{
		{10, 1, 4, []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}},
		{10, 3, 5, []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond}},
		{1000, 0, 3, []time.Duration{0, time.Millisecond, 2 * time.Millisecond}},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			g, err := NewGate(tt.rate, tt.burst)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var got []time.Duration
			for range tt.n {
				if err := g.Wait(t.Context()); err != nil {
					t.Fatal(err)
				}
				got = append(got, time.Since(start))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("rate %v burst %d: passed at %v, want %v", tt.rate, tt.burst, got, tt.want)
				}
			}
			if wantDelayed := int64(tt.n - max(tt.burst, 1)); g.Delayed() != wantDelayed || g.Passed() != int64(tt.n) {
				t.Errorf("delayed %d passed %d, want %d and %d", g.Delayed(), g.Passed(), wantDelayed, tt.n)
			}
			// After an idle second the burst is back.
			time.Sleep(time.Second)
			before := time.Now()
			if err := g.Wait(t.Context()); err != nil || time.Since(before) != 0 {
				t.Errorf("after idling: waited %v (%v), want 0", time.Since(before), err)
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		g, _ := NewGate(1, 1)
		_ = g.Wait(t.Context())
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := g.Wait(ctx); err != context.DeadlineExceeded {
			t.Errorf("cancelled wait: %v, want deadline exceeded", err)
		}
	})
	for _, bad := range []float64{0, -1} {
		if _, err := NewGate(bad, 1); err == nil {
			t.Errorf("NewGate(%v): no error", bad)
		}
	}
}

// TestOutagesKeepLargest: past MaxOutages, the largest are kept and all
// are counted.
func TestOutagesKeepLargest(t *testing.T) {
	var o outages
	t0 := time.Unix(0, 0)
	var sizes []int64
	for i := range 3 * MaxOutages {
		n := int64(i%7 + 1)
		sizes = append(sizes, n)
		at := t0.Add(time.Duration(i) * time.Second)
		for range n {
			o.lost(at)
		}
		for range n {
			o.back(at.Add(time.Millisecond), true)
		}
	}
	got, count := o.finish()
	if count != 3*MaxOutages || len(got) != MaxOutages {
		t.Fatalf("count %d, kept %d; want %d and %d", count, len(got), 3*MaxOutages, MaxOutages)
	}
	slices.Sort(sizes)
	slices.Reverse(sizes)
	smallest := sizes[MaxOutages-1]
	for i, g := range got {
		if g.Sessions < smallest || (i > 0 && g.Sessions > got[i-1].Sessions) {
			t.Fatalf("kept[%d] has %d sessions: want largest first, none under %d", i, g.Sessions, smallest)
		}
	}
}

// TestIdleCloseIsNoOutage: a polling session whose keep-alive connection
// ended idle between two requests (transport.Close.Idle) reconnects without
// an outage; a connection lost with the session waiting to reconnect is one.
func TestIdleCloseIsNoOutage(t *testing.T) {
	for _, idle := range []bool{true, false} {
		out := &outages{}
		r := newRecorder(&shard{}, time.Time{}, time.Time{})
		r.out = out
		t0 := time.Unix(1000, 0)
		r.Connected(&transport.Connect{Start: t0, Headers: t0.Add(time.Millisecond)})
		r.Closed(&transport.Close{At: t0.Add(time.Second), Clean: true, Reconnect: true, Idle: idle})
		r.Connected(&transport.Connect{Attempt: 1, Start: t0.Add(time.Second), Headers: t0.Add(time.Second + time.Millisecond)})
		r.flush()
		if _, n := out.finish(); (n == 0) != idle {
			t.Errorf("idle %v: %d outages", idle, n)
		}
		if got := r.shard.counters[Reconnects]; got != 1 {
			t.Errorf("idle %v: %d reconnects, want 1", idle, got)
		}
	}
}
