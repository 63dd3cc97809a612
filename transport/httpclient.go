package transport

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
	// Version is the HTTP version to speak (--http1.1, --http2); the zero
	// value, HTTPAuto, offers HTTP/2 and HTTP/1.1 over TLS (ALPN) and
	// speaks HTTP/1.1 to http:// URLs.
	Version HTTPVersion
	// Wire, when set, counts the connections the client dials and the
	// HTTP/2 streams it opens (several clients may share one).
	Wire *WireCounter
}

// HTTPVersion is the HTTP version a client speaks.
type HTTPVersion uint8

const (
	// HTTPAuto: HTTP/2 or HTTP/1.1 over TLS, as the server's ALPN answer
	// picks; HTTP/1.1 to http:// URLs.
	HTTPAuto HTTPVersion = iota
	// HTTP1: HTTP/1.1 only (--http1.1): ALPN offers http/1.1 alone.
	HTTP1
	// HTTP2: HTTP/2 only (--http2): ALPN offers h2 alone, and http:// URLs
	// get unencrypted HTTP/2 with prior knowledge (h2c: the connection
	// starts with HTTP/2's preface; there is no Upgrade: h2c exchange). An
	// answer over another version fails with ClassHTTPVersion.
	HTTP2
)

// String is the version as the flags and reports name it.
func (v HTTPVersion) String() string {
	switch v {
	case HTTP1:
		return "http1.1"
	case HTTP2:
		return "http2"
	}
	return "auto"
}

// protocols is v as net/http's protocol set.
func (v HTTPVersion) protocols() *http.Protocols {
	var p http.Protocols
	switch v {
	case HTTP1:
		p.SetHTTP1(true)
	case HTTP2:
		p.SetHTTP2(true)
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
		p.SetHTTP2(true)
	}
	return &p
}

// ErrNotHTTP2 is the failure of an --http2 request answered over another
// version (a TLS server that negotiated no ALPN protocol).
var ErrNotHTTP2 = errors.New("the server answered over HTTP/1.x although HTTP/2 was required (--http2)")

// h2Only refuses answers that did not come over HTTP/2.
type h2Only struct{ *http.Transport }

func (t h2Only) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Transport.RoundTrip(req)
	if err != nil || resp.ProtoMajor == 2 {
		return resp, err
	}
	resp.Body.Close()
	return nil, &Error{Class: ClassHTTPVersion, Err: fmt.Errorf("%s %s: %w; drop --http2", req.Method, RedactURL(req.URL.String()), ErrNotHTTP2), At: time.Now()}
}

// WireCounter counts what HTTP clients did on the wire: the connections
// they dialed (their peak open at once) and the HTTP/2 streams they opened
// (requests answered over HTTP/2). Its counters are atomic; the zero value
// is ready.
type WireCounter struct {
	dialer  CountingDialer
	streams atomic.Int64
}

// WireCounts is a snapshot of a WireCounter.
type WireCounts struct {
	Dialed, Peak, Streams int64
}

// Counts returns the counts so far.
func (w *WireCounter) Counts() WireCounts {
	c := w.dialer.Counts()
	return WireCounts{Dialed: c.Dialed, Peak: c.Peak, Streams: w.streams.Load()}
}

// countStreams counts the HTTP/2 answers of a transport.
type countStreams struct {
	http.RoundTripper
	n *atomic.Int64
}

func (t countStreams) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(req)
	if err == nil && resp.ProtoMajor == 2 {
		t.n.Add(1)
	}
	return resp, err
}

func (t countStreams) CloseIdleConnections() {
	if c, ok := t.RoundTripper.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// NewHTTPClient builds a client for streams: no overall Client.Timeout
// (it would cut every stream, since it covers reading the body), but dial,
// TLS and time-to-headers timeouts; redirects followed up to MaxRedirects;
// compression off, so an event stream is read exactly as sent; the HTTP
// versions of o.Version (HTTP/2 by ALPN over TLS unless told otherwise).
// Over HTTP/2 the client multiplexes its requests to one origin on one
// connection, opening another only when the server's
// SETTINGS_MAX_CONCURRENT_STREAMS is reached. Its Transport is an
// *http.Transport unless o.Version is HTTP2 or o.Wire is set.
func NewHTTPClient(o HTTPOptions) *http.Client {
	dialer := &net.Dialer{Timeout: or(o.DialTimeout, DefaultDialTimeout), KeepAlive: 30 * time.Second, LocalAddr: o.LocalAddr}
	if o.LocalAddr != nil {
		dialer.Control = bindNoPort
	}
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
		Protocols:             o.Version.protocols(),
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: o.Insecure, //nolint:gosec // only with --insecure
			RootCAs:            o.RootCAs,
		},
	}
	if o.Wire != nil {
		o.Wire.dialer.Dial = tr.DialContext
		tr.DialContext = o.Wire.dialer.DialContext
	}
	var rt http.RoundTripper = tr
	if o.Version == HTTP2 {
		rt = h2Only{tr}
	}
	if o.Wire != nil {
		rt = countStreams{RoundTripper: rt, n: &o.Wire.streams}
	}
	maxRedirects := o.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	return &http.Client{
		Transport: rt,
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
		switch {
		case noALPN(err):
			err = &Error{Class: ClassHTTPVersion, At: time.Now(), Err: fmt.Errorf("%w: the server accepts none of the HTTP versions offered (ALPN); "+
				"an HTTP/2-only server needs HTTP/2 (drop --http1.1), an HTTP/1.1-only one HTTP/1.1 (drop --http2)", err)}
		case req.URL.Scheme == "https" && strings.Contains(err.Error(), "readLoopPeekFailLocked"):
			// net/http read an answer on a new TLS connection before it
			// sent the request: Node's http2 module without allowHTTP1
			// answers 403 as soon as the handshake chose no protocol, and
			// the 403 path of refusedHTTP1 sees it only when the request
			// went out first.
			err = &Error{Class: ClassHTTPVersion, At: time.Now(), Err: fmt.Errorf("%s %s: the server answered before the request was sent, "+
				"as an HTTP/2-only server refuses HTTP/1.1; drop --http1.1 (WebSockets need HTTP/1.1)", req.Method, RedactURL(req.URL.String()))}
		}
		return nil, err
	}
	if err := refusedHTTP1(resp); err != nil {
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

// refusedHTTP1 recognises an HTTP/2-only server's refusal of HTTP/1.1: a
// TLS connection that negotiated no ALPN protocol answered 403 with a body
// that names ALPN (Node's http2 module without allowHTTP1 answers "Missing
// ALPN Protocol, expected `h2` to be available"). It returns that as
// ClassHTTPVersion, the body closed; for any other response it returns nil
// and leaves the body as it was.
func refusedHTTP1(resp *http.Response) error {
	if resp.StatusCode != http.StatusForbidden || resp.ProtoMajor != 1 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "" {
		return nil
	}
	head := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, head)
	head = head[:n]
	if !bytes.Contains(head, []byte("ALPN")) {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		return nil
	}
	resp.Body.Close()
	line, _, _ := strings.Cut(string(head), "\n")
	return &Error{Class: ClassHTTPVersion, Code: resp.StatusCode, At: time.Now(), Err: fmt.Errorf(
		"%s refuses HTTP/1.1 (403 %q): it speaks HTTP/2 only; drop --http1.1", RedactURL(resp.Request.URL.String()), strings.ToValidUTF8(line, "\uFFFD"))}
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
