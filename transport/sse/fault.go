package sse

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
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

// MaxWholeBody bounds what the no-stream fault holds: past it, the response
// held so far goes out as the whole body and the stream ends.
const MaxWholeBody = 1 << 20

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

	gz    *gzip.Writer  // gzip: the compressor, writing to wire or whole
	wire  wireWriter    // gzip: the compressor's way to the wire
	whole *bytes.Buffer // no-stream: the response held until its end
}

func newStreamFault(s *Stream, fw *fault.Writer) *streamFault {
	f := &streamFault{spec: fw.Spec, ctx: fw.Context(), last: time.Now()}
	sp := &f.spec
	h := s.w.Header()
	if sp.BareHeaders {
		h.Del("Cache-Control")
		h.Del("X-Accel-Buffering")
	}
	if sp.NoStream {
		f.whole = new(bytes.Buffer)
	}
	if sp.Gzip {
		h.Set("Content-Encoding", "gzip")
		f.wire.s = s
		// BestSpeed: the fault is the encoding, not the ratio, and its
		// compressor is a tenth of the default level's memory.
		var dst io.Writer = &f.wire
		if f.whole != nil {
			dst = f.whole
		}
		f.gz, _ = gzip.NewWriterLevel(dst, gzip.BestSpeed)
	}
	if sp.Burst > 0 || sp.BurstEvery > 0 || f.gz != nil || f.whole != nil {
		// What a buffering proxy holds goes out when the response ends; a
		// compressed stream gets its gzip trailer; a held response is sent.
		fw.OnEnd(func() {
			// A stream ended by a fault (close-mid-event) still sends what
			// no-stream held.
			if !f.ended || f.whole != nil {
				f.end(s, time.Now())
			}
		})
	}
	return f
}

// end finishes the stream when the handler returns.
func (f *streamFault) end(s *Stream, now time.Time) error {
	if err := f.release(s, now); err != nil {
		return err
	}
	if f.whole != nil {
		return f.sendWhole(s, now)
	}
	if f.gz != nil {
		if err := f.gz.Close(); err != nil {
			return err
		}
		return s.flush()
	}
	return nil
}

// start writes what goes before any event: the byte-order marks.
func (f *streamFault) start(s *Stream) error {
	for range f.spec.BOM {
		if err := s.write([]byte("\uFEFF"), time.Now(), false); err != nil {
			return err
		}
	}
	return nil
}

// encoded reports whether the stream's bytes go through the gzip or
// no-stream faults rather than straight to the wire.
func (f *streamFault) encoded() bool { return f.gz != nil || f.whole != nil }

// wireWriter is the compressor's output: the stream's wire, under its write
// deadline.
type wireWriter struct {
	s   *Stream
	now time.Time
}

func (w *wireWriter) Write(p []byte) (int, error) {
	if err := w.s.writeWire(p, w.now, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// encode writes p through the compressor (flushing it, and the wire, when
// flush is set), or holds it for the whole response.
func (f *streamFault) encode(s *Stream, p []byte, now time.Time, flush bool) error {
	if f.whole != nil {
		var err error
		if f.gz != nil {
			_, err = f.gz.Write(p)
		} else {
			f.whole.Write(p)
		}
		if err == nil && f.whole.Len() >= MaxWholeBody {
			if err = f.sendWhole(s, now); err == nil {
				err = ErrFaultEnded
			}
		}
		return err
	}
	f.wire.now = now
	if _, err := f.gz.Write(p); err != nil {
		return err
	}
	if !flush {
		return nil
	}
	if err := f.gz.Flush(); err != nil {
		return err
	}
	return s.flush()
}

// sendWhole sends the response held by no-stream as one body with a
// Content-Length, as a server that does not stream (or a proxy that
// buffers whole responses) would, and ends the stream.
func (f *streamFault) sendWhole(s *Stream, now time.Time) error {
	f.ended = true
	body := f.whole
	f.whole = nil
	if f.gz != nil {
		if err := f.gz.Close(); err != nil {
			return err
		}
		f.gz = nil
	}
	s.w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	s.w.WriteHeader(http.StatusOK)
	return s.writeWire(body.Bytes(), now, true)
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
	err := f.emit(s, f.style(p), now, event)
	if err == nil && event && f.whole != nil && sp.NoStreamAfter > 0 && f.events >= sp.NoStreamAfter {
		if err = f.release(s, now); err == nil {
			if err = f.sendWhole(s, now); err == nil {
				err = ErrFaultEnded
			}
		}
	}
	return err
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
