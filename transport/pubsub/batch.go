package pubsub

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// The connection side of a fan-out. A subscriber that is behind (its
// goroutine woke after several messages were published, as it does when
// the server is busy) has several frames to write; written one by one,
// each costs a write system call, and on loopback that system call also
// carries the receiver's TCP processing. So a slow fan-out gets slower
// still the further behind it is. A BatchConn lets the delivering goroutine
// cork the connection, hand its frames to the WebSocket library as usual,
// and uncork: the frames leave in one write, so the cost of catching up
// falls as the backlog grows instead of rising with it.

// batchSize is the most a BatchConn holds back: a longer backlog leaves in
// writes of this size. Held bytes sit in buffers shared through a pool, taken
// by the first held write and given back by Uncork, so a held connection
// costs no buffer of its own.
const batchSize = 16 << 10

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, batchSize); return &b }}

// BatchConn is a net.Conn whose writes can be held back and sent together.
// Writes while it is not corked go straight through. It is safe for
// concurrent use: a write from another goroutine while it is corked (a
// library's pong or close frame) joins the batch, in order.
type BatchConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    *[]byte // from batchBuffers while bytes are held
}

// Write implements net.Conn.
func (c *BatchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf != nil && len(*c.buf)+len(p) > batchSize {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) >= batchSize {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = batchBuffers.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// flushLocked writes the held bytes and gives their buffer back.
func (c *BatchConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	batchBuffers.Put(c.buf)
	c.buf = nil
	return err
}

// Cork holds back the writes that follow until Uncork.
func (c *BatchConn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork writes what was held back, in one write, and lets later writes go
// straight through again. The error is the write's: the connection is then
// unusable, as after any failed write.
func (c *BatchConn) Uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

// Hijacker wraps the http.ResponseWriter given to a WebSocket library's
// Accept, so that the connection the library hijacks writes through a
// BatchConn: Conn is set once the library has hijacked it. The buffered
// writer handed to the library is net/http's own, retargeted, so the
// connection costs no extra buffer.
type Hijacker struct {
	http.ResponseWriter
	Conn *BatchConn
}

// Hijack implements http.Hijacker.
func (h *Hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	bc := &BatchConn{Conn: c}
	brw.Writer.Reset(bc)
	h.Conn = bc
	return bc, brw, nil
}

// Unwrap lets http.ResponseController and middleware reach the writer
// below.
func (h *Hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
