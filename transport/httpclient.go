package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"
)

// Defaults for HTTPOptions. Every one of them shapes load, so reports print
// them.
const (
	DefaultDialTimeout   = 10 * time.Second
	DefaultTLSTimeout    = 10 * time.Second
	DefaultTTFBTimeout   = 30 * time.Second
	DefaultMaxRedirects  = 10
	DefaultIdleConnsHost = 2
)

// HTTPOptions configures the HTTP client every HTTP-based session uses. The
// zero value gives the defaults.
type HTTPOptions struct {
	Insecure     bool           // skip TLS verification (never implied)
	RootCAs      *x509.CertPool // extra trust (--cacert); nil: the system pool
	DialTimeout  time.Duration  // TCP connect; default 10s
	TLSTimeout   time.Duration  // TLS handshake; default 10s
	TTFBTimeout  time.Duration  // request sent → response headers; default 30s
	MaxRedirects int            // default 10; -1 follows none
	// Proxy picks a proxy per request; nil uses the environment
	// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	Proxy     func(*http.Request) (*url.URL, error)
	LocalAddr net.Addr // source address of outgoing connections
	// Warn receives non-fatal findings such as an https → http redirect.
	Warn func(*Error)
	// IdleConnsPerHost is how many idle keep-alive connections per host the
	// client keeps for reuse; default DefaultIdleConnsHost. A client shared
	// by N polling sessions needs N, or every request past the first few
	// dials a new connection.
	IdleConnsPerHost int
	// MaxConnsPerHost caps the connections per host, dialling and in use
	// included; 0 means no cap. A polling session's own client sets 1, so a
	// request never dials a second connection while the first is being
	// returned to the pool: the session keeps exactly one connection.
	MaxConnsPerHost int
}

// NewHTTPClient builds a client for streams: no overall Client.Timeout
// (it would cut every stream, since it covers reading the body), but dial,
// TLS and time-to-headers timeouts; redirects followed up to MaxRedirects;
// compression off, so an event stream is read exactly as sent.
func NewHTTPClient(o HTTPOptions) *http.Client {
	dialer := &net.Dialer{Timeout: or(o.DialTimeout, DefaultDialTimeout), KeepAlive: 30 * time.Second, LocalAddr: o.LocalAddr}
	idle := o.IdleConnsPerHost
	if idle <= 0 {
		idle = DefaultIdleConnsHost
	}
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   or(o.TLSTimeout, DefaultTLSTimeout),
		ResponseHeaderTimeout: or(o.TTFBTimeout, DefaultTTFBTimeout),
		DisableCompression:    true,
		MaxIdleConnsPerHost:   idle,
		MaxConnsPerHost:       max(o.MaxConnsPerHost, 0),
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: o.Insecure, //nolint:gosec // only with --insecure
			RootCAs:            o.RootCAs,
		},
	}
	maxRedirects := o.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, maxRedirects)
			}
			if prev := via[len(via)-1]; prev.URL.Scheme == "https" && req.URL.Scheme == "http" && o.Warn != nil {
				o.Warn(&Error{Class: ClassDowngrade, Err: fmt.Errorf("redirected from %s to plain-text %s", prev.URL, req.URL), At: time.Now()})
			}
			return nil
		},
	}
}

func or(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Do sends req with c and fills in the connection phases and the response
// headers of conn. On success conn is ready to be passed to
// Observer.Connected and resp.Body must be closed by the caller.
//
// The trace hooks write into a record of this call only, copied into conn
// when Do returns: net/http may finish a dial in the background after the
// request got another connection, and that dial's hooks must not write into
// a Connect the session is already reusing for its next request.
func Do(c *http.Client, req *http.Request, conn *Connect) (*http.Response, error) {
	ph := &phases{}
	conn.Start = time.Now()
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { ph.set(func() { ph.dnsStart = time.Now() }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { ph.set(func() { ph.dns = time.Since(ph.dnsStart) }) },
		ConnectStart:      func(string, string) { ph.set(func() { ph.tcpStart = time.Now() }) },
		ConnectDone:       func(string, string, error) { ph.set(func() { ph.tcp = time.Since(ph.tcpStart) }) },
		TLSHandshakeStart: func() { ph.set(func() { ph.tlsStart = time.Now() }) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { ph.set(func() { ph.tls = time.Since(ph.tlsStart) }) },
		// After a redirect the last request reuses the connection the
		// first one dialled: that is a new connection all the same.
		GotConn: func(i httptrace.GotConnInfo) { ph.set(func() { ph.reused = i.Reused && ph.tcpStart.IsZero() }) },
		GotFirstResponseByte: func() {
			ph.set(func() { ph.headers = time.Now() })
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.Do(req)
	ph.mu.Lock()
	ph.done = true
	conn.DNS, conn.TCP, conn.TLS, conn.Reused, conn.Headers = ph.dns, ph.tcp, ph.tls, ph.reused, ph.headers
	ph.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if conn.Headers.IsZero() {
		conn.Headers = time.Now()
	}
	conn.Status = resp.StatusCode
	conn.Proto = resp.Proto
	conn.URL = resp.Request.URL.String()
	conn.Header = resp.Header
	// A gzip answer (asked for with --compressed, or sent unasked) is read
	// decoded; its Content-Encoding stays for the observers to judge.
	Gunzip(resp)
	return resp, nil
}

// phases is what the trace hooks of one Do call saw.
type phases struct {
	mu                           sync.Mutex
	done                         bool
	dnsStart, tcpStart, tlsStart time.Time
	dns, tcp, tls                time.Duration
	reused                       bool
	headers                      time.Time
}

func (p *phases) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		f()
	}
}

// Opened is an HTTP response already received for a session's first
// attempt: mode detection sends the first request, and hands the response to
// the client it picked instead of sending the request twice.
type Opened struct {
	Resp    *http.Response
	Connect Connect
}
