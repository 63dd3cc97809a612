package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// The rules a client applies to the frames a server sends (RFC 6455 §5–8),
// in one place for both client paths: the lean reader (lean.go) calls them
// as it parses, and frameGuard runs them on the bytes coder/websocket is
// about to read, which does not apply all of them to a server (it accepts
// masked frames and close reasons that are not UTF-8, and waits for the
// bytes of a frame that claims more than the read limit).

// protocolError is a frame that breaks RFC 6455: the client fails the
// connection with 1002 (class ws_protocol_error).
type protocolError string

func (e protocolError) Error() string { return "ws: protocol error: " + string(e) }

var (
	// errFrameTooBig is a data frame whose declared length takes its message
	// past the read limit: the client closes with 1009 as soon as the header
	// is read, without waiting for the payload.
	errFrameTooBig = fmt.Errorf("%w: a frame's declared length takes the message past the read limit", websocket.ErrMessageTooBig)
	// errCloseReasonUTF8 is a close frame whose reason is not UTF-8 (§8.1):
	// the client fails the connection with 1007.
	errCloseReasonUTF8 = errors.New("ws: the server's close reason is not valid UTF-8")
)

// maxHeader is the longest server frame header (no mask).
const maxHeader = 10

// frameHeader is a frame's header up to its length: the mask key of a
// masked frame is not read, as a server must not mask.
type frameHeader struct {
	fin    bool
	rsv    byte // the RSV1–3 bits (0x70 of the first byte)
	op     byte
	masked bool
	n      uint64 // the payload length it declares
	len    int    // header bytes up to the length: 2, 4 or 10
}

// headerLen is the length of a header whose second byte is b1, up to and
// including its extended length.
func headerLen(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// parseHeader reads the header at the start of b, which holds at least
// headerLen(b[1]) bytes.
func parseHeader(b []byte) frameHeader {
	h := frameHeader{
		fin:    b[0]&0x80 != 0,
		rsv:    b[0] & 0x70,
		op:     b[0] & 0x0f,
		masked: b[1]&0x80 != 0,
		n:      uint64(b[1] & 0x7f),
		len:    headerLen(b[1]),
	}
	switch h.len {
	case 4:
		h.n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 10:
		h.n = binary.BigEndian.Uint64(b[2:])
	}
	return h
}

// frameRules judges each frame header of one connection the moment it is
// whole, in the order the bytes arrive: the length's most significant bit,
// the mask, the RSV bits, the opcode, a control frame's size and
// fragmentation, the order of fragments, and then the declared length
// against the read limit (which frees the client from waiting for a payload
// it would refuse). It follows the message being assembled across calls.
type frameRules struct {
	limit   int64 // largest message in bytes; -1: none (then 2 GiB per frame)
	deflate bool  // permessage-deflate was negotiated: RSV1 marks compressed messages
	// draining: the client has failed the connection and throws away what
	// still comes until the server's close frame, so the limit is not
	// applied.
	draining bool

	inMsg      bool   // a fragmented message is under way
	compressed bool   // ... and it is compressed: its length is not judged here
	msgLen     uint64 // its payload bytes so far
}

// check judges header h, and follows the message when h is a data frame
// that passes. The error is a protocolError (1002) or errFrameTooBig
// (1009).
func (r *frameRules) check(h frameHeader) error {
	switch {
	case h.n>>63 != 0:
		return protocolError("64-bit length with its most significant bit set")
	case h.masked:
		return protocolError("masked frame from the server")
	case h.rsv&0x30 != 0,
		h.rsv&0x40 != 0 && !(r.deflate && (h.op == opText || h.op == opBinary)):
		return protocolError("reserved bits set without an extension")
	case h.op > opBinary && h.op < opClose || h.op > opPong:
		return protocolError(fmt.Sprintf("reserved opcode %#x", h.op))
	}
	if h.op&0x8 != 0 {
		if !h.fin || h.n > 125 {
			return protocolError("fragmented or over 125-byte control frame")
		}
		return nil
	}
	switch {
	case h.op == opContinuation && !r.inMsg:
		return protocolError("continuation frame outside a message")
	case h.op != opContinuation && r.inMsg:
		return protocolError("new message inside a fragmented one")
	}
	if h.op != opContinuation {
		r.inMsg, r.msgLen, r.compressed = true, 0, h.rsv&0x40 != 0
	}
	if !r.compressed && !r.draining {
		if r.limit >= 0 && h.n > uint64(r.limit)-r.msgLen || r.limit < 0 && h.n > math.MaxInt32-r.msgLen {
			return errFrameTooBig
		}
		r.msgLen += h.n
	}
	r.inMsg = !h.fin
	return nil
}

// parseClose reads a close frame's payload (§5.5.1, §7.4): no payload is
// 1005; a 1-byte one, or a code that must not be sent, is a protocolError;
// a reason that is not UTF-8 is errCloseReasonUTF8.
func parseClose(p []byte) (websocket.CloseError, error) {
	ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
	switch {
	case len(p) == 1:
		return ce, protocolError("close frame with a 1-byte payload")
	case len(p) >= 2:
		ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(p))
		if !validCloseCode(ce.Code) {
			return ce, protocolError(fmt.Sprintf("invalid close code %d", ce.Code))
		}
		if !utf8.Valid(p[2:]) {
			return ce, errCloseReasonUTF8
		}
		ce.Reason = string(p[2:])
	}
	return ce, nil
}

// validCloseCode: the codes a close frame may carry (RFC 6455 §7.4): never
// 1004–1006, 1015, or anything below 1000 or in 1016–2999.
func validCloseCode(c websocket.StatusCode) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	}
	return c >= 3000 && c <= 4999
}

// frameGuard is the connection under a coder/websocket client: it parses
// the server's frames in the bytes coder/websocket reads and applies
// frameRules and parseClose to them first. At a broken rule it hands over
// the bytes before the offending frame, then fails the next read with the
// error, for the session to close with the code the error calls for. The
// reads after that (the close handshake's wait) discard what arrives until
// the server closes the connection, or the session's close timeout closes
// it: closing with unread bytes would reset the connection, and the server
// could lose the close frame. It also notes when the server's close frame
// has arrived: only then did a close handshake end cleanly (§7.1.4).
//
// Reads come from one goroutine at a time (coder/websocket's read lock);
// reported and gotClose may be read from any.
type frameGuard struct {
	io.ReadWriteCloser
	rules frameRules

	hdr     [maxHeader]byte // the header being read
	hn      int             // its bytes so far
	h       frameHeader     // the frame whose payload is being read
	left    uint64          // its payload bytes still to come
	payload bool            // reading a payload (not a header)
	ctl     [125]byte       // a control frame's payload
	cn      int             //
	closed  bool            // the close frame passed: the rest is not parsed

	err      error       // the rule broken, once found
	reported atomic.Bool // ... and returned by a read (err is set before)
	gotClose atomic.Bool // the server's close frame arrived
	// dropped: coder/websocket closed the connection before the session
	// finished with it (a timeout's hard close, a failed read or write, the
	// end of a close handshake); finishing is set as the session does.
	dropped, finishing atomic.Bool
}

func (g *frameGuard) Close() error {
	if !g.finishing.Load() {
		g.dropped.Store(true)
	}
	return g.ReadWriteCloser.Close()
}

func (g *frameGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		if !g.reported.Load() {
			g.reported.Store(true)
			return 0, g.err
		}
		for {
			if _, err := g.ReadWriteCloser.Read(p); err != nil {
				return 0, err
			}
		}
	}
	n, err := g.ReadWriteCloser.Read(p)
	if at, bad := g.scan(p[:n]); bad != nil {
		g.err = bad
		if at > 0 {
			return at, nil
		}
		g.reported.Store(true)
		return 0, bad
	}
	if err == io.EOF && (g.payload || g.hn > 0 || g.rules.inMsg) {
		// Mid-frame or between fragments: coder/websocket would take an
		// EOF there (before a payload's first byte, or instead of the next
		// fragment's header) for the end of the message, and deliver it
		// truncated.
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// scan parses b. At a broken rule it returns where the offending frame
// starts in b (0 when it started in an earlier read) and the error.
func (g *frameGuard) scan(b []byte) (int, error) {
	at := 0 // where the current frame starts in b
	for i := 0; i < len(b) && !g.closed; {
		if !g.payload {
			if g.hn == 0 {
				at = i
			}
			need := 2
			if g.hn >= 2 {
				need = headerLen(g.hdr[1])
			}
			for g.hn < need && i < len(b) {
				g.hdr[g.hn] = b[i]
				g.hn++
				i++
				if g.hn == 2 {
					need = headerLen(g.hdr[1])
				}
			}
			if g.hn < need {
				return 0, nil
			}
			g.h = parseHeader(g.hdr[:g.hn])
			if err := g.rules.check(g.h); err != nil {
				return at, err
			}
			g.hn, g.payload, g.left, g.cn = 0, true, g.h.n, 0
		} else {
			k := int(min(g.left, uint64(len(b)-i)))
			if g.h.op&0x8 != 0 {
				g.cn += copy(g.ctl[g.cn:], b[i:i+k])
			}
			i += k
			g.left -= uint64(k)
		}
		if g.left > 0 {
			continue
		}
		g.payload = false
		if g.h.op == opClose {
			if _, err := parseClose(g.ctl[:g.cn]); err != nil {
				return at, err
			}
			g.closed = true
			g.gotClose.Store(true)
		}
	}
	return 0, nil
}
