package netpoll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// reader is a Handler that keeps what its connection sent until the end.
type reader struct {
	c    *Conn
	got  bytes.Buffer
	err  error
	done chan struct{}
}

func newReader() *reader { return &reader{done: make(chan struct{})} }

func (r *reader) set(pc *Conn) { r.c = pc }

func (r *reader) Readable() bool {
	var buf [7]byte // small: several reads per wake-up
	for {
		n, err := r.c.Read(buf[:])
		r.got.Write(buf[:n])
		if err == ErrWouldBlock {
			return false
		}
		if err != nil {
			if err != io.EOF {
				r.err = err
			}
			r.c.Deregister()
			r.c.Close()
			close(r.done)
			return false
		}
	}
}

// pair is a loopback TCP connection: the client side, registered, and the
// server side.
func pair(t *testing.T, ln net.Listener) (*net.TCPConn, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func register(t *testing.T, c *net.TCPConn) *reader {
	t.Helper()
	r := newReader()
	attach(t, nil, c, r)
	return r
}

// attach makes c a Conn for h and registers it with p, or with the pollers
// when p is nil.
func attach(t *testing.T, p *poller, c *net.TCPConn, h interface {
	Handler
	set(*Conn)
}) *Conn {
	t.Helper()
	pc, err := NewConn(c)
	if err != nil {
		t.Fatal(err)
	}
	h.set(pc)
	if p != nil {
		err = p.add(pc, h)
	} else {
		err = pc.Register(h)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func waitDone(t *testing.T, r *reader) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the handler never saw the end; it has %q", r.got.String())
	}
}

// TestManyConnections: every connection's bytes reach its own handler,
// whole and in order, while the server writes to all of them at once, and
// the pollers stop once their connections are gone.
func TestManyConnections(t *testing.T) {
	for _, n := range []int{1, 300} {
		ln := listen(t)
		readers := make([]*reader, n)
		servers := make([]net.Conn, n)
		for i := range n {
			c, s := pair(t, ln)
			readers[i], servers[i] = register(t, c), s
		}
		var wg sync.WaitGroup
		for i, s := range servers {
			wg.Go(func() {
				for k := range 50 {
					s.Write(fmt.Appendf(nil, "conn %d line %d\n", i, k))
				}
				s.Close()
			})
		}
		wg.Wait()
		for i, r := range readers {
			waitDone(t, r)
			var want bytes.Buffer
			for k := range 50 {
				fmt.Fprintf(&want, "conn %d line %d\n", i, k)
			}
			if r.err != nil || r.got.String() != want.String() {
				t.Fatalf("n=%d conn %d: got %q (err %v), want %q", n, i, r.got.String(), r.err, want.String())
			}
		}
		waitStopped(t)
	}
}

// TestKick: Readable is called right after Register even when the socket
// has nothing to read (bytes may be buffered above it).
func TestKick(t *testing.T) {
	ln := listen(t)
	c, _ := pair(t, ln)
	type result struct {
		n   int
		err error
	}
	called := make(chan result, 1)
	h := handlerFunc(func(pc *Conn) bool {
		n, err := pc.Read(make([]byte, 8))
		pc.Deregister()
		called <- result{n, err}
		return false
	})
	attach(t, nil, c, h)
	select {
	case got := <-called:
		if got.n != 0 || got.err != ErrWouldBlock {
			t.Errorf("Read of an empty socket = %d, %v; want 0, ErrWouldBlock", got.n, got.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Readable was not called after Register")
	}
	waitStopped(t)
}

// TestCloseReadEnds: shutting a registered connection's reading side from
// another goroutine (how a session is cancelled) makes it readable at its
// end, though the server sends nothing and keeps it open; a Shutdown after
// Close does nothing.
func TestCloseReadEnds(t *testing.T) {
	ln := listen(t)
	c, _ := pair(t, ln)
	r := register(t, c)
	if err := r.c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, r)
	if r.err != nil || r.got.Len() != 0 {
		t.Fatalf("got %q, err %v; want a clean end", r.got.String(), r.err)
	}
	if err := r.c.Shutdown(); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
	waitStopped(t)
}

// TestUnsupported: only stream sockets are registered.
func TestUnsupported(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := NewConn(a); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewConn(net.Pipe) = %v, want ErrUnsupported", err)
	}
}

// TestReadError: a reset reads as net's own read would say it, with the
// errno for errors.Is and both addresses.
func TestReadError(t *testing.T) {
	ln := listen(t)
	c, s := pair(t, ln)
	r := register(t, c)
	s.(*net.TCPConn).SetLinger(0)
	s.Close() // RST
	waitDone(t, r)
	if !errors.Is(r.err, syscall.ECONNRESET) {
		t.Fatalf("err %v, want ECONNRESET", r.err)
	}
	if want := "read tcp " + c.LocalAddr().String() + "->" + c.RemoteAddr().String() + ": read: connection reset by peer"; r.err.Error() != want {
		t.Fatalf("err %q, want %q", r.err, want)
	}
	waitStopped(t)
}

// firstBytes is a Handler that deregisters at the first bytes it reads and
// sends them.
func firstBytes() (*funcHandler, <-chan string) {
	got := make(chan string, 1)
	return handlerFunc(func(pc *Conn) bool {
		var b [8]byte
		if n, _ := pc.Read(b[:]); n > 0 {
			pc.Deregister()
			got <- string(b[:n])
		}
		return false
	}), got
}

type funcHandler struct {
	pc *Conn
	f  func(*Conn) bool
}

func handlerFunc(f func(*Conn) bool) *funcHandler { return &funcHandler{f: f} }

func (h *funcHandler) set(pc *Conn)   { h.pc = pc }
func (h *funcHandler) Readable() bool { return h.f(h.pc) }

// waitStopped waits until none of ps (the shared pollers when none are
// given) is serving: each stops once its last connection is deregistered.
func waitStopped(t *testing.T, ps ...*poller) {
	t.Helper()
	if len(ps) == 0 {
		ps = pollers
	}
	transporttest.Eventually(t, 10*time.Second, "a poller still serves with no connection left", func() bool {
		for _, p := range ps {
			p.mu.Lock()
			serving := p.running || p.count != 0
			p.mu.Unlock()
			if serving {
				return false
			}
		}
		return true
	})
}

// testPoller is a poller of the test's own, apart from the shared ones.
func testPoller(t *testing.T) *poller {
	t.Helper()
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMore: a Handler that stops with bytes left in its own buffer and asks
// for more is called again although the socket signals nothing new, and a
// connection that always asks for more does not keep its poller from the
// others.
func TestMore(t *testing.T) {
	p := testPoller(t)
	ln := listen(t)

	// busy always asks for more, until stop.
	busyConn, _ := pair(t, ln)
	var stop atomic.Bool
	busyCalls := 0
	busy := handlerFunc(nil)
	busy.f = func(pc *Conn) bool {
		busyCalls++
		if stop.Load() {
			pc.Deregister()
			return false
		}
		return true
	}
	attach(t, p, busyConn, busy)

	// slow takes one byte of what it read per call.
	slowConn, slowServer := pair(t, ln)
	var buf, got []byte
	done := make(chan string, 1)
	slow := handlerFunc(nil)
	slow.f = func(pc *Conn) bool {
		if len(buf) == 0 {
			var b [64]byte
			n, _ := pc.Read(b[:])
			buf = append(buf, b[:n]...)
		}
		if len(buf) > 0 {
			got, buf = append(got, buf[0]), buf[1:]
		}
		if len(got) == 10 {
			pc.Deregister()
			done <- string(got)
			return false
		}
		return len(buf) > 0
	}
	attach(t, p, slowConn, slow)
	if _, err := slowServer.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-done:
		if s != "0123456789" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the slow handler got %q beside a busy one", got)
	}
	stop.Store(true)
	waitStopped(t, p)
	if busyCalls < 2 {
		t.Fatalf("the busy handler was called %d times, want again and again", busyCalls)
	}
}

// TestAddFails: a registration the kernel refuses (the same socket twice)
// is an error and leaves the poller serving the connections it has.
func TestAddFails(t *testing.T) {
	p := testPoller(t)
	ln := listen(t)
	c, s := pair(t, ln)
	h, got := firstBytes()
	attach(t, p, c, h)
	twice := &Conn{fd: h.pc.fd, laddr: c.LocalAddr(), raddr: c.RemoteAddr()}
	if err := p.add(twice, handlerFunc(func(*Conn) bool { return false })); err == nil || !strings.Contains(err.Error(), "epoll_ctl") {
		t.Fatalf("adding the same socket twice: %v, want an epoll_ctl error", err)
	}
	s.Write([]byte("x"))
	select {
	case g := <-got:
		if g != "x" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first connection is no longer served")
	}
}

// TestRegisterTakesOver: Register closes the net.Conn, and the connection
// stays open on the poller's duplicate: the server sees its end only when
// the Conn is closed.
func TestRegisterTakesOver(t *testing.T) {
	ln := listen(t)
	c, s := pair(t, ln)
	var closing atomic.Bool
	serverEnd := make(chan bool, 1) // whether Close had begun when the server read its end
	go func() {
		var b [1]byte
		for {
			if _, err := s.Read(b[:]); err != nil {
				serverEnd <- closing.Load()
				return
			}
		}
	}()
	h, got := firstBytes()
	pc := attach(t, nil, c, h)
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("the net.Conn still writes after Register")
	}
	s.Write([]byte("a"))
	select {
	case g := <-got:
		if g != "a" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing read through the poller")
	}
	closing.Store(true)
	pc.Close()
	select {
	case afterClose := <-serverEnd:
		if !afterClose {
			t.Fatal("the server saw the connection end before the Conn was closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the connection end after Close")
	}
	waitStopped(t)
}
