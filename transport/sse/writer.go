package sse

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport/fault"
)

// ContentType is the Content-Type of every event stream rtbench serves.
const ContentType = "text/event-stream; charset=utf-8"

// DefaultWriteTimeout bounds one write+flush of an event stream, so a client
// that stops reading cannot pin a server goroutine.
const DefaultWriteTimeout = 10 * time.Second

// SetHeaders sets the headers an event stream needs to pass proxies
// unbuffered and uncached: the content type, Cache-Control: no-store,
// X-Accel-Buffering: no (nginx). Event streams are never compressed.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
}

// AppendEvent appends one event in wire format to dst: an "id:" line when id
// is non-empty, an "event:" line when event is non-empty, one "data:" line for
// each line of data (split at CR, LF or CRLF, so any data survives the
// framing), and the blank line that dispatches it. id and event must not
// contain CR or LF; such characters are dropped rather than corrupting the
// stream.
func AppendEvent(dst []byte, id, event string, data []byte) []byte {
	if id != "" {
		dst = appendField(dst, "id", id)
	}
	if event != "" {
		dst = appendField(dst, "event", event)
	}
	for {
		i := firstBreak(data)
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// firstBreak is the index of the first CR or LF in data, or -1. Two IndexByte
// calls (assembly) beat bytes.IndexAny's generic path on event-sized data.
func firstBreak(data []byte) int {
	i := bytes.IndexByte(data, '\n')
	if j := bytes.IndexByte(data, '\r'); j >= 0 && (i < 0 || j < i) {
		return j
	}
	return i
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	for i := 0; i < len(value); i++ {
		if c := value[i]; c != '\r' && c != '\n' {
			dst = append(dst, c)
		}
	}
	return append(dst, '\n')
}

// AppendComment appends a comment line (": text"), which clients ignore but
// which keeps proxies and idle timers from closing a quiet stream.
func AppendComment(dst []byte, text string) []byte {
	return appendField(dst, "", text)
}

// AppendRetry appends a "retry:" line setting the client's reconnection time.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, '\n', '\n')
}

// ErrNoFlush is returned when the ResponseWriter cannot flush, so events
// would sit in a buffer instead of streaming.
var ErrNoFlush = errors.New("sse: response writer cannot flush")

// Stream writes an event stream to an http.ResponseWriter. Every Send is
// written and flushed at once, under a write deadline of its own: a server-wide
// WriteTimeout would cut every long stream, while a per-write deadline only
// cuts a client that stopped reading.
type Stream struct {
	w          http.ResponseWriter
	rc         *http.ResponseController
	timeout    time.Duration
	noDeadline bool         // the writer has no deadlines (a test recorder): don't ask again
	deadline   time.Time    // the write deadline in force
	f          *streamFault // injected faults (fault.Of); nil on the normal path
}

// NewStream sets the event-stream headers, writes status 200 and flushes them
// so the client sees the stream open before the first event. timeout <= 0
// means DefaultWriteTimeout.
func NewStream(w http.ResponseWriter, timeout time.Duration) (*Stream, error) {
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	s := &Stream{w: w, rc: http.NewResponseController(w), timeout: timeout}
	SetHeaders(w.Header())
	if fw := fault.Of(w); fw != nil {
		s.f = newStreamFault(s, fw)
		if s.f.whole != nil {
			// no-stream: the status and headers go out with the whole body.
			return s, s.f.start(s)
		}
	}
	w.WriteHeader(http.StatusOK)
	if s.f != nil {
		if err := s.f.start(s); err != nil {
			return nil, err
		}
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	return s, nil
}

// Send writes p (one or more complete events) and flushes it.
func (s *Stream) Send(p []byte) error { return s.SendAt(p, time.Now()) }

// SendAt is Send for a caller that has just read the clock. A write may block
// for between half the timeout and the whole of it: the deadline is moved
// forward only once half of it has been used, which spares a runtime timer
// update on every event of a fast stream.
func (s *Stream) SendAt(p []byte, now time.Time) error {
	if s.f != nil {
		return s.f.send(s, p, now)
	}
	return s.write(p, now, true)
}

// write writes p, and flushes it when flush is set: on the wire, or through
// the gzip and no-stream faults when they are injected.
func (s *Stream) write(p []byte, now time.Time, flush bool) error {
	if s.f != nil && s.f.encoded() {
		return s.f.encode(s, p, now, flush)
	}
	return s.writeWire(p, now, flush)
}

// writeWire writes p under the write deadline, and flushes it when flush is
// set.
func (s *Stream) writeWire(p []byte, now time.Time, flush bool) error {
	// A ResponseWriter without deadline support (httptest.ResponseRecorder)
	// is fine: there is no socket to stall on.
	if !s.noDeadline && s.deadline.Sub(now) < s.timeout/2 {
		d := now.Add(s.timeout)
		if err := s.rc.SetWriteDeadline(d); errors.Is(err, http.ErrNotSupported) {
			s.noDeadline = true
		} else if err != nil {
			return err
		}
		s.deadline = d
	}
	if _, err := s.w.Write(p); err != nil {
		return err
	}
	if !flush {
		return nil
	}
	return s.flush()
}

func (s *Stream) flush() error {
	if err := s.rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return ErrNoFlush
		}
		return err
	}
	return nil
}
