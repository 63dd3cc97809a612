package sse

import (
	"bufio"
	"errors"
	"io"

	"github.com/rtbench/rtbench/transport/internal/netpoll"
)

// chunked reads an HTTP/1.1 chunked body and strips its framing in place:
// each read of the connection goes straight into the caller's buffer (the
// parser's), and the chunk-size lines and CRLFs are squeezed out of it, so
// an event is copied once, by the kernel, and the stream needs no buffer of
// its own once the bytes read with the headers are used up. It accepts what
// net/http's chunked reader accepts, with chunk-size lines of at most
// LeanHeaderBuffer bytes (what the lean path allowed when it read them
// through its header buffer), and ends with io.EOF at the last chunk (its
// trailers are not read).
type chunked struct {
	br     *bufio.Reader // what was read with the headers; nil once used up
	conn   io.Reader
	st     chunkState
	n      uint64 // stData: data bytes left in the chunk; stSize…: the size so far
	digits int    // hex digits of the size so far
	line   int    // bytes of the chunk-size line so far, CRLF included
	excess int64  // framing bytes beyond what the data allows (net/http's rule)
	err    error
}

type chunkState uint8

const (
	stSize   chunkState = iota // the chunk size's hex digits
	stOWS                      // white space after the size
	stExt                      // a chunk extension (";…"), ignored
	stSizeLF                   // the LF of the size line's CRLF
	stData                     // n bytes of data
	stCR                       // the CR after the data
	stLF                       // the LF after the data
)

// The errors are net/http's words for the same faults.
var (
	errChunkMalformed = errors.New("malformed chunked encoding")
	errChunkBareLF    = errors.New("chunked line ends with bare LF")
	errChunkCR        = errors.New("invalid CR in chunked line")
	errChunkEmpty     = errors.New("empty hex number for chunk length")
	errChunkTooLarge  = errors.New("http chunk length too large")
	errChunkByte      = errors.New("invalid byte in chunk length")
	errChunkLine      = errors.New("chunk-size line too long")
	errChunkOverhead  = errors.New("chunked encoding contains too much non-data")
)

func newChunked(br *bufio.Reader, conn io.Reader) *chunked {
	return &chunked{br: br, conn: conn}
}

// Read reads into p and returns the data bytes it held, at p[:n]. Bytes of
// framing alone read on, so n is 0 only with an error (or from a reader
// that returned nothing).
func (c *chunked) Read(p []byte) (int, error) {
	for c.err == nil && len(p) > 0 {
		var m int
		var err error
		if c.br != nil {
			if c.br.Buffered() == 0 {
				c.br = nil // its buffer goes with it
				continue
			}
			m, err = c.br.Read(p)
		} else {
			m, err = c.conn.Read(p)
		}
		if n := c.decode(p[:m]); n > 0 {
			if err != nil && c.err == nil {
				c.err = eofUnexpected(err)
			}
			return n, nil // an error after data comes with the next read
		}
		if err == netpoll.ErrWouldBlock {
			return 0, err // not an end: the framing read so far is kept
		}
		if c.err == nil && err != nil {
			c.err = eofUnexpected(err)
		}
		if m == 0 && c.err == nil {
			return 0, nil
		}
	}
	return 0, c.err
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF // the stream ended before its last chunk
	}
	return err
}

// decode strips the framing out of b, in place, and returns how many data
// bytes are left at its start. A fault or the last chunk sets c.err.
func (c *chunked) decode(b []byte) int {
	w := 0
	for r := 0; r < len(b) && c.err == nil; {
		if c.st == stData {
			k := int(min(uint64(len(b)-r), c.n))
			w += copy(b[w:], b[r:r+k])
			r += k
			if c.n -= uint64(k); c.n == 0 {
				c.st = stCR
			}
			continue
		}
		ch := b[r]
		r++
		switch c.st {
		case stCR:
			c.st = stLF
			if ch != '\r' {
				c.err = errChunkMalformed
			}
			continue
		case stLF:
			c.st, c.n, c.digits, c.line = stSize, 0, 0, 0
			if ch != '\n' {
				c.err = errChunkMalformed
			}
			continue
		case stSizeLF:
			c.line++
			if ch != '\n' {
				c.err = errChunkCR
			} else {
				c.endLine()
			}
			continue
		}
		// The size line: digits, then white space or an extension, CRLF.
		if c.line++; c.line+1 > LeanHeaderBuffer { // room for the LF left
			c.err = errChunkLine
			continue
		}
		switch {
		case ch == '\r':
			c.st = stSizeLF
		case ch == '\n':
			c.err = errChunkBareLF
		case c.st == stExt:
		case ch == ' ' || ch == '\t':
			c.st = stOWS
		case c.st == stOWS:
			c.err = errChunkByte // white space only at the end of the line
		case ch == ';':
			c.st = stExt
		default:
			v, ok := unhex(ch)
			switch {
			case !ok:
				c.err = errChunkByte
			case c.digits == 16:
				c.err = errChunkTooLarge
			default:
				c.n, c.digits = c.n<<4|uint64(v), c.digits+1
			}
		}
	}
	return w
}

// endLine starts the chunk whose size line ended: its data, or the end of
// the body at the last chunk.
func (c *chunked) endLine() {
	if c.digits == 0 {
		c.err = errChunkEmpty
		return
	}
	// A sender may spend 16 bytes of framing per chunk plus twice its
	// data; more than 16 KiB beyond that is refused, as net/http does.
	c.excess += int64(c.line)
	c.excess = max(c.excess-(16+2*int64(c.n)), 0)
	if c.excess > 16<<10 {
		c.err = errChunkOverhead
		return
	}
	if c.n == 0 {
		c.err = io.EOF
		return
	}
	c.st = stData
}

func unhex(ch byte) (byte, bool) {
	switch {
	case ch >= '0' && ch <= '9':
		return ch - '0', true
	case ch >= 'a' && ch <= 'f':
		return ch - 'a' + 10, true
	case ch >= 'A' && ch <= 'F':
		return ch - 'A' + 10, true
	}
	return 0, false
}
