//go:build !linux

package netpoll

import "net"

// Supported says whether this system has pollers.
func Supported() bool { return false }

// NewConn is not supported here: the caller reads on a goroutine of its own.
func NewConn(nc net.Conn) (*Conn, error) { return nil, ErrUnsupported }

// Register is never reached here: NewConn makes no Conn.
func (c *Conn) Register(h Handler) error { return ErrUnsupported }

type poller struct{}

func (p *poller) remove(c *Conn) {}

// Read is never reached here: Register registers nothing.
func (c *Conn) Read(b []byte) (int, error) { return 0, ErrUnsupported }

// Shutdown is never reached here: NewConn makes no Conn.
func (c *Conn) Shutdown() error { return ErrUnsupported }

// Close is never reached here: NewConn makes no Conn.
func (c *Conn) Close() error { return ErrUnsupported }
