package transport

import "time"

// Tally is an Observer that counts what one session saw, for a one-line
// summary (`rtbench listen`, `rtbench check`). It is not safe for concurrent
// use: give each session its own, or wrap it.
type Tally struct {
	Start time.Time // when the session was started; set by the caller

	Connects    int
	FirstHeader time.Time // the first connection's response headers
	Events      int       // messages and tokens (not pongs)
	Tokens      int       // KindToken events
	Pongs       int
	Comments    int // SSE comment lines (heartbeats), when the client reports them
	Bytes       int64
	FirstEvent  time.Time
	LastEvent   time.Time
	MaxSeq      uint64
	SeqGaps     int // events whose seq was not the previous one + 1
	Exchanges   int
	Last        Exchange // the last exchange (AI: the whole request)
	LastClose   *Close
	Errors      map[Class]int
	FirstErrors map[Class]string // one example message per class
	Fatal       *Error
}

// Reconnects is the number of connections after the first.
func (t *Tally) Reconnects() int { return max(t.Connects-1, 0) }

func (t *Tally) Connected(c *Connect) {
	if t.Connects == 0 {
		t.FirstHeader = c.Headers
	}
	t.Connects++
}

func (t *Tally) Event(e *Event) {
	switch e.Kind {
	case KindPong, KindEcho:
		t.Pongs++
		return
	case KindComment:
		t.Comments++
		return
	}
	if t.Events == 0 {
		t.FirstEvent = e.At
	}
	t.Events++
	if e.Kind == KindToken {
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

func (t *Tally) Exchange(x *Exchange) {
	t.Exchanges++
	t.Last = *x
	t.Last.Text = nil
}

func (t *Tally) Error(e *Error) {
	if t.Errors == nil {
		t.Errors = make(map[Class]int)
		t.FirstErrors = make(map[Class]string)
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

func (t *Tally) Closed(c *Close) {
	cp := *c
	t.LastClose = &cp
}

// Tee fans observations out to several observers, in order.
type Tee []Observer

func (t Tee) Connected(c *Connect) {
	for _, o := range t {
		o.Connected(c)
	}
}

func (t Tee) Event(e *Event) {
	for _, o := range t {
		o.Event(e)
	}
}

func (t Tee) Exchange(x *Exchange) {
	for _, o := range t {
		o.Exchange(x)
	}
}

func (t Tee) Error(e *Error) {
	for _, o := range t {
		o.Error(e)
	}
}

func (t Tee) Closed(c *Close) {
	for _, o := range t {
		o.Closed(c)
	}
}
