package transport

import (
	"context"
	"net"
	"sync/atomic"
)

// CountingDialer counts the bytes that cross the connections it dials, in
// both directions and headers included, as the network sees them (TLS
// records included): what `rtbench compare` reports as bytes on the wire.
// Its counters are atomic, so one dialer serves many sessions; the zero
// value is ready once Dial is set.
type CountingDialer struct {
	// Dial makes the connection; http.Transport.DialContext's shape. Nil
	// uses a net.Dialer with DefaultDialTimeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	read, written atomic.Int64
	dialed, open  atomic.Int64
	peak          atomic.Int64
}

// DialContext dials with Dial and wraps the connection so its reads and
// writes are counted. Use it as http.Transport.DialContext.
func (d *CountingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: DefaultDialTimeout}).DialContext
	}
	c, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.dialed.Add(1)
	n := d.open.Add(1)
	for {
		p := d.peak.Load()
		if n <= p || d.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return &countingConn{Conn: c, d: d}, nil
}

// Counts is a snapshot of a CountingDialer.
type Counts struct {
	Read, Written int64 // bytes received and sent
	Dialed        int64 // connections made
	Open          int64 // connections not closed yet
	Peak          int64 // most connections open at once
}

// Counts returns the counters so far.
func (d *CountingDialer) Counts() Counts {
	return Counts{Read: d.read.Load(), Written: d.written.Load(), Dialed: d.dialed.Load(), Open: d.open.Load(), Peak: d.peak.Load()}
}

type countingConn struct {
	net.Conn
	d      *CountingDialer
	closed atomic.Bool
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.written.Add(int64(n))
	return n, err
}

func (c *countingConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.d.open.Add(-1)
	}
	return c.Conn.Close()
}
