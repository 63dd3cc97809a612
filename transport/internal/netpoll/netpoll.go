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

// Conn is a connection registered with a poller. Its socket must stay open
// until Deregister: to end the connection from another goroutine, shut its
// reading side (net.TCPConn.CloseRead), which makes it readable at its end;
// never Close it while it is registered.
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
	nc      net.Conn
}

// Deregister stops polling the connection. Only the Handler calls it, from
// Readable; after it, Readable is not called again and the caller may close
// the connection.
func (c *Conn) Deregister() { c.p.remove(c) }

// readError is a failed read's error as net's own read would word it.
func (c *Conn) readError(err error) error {
	return &net.OpError{Op: "read", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", err)}
}

// fdOf is the descriptor of a stream socket, for reading it directly.
func fdOf(nc net.Conn) (int, error) {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return 0, ErrUnsupported
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return 0, err
	}
	return fd, nil
}
