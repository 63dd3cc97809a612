// Package netpoll reads many held connections from a few goroutines instead
// of one goroutine each. A goroutine parked in a read keeps its stack (4 KiB
// at least, once it has parsed anything); a connection registered here keeps
// none: a poller (one per processor) waits for all of its connections at
// once and calls each one's Handler when it has bytes to read.
//
// It exists for held streams, where the stack is most of what a session
// costs. Only Linux has pollers (Supported); elsewhere a caller keeps its
// goroutine per connection.
package netpoll

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// ErrWouldBlock is Conn.Read's answer when the connection has no bytes yet:
// return from Handler.Readable, which is called again when it has.
var ErrWouldBlock = errors.New("netpoll: no bytes to read yet")

// ErrUnsupported is NewConn's error where there are no pollers (not Linux),
// or for a connection that is not a TCP or Unix stream socket.
var ErrUnsupported = errors.New("netpoll: not supported for this connection here")

// Handler reads a registered connection.
type Handler interface {
	// Readable is called on a poller goroutine once soon after Register,
	// whatever the connection holds (bytes may already be buffered above
	// the socket), and then whenever the socket has bytes or has ended (and
	// now and then with nothing to read). It reads with Conn.Read until
	// ErrWouldBlock or the end. It must not block: every connection of its
	// poller waits for it. To share the poller with the other connections
	// it may stop early, with bytes left in the socket or in its own
	// buffers, and return more: it is called again once the poller has
	// served the connections ready meanwhile. When the connection is done
	// it calls Conn.Deregister, then hands what follows (closing, a
	// reconnect) to a goroutine of its own.
	Readable() (more bool)
}

// Conn is a connection registered with a poller. It holds a duplicate of the
// socket's descriptor: once registered, the net.Conn it was made from is
// closed, so that the Go runtime's own poller no longer watches the socket
// too (every write of the server would wake both, and the runtime would
// take every event for a connection nobody waits on). To end the
// connection from another goroutine, Shutdown its reading side, which makes
// it readable at its end; Close it once it is deregistered.
type Conn struct {
	fd   int
	slot int32
	p    *poller
	h    Handler
	kick bool // Readable has not been called yet
	more bool // Readable asked to be called again, and is queued for it
	// The last read returned less than it had room for: the socket was
	// emptied, and the next Read need not ask.
	drained bool
	nc      net.Conn // until Register: closed once the poller has the socket
	laddr   net.Addr
	raddr   net.Addr

	mu     sync.Mutex // orders Shutdown with Close: fd is not reused under it
	closed bool
}

// Deregister stops polling the connection. Only the Handler calls it, from
// Readable; after it, Readable is not called again and the caller may close
// the connection.
func (c *Conn) Deregister() { c.p.remove(c) }

// readError is a failed read's error as net's own read would word it.
func (c *Conn) readError(err error) error {
	return &net.OpError{Op: "read", Net: c.laddr.Network(), Source: c.laddr, Addr: c.raddr, Err: os.NewSyscallError("read", err)}
}

// syscallConn is the socket under a TCP or Unix stream connection.
func syscallConn(nc net.Conn) (syscall.Conn, error) {
	switch c := nc.(type) {
	case *net.TCPConn:
		return c, nil
	case *net.UnixConn:
		return c, nil
	}
	return nil, ErrUnsupported
}
