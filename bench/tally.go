package bench

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Tally is an Observer that counts what one session saw, for `rtbench
// listen`'s one-line summary and exit code: the measurement of a single
// session, as Recorder is a run's. It is not safe for concurrent
// use: give each session its own, or wrap it.
type Tally struct {
	Start time.Time // when the session was started; set by the caller

	Connects    int
	Proto       string    // the last connection's protocol ("HTTP/2.0")
	FirstHeader time.Time // the first connection's response headers
	Events      int       // messages and tokens (not pongs)
	Tokens      int       // transport.KindToken events
	Pongs       int
	Comments    int // SSE comment lines (heartbeats), when the client reports them
	Bytes       int64
	FirstEvent  time.Time
	LastEvent   time.Time
	MaxSeq      uint64
	SeqGaps     int // events whose seq was not the previous one + 1
	Exchanges   int
	Last        transport.Exchange // the last exchange (AI: the whole request)
	LastClose   *transport.Close
	Errors      map[transport.Class]int
	FirstErrors map[transport.Class]string // one example message per class
	Fatal       *transport.Error
}

// Reconnects is the number of connections after the first.
func (t *Tally) Reconnects() int { return max(t.Connects-1, 0) }

func (t *Tally) Connected(c *transport.Connect) {
	if t.Connects == 0 {
		t.FirstHeader = c.Headers
	}
	t.Connects++
	t.Proto = c.Proto
}

func (t *Tally) Event(e *transport.Event) {
	switch e.Kind {
	case transport.KindPong, transport.KindEcho:
		t.Pongs++
		return
	case transport.KindComment:
		t.Comments++
		return
	}
	if t.Events == 0 {
		t.FirstEvent = e.At
	}
	t.Events++
	if e.Kind == transport.KindToken {
		t.Tokens++
	}
	t.LastEvent = e.At
	t.Bytes += int64(e.Size)
	if e.Stamp.HasSeq {
		if t.MaxSeq != 0 && e.Stamp.Seq != t.MaxSeq+1 {
			t.SeqGaps++
		}
		t.MaxSeq = e.Stamp.Seq
	}
}

func (t *Tally) Exchange(x *transport.Exchange) {
	if x.CutOff && x.Chunks == 0 && x.First.IsZero() {
		return // a request cut off before any answer: nothing to show
	}
	t.Exchanges++
	t.Last = *x
	t.Last.Text = nil
}

func (t *Tally) Error(e *transport.Error) {
	if t.Errors == nil {
		t.Errors = make(map[transport.Class]int)
		t.FirstErrors = make(map[transport.Class]string)
	}
	if t.Errors[e.Class] == 0 {
		t.FirstErrors[e.Class] = e.Error()
	}
	t.Errors[e.Class]++
	if e.Fatal {
		cp := *e
		t.Fatal = &cp
	}
}

func (t *Tally) Closed(c *transport.Close) {
	cp := *c
	t.LastClose = &cp
}
