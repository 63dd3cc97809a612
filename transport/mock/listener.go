package mock

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// ReserveConns is how many connections past MaxConns are still accepted to
// answer GET /healthz and /metrics (every other request on them gets 503),
// so an overloaded mock can still be watched.
const ReserveConns = 8

// overCapResponse answers a connection past MaxConns + ReserveConns,
// without reading its request.
const overCapResponse = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n" +
	"Content-Type: application/json\r\nContent-Length: 96\r\n\r\n" +
	`{"error":"connection limit reached; retry later or start serve with a higher --max-conns"}` + "\n"

// capListener counts every connection it accepts, keep-alive and hijacked
// ones included, until the connection is closed. At max it first closes an
// idle keep-alive connection to make room; past max it still accepts
// ReserveConns connections, marked reserve (health and metrics only); past
// that it answers 503 at once and closes. When accept fails for lack of file
// descriptors (EMFILE, ENFILE) it sheds an idle connection, backs off and
// logs once per second with a count, instead of one line per failure. It
// also knows every open connection, so a shutdown can cut them.
type capListener struct {
	net.Listener
	max   int // 0: no cap
	stats *transport.ServerStats
	logf  func(format string, args ...any)

	done      chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	conns  map[*capConn]struct{} // every open connection
	idle   map[*capConn]struct{} // keep-alive connections between requests
	failed int                   // accept failures not logged yet
	logged time.Time
}

func newCapListener(ln net.Listener, max int, stats *transport.ServerStats, logf func(string, ...any)) *capListener {
	return &capListener{
		Listener: ln, max: max, stats: stats, logf: logf, done: make(chan struct{}),
		conns: make(map[*capConn]struct{}), idle: make(map[*capConn]struct{}),
	}
}

// capConn is one accepted connection.
type capConn struct {
	net.Conn
	l       *capListener
	reserve bool // accepted past max: health and metrics only
	once    sync.Once
}

func (c *capConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		delete(c.l.idle, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite half-closes, as net.TCPConn does: net/http uses it to close a
// connection gracefully after an error answer (431, 400) instead of
// resetting it.
func (c *capConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// SetLinger is net.TCPConn's, for the reset fault (fault.ResetConn).
func (c *capConn) SetLinger(sec int) error {
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

type capConnKey struct{}

// connContext is http.Server.ConnContext: it lets handlers see the
// connection a request came on.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := unwrapTLS(c).(*capConn); ok {
		return context.WithValue(ctx, capConnKey{}, cc)
	}
	return ctx
}

// unwrapTLS is the connection under a TLS one (serve --tls wraps the
// capListener's connections), else c.
func unwrapTLS(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c
}

// onReserve reports whether r came on a reserve connection.
func onReserve(r *http.Request) bool {
	cc, _ := r.Context().Value(capConnKey{}).(*capConn)
	return cc != nil && cc.reserve
}

// connState is http.Server.ConnState: it keeps the set of idle keep-alive
// connections, the ones shed first.
func (l *capListener) connState(c net.Conn, st http.ConnState) {
	cc, ok := unwrapTLS(c).(*capConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, open := l.conns[cc]; !open {
		return
	}
	if st == http.StateIdle {
		l.idle[cc] = struct{}{}
	} else {
		delete(l.idle, cc)
	}
}

// Open is the number of connections open now.
func (l *capListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// shedIdle closes one idle keep-alive connection, if there is one.
func (l *capListener) shedIdle() bool {
	l.mu.Lock()
	var victim *capConn
	for c := range l.idle {
		victim = c
		break
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close()
	return true
}

func (l *capListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
				return nil, err
			}
			l.noteFailure(err)
			l.shedIdle()
			t := time.NewTimer(backoff)
			select {
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		cc := &capConn{Conn: c, l: l}
		if l.max > 0 && l.Open() >= l.max {
			l.shedIdle()
		}
		l.mu.Lock()
		n := len(l.conns)
		if l.max > 0 && n >= l.max+ReserveConns {
			l.mu.Unlock()
			l.stats.Rejected()
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, overCapResponse)
			c.Close()
			continue
		}
		cc.reserve = l.max > 0 && n >= l.max
		l.conns[cc] = struct{}{}
		l.mu.Unlock()
		return cc, nil
	}
}

// noteFailure counts an accept failure and logs at most once a second.
func (l *capListener) noteFailure(err error) {
	l.mu.Lock()
	l.failed++
	now := time.Now()
	if now.Sub(l.logged) < time.Second {
		l.mu.Unlock()
		return
	}
	n := l.failed
	l.failed, l.logged = 0, now
	open := len(l.conns)
	l.mu.Unlock()
	l.logf("rtbench serve: accept failed %d time(s) (%v) with %d connections open; shedding idle ones and retrying: raise the open-files limit (ulimit -n) or lower --max-conns", n, err, open)
}

func (l *capListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// cutAll closes every connection still open and returns how many there
// were.
func (l *capListener) cutAll() int {
	l.mu.Lock()
	conns := make([]*capConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}
