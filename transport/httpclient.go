package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
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
}

// NewHTTPClient builds a client for streams: no overall Client.Timeout
// (it would cut every stream, since it covers reading the body), but dial,
// TLS and time-to-headers timeouts; redirects followed up to MaxRedirects;
// compression off, so an event stream is read exactly as sent.
func NewHTTPClient(o HTTPOptions) *http.Client {
	dialer := &net.Dialer{Timeout: or(o.DialTimeout, DefaultDialTimeout), KeepAlive: 30 * time.Second, LocalAddr: o.LocalAddr}
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
		MaxIdleConnsPerHost:   DefaultIdleConnsHost,
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
func Do(c *http.Client, req *http.Request, conn *Connect) (*http.Response, error) {
	var dnsStart, tcpStart, tlsStart time.Time
	conn.Start = time.Now()
	conn.DNS, conn.TCP, conn.TLS, conn.Reused = 0, 0, 0, false
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:           func(httptrace.DNSDoneInfo) { conn.DNS = time.Since(dnsStart) },
		ConnectStart:      func(string, string) { tcpStart = time.Now() },
		ConnectDone:       func(string, string, error) { conn.TCP = time.Since(tcpStart) },
		TLSHandshakeStart: func() { tlsStart = time.Now() },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { conn.TLS = time.Since(tlsStart) },
		GotConn:           func(i httptrace.GotConnInfo) { conn.Reused = i.Reused },
		GotFirstResponseByte: func() {
			conn.Headers = time.Now()
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.Do(req)
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
	return resp, nil
}

// Opened is an HTTP response already received for a session's first
// attempt: mode detection sends the first request, and hands the response to
// the client it picked instead of sending the request twice.
type Opened struct {
	Resp    *http.Response
	Connect Connect
}
