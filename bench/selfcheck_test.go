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
		{"p99 just under the limit", []time.Duration{4990 * time.Microsecond}, false},
		{"p99 over the limit", []time.Duration{6 * time.Millisecond}, true},
		{"a rare hiccup is under p99", append(make([]time.Duration, 99), 50*time.Millisecond), false},
		{"hiccups over 1 %", append(make([]time.Duration, 97), 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecording()
			for _, v := range tc.values {
				for range 100 {
					rec.SelfCheck.Record(v)
				}
			}
			if got := Saturated(rec); got != tc.want {
				t.Errorf("Saturated = %v (p99 %v), want %v", got, rec.SelfCheck.Quantile(99), tc.want)
			}
		})
	}
	if Saturated(&Recording{}) {
		t.Error("a Recording without a self-check is not saturated")
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
