package transport

import (
	"testing"
	"time"
)

func TestEventLatency(t *testing.T) {
	at := time.UnixMilli(1_795_000_005_000)
	ns := at.UnixNano()
	tests := []struct {
		name          string
		stamp         Stamp
		delivery, wir time.Duration
		hasD, hasW    bool
	}{
		{"sched and sent", Stamp{SchedNS: ns - 10_000_000, HasSched: true, SentNS: ns - 1_000_000, HasSent: true}, 10 * time.Millisecond, time.Millisecond, true, true},
		{"ts in ms", Stamp{Clock: 1_795_000_004_900_000_000, HasClock: true}, 100 * time.Millisecond, 0, true, false},
		{"skew: negative", Stamp{SchedNS: ns + 2_000_000, HasSched: true}, -2 * time.Millisecond, 0, true, false},
		{"no stamp", Stamp{}, 0, 0, false, false},
	}
	for _, tt := range tests {
		e := Event{At: at, Stamp: tt.stamp}
		d, ok := e.Delivery()
		w, okw := e.Wire()
		if d != tt.delivery || ok != tt.hasD || w != tt.wir || okw != tt.hasW {
			t.Errorf("%s: delivery %v %v wire %v %v", tt.name, d, ok, w, okw)
		}
	}
}
