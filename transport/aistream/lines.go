package aistream

import (
	"bytes"
	"io"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport/sse"
)

// lineReader cuts a line-framed stream (Ollama's NDJSON, the AI SDK data
// stream) into frames shaped like SSE events, so the client reads every
// format with one loop. Blank lines are skipped; a line may end in LF or
// CRLF; a last line without its LF is a frame too. With codes set, a line
// is CODE:VALUE and the frame's Type is CODE. It caps a line at max bytes
// (a *sse.LimitError) and counts lines that are not UTF-8.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	max        int
	codes      bool
	now        func() time.Time
	onLine     func()
	invalid    int
	err        error
	// readAt is when the read that returned the oldest unread bytes
	// happened: a line's FirstByte.
	readAt time.Time
}

func newLineReader(r io.Reader, opts sse.ParserOptions, codes bool) *lineReader {
	l := &lineReader{r: r, max: opts.MaxLine, codes: codes, now: opts.Now, onLine: opts.OnLine}
	if l.max <= 0 {
		l.max = sse.DefaultMaxLine
	}
	if l.now == nil {
		l.now = time.Now
	}
	size := opts.ReadSize
	if size <= 0 {
		size = sse.DefaultReadSize
	}
	l.buf = make([]byte, min(size, l.max+1))
	return l
}

// Next returns the next line as an event.
func (l *lineReader) Next() (sse.Event, error) {
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.end], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+i]
			size := i + 1
			first := l.readAt
			l.start += size
			if l.onLine != nil {
				l.onLine()
			}
			if ev, ok := l.frame(line, size, first); ok {
				return ev, nil
			}
			continue
		}
		if l.err != nil {
			if l.start < l.end {
				line := l.buf[l.start:l.end]
				size := len(line)
				l.start = l.end
				if ev, ok := l.frame(line, size, l.readAt); ok {
					return ev, nil
				}
			}
			return sse.Event{}, l.err
		}
		if l.end-l.start > l.max {
			l.err = &sse.LimitError{What: "line", Limit: l.max}
			return sse.Event{}, l.err
		}
		l.fill()
	}
}

// fill reads more bytes, compacting or growing the buffer.
func (l *lineReader) fill() {
	if l.start > 0 {
		l.end = copy(l.buf, l.buf[l.start:l.end])
		l.start = 0
	}
	if l.end == len(l.buf) {
		n := min(2*len(l.buf), l.max+1)
		if n <= len(l.buf) {
			n = len(l.buf) + 1
		}
		nb := make([]byte, n)
		copy(nb, l.buf[:l.end])
		l.buf = nb
	}
	for empty := 0; ; empty++ {
		n, err := l.r.Read(l.buf[l.end:])
		if n > 0 {
			if l.start == l.end {
				l.readAt = l.now()
			}
			l.end += n
		}
		if err != nil {
			l.err = err
			return
		}
		if n > 0 {
			return
		}
		if empty >= 100 {
			l.err = io.ErrNoProgress
			return
		}
	}
}

func (l *lineReader) frame(line []byte, size int, first time.Time) (sse.Event, bool) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(bytes.TrimSpace(line)) == 0 {
		return sse.Event{}, false
	}
	if !utf8.Valid(line) {
		l.invalid++
	}
	ev := sse.Event{Data: line, Size: size, FirstByte: first, Dispatched: l.now()}
	if l.codes {
		if code, value, ok := bytes.Cut(line, []byte{':'}); ok && len(code) > 0 && len(code) <= 2 {
			ev.Type, ev.Data = dataCode(code), value
		}
	}
	return ev, true
}

// dataCode returns the data stream code as a string without allocating for
// the one-character codes the protocol defines.
func dataCode(b []byte) string {
	if len(b) == 1 {
		const codes = "0123456789abcdefghijklmnopqrstuvwxyz"
		for i := 0; i < len(codes); i++ {
			if codes[i] == b[0] {
				return codes[i : i+1]
			}
		}
	}
	return string(b)
}

// InvalidUTF8 counts the lines that were not UTF-8 (their strings decode
// with U+FFFD).
func (l *lineReader) InvalidUTF8() int { return l.invalid }

// Truncated is false: a last line without its LF is still read.
func (l *lineReader) Truncated() bool { return false }
