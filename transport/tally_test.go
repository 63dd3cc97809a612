package transport

import (
	"errors"
	"testing"
	"time"
)

func TestTally(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var tl Tally
	tl.Start = t0
	tl.Connected(&Connect{Headers: t0.Add(10 * time.Millisecond)})
	for i, seq := range []uint64{5, 6, 8, 9} {
		tl.Event(&Event{Kind: KindMessage, Size: 10, At: t0.Add(time.Duration(100*(i+1)) * time.Millisecond), Stamp: Stamp{Seq: seq, HasSeq: true}})
	}
	tl.Event(&Event{Kind: KindPong})
	tl.Event(&Event{Kind: KindToken, Size: 3, At: t0.Add(time.Second)})
	tl.Error(&Error{Class: ClassIdleTimeout, Err: errors.New("first")})
	tl.Error(&Error{Class: ClassIdleTimeout, Err: errors.New("second")})
	tl.Closed(&Close{Reconnect: true})
	tl.Connected(&Connect{Attempt: 1})
	tl.Error(&Error{Class: ClassHTTP5xx, Fatal: true})
	tl.Exchange(&Exchange{Tokens: 7, Text: []byte("x")})

	if tl.Connects != 2 || tl.Reconnects() != 1 || tl.Events != 5 || tl.Tokens != 1 || tl.Pongs != 1 || tl.Bytes != 43 {
		t.Errorf("counts: %+v", tl)
	}
	if tl.SeqGaps != 1 || tl.MaxSeq != 9 {
		t.Errorf("seq gaps %d max %d, want 1 and 9", tl.SeqGaps, tl.MaxSeq)
	}
	if !tl.FirstEvent.Equal(t0.Add(100*time.Millisecond)) || !tl.FirstHeader.Equal(t0.Add(10*time.Millisecond)) {
		t.Errorf("first event %v first header %v", tl.FirstEvent, tl.FirstHeader)
	}
	if tl.Errors[ClassIdleTimeout] != 2 || tl.FirstErrors[ClassIdleTimeout] != "first" || tl.Fatal == nil || tl.Fatal.Class != ClassHTTP5xx {
		t.Errorf("errors %v %v fatal %v", tl.Errors, tl.FirstErrors, tl.Fatal)
	}
	if tl.Last.Tokens != 7 || tl.Last.Text != nil || tl.LastClose == nil || !tl.LastClose.Reconnect {
		t.Errorf("last exchange %+v close %+v", tl.Last, tl.LastClose)
	}
}

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
