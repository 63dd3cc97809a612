package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

// Defaults of the lean path (Client.Lean). They shape the memory each held
// session costs, so reports print them.
const (
	// LeanReadBuffer is a lean connection's only read buffer at first (the
	// handshake's response is read through one of the same size, dropped
	// after it): it grows, up to the read limit plus a frame header, only
	// for a message bigger than it, and is then kept.
	LeanReadBuffer = 512
	// LeanWriteBuffer is the buffer outgoing frames are masked into (a
	// bigger message goes out in pieces of this size); allocated at the
	// first write.
	LeanWriteBuffer = 512
)

// Lean runs plain ws:// connections on the client's own minimal RFC 6455
// implementation instead of coder/websocket over net/http: the session's
// own net.Dialer connection, one read buffer of LeanReadBuffer bytes
// (coder/websocket keeps a 4 KiB bufio reader and a 4 KiB bufio writer per
// connection, without a size option), no goroutine but the reader unless
// pings, stamps or an Outbox need one.
//
// A connection falls back to coder/websocket over Client.HTTP, for that
// connection and every later one of the session, when the URL is not ws://
// or http:// (wss needs TLS), when the environment names a proxy for it
// (HTTP_PROXY, NO_PROXY), when Compress is on, or when the server answers
// the handshake with a redirect (3xx): net/http follows it. The zero value
// means the defaults below.
type Lean struct {
	// LocalAddr is the source address of the connections (--source-ips);
	// nil lets the system choose.
	LocalAddr net.Addr
	// DialTimeout bounds DNS and the TCP connect; default
	// transport.DefaultDialTimeout.
	DialTimeout time.Duration
	// TTFBTimeout bounds the wait from the handshake request sent to the
	// end of the response headers; default transport.DefaultTTFBTimeout.
	TTFBTimeout time.Duration
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Frame opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

var (
	errLeanRedirect = errors.New("ws: the handshake was redirected; the lean path does not follow redirects")
	errLeanClosed   = errors.New("ws: connection closed")
)

// leanApplies says whether the URL u can go over the lean path: ws:// or
// http://, with no proxy in the environment.
func leanApplies(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch strings.ToLower(p.Scheme) {
	case "ws", "http":
	default:
		return false
	}
	hp := *p
	hp.Scheme = "http"
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: &hp})
	return err == nil && proxy == nil
}

// leanDial runs the handshake over a connection of its own, filling
// s.connect as dial does. A non-nil error means a redirect: the caller
// falls back to coder/websocket.
func (s *clientSession) leanDial(ctx context.Context, cn *clientConn, attempt int) (outcome, error) {
	l := s.c.Lean
	ci := &s.connect
	*ci = transport.Connect{Attempt: attempt, Start: time.Now()}
	fail := func(err error) outcome {
		o := outcome{err: err, class: transport.Classify(err)}
		if ctx.Err() != nil {
			o.class = transport.ClassCanceled
		}
		return o
	}
	u, err := url.Parse(s.url)
	if err != nil {
		return fail(err), nil
	}
	u.Scheme = "http"
	nc, err := transport.DialTimed(ctx, u, l.LocalAddr, l.DialTimeout, ci)
	if err != nil {
		return fail(fmt.Errorf("GET %s: %w", wsURL(u), err)), nil
	}
	// Until the headers are read, ctx and the TTFB timeout end the wait.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	ttfb := or(l.TTFBTimeout, transport.DefaultTTFBTimeout)
	nc.SetDeadline(time.Now().Add(ttfb))
	var keyBytes [16]byte
	rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])
	resp, br, err := leanHandshake(nc, s.c, u, key)
	if !stop() || ctx.Err() != nil {
		nc.Close()
		return fail(context.Cause(ctx)), nil
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("timeout awaiting the handshake's answer (%v): %w", ttfb, err)
		}
		return fail(fmt.Errorf("GET %s: %w", wsURL(u), err)), nil
	}
	nc.SetDeadline(time.Time{})
	ci.Headers = time.Now()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
			return outcome{}, errLeanRedirect
		}
		return outcome{
			class: transport.ClassWSHandshakeStatus, code: resp.StatusCode, retryAfter: retryAfter(resp.Header),
			err: fmt.Errorf("failed to WebSocket dial: expected handshake response status code %d but got %d", http.StatusSwitchingProtocols, resp.StatusCode),
		}, nil
	}
	if err := checkHandshake(resp.Header, key, s.c.Subprotocols); err != nil {
		nc.Close()
		return outcome{class: transport.ClassWSBadHandshake, err: err}, nil
	}
	ci.Status = resp.StatusCode
	ci.Proto = resp.Proto
	ci.URL = wsURL(u)
	ci.Header = resp.Header
	ci.Subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")

	lc := &leanConn{s: s, cn: cn, nc: nc, pongs: make(chan int64, 1), done: make(chan struct{})}
	lc.rules.limit = s.limit
	if s.limit > 0 {
		// The largest frame: a message at the limit, or a 125-byte control
		// frame when the limit is smaller.
		lc.maxBuf = math.MaxInt
		if most := max(s.limit, 125); most < math.MaxInt-maxHeader {
			lc.maxBuf = int(most) + maxHeader
		}
	}
	// Bytes the server sent right after its 101 are the first frames.
	size := max(LeanReadBuffer, br.Buffered())
	lc.buf = make([]byte, size)
	lc.w, _ = br.Read(lc.buf[:br.Buffered()])
	cn.ws, cn.lean, cn.rwc = lc, lc, nc
	return outcome{connected: true}, nil
}

// leanHandshake writes the upgrade request and reads the answer's headers.
func leanHandshake(nc net.Conn, c *Client, u *url.URL, key string) (*http.Response, *bufio.Reader, error) {
	h := make(http.Header, len(c.Header)+6)
	for k, v := range c.Header {
		h[k] = v
	}
	host := u.Host
	if v := c.Header.Get("Host"); v != "" {
		host = v
		h.Del("Host")
	}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Version", "13")
	h.Set("Sec-WebSocket-Key", key)
	if len(c.Subprotocols) > 0 {
		h.Set("Sec-WebSocket-Protocol", strings.Join(c.Subprotocols, ","))
	}
	req := &http.Request{Method: http.MethodGet, URL: u, Host: host, Header: h, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	bw := bufio.NewWriterSize(nc, 1024) // dropped once the request is out
	if err := req.Write(bw); err != nil {
		return nil, nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(nc, LeanReadBuffer)
	resp, err := http.ReadResponse(br, req)
	return resp, br, err
}

// checkHandshake checks a 101 answer (RFC 6455 §4.1).
func checkHandshake(h http.Header, key string, offered []string) error {
	if !headerHasToken(h, "Connection", "upgrade") {
		return fmt.Errorf("WebSocket protocol violation: Connection header %q does not contain Upgrade", h.Get("Connection"))
	}
	if !headerHasToken(h, "Upgrade", "websocket") {
		return fmt.Errorf("WebSocket protocol violation: Upgrade header %q does not contain websocket", h.Get("Upgrade"))
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if got := h.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("WebSocket protocol violation: invalid Sec-WebSocket-Accept %q", got)
	}
	if p := h.Get("Sec-WebSocket-Protocol"); p != "" {
		ok := false
		for _, o := range offered {
			ok = ok || o == p
		}
		if !ok {
			return fmt.Errorf("WebSocket protocol violation: unexpected Sec-WebSocket-Protocol from server: %q", p)
		}
	}
	if e := h.Values("Sec-WebSocket-Extensions"); len(e) > 0 {
		return fmt.Errorf("WebSocket protocol violation: unsupported extensions from server: %q", e)
	}
	return nil
}

// leanConn is one lean connection: the frame reader (only ever used by
// the session's reader, or by a close handshake once the reader is done)
// and the masked frame writer (any goroutine, serialised by wmu).
type leanConn struct {
	s  *clientSession
	cn *clientConn
	nc net.Conn

	// buf holds the message assembled so far in buf[:m] and the bytes
	// read but not yet parsed in buf[r:w]; m <= r.
	buf     []byte
	m, r, w int
	rules   frameRules
	maxBuf  int // 0: unbounded

	wmu  sync.Mutex
	wbuf []byte

	sentClose atomic.Bool
	gotClose  atomic.Bool
	drainMu   sync.Mutex
	pingSeq   atomic.Int64
	pongs     chan int64    // answered ping numbers, for Ping
	done      chan struct{} // closed when the reader is done
}

// readLean is read for a lean connection.
func (s *clientSession) readLean(cn *clientConn) error {
	l := cn.lean
	// A close this reader starts is read to its end by Close, once the
	// reader is marked done.
	for {
		typ, data, size, first, err := l.next(false)
		if err == nil {
			err = s.deliver(cn, typ, data, size, first)
		}
		if err == nil {
			continue
		}
		close(l.done)
		cn.failFor(err)
		return err
	}
}

// fill makes sure n unparsed bytes are in buf[r:w], moving them down to m
// and growing buf (doubling, to at most maxBuf) as the bytes arrive: a
// frame's claimed length alone allocates nothing.
func (l *leanConn) fill(n int) error {
	if l.w-l.r >= n {
		return nil
	}
	if l.r > l.m {
		l.w = l.m + copy(l.buf[l.m:], l.buf[l.r:l.w])
		l.r = l.m
	}
	if need := l.r + n; need > len(l.buf) && l.maxBuf > 0 && need > l.maxBuf {
		return errFrameTooBig
	}
	for l.w-l.r < n {
		if l.w == len(l.buf) {
			size := 2 * len(l.buf)
			if l.maxBuf > 0 {
				size = min(size, l.maxBuf)
			}
			nb := make([]byte, size)
			copy(nb, l.buf[:l.w])
			l.buf = nb
		}
		k, err := l.nc.Read(l.buf[l.w:])
		l.w += k
		if err != nil && l.w-l.r < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// skip discards n bytes of the stream.
func (l *leanConn) skip(n uint64) error {
	for n > 0 {
		if l.r == l.w {
			l.r, l.w = l.m, l.m
			k, err := l.nc.Read(l.buf[l.w:])
			l.w += k
			if err != nil && k == 0 {
				return err
			}
		}
		k := min(n, uint64(l.w-l.r))
		l.r += int(k)
		n -= k
	}
	return nil
}

// next reads the next data message: its type, payload (valid until the next
// call), size on the wire and the time its first frame was parsed. Each
// header is judged by frameRules the moment it is whole. It answers pings,
// reports pongs and returns a close frame as a websocket.CloseError, after
// echoing it. discard (a close handshake's drain) skips data frames instead
// of assembling them.
func (l *leanConn) next(discard bool) (typ websocket.MessageType, data []byte, size int, first time.Time, err error) {
	l.m = 0
	for {
		if err = l.fill(2); err != nil {
			return
		}
		hdr := headerLen(l.buf[l.r+1])
		if err = l.fill(hdr); err != nil {
			return
		}
		h := parseHeader(l.buf[l.r:])
		if err = l.rules.check(h); err != nil {
			return
		}
		n := h.n
		if h.op&0x8 != 0 { // control: at most 125 bytes
			if err = l.fill(hdr + int(n)); err != nil {
				return
			}
			p := l.buf[l.r+hdr : l.r+hdr+int(n)]
			l.r += hdr + int(n)
			switch h.op {
			case opPing:
				if !l.sentClose.Load() {
					if err = l.writeFrame(opPong, p); err != nil {
						return
					}
				}
			case opPong:
				l.gotPong(p)
			case opClose:
				err = l.gotCloseFrame(p)
				return
			}
			continue
		}
		if h.op != opContinuation {
			first = time.Now()
			typ = websocket.MessageText
			if h.op == opBinary {
				typ = websocket.MessageBinary
			}
		}
		size += hdr + int(min(n, math.MaxInt32))
		if discard {
			l.r += hdr
			if err = l.skip(n); err != nil {
				return
			}
		} else {
			// frameRules has bounded n by the read limit (or 2 GiB).
			if err = l.fill(hdr + int(n)); err != nil {
				return
			}
			start := l.r + hdr
			if h.fin && l.m == 0 { // one frame: delivered where it lies
				l.r = start + int(n)
				return typ, l.buf[start:l.r], size, first, nil
			}
			l.m += copy(l.buf[l.m:], l.buf[start:start+int(n)])
			l.r = start + int(n)
		}
		if h.fin {
			data = l.buf[:l.m]
			if discard {
				data = nil
			}
			return typ, data, size, first, nil
		}
	}
}

// gotCloseFrame reads the peer's close frame, echoes it (unless this side
// closed first) and returns it as a websocket.CloseError.
func (l *leanConn) gotCloseFrame(p []byte) error {
	ce, err := parseClose(p)
	if err != nil {
		return err
	}
	l.gotClose.Store(true)
	if l.sentClose.CompareAndSwap(false, true) {
		var echo [2]byte
		code := ce.Code
		if code == websocket.StatusNoStatusRcvd {
			l.writeFrame(opClose, nil)
		} else {
			binary.BigEndian.PutUint16(echo[:], uint16(code))
			l.writeFrame(opClose, echo[:])
		}
	}
	return ce
}

// gotPong reports a pong that answers the ping in flight.
func (l *leanConn) gotPong(p []byte) {
	l.cn.onPong(context.Background(), p)
	if seq, ok := parseSeq(p); ok && seq == l.pingSeq.Load() {
		select {
		case l.pongs <- seq:
		default:
		}
	}
}

// writeFrame writes one masked frame.
func (l *leanConn) writeFrame(op byte, p []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.wbuf == nil {
		l.wbuf = make([]byte, LeanWriteBuffer)
	}
	b := l.wbuf[:0]
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	b = append(b, key[:]...)
	for i := 0; ; {
		k := min(len(p)-i, cap(b)-len(b))
		for j := range k {
			b = append(b, p[i+j]^key[(i+j)&3])
		}
		i += k
		if _, err := l.nc.Write(b); err != nil {
			return err
		}
		if i == len(p) {
			return nil
		}
		b = b[:0]
	}
}

// Write sends one unfragmented message.
func (l *leanConn) Write(_ context.Context, typ websocket.MessageType, p []byte) error {
	if l.sentClose.Load() {
		return errLeanClosed
	}
	op := byte(opText)
	if typ == websocket.MessageBinary {
		op = opBinary
	}
	return l.writeFrame(op, p)
}

// Ping sends a ping numbered as coder/websocket numbers its own (the
// pinger's pingSeq mirrors it) and waits for its pong.
func (l *leanConn) Ping(ctx context.Context) error {
	seq := l.pingSeq.Add(1)
	select {
	case <-l.pongs: // a late answer to an earlier ping
	default:
	}
	var p [20]byte
	if err := l.writeFrame(opPing, strconv.AppendInt(p[:0], seq, 10)); err != nil {
		return err
	}
	for {
		select {
		case got := <-l.pongs:
			if got == seq {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return errLeanClosed
		}
	}
}

// Close sends a close frame with code and reason and waits for the peer's:
// read by the reader, or here once the reader is done. The caller bounds
// the wait by closing the connection.
func (l *leanConn) Close(code websocket.StatusCode, reason string) error {
	if l.gotClose.Load() {
		return nil
	}
	if l.sentClose.CompareAndSwap(false, true) {
		var p [125]byte
		binary.BigEndian.PutUint16(p[:], uint16(code))
		n := 2 + copy(p[2:], reason[:min(len(reason), 123)])
		if err := l.writeFrame(opClose, p[:n]); err != nil {
			return err
		}
	}
	<-l.done
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	l.rules.draining = true // a frame over the limit is skipped, not refused again
	for !l.gotClose.Load() {
		if _, _, _, _, err := l.next(true); err != nil {
			if l.gotClose.Load() {
				return nil
			}
			var pe protocolError
			if errors.As(err, &pe) {
				// The stream no longer parses: what still comes is thrown
				// away until the server closes (closing with unread bytes
				// would reset the connection, and lose our close frame).
				for {
					if _, err := l.nc.Read(l.buf); err != nil {
						break
					}
				}
			}
			return err
		}
	}
	return nil
}

// CloseNow drops the connection.
func (l *leanConn) CloseNow() error { return l.nc.Close() }
