package sse

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/rtbench/rtbench/transport/fault"
)

// ErrFaultEnded is returned by Send once an injected fault (reset,
// close-mid-event) has ended the stream: the handler should return.
var ErrFaultEnded = errors.New("sse: stream ended by an injected fault")

// InvalidUTF8Event is the event the invalid-utf8 fault inserts.
var InvalidUTF8Event = []byte("data: invalid \xff\xfe utf-8\n\n")

// oversizedChunk is written repeatedly to make an oversized event.
var oversizedChunk = bytes.Repeat([]byte{'x'}, 32<<10)

// streamFault applies the event-stream faults of a fault.Spec to a Stream's
// bytes. An event is a Send that carries a data line; retry lines and
// heartbeat comments are restyled and held like events but not counted.
type streamFault struct {
	spec   fault.Spec
	ctx    context.Context
	events int // events sent (or held)
	lines  int // line endings written, for LineMixed

	oversized, utf8, stalled bool // one-shot faults already fired
	ended                    bool

	held  []byte // burst: bytes held back
	heldN int    // burst: events held back
	last  time.Time
	out   []byte // restyled bytes, reused
}

func newStreamFault(s *Stream, fw *fault.Writer) *streamFault {
	f := &streamFault{spec: fw.Spec, ctx: fw.Context(), last: time.Now()}
	if f.spec.Burst > 0 || f.spec.BurstEvery > 0 {
		// What a buffering proxy holds goes out when the response ends.
		fw.OnEnd(func() {
			if !f.ended {
				f.release(s, time.Now())
			}
		})
	}
	return f
}

// start writes what goes before any event: the byte-order marks.
func (f *streamFault) start(s *Stream) error {
	for range f.spec.BOM {
		if _, err := s.w.Write([]byte("\uFEFF")); err != nil {
			return err
		}
	}
	return nil
}

func isEvent(p []byte) bool {
	return bytes.HasPrefix(p, []byte("data")) || bytes.Contains(p, []byte("\ndata"))
}

func (f *streamFault) send(s *Stream, p []byte, now time.Time) error {
	if f.ended {
		return ErrFaultEnded
	}
	sp := &f.spec
	event := isEvent(p)
	if event {
		n := f.events
		if sp.Oversized > 0 && !f.oversized {
			f.oversized = true
			if err := f.writeOversized(s, now); err != nil {
				return err
			}
		}
		if sp.InvalidUTF8 && n == sp.InvalidUTF8After && !f.utf8 {
			f.utf8 = true
			if err := f.emit(s, f.style(InvalidUTF8Event), now, false); err != nil {
				return err
			}
		}
		if sp.Stall && n == sp.StallAfter && !f.stalled {
			f.stalled = true
			if err := f.release(s, now); err != nil {
				return err
			}
			if err := f.stall(); err != nil {
				return err
			}
			now = time.Now()
		}
		if sp.Reset && n == sp.ResetAfter {
			f.ended = true
			if err := f.release(s, now); err != nil {
				return err
			}
			fault.ResetResponse(s.w)
			return ErrFaultEnded
		}
		if sp.Cut && n == sp.CutAfter {
			f.ended = true
			b := f.style(p)
			f.held = append(f.held, b[:len(b)/2]...)
			if err := f.release(s, now); err != nil {
				return err
			}
			return ErrFaultEnded
		}
		f.events++
	}
	return f.emit(s, f.style(p), now, event)
}

// stall holds the stream silent for StallFor, or until the client leaves.
func (f *streamFault) stall() error {
	if f.spec.StallFor > 0 {
		return fault.Sleep(f.ctx, f.spec.StallFor)
	}
	<-f.ctx.Done()
	return f.ctx.Err()
}

// emit writes b, or holds it back in burst mode until a burst is due.
func (f *streamFault) emit(s *Stream, b []byte, now time.Time, event bool) error {
	sp := &f.spec
	if sp.Burst == 0 && sp.BurstEvery == 0 {
		return s.write(b, now, true)
	}
	f.held = append(f.held, b...)
	if event {
		f.heldN++
	}
	if (sp.Burst > 0 && f.heldN >= sp.Burst) || (sp.BurstEvery > 0 && now.Sub(f.last) >= sp.BurstEvery) {
		return f.release(s, now)
	}
	return nil
}

// release writes and flushes what burst mode held back.
func (f *streamFault) release(s *Stream, now time.Time) error {
	if len(f.held) == 0 {
		return nil
	}
	err := s.write(f.held, now, true)
	f.held, f.heldN, f.last = f.held[:0], 0, now
	return err
}

func (f *streamFault) writeOversized(s *Stream, now time.Time) error {
	if err := f.release(s, now); err != nil {
		return err
	}
	if err := s.write([]byte("data: "), now, false); err != nil {
		return err
	}
	for left := f.spec.Oversized; left > 0; {
		c := oversizedChunk[:min(left, len(oversizedChunk))]
		if err := s.write(c, now, false); err != nil {
			return err
		}
		left -= len(c)
	}
	return s.write(f.style([]byte("\n\n")), now, true)
}

// style rewrites p's LF line endings in the Spec's line style.
func (f *streamFault) style(p []byte) []byte {
	if f.spec.Line == fault.LineLF {
		return p
	}
	out := f.out[:0]
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		out = append(out, p[:i]...)
		style := f.spec.Line
		if style == fault.LineMixed {
			style = [3]fault.LineStyle{fault.LineLF, fault.LineCR, fault.LineCRLF}[f.lines%3]
		}
		f.lines++
		switch style {
		case fault.LineCR:
			out = append(out, '\r')
		case fault.LineCRLF:
			out = append(out, '\r', '\n')
		default:
			out = append(out, '\n')
		}
		p = p[i+1:]
	}
	out = append(out, p...)
	f.out = out
	return out
}
