package bench

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestProgressDetail: with ProgressDetail, each Progress carries the
// counters, the errors by class and every metric's quantiles so far,
// counted as the Recording counts them; without it, none.
func TestProgressDetail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		// Two sessions, an event every 70 ms delivered 5 ms late; from
		// 1.5 s to 1.8 s the target resets them and refuses connections,
		// so each reconnects once (at 2.04 s).
		s := stream{log: log, period: 70 * time.Millisecond, lat: 5 * time.Millisecond,
			dies: func(now time.Time) bool {
				at := now.Sub(log.start)
				return at >= 1500*time.Millisecond && at < 1800*time.Millisecond
			}}
		var got []*ProgressDetail
		e := &Engine{
			Plan:           Plan{Connections: 2, Duration: 3500 * time.Millisecond},
			NewSession:     s.session,
			Progress:       func(p Progress) { got = append(got, p.Detail) },
			ProgressDetail: true,
		}
		rec := runEngine(t, e, t.Context())
		if len(got) != 3 {
			t.Fatalf("%d progress calls, want 3 (at 1s, 2s, 3s)", len(got))
		}

		// At 1 s: 14 events per session (70 ms … 980 ms), each delivered
		// 5 ms late; two connections of zero handshake.
		d := got[0]
		if d.Counters[Events] != 28 || d.Counters[Connects] != 2 || d.Counters[Reconnects] != 0 || len(d.Errors) != 0 {
			t.Errorf("at 1s: events %d connects %d reconnects %d errors %v; want 28, 2, 0, none",
				d.Counters[Events], d.Counters[Connects], d.Counters[Reconnects], d.Errors)
		}
		var delivery *LatencySummary
		for i := range d.Latency {
			if i > 0 && d.Latency[i].Metric <= d.Latency[i-1].Metric {
				t.Errorf("latency not in metric order: %v after %v", d.Latency[i].Metric, d.Latency[i-1].Metric)
			}
			if d.Latency[i].Metric == Delivery {
				delivery = &d.Latency[i]
			}
		}
		if delivery == nil {
			t.Fatalf("at 1s: no delivery summary in %+v", d.Latency)
		}
		if delivery.Count != 28 || !approx(delivery.Max, 5*time.Millisecond) || !approx(delivery.Sum, 28*5*time.Millisecond) {
			t.Errorf("delivery at 1s: count %d max %v sum %v; want 28, 5ms, 140ms", delivery.Count, delivery.Max, delivery.Sum)
		}
		for i, q := range delivery.Quantiles {
			if !approx(q, 5*time.Millisecond) {
				t.Errorf("delivery p%v = %v, want 5ms", ProgressQuantiles[i], q)
			}
		}

		// At 3 s the outage is over: one reset and one refusal per
		// session, and a reconnect each; the Recording agrees.
		d = got[2]
		wantErrs := map[transport.Class]int64{transport.ClassReset: 2, transport.ClassRefused: 2}
		if len(d.Errors) != len(wantErrs) || d.Errors[transport.ClassReset] != 2 || d.Errors[transport.ClassRefused] != 2 {
			t.Errorf("errors at 3s %v, want %v", d.Errors, wantErrs)
		}
		for class, ec := range rec.Errors {
			if d.Errors[class] != ec.Count {
				t.Errorf("%s: %d at 3s, %d in the recording", class, d.Errors[class], ec.Count)
			}
		}
		// The outage is counted as it begins (open at 2 s), not only in
		// the Recording: --prometheus serves these counters live.
		if got[1].Counters[Outages] != 1 || d.Counters[Outages] != 1 || rec.Counters[Outages] != 1 {
			t.Errorf("outages at 2s %d, at 3s %d, end %d; want 1, 1, 1", got[1].Counters[Outages], d.Counters[Outages], rec.Counters[Outages])
		}
		if d.Counters[Reconnects] != 2 || d.Counters[Connects] != 4 {
			t.Errorf("at 3s: reconnects %d connects %d, want 2 and 4", d.Counters[Reconnects], d.Counters[Connects])
		}
		for c := range NumCounters {
			if got[1].Counters[c] > d.Counters[c] || d.Counters[c] > rec.Counters[c] {
				t.Errorf("%s went 2s %d, 3s %d, end %d: want it never to go down", c, got[1].Counters[c], d.Counters[c], rec.Counters[c])
			}
		}
	})

	synctest.Test(t, func(t *testing.T) {
		s := stream{log: &sessionLog{start: time.Now()}, period: 70 * time.Millisecond}
		n := 0
		e := &Engine{Plan: Plan{Connections: 1, Duration: 1500 * time.Millisecond}, NewSession: s.session,
			Progress: func(p Progress) {
				n++
				if p.Detail != nil {
					t.Error("Progress has a Detail without ProgressDetail")
				}
			}}
		runEngine(t, e, t.Context())
		if n != 1 {
			t.Errorf("%d progress calls, want 1", n)
		}
	})
}
