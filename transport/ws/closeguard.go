package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// closeGuard reads a client's frames on their way to coder/websocket and
// fixes the one thing it lets through: a close frame whose reason is not
// UTF-8. RFC 6455 §8.1 says the endpoint must then fail the connection with
// 1007; coder/websocket echoes the close, invalid reason and all. The guard
// rewrites such a frame, in place and with the same length, into a close
// with 1007 and an ASCII reason, so the handshake coder/websocket answers is
// the 1007 the RFC asks for. Every other byte passes unchanged; a close frame
// is held back until it is whole (at most 14 + 125 bytes).
type closeGuard struct {
	r     io.Reader
	buf   []byte // read, not yet returned
	ready int    // buf[:ready] may be returned
	scan  int    // where the frame scanner stands in buf (≥ ready)
	left  uint64 // payload bytes of the current non-close frame not scanned
	err   error  // from r, returned once buf is drained
}

// reasonInvalidUTF8CloseText is what a rewritten close frame's reason says,
// cut or padded with spaces to the original reason's length.
const reasonInvalidUTF8CloseText = "invalid UTF-8 in the close reason"

func (g *closeGuard) Read(p []byte) (int, error) {
	for g.ready == 0 {
		if g.err != nil {
			if len(g.buf) == 0 {
				return 0, g.err
			}
			g.ready = len(g.buf) // a frame cut by the end: as it is
			break
		}
		g.fill()
		g.advance()
	}
	n := copy(p, g.buf[:g.ready])
	g.buf = g.buf[n:]
	g.ready -= n
	g.scan -= n
	if len(g.buf) == 0 {
		g.buf = g.buf[:0:cap(g.buf)]
	}
	return n, nil
}

func (g *closeGuard) fill() {
	if cap(g.buf)-len(g.buf) < 4096 {
		nb := make([]byte, len(g.buf), len(g.buf)+8192)
		copy(nb, g.buf)
		g.buf = nb
	}
	n, err := g.r.Read(g.buf[len(g.buf):cap(g.buf)])
	g.buf = g.buf[:len(g.buf)+n]
	if err != nil {
		g.err = err
	}
}

// advance scans the frames in buf from scan on, marking ready everything up
// to the first close frame that is not yet whole.
func (g *closeGuard) advance() {
	for {
		if g.left > 0 {
			k := min(g.left, uint64(len(g.buf)-g.scan))
			g.scan += int(k)
			g.left -= k
			g.ready = g.scan
			if g.left > 0 {
				return
			}
		}
		h := g.buf[g.scan:]
		if len(h) < 2 {
			return
		}
		hlen, size := 2, uint64(h[1]&0x7f)
		switch size {
		case 126:
			hlen += 2
		case 127:
			hlen += 8
		}
		if h[1]&0x80 != 0 {
			hlen += 4
		}
		if len(h) < hlen {
			return
		}
		switch size {
		case 126:
			size = uint64(binary.BigEndian.Uint16(h[2:]))
		case 127:
			size = binary.BigEndian.Uint64(h[2:])
		}
		if h[0]&0x0f != 0x8 || size > 125 {
			// Not a close, or a close coder/websocket refuses itself.
			g.scan += hlen
			g.left = size
			g.ready = g.scan
			continue
		}
		if uint64(len(h)) < uint64(hlen)+size {
			return // the close frame is not whole yet
		}
		fixClose(h[:hlen+int(size)], hlen)
		g.scan += hlen + int(size)
		g.ready = g.scan
	}
}

// fixClose rewrites frame, a whole close frame whose header is hlen bytes,
// into a 1007 close when its reason is not UTF-8.
func fixClose(frame []byte, hlen int) {
	payload := frame[hlen:]
	if len(payload) <= 2 {
		return
	}
	var key []byte
	if frame[1]&0x80 != 0 {
		key = frame[hlen-4 : hlen]
	}
	plain := bytes.Clone(payload)
	mask(plain, key)
	if utf8.Valid(plain[2:]) {
		return
	}
	binary.BigEndian.PutUint16(plain, uint16(websocket.StatusInvalidFramePayloadData))
	reason := plain[2:]
	n := copy(reason, reasonInvalidUTF8CloseText)
	for i := n; i < len(reason); i++ {
		reason[i] = ' '
	}
	mask(plain, key)
	copy(payload, plain)
}

// mask applies (or removes) a client frame's masking key.
func mask(b, key []byte) {
	if key == nil {
		return
	}
	for i := range b {
		b[i] ^= key[i%4]
	}
}

// guardedConn is a hijacked connection whose reads pass the closeGuard.
type guardedConn struct {
	net.Conn
	g *closeGuard
}

func (c *guardedConn) Read(p []byte) (int, error) { return c.g.Read(p) }

// guard wraps a hijacked connection and its reader: what the server had
// already buffered, then the connection, through a closeGuard. The returned
// ReadWriter's reader is empty, so coder/websocket (which re-reads what is
// buffered, then the connection) reads everything through the guard.
func guard(c net.Conn, brw *bufio.ReadWriter) (net.Conn, *bufio.ReadWriter) {
	b, _ := brw.Reader.Peek(brw.Reader.Buffered())
	src := io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)
	gc := &guardedConn{Conn: c, g: &closeGuard{r: src}}
	return gc, bufio.NewReadWriter(bufio.NewReaderSize(gc, 16), brw.Writer)
}
