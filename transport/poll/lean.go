package poll

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Lean sends a session's polls over a connection of its own, with its own
// HTTP/1.1 writer and response reader, instead of net/http's Transport: one
// goroutine per session (the one that calls Run; net/http adds a read and a
// write loop per connection and hands every response between them), the
// request's bytes built once and only its query and conditional headers
// rewritten, one read buffer per connection, and no allocation per request
// once the buffers have grown. That is what lets `rtbench load --interval 0`
// poll as fast as wrk does.
//
// The wire is the same as net/http's: the request line, Host, User-Agent
// (Go-http-client/1.1 unless Request.Header sets one), Request.Header in
// sorted order, Content-Length and Content-Type for a body, If-None-Match and
// If-Modified-Since; the response's status line and headers are parsed
// strictly (a malformed answer is an error of class other, as net/http's
// "malformed HTTP response" is), and its body read by Content-Length, chunked
// transfer coding or to the connection's close, gzip decoded as
// transport.Do decodes it. A keep-alive connection the server closed while it
// was idle is dialed again once for an idempotent request, as net/http does.
//
// The session uses its net/http client (Client.HTTP must be nil) instead,
// from the start, when the URL is not http:// (https needs TLS, and HTTP/2
// comes with it), when a proxy is configured (HTTPOptions.Proxy, or the
// environment's HTTP_PROXY for that URL), when HTTPOptions.Version is HTTP2
// (h2c), when the URL carries a user name (Basic authentication), when the
// request has --send lines or a header that is not a valid field, and from
// the first redirect (3xx with a Location) on: net/http follows it.
//
// Observer.Connected gets the response's Header for a new connection only;
// on a connection reused from a Pool, or after a failure on one that stayed
// open, Connect.Header is nil.
type Lean struct {
	// LocalAddr is the source address of the connections; nil: the
	// HTTPOptions' LocalAddr, else the system's choice.
	LocalAddr net.Addr
	// DialTimeout bounds DNS and the TCP connect; default the HTTPOptions'
	// DialTimeout, else transport.DefaultDialTimeout.
	DialTimeout time.Duration
	// TTFBTimeout bounds the time from a request's send to its response
	// headers (ttfb_timeout), plus LongPoll; default the HTTPOptions'
	// TTFBTimeout, else transport.DefaultTTFBTimeout.
	TTFBTimeout time.Duration
	// Pool, when set, lends the session an idle connection to start with,
	// and takes back the session's connection when Run returns with it
	// still usable: the open model's one-request sessions share keep-alive
	// connections this way. nil: the session dials its own and closes it.
	Pool *transport.ConnPool
}

// pooled is a lean connection while it waits in a Lean.Pool.
type pooled struct {
	nc net.Conn
	rr respReader
}

func (p *pooled) Close() error { return p.nc.Close() }

// leanTarget is the lean path's request as every Run of a Client sends it,
// built once and read-only after.
type leanTarget struct {
	u        *url.URL
	local    net.Addr
	dial     time.Duration
	ttfb     time.Duration
	method   string
	idem     bool   // the method may be sent again after an idle close
	keep     string // request targets of the session's base URLs (see target.base)
	base     string
	fixed    []byte // " HTTP/1.1\r\n" and the headers every request carries
	body     []byte
	connURL  string
	protoStr [2]string
	pool     *transport.ConnPool
	poolKey  string
}

// leanPath is the lean state of one session: its connection and buffers.
type leanPath struct {
	*leanTarget

	mu       sync.Mutex // nc and canceled, against cancel
	cancelFn func()     // lp.cancel, made once: a method value costs an allocation
	nc       net.Conn
	canceled bool
	slot     bool    // nc holds a slot of pool
	pc       *pooled // nc's wrapper, given back to the pool with it

	rr   respReader
	h    respHead
	req  []byte
	zr   *gzip.Reader
	zin  bytes.Reader
	zbuf []byte
}

// reset readies lp, connectionless (after release), for a Run sending t's
// request; its buffers stay.
func (lp *leanPath) reset(t *leanTarget) {
	lp.mu.Lock()
	lp.leanTarget = t
	lp.canceled = false
	lp.mu.Unlock()
	if lp.cancelFn == nil {
		lp.cancelFn = lp.cancel
	}
	lp.rr, lp.h = respReader{}, respHead{}
}

// newLeanTarget returns the lean request of c, or nil when the lean path
// does not apply (see Lean).
func newLeanTarget(c *Client, u *url.URL, base, keep string) *leanTarget {
	o := c.HTTPOptions
	if c.Lean == nil || c.HTTP != nil || u.Scheme != "http" || u.User != nil || c.Request.Send != nil ||
		o.Proxy != nil || o.Version == transport.HTTP2 {
		return nil
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		return nil
	}
	method := c.Request.Method
	if method == "" {
		method = http.MethodGet
		if c.Request.Body != nil {
			method = http.MethodPost
		}
	}
	if !isToken([]byte(method)) {
		return nil
	}
	lp := &leanTarget{
		u: u, local: cmp.Or[net.Addr](c.Lean.LocalAddr, o.LocalAddr),
		dial:     cmp.Or(c.Lean.DialTimeout, o.DialTimeout, transport.DefaultDialTimeout),
		ttfb:     cmp.Or(c.Lean.TTFBTimeout, o.TTFBTimeout, transport.DefaultTTFBTimeout) + c.LongPoll,
		method:   method,
		idem:     method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions,
		body:     c.Request.Body,
		connURL:  u.Redacted(),
		protoStr: [2]string{"HTTP/1.0", "HTTP/1.1"},
		pool:     c.Lean.Pool,
	}
	if lp.pool != nil {
		lp.poolKey = u.Host
		if lp.local != nil {
			lp.poolKey += " from " + lp.local.String()
		}
	}
	var err error
	if lp.base, err = requestTarget(base); err != nil {
		return nil
	}
	if lp.keep, err = requestTarget(keep); err != nil {
		return nil
	}
	host := u.Host
	if h, p, err := net.SplitHostPort(host); err == nil && p == "" {
		host = h
	}
	f := append([]byte(nil), " HTTP/1.1\r\nHost: "...)
	f = append(f, host...)
	f = append(f, "\r\n"...)
	hdr := c.Request.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr.Set("User-Agent", "Go-http-client/1.1")
	}
	if lp.body != nil {
		hdr.Del("Content-Length")
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "application/json")
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range hdr {
			if !yield(k) {
				return
			}
		}
	}) {
		if !isToken([]byte(k)) || http.CanonicalHeaderKey(k) == "Host" || http.CanonicalHeaderKey(k) == "Transfer-Encoding" {
			return nil
		}
		for _, v := range hdr[k] {
			if !validValue([]byte(v)) {
				return nil
			}
			if k == "User-Agent" && v == "" {
				continue // net/http sends none for an empty User-Agent
			}
			f = append(append(append(append(f, k...), ": "...), v...), "\r\n"...)
		}
	}
	if lp.body != nil {
		f = append(f, "Content-Length: "...)
		f = strconv.AppendInt(f, int64(len(lp.body)), 10)
		f = append(f, "\r\n"...)
	}
	lp.fixed = f
	return lp
}

// requestTarget is a URL's origin-form request target: path and query.
func requestTarget(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.RequestURI(), nil
}

// request builds the next request's bytes.
func (lp *leanPath) request(s *session) []byte {
	b := append(lp.req[:0], lp.method...)
	b = append(b, ' ')
	b = s.appendPollURL(b, lp.base, lp.keep)
	b = append(b, lp.fixed...)
	if !s.c.NoConditional {
		if s.etag != "" {
			b = append(append(append(b, "If-None-Match: "...), s.etag...), "\r\n"...)
		}
		if s.lastMod != "" {
			b = append(append(append(b, "If-Modified-Since: "...), s.lastMod...), "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	b = append(b, lp.body...)
	lp.req = b
	return b
}

// cancel ends whatever the connection is doing: the session's context
// ended.
func (lp *leanPath) cancel() {
	lp.mu.Lock()
	lp.canceled = true
	if lp.nc != nil {
		lp.nc.SetDeadline(time.Unix(1, 0))
	}
	lp.mu.Unlock()
}

// deadline sets the connection's deadline unless the session was canceled
// (whose deadline in the past must stay); false when it was.
func (lp *leanPath) deadline(t time.Time) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.canceled {
		return false
	}
	lp.nc.SetDeadline(t)
	return true
}

func (lp *leanPath) setConn(nc net.Conn) {
	lp.setPooled(&pooled{nc: nc, rr: respReader{rd: nc, buf: make([]byte, leanReadBuffer)}})
}

// setPooled makes p the session's connection.
func (lp *leanPath) setPooled(p *pooled) {
	lp.mu.Lock()
	nc := p.nc
	lp.nc, lp.rr, lp.pc = nc, p.rr, p
	if lp.canceled {
		nc.SetDeadline(time.Unix(1, 0))
	}
	lp.mu.Unlock()
}

// release ends the session's use of its connection: back to the pool when
// there is one and the connection is usable (idle, nothing unread, the
// session not canceled in the middle of an exchange), closed otherwise.
func (lp *leanPath) release() {
	lp.mu.Lock()
	nc := lp.nc
	ok := nc != nil && lp.slot && !lp.canceled && lp.rr.r == lp.rr.w && !lp.rr.eof
	pc := lp.pc
	if ok {
		lp.nc, lp.slot, lp.pc = nil, false, nil // cancel cannot touch it any more
	}
	lp.mu.Unlock()
	if ok {
		pc.rr = lp.rr // the wrapper travels with the connection: no allocation per request
		lp.pool.Put(lp.poolKey, pc)
		lp.rr = respReader{}
		return
	}
	lp.drop()
}

// drop closes the connection, freeing its pool slot.
func (lp *leanPath) drop() {
	lp.mu.Lock()
	if lp.nc != nil {
		lp.nc.Close()
		lp.nc, lp.pc = nil, nil
		if lp.slot {
			lp.slot = false
			lp.pool.Discard(lp.poolKey)
		}
	}
	lp.mu.Unlock()
}

// idleClosed says that err, on a reused connection before any byte of the
// answer, is the server's close of an idle keep-alive connection.
func (lp *leanPath) idleClosed(err error) bool {
	return !lp.rr.got && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// leanExchange sends one poll over the lean path and handles its response.
func (s *session) leanExchange(ctx context.Context, intended time.Time) result {
	lp := s.lean
	req := lp.request(s)
	for retried := false; ; retried = true {
		pooledSlot := false
		if lp.nc == nil && lp.pool != nil {
			c, err := lp.pool.Get(ctx, lp.poolKey)
			if err != nil {
				s.cutOff(intended)
				return result{kind: resCanceled}
			}
			if p, ok := c.(*pooled); ok {
				lp.setPooled(p)
				s.conn = transport.Connect{Start: time.Now()}
			}
			pooledSlot = true
		}
		reused := lp.nc != nil
		if !reused {
			s.conn = transport.Connect{Start: time.Now()}
			nc, err := transport.DialTimed(ctx, lp.u, lp.local, lp.dial, &s.conn)
			if err != nil {
				if pooledSlot {
					lp.pool.Discard(lp.poolKey)
				}
				if ctx.Err() != nil {
					s.cutOff(intended)
					return result{kind: resCanceled}
				}
				return s.failed(classify(err), 0, fmt.Errorf("%s %s: %w", lp.method, lp.connURL, err), true, 0)
			}
			lp.setConn(nc)
		} else if !pooledSlot {
			s.conn.Start, s.conn.DNS, s.conn.TCP, s.conn.TLS = time.Now(), 0, 0, 0
		}
		if pooledSlot {
			lp.slot = true
		}
		s.conn.Reused = reused
		if !lp.deadline(s.conn.Start.Add(lp.ttfb)) {
			lp.drop()
			s.cutOff(intended)
			return result{kind: resCanceled}
		}
		_, err := lp.nc.Write(req)
		if err == nil {
			err = lp.rr.readHead(&lp.h)
		}
		if err == nil {
			break
		}
		lp.drop()
		if ctx.Err() != nil {
			s.cutOff(intended)
			return result{kind: resCanceled}
		}
		if reused && !retried && lp.idem && lp.idleClosed(err) {
			continue // the server closed the idle connection: dial again
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			err = fmt.Errorf("%s %s: timeout awaiting response headers (%v): %w", lp.method, lp.connURL, lp.ttfb, err)
		case errors.Is(err, io.EOF):
			err = fmt.Errorf("%s %s: the server closed the connection before answering: %w", lp.method, lp.connURL, io.ErrUnexpectedEOF)
		default:
			err = fmt.Errorf("%s %s: %w", lp.method, lp.connURL, err)
		}
		return s.failed(classify(err), 0, err, true, 0)
	}
	h := &lp.h
	s.conn.Headers = time.Now()
	if h.status/100 == 3 && h.loc != nil {
		// net/http follows redirects: it takes over for the rest of the
		// session.
		lp.drop()
		s.lean = nil
		return s.exchange(ctx, intended)
	}
	s.conn.Status = h.status
	s.conn.Proto = lp.protoStr[min(h.minor, 1)]
	s.conn.URL = lp.connURL
	if !s.conn.Reused || !s.open {
		// The header map costs a dozen allocations: built for a new
		// connection only (a pooled or recovered one reports none).
		s.conn.Header = nil
		if !s.conn.Reused {
			s.conn.Header = h.header()
		}
		s.connected()
	}
	// The body: the deadline stays only while the whole of it is buffered.
	if !h.bodyless(lp.method) && !(h.length >= 0 && int64(lp.rr.w-lp.rr.r) >= h.length) && !lp.deadline(time.Time{}) {
		lp.drop()
		s.cutOff(intended)
		return result{kind: resCanceled}
	}
	var a answer
	var err error
	if h.gzip {
		lp.zbuf, err = lp.rr.readBody(h, lp.method, lp.zbuf, s.t.maxBody)
		if err == nil {
			s.body, err = lp.gunzip(s.body, s.t.maxBody)
		}
	} else {
		s.body, err = lp.rr.readBody(h, lp.method, s.body, s.t.maxBody)
	}
	end := time.Now()
	if err != nil || h.close || lp.rr.r < lp.rr.w {
		// A failure, a close asked for, or bytes after the answer that
		// nobody asked for (net/http closes such a connection too).
		lp.drop()
	}
	if err != nil {
		if ctx.Err() != nil {
			s.cutOff(intended)
			return result{kind: resCanceled}
		}
		if errors.Is(err, errBodyTooLarge) {
			return s.failed(transport.ClassEventTooLarge, h.status,
				fmt.Errorf("%s: %w (MaxBody %d bytes)", lp.connURL, err, s.t.maxBody), true, 0)
		}
		return s.failed(classify(err), h.status, fmt.Errorf("%s: reading the body: %w", lp.connURL, err), true, 0)
	}
	a.code, a.reason = h.status, h.reason
	a.etag, a.lastMod = intern(h.etag, s.etag), intern(h.lastMod, s.lastMod)
	if h.status >= 300 {
		a.retry = string(h.retry)
	}
	return s.report(intended, end, &a)
}

// intern is b as a string, have itself when equal: the validators a server
// repeats cost no allocation.
func intern(b []byte, have string) string {
	if string(b) == have {
		return have
	}
	return string(b)
}

// gunzip decodes lp.zbuf into dst, failing past limit bytes.
func (lp *leanPath) gunzip(dst []byte, limit int) ([]byte, error) {
	lp.zin.Reset(lp.zbuf)
	if lp.zr == nil {
		zr, err := gzip.NewReader(&lp.zin)
		if err != nil {
			return dst[:0], err
		}
		lp.zr = zr
	} else if err := lp.zr.Reset(&lp.zin); err != nil {
		return dst[:0], err
	}
	return readBody(lp.zr, dst, limit)
}
