// Package mocktest starts rtbench serve's mock server for a test: on a
// loopback port, shut down (and checked) when the test ends. Start is the
// common case; Serve adds what some tests need: a fixed address (to restart
// a server where another was), a wrapper around the handler or the
// listener, an early graceful Shutdown, and Kill, which drops the listener
// and every connection at once, as the kernel does for a killed process.
package mocktest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// Start serves a mock.Server with cfg on 127.0.0.1 and a free port until
// the test ends, and returns it (for its counters) and its base URL. The
// cleanup closes it gracefully within 5 s and fails the test if Serve
// ended with anything but http.ErrServerClosed.
func Start(t testing.TB, cfg mock.Config) (*mock.Server, string) {
	t.Helper()
	m := Serve(t, cfg, Options{})
	return m.Server, m.URL
}

// TestReadHeaderTimeout is the mock's header timeout in tests unless the
// Config sets one. serve's 5 s default drops slowloris clients; in a test
// on a loaded machine (CI runs the race detector over many packages at
// once) a starved process has been seen to take over 5 s from accepting a
// connection to reading its request, and the timeout then cut honest
// requests: net/http even answers 400 Bad Request when it fires mid request
// line, after its HTTP/2 preface check has read the first 14 bytes. Tests
// of the timeout itself set Config.ReadHeaderTimeout.
const TestReadHeaderTimeout = time.Minute

// Options are Serve's; the zero value is Start's behaviour.
type Options struct {
	// Addr is the address to listen on; "" is 127.0.0.1 and a free port.
	Addr string
	// Wrap, when set, goes around the mock's whole handler.
	Wrap func(http.Handler) http.Handler
	// Listener, when set, wraps the listener (an accept log).
	Listener func(net.Listener) net.Listener
}

// Mock is a served mock.Server.
type Mock struct {
	*mock.Server
	// URL is the base URL, "http://127.0.0.1:port"; Addr its host:port.
	URL, Addr string

	t     testing.TB
	ln    net.Listener
	conns *connSet
	done  chan error
	once  sync.Once
}

// Serve serves a mock.Server with cfg as opts say until the test ends (or
// Shutdown or Kill), and returns it.
func Serve(t testing.TB, cfg mock.Config, opts Options) *Mock {
	t.Helper()
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("mock: listening on %s: %v", addr, err)
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = TestReadHeaderTimeout
	}
	s := mock.New(cfg)
	if opts.Wrap != nil {
		s.Wrap(opts.Wrap)
	}
	conns := &connSet{m: make(map[net.Conn]struct{})}
	var served net.Listener = &trackListener{Listener: ln, conns: conns}
	if opts.Listener != nil {
		served = opts.Listener(served)
	}
	m := &Mock{Server: s, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), t: t, ln: ln, conns: conns, done: make(chan error, 1)}
	go func() { m.done <- s.Serve(served) }()
	t.Cleanup(m.Shutdown)
	return m
}

// Shutdown closes the server gracefully within 5 s and fails the test if
// Serve ended with anything but http.ErrServerClosed. It is idempotent and
// runs at the test's end.
func (m *Mock) Shutdown() {
	m.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Server.Close(ctx)
		if err := <-m.done; !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			m.t.Errorf("mock: %v", err)
		}
	})
}

// Kill closes the listener and every connection at once, with no goodbye
// (no WebSocket close frame, no end of stream), then lets the handlers go.
// It is idempotent, and Shutdown after it does nothing.
func (m *Mock) Kill() {
	m.once.Do(func() {
		m.ln.Close()
		m.conns.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Server.Close(ctx)
		<-m.done
	})
}

// connSet is the connections a trackListener accepted and that are open.
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	open := make([]net.Conn, 0, len(s.m))
	for c := range s.m {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

type trackListener struct {
	net.Listener
	conns *connSet
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, conns: l.conns}
	l.conns.mu.Lock()
	l.conns.m[tc] = struct{}{}
	l.conns.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	conns *connSet
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.conns.mu.Lock()
		delete(c.conns.m, c)
		c.conns.mu.Unlock()
	})
	return c.Conn.Close()
}
