package ws

import (
	"bytes"
	"context"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/fault"
)

// InvalidUTF8Message is the text frame the invalid-utf8 fault sends.
var InvalidUTF8Message = []byte("invalid \xff\xfe utf-8")

// oversizedChunk is written repeatedly to make an oversized message.
var oversizedChunk = bytes.Repeat([]byte{'x'}, 32<<10)

// sendOversized streams one text message of n bytes of 'x' in frames of
// oversizedChunk: a client that does not read holds the session at one
// chunk, not n bytes (up to fault.MaxOversized, 64 MiB, per client). Each
// frame has WriteTimeout, as every send.
func (s *session) sendOversized(n int) error {
	w, err := s.conn.Writer(context.Background(), websocket.MessageText)
	if err != nil {
		return err
	}
	for left := n; left > 0; {
		c := oversizedChunk[:min(left, len(oversizedChunk))]
		if err := s.raw.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
			return err
		}
		if _, err := w.Write(c); err != nil {
			s.raw.SetWriteDeadline(time.Time{})
			return err
		}
		left -= len(c)
	}
	s.raw.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	err = w.Close()
	s.raw.SetWriteDeadline(time.Time{})
	if err != nil {
		return err
	}
	s.stats.Sent(transport.WS, n)
	return nil
}

// wsFault applies the WebSocket faults of a fault.Spec to a session. N counts
// pushed messages (ticks and room messages); echoes are not counted.
type wsFault struct {
	spec   fault.Spec
	pushes int

	oversized, utf8, stalled bool // one-shot faults already fired
}

// pushed counts one pushed message and runs the faults due after it.
func (s *session) pushed(ctx context.Context) (*closeErr, bool) {
	s.f.pushes++
	return s.inject(ctx)
}

// inject runs the faults due once s.f.pushes messages went out. stop says
// the connection ends: with ce's close frame, or dropped when ce is nil.
func (s *session) inject(ctx context.Context) (ce *closeErr, stop bool) {
	f := s.f
	sp := &f.spec
	n := f.pushes
	if sp.Oversized > 0 && !f.oversized {
		f.oversized = true
		if s.sendOversized(sp.Oversized) != nil {
			return nil, true
		}
	}
	if sp.InvalidUTF8 && !f.utf8 && n == sp.InvalidUTF8After {
		f.utf8 = true
		if s.send(websocket.MessageText, InvalidUTF8Message) != nil {
			return nil, true
		}
	}
	if sp.Stall && !f.stalled && n == sp.StallAfter {
		f.stalled = true
		var timeout <-chan time.Time
		if sp.StallFor > 0 {
			t := time.NewTimer(sp.StallFor)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ctx.Done():
			return errShutdown, true
		case <-s.readDone:
			return nil, true
		case <-timeout:
		}
	}
	if sp.Reset && n == sp.ResetAfter {
		fault.ResetConn(s.raw)
		return nil, true
	}
	if sp.Close && n == sp.CloseAfter {
		return &closeErr{websocket.StatusCode(sp.CloseCode), sp.CloseReason}, true
	}
	return nil, false
}

// beforeRead runs before each message is read: no-pong stops reading for
// good (coder/websocket answers pings only while reading), slow-read waits.
func (f *wsFault) beforeRead(stopping <-chan struct{}) error {
	if f.spec.NoPong {
		<-stopping
		return errStopping
	}
	if f.spec.SlowRead > 0 {
		t := time.NewTimer(f.spec.SlowRead)
		defer t.Stop()
		select {
		case <-stopping:
			return errStopping
		case <-t.C:
		}
	}
	return nil
}
