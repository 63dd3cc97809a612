package bench

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestSaturated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []time.Duration // each recorded 100 times
		want   bool
	}{
		{"no self-check", nil, false},
		{"quiet", []time.Duration{50 * time.Microsecond}, false},
		{"p99.9 just under the limit", []time.Duration{4990 * time.Microsecond}, false},
		{"p99.9 over the limit", []time.Duration{6 * time.Millisecond}, true},
		{"a hiccup under 0.1 % of the ticks", append(make([]time.Duration, 999), 50*time.Millisecond), false},
		{"hiccups over 0.1 %", append(make([]time.Duration, 997), 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecording()
			for _, v := range tc.values {
				for range 100 {
					rec.SelfCheck.Record(v)
				}
			}
			if got := Saturated(rec); got != tc.want {
				t.Errorf("Saturated = %v (p99.9 %v), want %v", got, rec.SelfCheck.Quantile(99.9), tc.want)
			}
		})
	}
	if Saturated(&Recording{}) {
		t.Error("a Recording without a self-check is not saturated")
	}
}

// TestSelfCheckStall: the ticker of a run that stalled once is recorded as
// time-weighted lateness, so one stall of 168 ms (the one a 200 × 200
// events/s run hit unnoticed) makes a run of up to 168 s saturated, and
// a run much longer than that is not: the stall is then under 0.1 % of its
// time. Recorded one sample per firing (the former rule), the stall was one
// tick among tens of thousands and never counted.
func TestSelfCheckStall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   time.Duration
		stall time.Duration // once, in the middle of the run
		want  bool
	}{
		{"no stall, 30 s", 30 * time.Second, 0, false},
		{"168 ms stall, 30 s", 30 * time.Second, 168 * time.Millisecond, true},
		{"168 ms stall, 2 min", 2 * time.Minute, 168 * time.Millisecond, true},
		{"168 ms stall, 10 min", 10 * time.Minute, 168 * time.Millisecond, false},
		{"4.9 ms stalls, 30 s, every 100 ms", 30 * time.Second, -4900 * time.Microsecond, false},
		{"6 ms stalls, 30 s, every 100 ms", 30 * time.Second, -6 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecording()
			start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			due := start.Add(SelfCheckInterval)
			end := start.Add(tc.run)
			stalled := false
			for n := 0; due.Before(end); n++ {
				late := 60 * time.Microsecond // an idle machine's timer
				switch {
				case tc.stall > 0 && !stalled && due.Sub(start) >= tc.run/2:
					late, stalled = tc.stall, true
				case tc.stall < 0 && n%100 == 99: // periodic stalls
					late = -tc.stall
				}
				due = recordTick(rec.SelfCheck, due, due.Add(late))
			}
			if got := Saturated(rec); got != tc.want {
				t.Errorf("Saturated = %v (p99.9 %v, max %v, %d ticks), want %v", got,
					rec.SelfCheck.Quantile(99.9), rec.SelfCheck.Max(), rec.SelfCheck.Count(), tc.want)
			}
		})
	}
}

// TestSelfCheckTicks: one sample a millisecond, none late on an idle
// (fake) clock, and stop waits for the goroutine.
func TestSelfCheckTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHist()
		stop := startSelfCheck(h)
		time.Sleep(100*time.Millisecond + time.Microsecond)
		stop()
		if n := h.Count(); n != 100 {
			t.Errorf("%d samples in 100ms, want 100", n)
		}
		if h.Max() != 0 {
			t.Errorf("max lateness %v on an idle fake clock, want 0", h.Max())
		}
	})
}
