package poll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
)

// The lean path's HTTP/1.1 response reader: a strict parser of the status
// line and headers, and identity, Content-Length and chunked bodies, over one
// read buffer per connection. It allocates nothing per response once its
// buffers have grown to the size the responses need.

const (
	// leanReadBuffer is a lean connection's initial read buffer: a typical
	// polling answer, head and body, arrives in one read into it.
	leanReadBuffer = 4 << 10
	// LeanMaxHead bounds a response's status line and headers on the lean
	// path (net/http's default is 10 MB; a polling answer's head is a few
	// hundred bytes). A larger head is a malformed response.
	LeanMaxHead = 1 << 20
)

// errMalformed is the lean reader's failure for a response that is not
// HTTP/1.x as it must be written; the message says what was wrong. Its
// class is other, as net/http's "malformed HTTP response" is.
var errMalformed = errors.New("malformed HTTP response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// respHead is a parsed response head. Its byte slices point into the buffer
// it was parsed from and are valid until that buffer is read into again.
type respHead struct {
	status  int
	minor   int    // HTTP/1.minor
	reason  []byte // the status line's reason phrase
	length  int64  // Content-Length; -1: none (chunked, or read to the close)
	chunked bool
	close   bool // the connection ends after this response
	gzip    bool // Content-Encoding: gzip or x-gzip
	etag    []byte
	lastMod []byte
	retry   []byte // Retry-After
	loc     []byte // Location
	lines   []byte // the header lines, for header()
}

// bodyless reports whether a response to method has no body whatever its
// headers say (RFC 9112 §6.3).
func (h *respHead) bodyless(method string) bool {
	return method == http.MethodHead || h.status/100 == 1 || h.status == http.StatusNoContent || h.status == http.StatusNotModified
}

// header builds the response's header as net/http would (canonical keys,
// values in order). It allocates: it is called once per connection, for
// Observer.Connected.
func (h *respHead) header() http.Header {
	hdr := http.Header{}
	for rest := h.lines; len(rest) > 0; {
		line, next, _ := cutLine(rest)
		rest = next
		k, v, _ := bytes.Cut(line, []byte{':'})
		key := textproto.CanonicalMIMEHeaderKey(string(k))
		hdr[key] = append(hdr[key], string(trimOWS(v)))
	}
	return hdr
}

// cutLine returns the line at the start of b without its LF (and CR), the
// bytes after it, and false when b holds no LF.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, true
}

// parseHead parses the response head at the start of b into h. It returns
// the bytes the head took (through its empty line), 0 and io.ErrShortBuffer
// when b does not hold all of it yet, or a malformed error.
func parseHead(b []byte, h *respHead) (int, error) {
	*h = respHead{length: -1}
	line, rest, ok := cutLine(b)
	if !ok {
		return 0, io.ErrShortBuffer
	}
	if err := parseStatus(line, h); err != nil {
		return 0, err
	}
	start := len(b) - len(rest)
	var sawLength, sawTE, keepAlive bool
	for {
		line, next, ok := cutLine(rest)
		if !ok {
			return 0, io.ErrShortBuffer
		}
		if len(line) == 0 {
			h.lines = b[start : len(b)-len(rest)]
			break
		}
		rest = next
		name, value, err := fieldLine(line)
		if err != nil {
			return 0, err
		}
		switch {
		case foldEq(name, "Content-Length"):
			n, err := parseLength(value)
			if err != nil {
				return 0, err
			}
			if sawLength && n != h.length {
				return 0, malformed("two different Content-Length headers")
			}
			h.length, sawLength = n, true
		case foldEq(name, "Transfer-Encoding"):
			if h.minor == 0 {
				return 0, malformed("Transfer-Encoding in an HTTP/1.0 response")
			}
			if sawTE || !foldEq(value, "chunked") {
				return 0, malformed("unsupported Transfer-Encoding %q", clip(value))
			}
			sawTE, h.chunked = true, true
		case foldEq(name, "Connection"):
			for tok := range bytes.SplitSeq(value, []byte{','}) {
				switch tok = trimOWS(tok); {
				case foldEq(tok, "close"):
					h.close = true
				case foldEq(tok, "keep-alive"):
					keepAlive = true
				}
			}
		case foldEq(name, "ETag"):
			if h.etag == nil {
				h.etag = value
			}
		case foldEq(name, "Last-Modified"):
			if h.lastMod == nil {
				h.lastMod = value
			}
		case foldEq(name, "Retry-After"):
			if h.retry == nil {
				h.retry = value
			}
		case foldEq(name, "Location"):
			if h.loc == nil {
				h.loc = value
			}
		case foldEq(name, "Content-Encoding"):
			h.gzip = foldEq(value, "gzip") || foldEq(value, "x-gzip")
		}
		if len(b)-len(rest) > LeanMaxHead {
			return 0, malformed("response headers larger than %d bytes", LeanMaxHead)
		}
	}
	_, after, _ := cutLine(rest) // the empty line
	n := len(b) - len(after)
	if h.minor == 0 && !keepAlive {
		h.close = true // HTTP/1.0 keeps the connection only when it says so
	}
	if h.chunked {
		h.length = -1 // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3)
	} else if h.length < 0 && h.status/100 != 1 && h.status != http.StatusNoContent && h.status != http.StatusNotModified {
		h.close = true // the body ends with the connection
	}
	return n, nil
}

// parseStatus parses "HTTP/1.x NNN reason".
func parseStatus(line []byte, h *respHead) error {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(line[7] != '0' && line[7] != '1') || len(line) > 12 && line[12] != ' ' {
		return malformed("status line %q", clip(line))
	}
	h.minor = int(line[7] - '0')
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return malformed("status code in %q", clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return malformed("status code in %q", clip(line))
	}
	h.status = code
	if len(line) > 13 {
		h.reason = line[13:]
		if !validValue(h.reason) {
			return malformed("control character in the status line")
		}
	}
	return nil
}

func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, malformed("Content-Length %q", clip(v))
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, malformed("Content-Length %q", clip(v))
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// isToken reports whether b is an RFC 9110 token (a header name).
func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenByte[c] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue reports whether a field value has no control byte but HTAB.
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// foldEq reports whether b equals the ASCII s, ignoring case.
func foldEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}

// clip shortens what an error quotes.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// respReader reads responses from one connection through one buffer.
type respReader struct {
	rd   io.Reader
	buf  []byte // buf[r:w] is read and not yet used
	r, w int
	eof  bool // rd returned io.EOF
	// got says a byte of the current response arrived (an EOF before any
	// is a keep-alive connection the server had closed).
	got bool
}

// fill reads once more into the buffer, growing it (up to limit bytes in
// all) when it is full. It returns the error of the read, or
// io.ErrShortBuffer when the buffer cannot grow.
func (rr *respReader) fill(limit int) error {
	if rr.eof {
		return io.EOF
	}
	if rr.r > 0 && rr.r == rr.w {
		rr.r, rr.w = 0, 0
	}
	if rr.w == len(rr.buf) {
		switch {
		case rr.r > 0:
			rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
			rr.r = 0
		case len(rr.buf) >= limit:
			return io.ErrShortBuffer
		default:
			nb := make([]byte, min(max(2*len(rr.buf), leanReadBuffer), limit))
			rr.w = copy(nb, rr.buf[rr.r:rr.w])
			rr.r, rr.buf = 0, nb
		}
	}
	n, err := rr.rd.Read(rr.buf[rr.w:])
	rr.w += n
	if n > 0 {
		rr.got = true
	}
	if err == io.EOF {
		rr.eof = true
		if n > 0 {
			err = nil
		}
	}
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readHead reads and parses the next response head into h, skipping 1xx
// informational responses (101 ends the exchange: it is not HTTP any more).
// headers is called when the head is complete, before the body is read, so
// that its time is the headers' arrival.
func (rr *respReader) readHead(h *respHead) error {
	rr.got = rr.r < rr.w
	for {
		n, err := parseHead(rr.buf[rr.r:rr.w], h)
		switch {
		case err == io.ErrShortBuffer:
			if rr.w-rr.r >= LeanMaxHead {
				return malformed("response headers larger than %d bytes", LeanMaxHead)
			}
			if err := rr.fill(LeanMaxHead); err != nil {
				if err == io.EOF {
					if rr.got {
						return io.ErrUnexpectedEOF
					}
					return io.EOF
				}
				return err
			}
			continue
		case err != nil:
			return err
		}
		rr.r += n
		if h.status/100 == 1 && h.status != http.StatusSwitchingProtocols {
			continue // 100 Continue, 103 Early Hints: the answer follows
		}
		if h.status == http.StatusSwitchingProtocols {
			return malformed("101 Switching Protocols to a poll")
		}
		return nil
	}
}

// readBody appends the body of the response whose head is h to dst, failing
// past limit bytes (errBodyTooLarge) and for a body cut short
// (io.ErrUnexpectedEOF).
func (rr *respReader) readBody(h *respHead, method string, dst []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	switch {
	case h.bodyless(method):
		return dst, nil
	case h.chunked:
		return rr.readChunked(dst, limit)
	case h.length >= 0:
		if h.length > int64(limit) {
			return dst, errBodyTooLarge
		}
		return rr.readN(dst, int(h.length))
	}
	// No length: the body is what comes until the server closes.
	for {
		dst = append(dst, rr.buf[rr.r:rr.w]...)
		rr.r = rr.w
		if len(dst) > limit {
			return dst, errBodyTooLarge
		}
		if err := rr.fill(len(rr.buf)); err == io.EOF {
			return dst, nil
		} else if err != nil {
			return dst, err
		}
	}
}

// readN appends the next n bytes to dst: those buffered, then read straight
// into dst.
func (rr *respReader) readN(dst []byte, n int) ([]byte, error) {
	if cap(dst) < n {
		dst = make([]byte, 0, n)
	}
	k := min(n, rr.w-rr.r)
	dst = append(dst, rr.buf[rr.r:rr.r+k]...)
	rr.r += k
	for len(dst) < n {
		if rr.eof {
			return dst, io.ErrUnexpectedEOF
		}
		m, err := rr.rd.Read(dst[len(dst):n])
		dst = dst[:len(dst)+m]
		switch {
		case err == io.EOF:
			rr.eof = true
			if len(dst) < n {
				return dst, io.ErrUnexpectedEOF
			}
		case err != nil:
			return dst, err
		case m == 0:
			return dst, io.ErrNoProgress
		}
	}
	return dst, nil
}

// line returns the next line from the buffer without its CRLF, reading
// more as needed; a line longer than the buffer can grow to (4 KiB at
// least), or one that ends with a bare LF (net/http refuses those in a
// chunked body too), is malformed.
func (rr *respReader) line(what string) ([]byte, error) {
	for {
		if i := bytes.IndexByte(rr.buf[rr.r:rr.w], '\n'); i >= 0 {
			line := rr.buf[rr.r : rr.r+i]
			rr.r += i + 1
			if i == 0 || line[i-1] != '\r' {
				return nil, malformed("%s ends with a bare LF", what)
			}
			return line[:i-1], nil
		}
		if err := rr.fill(max(len(rr.buf), leanReadBuffer)); err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			if err == io.ErrShortBuffer {
				return nil, malformed("%s longer than %d bytes", what, len(rr.buf))
			}
			return nil, err
		}
	}
}

// readChunked appends a chunked body to dst (RFC 9112 §7.1): chunk sizes
// in hex with optional extensions, each chunk's data followed by CRLF, a
// last chunk of size 0 and trailer lines up to an empty line (the trailers
// are skipped).
func (rr *respReader) readChunked(dst []byte, limit int) ([]byte, error) {
	for {
		line, err := rr.line("chunk size line")
		if err != nil {
			return dst, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = trimOWS(line)
		if len(line) == 0 || len(line) > 15 {
			return dst, malformed("chunk size %q", clip(line))
		}
		var size int64
		for _, c := range line {
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c|0x20 && c|0x20 <= 'f':
				d = c | 0x20 - 'a' + 10
			default:
				return dst, malformed("chunk size %q", clip(line))
			}
			size = size<<4 | int64(d)
		}
		if size == 0 {
			for { // trailers
				t, err := rr.line("trailer line")
				if err != nil {
					return dst, err
				}
				if len(t) == 0 {
					return dst, nil
				}
				if _, _, err := fieldLine(t); err != nil {
					return dst, err // net/http refuses the answer too
				}
			}
		}
		if int64(len(dst))+size > int64(limit) {
			return dst, errBodyTooLarge
		}
		n := len(dst)
		dst = slices.Grow(dst, int(size))
		got, err := rr.readN(dst[n:n], int(size))
		dst = dst[:n+len(got)]
		if err != nil {
			return dst, err
		}
		if end, err := rr.line("chunk end"); err != nil {
			return dst, err
		} else if len(end) != 0 {
			return dst, malformed("chunk data longer than its size")
		}
	}
}

// fieldLine splits a non-empty header or trailer line into its name and
// value (optional whitespace trimmed), refusing what net/http refuses: a
// folded line, a missing colon, a name that is not a token, a control
// character in the value.
func fieldLine(line []byte) (name, value []byte, err error) {
	name, value, ok := bytes.Cut(line, []byte{':'})
	switch {
	case line[0] == ' ' || line[0] == '\t':
		return nil, nil, malformed("obsolete line folding (a header line that starts with a space)")
	case !ok:
		return nil, nil, malformed("header line %q has no colon", clip(line))
	case len(name) == 0 || !isToken(name):
		return nil, nil, malformed("header name %q", clip(name))
	}
	value = trimOWS(value)
	if !validValue(value) {
		return nil, nil, malformed("header %s has a control character in its value", clip(name))
	}
	return name, value, nil
}
