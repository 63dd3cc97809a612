package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestTally(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var tl Tally
	tl.Start = t0
	tl.Connected(&transport.Connect{Headers: t0.Add(10 * time.Millisecond)})
	for i, seq := range []uint64{5, 6, 8, 9} {
		tl.Event(&transport.Event{Kind: transport.KindMessage, Size: 10, At: t0.Add(time.Duration(100*(i+1)) * time.Millisecond), Stamp: transport.Stamp{Seq: seq, HasSeq: true}})
	}
	tl.Event(&transport.Event{Kind: transport.KindPong})
	tl.Event(&transport.Event{Kind: transport.KindComment, Size: 99})
	tl.Event(&transport.Event{Kind: transport.KindToken, Size: 3, At: t0.Add(time.Second)})
	tl.Error(&transport.Error{Class: transport.ClassIdleTimeout, Err: errors.New("first")})
	tl.Error(&transport.Error{Class: transport.ClassIdleTimeout, Err: errors.New("second")})
	tl.Closed(&transport.Close{Reconnect: true})
	tl.Connected(&transport.Connect{Attempt: 1})
	tl.Error(&transport.Error{Class: transport.ClassHTTP5xx, Fatal: true})
	tl.Exchange(&transport.Exchange{Tokens: 7, Text: []byte("x")})

	if tl.Connects != 2 || tl.Reconnects() != 1 || tl.Events != 5 || tl.Tokens != 1 || tl.Pongs != 1 || tl.Comments != 1 || tl.Bytes != 43 {
		t.Errorf("counts: %+v", tl)
	}
	if tl.SeqGaps != 1 || tl.MaxSeq != 9 {
		t.Errorf("seq gaps %d max %d, want 1 and 9", tl.SeqGaps, tl.MaxSeq)
	}
	if !tl.FirstEvent.Equal(t0.Add(100*time.Millisecond)) || !tl.FirstHeader.Equal(t0.Add(10*time.Millisecond)) {
		t.Errorf("first event %v first header %v", tl.FirstEvent, tl.FirstHeader)
	}
	if tl.Errors[transport.ClassIdleTimeout] != 2 || tl.FirstErrors[transport.ClassIdleTimeout] != "first" || tl.Fatal == nil || tl.Fatal.Class != transport.ClassHTTP5xx {
		t.Errorf("errors %v %v fatal %v", tl.Errors, tl.FirstErrors, tl.Fatal)
	}
	if tl.Last.Tokens != 7 || tl.Last.Text != nil || tl.LastClose == nil || !tl.LastClose.Reconnect {
		t.Errorf("last exchange %+v close %+v", tl.Last, tl.LastClose)
	}
}
