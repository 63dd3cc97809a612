package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Defaults of the lean path (Client.Lean). They shape the memory each held
// session costs, so reports print them.
const (
	// LeanReadSize is the parser's initial read buffer on the lean path
	// (unless Parser.ReadSize says otherwise): it grows to DefaultReadSize
	// for a stream that comes faster than it is read (a read that fills
	// it), and up to MaxLine+1 for a line longer than it.
	LeanReadSize = 512
	// LeanHeaderBuffer is the lean path's only other read buffer: it holds
	// the status line and headers (a longer header line is read in
	// pieces), and is dropped once the body bytes read with them are used.
	// A chunk-size line longer than it fails the stream.
	LeanHeaderBuffer = 512
)

// Lean reads plain http:// event streams over a connection of the session's
// own instead of through net/http's Transport: one goroutine per session
// (the one that calls Run), no keep-alive pool, no read and write loops, and
// small buffers — about a third of the memory per held session. The
// request is written by net/http's Request.Write (Host, User-Agent, the
// headers, Content-Length and the body) and the response read by
// http.ReadResponse (chunked and identity bodies), so the wire is the same.
//
// A connection falls back to Client.HTTP, for that connection and every
// later one of the session, when the URL is not http:// (https needs TLS),
// when the environment names a proxy for it (HTTP_PROXY, NO_PROXY), or when
// the server answers with a redirect (3xx): net/http follows it. The zero
// value means the defaults below.
type Lean struct {
	// LocalAddr is the source address of the connections (--source-ips);
	// nil lets the system choose.
	LocalAddr net.Addr
	// DialTimeout bounds DNS and the TCP connect; default
	// transport.DefaultDialTimeout.
	DialTimeout time.Duration
	// TTFBTimeout bounds the wait from the request sent to the end of the
	// response headers (ttfb_timeout); default transport.DefaultTTFBTimeout.
	TTFBTimeout time.Duration
}

// errFallback says the lean path does not apply: use net/http.
var errFallback = errors.New("sse: lean path does not apply")

// leanApplies says whether req can go over the lean path.
func leanApplies(req *http.Request) bool {
	if req.URL.Scheme != "http" {
		return false
	}
	p, err := http.ProxyFromEnvironment(req)
	return err == nil && p == nil
}

// leanDo sends req over a new connection and reads the response headers,
// filling conn as transport.Do does (DNS, TCP, Headers, Status, Proto, URL,
// Header). It returns errFallback for a redirect (the connection closed).
// The response's Body closes the connection; closing it from another
// goroutine ends a Read in progress.
func leanDo(ctx context.Context, l *Lean, req *http.Request, conn *transport.Connect) (*http.Response, error) {
	*conn = transport.Connect{Start: time.Now()}
	nc, err := leanDial(ctx, l, req, conn)
	if err != nil {
		return nil, err
	}
	// Until the headers are read, ctx and the TTFB timeout end the wait.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	ttfb := l.TTFBTimeout
	if ttfb <= 0 {
		ttfb = transport.DefaultTTFBTimeout
	}
	nc.SetDeadline(time.Now().Add(ttfb))
	resp, br, err := leanExchange(nc, req)
	if !stop() || ctx.Err() != nil {
		nc.Close()
		return nil, context.Cause(ctx)
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the connection closed before the headers
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s %s: timeout awaiting response headers (%v): %w", req.Method, req.URL, ttfb, err)
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	nc.SetDeadline(time.Time{})
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		nc.Close()
		return nil, errFallback
	}
	conn.Headers = time.Now()
	conn.Status = resp.StatusCode
	conn.Proto = resp.Proto
	conn.URL = req.URL.String()
	conn.Header = resp.Header
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusOK && len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked" {
		// net/http's chunked body keeps the whole *http.Response (and
		// through it the request and both header maps) for its trailers,
		// for as long as the stream is read, and copies every byte through
		// the header buffer. chunked reads the connection straight into
		// the parser's buffer and strips the framing there; the header
		// buffer goes once its bytes are used. A stream's end is read at
		// the last chunk, its trailers are not.
		body = newChunked(br, nc)
	}
	resp.Body = &leanBody{r: body, c: nc}
	return resp, nil
}

// leanExchange writes req and reads the response headers. It returns the
// buffered reader the body is to be read from.
func leanExchange(nc net.Conn, req *http.Request) (*http.Response, *bufio.Reader, error) {
	// The request is written once, through a buffer dropped right after.
	bw := bufio.NewWriterSize(nc, 1024)
	if err := req.Write(bw); err != nil {
		return nil, nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(nc, LeanHeaderBuffer)
	resp, err := http.ReadResponse(br, req)
	return resp, br, err
}

// leanDial connects for req (transport.DialTimed), naming the request in
// its error.
func leanDial(ctx context.Context, l *Lean, req *http.Request, conn *transport.Connect) (net.Conn, error) {
	nc, err := transport.DialTimed(ctx, req.URL, l.LocalAddr, l.DialTimeout, conn)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	return nc, nil
}

// leanBody is a lean response's body: Close closes the connection, at once,
// whatever the body's state — net/http's own Close would read a stream to
// its end first.
type leanBody struct {
	r io.Reader
	c net.Conn
}

func (b *leanBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *leanBody) Close() error               { return b.c.Close() }
