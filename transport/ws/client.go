package ws

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

// Defaults for Client, besides DefaultReadLimit (1 MiB per message) and
// DefaultCloseTimeout (2s for the close handshake), which the client shares
// with Handler. Every one of them shapes load, so reports print them.
const (
	DefaultPingTimeout    = 10 * time.Second // a pong must come back within this
	DefaultMaxMissedPings = 2                // unanswered pings in a row before ping_timeout
	// InitialMessageBuffer is the size of a session's receive buffer before
	// a bigger message grows it (up to the read limit; it is then kept).
	// Only connections read through coder/websocket (compression, proxies,
	// wss) use it; the lean path reads frames in place.
	InitialMessageBuffer = 1 << 10
	// HandshakeBuffer is the size of net/http's read and write buffers for
	// the handshake. The read buffer stays under coder/websocket's own for
	// the life of the connection, so it is kept small (net/http's default
	// is 4 KiB); longer header lines are read in pieces.
	HandshakeBuffer = 512
	// TryAgainBackoffSteps is how many more doublings of the reconnect delay
	// follow a close with 1013 (Try Again Later) than any other reconnect.
	TryAgainBackoffSteps = 2
)

// Close reasons the client puts on the wire.
const (
	reasonGoingAway        = "going away"
	reasonPingTimeout      = "ping timeout"
	reasonInvalidUTF8      = "invalid UTF-8 in a text message"
	reasonInvalidUTF8Close = "invalid UTF-8 in the close reason"
	reasonNoCloseFrame     = "no close frame came back"
	reasonProtocol         = "protocol error"
)

// Outgoing is one message a Client sends.
type Outgoing struct {
	Binary bool   // a binary message; otherwise text
	Data   []byte // owned by the client once sent on Outbox: do not modify it
}

// Client is a WebSocket client session (transport.Session): it dials URL,
// reads every message into one reused buffer and reports it to the
// Observer, sends what arrives on Outbox, pings the server when asked to,
// and reconnects as Reconnect says. The zero value of every field but URL
// means its documented default. A Client is configuration: Run may be called
// more than once, even at the same time, but those runs share Outbox.
//
// Goroutines: Run's own reads; a second one pings (only with PingInterval)
// and a third writes (only with Outbox). Cancellation needs none until it
// happens (context.AfterFunc).
type Client struct {
	// URL is ws:// or wss://; http:// and https:// are accepted and mean the
	// same.
	URL    string
	Header http.Header // sent with the handshake; a Host entry sets the Host header
	// Subprotocols are offered in this order; a server that picks one that
	// was not offered fails the handshake (ws_bad_handshake).
	Subprotocols []string
	// HTTP dials the handshake: TLS, proxy, dial timeouts and redirects come
	// from it. nil: transport.NewHTTPClient(transport.HTTPOptions{}), one per
	// Run (the load engine should share one between sessions).
	HTTP *http.Client

	// ReadLimit is the largest message accepted, in bytes; a bigger one is
	// closed with 1009 and reported as message_too_big. 0 means
	// DefaultReadLimit (1 MiB); -1 means no limit.
	ReadLimit int64
	// Compress offers permessage-deflate without context takeover (a pooled
	// compressor per message, no 1.2 MB window per connection). Off by
	// default, as compression costs CPU and memory under load.
	Compress bool

	// PingInterval sends a ping this often, each answered pong reported as
	// an Event of KindPong with its RTT. 0 sends no pings.
	PingInterval time.Duration
	// PingTimeout bounds the wait for each pong; default DefaultPingTimeout.
	PingTimeout time.Duration
	// MaxMissedPings unanswered pings in a row close the connection as
	// ping_timeout (reported with code 1006); default DefaultMaxMissedPings.
	MaxMissedPings int

	// AllowInvalidUTF8 delivers a text message that is not valid UTF-8,
	// counted as a non-fatal invalid_utf8_text Error. By default the client
	// fails the connection there with 1007, as RFC 6455 §8.1 says, and
	// reports invalid_utf8_text with code 1007 (the message is not
	// delivered). A close reason that is not UTF-8 fails with 1007 either
	// way.
	AllowInvalidUTF8 bool

	// SendEvery, when set, sends a stamped message {"rtbench_echo":<unix
	// ns>} this often (padded to SendSize bytes); its echo from the server
	// is reported as an Event of KindEcho with the round trip in RTT. This
	// is how `rtbench load --send-rate` measures echo round trips.
	SendEvery time.Duration
	// SendSize is the size of each stamped message; default (and minimum)
	// the bare stamp.
	SendSize int

	// Send are the messages sent first on every connection, in order, once
	// it is open (--send: a subscribe or auth message), before anything on
	// Outbox; rendered again for each connection. nil sends none.
	Send *transport.Sender

	// Outbox carries messages to send, in order, on the open connection. A
	// message taken while a connection fails is lost. Once Outbox is closed
	// nothing more is sent, and reading goes on. nil sends nothing.
	Outbox <-chan Outgoing

	// Reconnect is the policy. PolicySpec reconnects after an abnormal close
	// (1006, a lost connection or ping_timeout), 1012 and 1013, and after a
	// dial that failed on the network; PolicyAlways after any close and after
	// a 429 or 5xx handshake answer (honouring Retry-After); PolicyNever never.
	// Every reconnect waits Reconnect.Delay first (RFC 6455 §7.2.3).
	Reconnect transport.Reconnect

	// CloseTimeout bounds the close handshake this client starts (on cancel,
	// ping timeout, 1007, 1009): past it the connection is dropped. Default
	// DefaultCloseTimeout.
	CloseTimeout time.Duration

	// Lean, when set, runs plain ws:// connections on the client's own
	// RFC 6455 implementation instead of coder/websocket: see Lean. nil:
	// every connection goes through coder/websocket and HTTP.
	Lean *Lean
	// Stamp says where each payload's clock is (--stamp): nil reads
	// sched_ns, else the first of transport.ClockFields.
	Stamp *transport.StampSpec
}

var _ transport.Session = (*Client)(nil)

// Why this client closed a connection itself; the first cause wins.
const (
	causeNone int32 = iota
	causeCanceled
	causePingTimeout
	causePingWriteLate // a ping's write outlasted the ping timeout: coder/websocket dropped the connection
	causeTooBig
	causeInvalidUTF8
	causeProtocol // the server broke RFC 6455 (closed with 1002)
)

var (
	errInvalidUTF8 = errors.New("text message is not valid UTF-8")
	errLimit       = fmt.Errorf("%w: message larger than the read buffer", websocket.ErrMessageTooBig)
)

// clientSession is the state of one Run.
type clientSession struct {
	c       *Client
	obs     transport.Observer
	url     string
	http    *http.Client
	rt      http.RoundTripper // http's transport, wrapped per dial
	ownHTTP bool
	opts    websocket.DialOptions // template, copied per dial
	limit   int64                 // as given to SetReadLimit
	maxBuf  int                   // largest receive buffer; 0 = unbounded
	lean    bool                  // connect over the lean path while it applies

	closeTimeout time.Duration

	buf      []byte
	ev, pong transport.Event
	warn     transport.Error // invalid_utf8_text, reused
	connect  transport.Connect
	close    transport.Close
}

// outcome is how one attempt ended, before the policy is applied.
type outcome struct {
	connected  bool
	delivered  int
	class      transport.Class // "" for a clean end
	code       int             // close code, or the handshake's HTTP status
	err        error
	retryAfter time.Duration
}

// Run implements transport.Session.
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	s, err := c.newSession(obs)
	if err != nil {
		e := &transport.Error{Class: transport.ClassOther, Err: err, At: time.Now(), Fatal: true}
		obs.Error(e)
		return e
	}
	defer s.release()
	rc := c.Reconnect
	idle := 0   // attempts in a row that delivered nothing
	failed := 0 // reconnects in a row that delivered nothing
	for attempt := 0; ; attempt++ {
		o := s.attempt(ctx, attempt)
		if o.delivered > 0 {
			idle, failed = 0, 0
		} else if idle++; attempt > 0 {
			failed++
		}
		if ctx.Err() != nil {
			if o.connected {
				s.close.Reconnect = false
				obs.Closed(&s.close)
			}
			return nil
		}
		again, steps := reconnects(rc.Policy, o.class, o.code)
		if again && rc.MaxAttempts > 0 && failed >= rc.MaxAttempts {
			again = false
		}
		var fatal *transport.Error
		if o.class != "" {
			e := &transport.Error{Class: o.class, Code: o.code, Err: o.err, At: s.close.At, Fatal: !again}
			if !o.connected {
				e.At = time.Now()
			}
			obs.Error(e)
			if !again {
				fatal = e
			}
		}
		if o.connected {
			s.close.Reconnect = again
			obs.Closed(&s.close)
		}
		if !again {
			if fatal != nil {
				return fatal
			}
			return nil
		}
		if err := transport.Wait(ctx, rc.Delay(max(idle, 1)+steps, o.retryAfter, nil)); err != nil {
			return nil
		}
		if rc.Gate != nil {
			if err := rc.Gate(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				e := &transport.Error{Class: transport.Classify(err), Err: err, At: time.Now(), Fatal: true}
				obs.Error(e)
				return e
			}
		}
	}
}

// reconnects applies policy p to the end of a connection or a failed dial:
// whether another attempt follows, and how many extra backoff steps it
// waits. class is "" for a clean end (close 1000, 1001 or 1005).
func reconnects(p transport.Policy, class transport.Class, code int) (again bool, steps int) {
	if p == transport.PolicyNever || class == transport.ClassCanceled {
		return false, 0
	}
	always := p == transport.PolicyAlways
	switch class {
	case "":
		return always, 0
	case transport.ClassWSAbnormal, transport.ClassPingTimeout:
		return true, 0
	case transport.ClassWSClose:
		switch code {
		case int(websocket.StatusServiceRestart):
			return true, 0
		case int(websocket.StatusTryAgainLater):
			return true, TryAgainBackoffSteps
		}
		return always, 0
	case transport.ClassMessageTooBig, transport.ClassInvalidUTF8Text, transport.ClassWSProtocol:
		return always, 0
	case transport.ClassWSHandshakeStatus:
		return always && (code == http.StatusTooManyRequests || code >= 500), 0
	case transport.ClassWSBadHandshake, transport.ClassDNS, transport.ClassTooManyRedirects,
		transport.ClassTLS, transport.ClassTLSAuthority, transport.ClassTLSExpired,
		transport.ClassTLSHostname, transport.ClassTLSRecord:
		return false, 0 // retrying cannot fix these
	}
	return true, 0 // the network failed while dialling
}

func (c *Client) newSession(obs transport.Observer) (*clientSession, error) {
	u, err := parseURL(c.URL)
	if err != nil {
		return nil, err
	}
	s := &clientSession{
		c:            c,
		obs:          obs,
		url:          u,
		http:         c.HTTP,
		closeTimeout: or(c.CloseTimeout, DefaultCloseTimeout),
		lean:         c.Lean != nil && !c.Compress,
	}
	if s.http == nil {
		s.http = transport.NewHTTPClient(transport.HTTPOptions{})
		s.ownHTTP = true
	}
	s.rt = s.http.Transport
	if s.rt == nil {
		s.rt = http.DefaultTransport
	}
	s.rt = smallBuffers(s.rt)
	s.opts = websocket.DialOptions{
		HTTPHeader:   c.Header,
		Subprotocols: c.Subprotocols,
	}
	if h := c.Header.Get("Host"); h != "" {
		s.opts.Host = h
	}
	if c.Compress {
		s.opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	switch s.limit = c.ReadLimit; {
	case s.limit == 0:
		s.limit = DefaultReadLimit
	case s.limit < 0:
		s.limit = -1
	}
	if s.limit > 0 {
		// coder/websocket reads one byte past the limit before it fails.
		s.limit = min(s.limit, math.MaxInt64-1)
		s.maxBuf = int(min(s.limit+1, math.MaxInt))
	}
	return s, nil
}

func (s *clientSession) release() {
	if s.ownHTTP {
		s.http.CloseIdleConnections()
	}
}

// smallTransports maps each *http.Transport a Client was given to its
// clone with HandshakeBuffer-sized buffers, shared by every session.
var smallTransports sync.Map

// smallBuffers returns rt with HandshakeBuffer-sized read and write buffers
// when it is an *http.Transport with bigger (or default) ones: a clone made
// once per transport, which keeps no idle connections (a handshake's
// connection is taken over by the WebSocket, or closed). Other round
// trippers are used as they are.
func smallBuffers(rt http.RoundTripper) http.RoundTripper {
	t, ok := rt.(*http.Transport)
	if !ok || (t.ReadBufferSize > 0 && t.ReadBufferSize <= HandshakeBuffer && t.WriteBufferSize > 0 && t.WriteBufferSize <= HandshakeBuffer) {
		return rt
	}
	if v, ok := smallTransports.Load(t); ok {
		return v.(*http.Transport)
	}
	c := t.Clone()
	c.ReadBufferSize, c.WriteBufferSize = HandshakeBuffer, HandshakeBuffer
	c.DisableKeepAlives = true
	v, _ := smallTransports.LoadOrStore(t, c)
	return v.(*http.Transport)
}

// parseURL checks the scheme of u: ws, wss, http or https.
func parseURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("WebSocket URL %q: %w", u, err)
	}
	switch strings.ToLower(p.Scheme) {
	case "ws", "wss", "http", "https":
	default:
		return "", fmt.Errorf("WebSocket URL %q: want ws://, wss://, http:// or https://", u)
	}
	if p.Host == "" {
		return "", fmt.Errorf("WebSocket URL %q has no host", u)
	}
	return u, nil
}

// wsURL is u with its http(s) scheme written as ws(s).
func wsURL(u *url.URL) string {
	s := u.String()
	switch {
	case strings.HasPrefix(s, "http://"):
		return "ws://" + s[len("http://"):]
	case strings.HasPrefix(s, "https://"):
		return "wss://" + s[len("https://"):]
	}
	return s
}

// attempt opens one connection and reads it until it ends.
func (s *clientSession) attempt(ctx context.Context, n int) outcome {
	cn := &clientConn{s: s, stop: make(chan struct{}), cancelDone: make(chan struct{}), closeTimeout: s.closeTimeout}
	// The handshake runs on a goroutine of its own that ends with it:
	// net/http's dial path is deep, and the stack it would grow here would
	// stay with this goroutine, which then only reads, for the life of the
	// session.
	dialed := make(chan outcome, 1)
	go func() {
		if s.lean && leanApplies(s.url) {
			o, err := s.leanDial(ctx, cn, n)
			if err == nil {
				dialed <- o
				return
			}
			s.lean = false // a redirect: coder/websocket follows it, now and on reconnects
		}
		dialed <- s.dial(ctx, cn, n)
	}()
	o := <-dialed
	if !o.connected {
		return o
	}
	s.obs.Connected(&s.connect)
	s.connect.Header = nil // seen by Connected; not kept while the session reads
	cn.start(ctx)
	err := s.read(cn)
	cn.finish()
	o.delivered = cn.delivered
	s.ended(cn, err, &o)
	return o
}

// captureRT remembers the connection of a 101 answer, so that a close
// handshake can be cut short (coder/websocket would wait 5 s for the peer),
// and puts a frameGuard with the read limit between it and
// coder/websocket.
type captureRT struct {
	base  http.RoundTripper
	limit int64
	rwc   io.Closer
	guard *frameGuard
}

func (rt *captureRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		if c, ok := resp.Body.(io.ReadWriteCloser); ok {
			rt.rwc = c
			rt.guard = &frameGuard{ReadWriteCloser: c, rules: frameRules{limit: rt.limit}}
			resp.Body = rt.guard
		}
	}
	return resp, err
}

// dial runs the handshake, filling s.connect with its phases.
func (s *clientSession) dial(ctx context.Context, cn *clientConn, attempt int) outcome {
	ci := &s.connect
	*ci = transport.Connect{Attempt: attempt, Start: time.Now()}
	var dnsStart, tcpStart, tlsStart time.Time
	trace := &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:              func(httptrace.DNSDoneInfo) { ci.DNS = time.Since(dnsStart) },
		ConnectStart:         func(string, string) { tcpStart = time.Now() },
		ConnectDone:          func(string, string, error) { ci.TCP = time.Since(tcpStart) },
		TLSHandshakeStart:    func() { tlsStart = time.Now() },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { ci.TLS = time.Since(tlsStart) },
		GotConn:              func(i httptrace.GotConnInfo) { ci.Reused = i.Reused },
		GotFirstResponseByte: func() { ci.Headers = time.Now() },
	}
	rt := &captureRT{base: s.rt, limit: s.limit}
	hc := *s.http
	hc.Transport = rt
	opts := s.opts
	opts.HTTPClient = &hc
	opts.OnPongReceived = cn.onPong
	ws, resp, err := websocket.Dial(httptrace.WithClientTrace(ctx, trace), s.url, &opts)
	if err != nil {
		o := outcome{err: err}
		switch {
		case ctx.Err() != nil:
			o.class = transport.ClassCanceled
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			o.class, o.code = transport.ClassWSHandshakeStatus, resp.StatusCode
			o.retryAfter = retryAfter(resp.Header)
		case resp != nil:
			o.class = transport.ClassWSBadHandshake
		default:
			o.class = transport.Classify(err)
		}
		return o
	}
	if rt.guard == nil { // not reachable with net/http: coder/websocket needs the same body
		ws.CloseNow()
		return outcome{class: transport.ClassOther, err: errors.New("the HTTP client gave no connection for the 101 answer")}
	}
	if ci.Headers.IsZero() {
		ci.Headers = time.Now()
	}
	ci.Status = resp.StatusCode
	ci.Proto = resp.Proto
	ci.URL = wsURL(resp.Request.URL)
	ci.Header = resp.Header
	ci.Subprotocol = ws.Subprotocol()
	ws.SetReadLimit(s.limit)
	// No frame has been read yet: coder/websocket reads only when asked to.
	rt.guard.rules.deflate = deflateAccepted(resp.Header)
	cn.ws, cn.rwc, cn.guard = ws, rt.rwc, rt.guard
	return outcome{connected: true}
}

// deflateAccepted says whether a 101 answer accepts permessage-deflate,
// which lets RSV1 mark compressed messages.
func deflateAccepted(h http.Header) bool {
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				return true
			}
		}
	}
	return false
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// read is the reader loop: one message at a time into s.buf, reported as
// it completes. It returns why the connection ended.
func (s *clientSession) read(cn *clientConn) error {
	if cn.lean != nil {
		return s.readLean(cn)
	}
	ws := cn.ws.(*websocket.Conn)
	ctx := context.Background() // no Done channel: no timer per frame; closes end reads
	if s.buf == nil {
		// Allocated here: a lean session never needs it.
		size := InitialMessageBuffer
		if s.maxBuf > 0 {
			size = min(size, s.maxBuf)
		}
		s.buf = make([]byte, 0, size)
	}
	for {
		typ, r, err := ws.Reader(ctx)
		if err == nil {
			first := time.Now()
			var n int
			if n, err = s.readMessage(r); err == nil {
				// exact size for one uncompressed frame
				err = s.deliver(cn, typ, s.buf[:n], n+frameHeaderLen(n), first)
			}
		}
		if err == nil {
			continue
		}
		if g := cn.guard; g != nil && g.reported.Load() {
			// coder/websocket's read failed on a rule the server broke,
			// found before it read the frame. (A rule found in bytes not
			// yet read is not the reason: deliver's may come first.)
			err = g.err
		}
		cn.failFor(err)
		return err
	}
}

// failFor fails the connection as RFC 6455 says for err, when the reader
// ended because the server broke a rule: 1002 for a protocol error, 1009
// for a message over the read limit, 1007 for text or a close reason that
// is not UTF-8. Other ends (a close frame, a lost connection) need nothing.
func (cn *clientConn) failFor(err error) {
	var pe protocolError
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		cn.closeWith(causeTooBig, websocket.StatusMessageTooBig, "message too big")
	case errors.As(err, &pe):
		cn.closeWith(causeProtocol, websocket.StatusProtocolError, reasonProtocol+": "+string(pe))
	case errors.Is(err, errInvalidUTF8):
		cn.closeWith(causeInvalidUTF8, websocket.StatusInvalidFramePayloadData, reasonInvalidUTF8)
	case errors.Is(err, errCloseReasonUTF8):
		cn.closeWith(causeInvalidUTF8, websocket.StatusInvalidFramePayloadData, reasonInvalidUTF8Close)
	}
}

// deliver reports one message (data, size bytes on the wire, its first
// byte at first) to the Observer, after checking a text message's UTF-8:
// an invalid one is not delivered and deliver returns errInvalidUTF8, for
// the caller to close with 1007, unless AllowInvalidUTF8.
func (s *clientSession) deliver(cn *clientConn, typ websocket.MessageType, data []byte, size int, first time.Time) error {
	ev := &s.ev
	at := time.Now()
	ev.Type = "binary"
	if typ == websocket.MessageText {
		ev.Type = "text"
		if !utf8.Valid(data) {
			if !s.c.AllowInvalidUTF8 {
				return errInvalidUTF8 // the caller closes with 1007
			}
			s.warn = transport.Error{Class: transport.ClassInvalidUTF8Text, Err: errInvalidUTF8, At: at}
			s.obs.Error(&s.warn)
		}
	}
	ev.Kind = transport.KindMessage
	ev.ID = ""
	ev.Data = data
	ev.Size = size
	ev.FirstByte = first
	ev.At = at
	ev.Stamp, _ = s.c.Stamp.Parse(data)
	ev.RTT = 0
	if sent, ok := parseEcho(data); ok {
		ev.Kind = transport.KindEcho
		ev.RTT = time.Duration(at.UnixNano() - sent)
	}
	cn.delivered++
	s.obs.Event(ev)
	return nil
}

// readMessage reads the rest of the message r into s.buf, growing it up to
// maxBuf, and returns the message's length.
func (s *clientSession) readMessage(r io.Reader) (int, error) {
	b := s.buf[:0]
	defer func() { s.buf = b[:0] }()
	for {
		if len(b) == cap(b) {
			if s.maxBuf > 0 && cap(b) >= s.maxBuf {
				// The limit reader has let limit+1 bytes through: its next
				// Read fails with ErrMessageTooBig, whatever the buffer.
				if _, err := r.Read(nil); err != nil && !errors.Is(err, io.EOF) {
					return len(b), err
				}
				return len(b), errLimit
			}
			size := max(2*cap(b), 512)
			if s.maxBuf > 0 {
				size = min(size, s.maxBuf)
			}
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return len(b), nil
		}
		if err != nil {
			return len(b), err
		}
	}
}

// frameHeaderLen is the header of an unmasked (server) frame of n bytes.
// A fragmented message is counted as one frame, and a compressed one by its
// inflated length: coder/websocket does not expose the frames.
func frameHeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= math.MaxUint16:
		return 4
	}
	return 10
}

// ended reads how the connection ended into o and s.close.
func (s *clientSession) ended(cn *clientConn, err error, o *outcome) {
	cl := &s.close
	*cl = transport.Close{At: time.Now()}
	o.err = err
	switch cn.cause.Load() {
	case causeCanceled:
		// Clean only when the server's close frame came back (RFC 6455
		// §7.1.4); otherwise the connection was lost mid-handshake: 1006.
		cl.Code, cl.Reason, cl.Clean = int(websocket.StatusGoingAway), reasonGoingAway, true
		if !cn.gotClose() {
			cl.Code, cl.Reason, cl.Clean = int(websocket.StatusAbnormalClosure), reasonNoCloseFrame, false
		}
		return
	case causePingTimeout:
		cl.Code, cl.Reason = int(websocket.StatusAbnormalClosure), reasonPingTimeout
		o.class = transport.ClassPingTimeout
		o.err = fmt.Errorf("%d pings in a row unanswered within %v", maxMissedPings(s.c.MaxMissedPings), or(s.c.PingTimeout, DefaultPingTimeout))
		return
	case causePingWriteLate:
		cl.Code, cl.Reason = int(websocket.StatusAbnormalClosure), reasonPingTimeout
		o.class = transport.ClassPingTimeout
		o.err = fmt.Errorf("a ping could not even be written within %v (the ping timeout); the connection was dropped: the server stopped reading, or this machine is saturated", or(s.c.PingTimeout, DefaultPingTimeout))
		return
	case causeTooBig:
		cl.Code, cl.Reason = int(websocket.StatusMessageTooBig), fmt.Sprintf("message larger than %d bytes", s.limit)
		o.class, o.code = transport.ClassMessageTooBig, cl.Code
		return
	case causeInvalidUTF8:
		cl.Code, cl.Reason = int(websocket.StatusInvalidFramePayloadData), cn.reason
		o.class, o.code = transport.ClassInvalidUTF8Text, cl.Code
		return
	case causeProtocol:
		cl.Code, cl.Reason = int(websocket.StatusProtocolError), cn.reason
		o.class, o.code = transport.ClassWSProtocol, cl.Code
		return
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		cl.Code, cl.Reason = int(ce.Code), ce.Reason
		switch ce.Code {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
			cl.Clean = true
			o.err = nil
		default:
			o.class, o.code = transport.ClassWSClose, cl.Code
			// The code as a number: coder/websocket names it
			// (StatusPolicyViolation), and one example message is all a
			// load report keeps of a class.
			o.err = fmt.Errorf("the server closed the connection with %d %q", ce.Code, ce.Reason)
		}
		return
	}
	// A reset, an EOF or a protocol error without a close frame from the
	// peer: 1006, which is never sent on the wire.
	cl.Code = int(websocket.StatusAbnormalClosure)
	o.class, o.code = transport.ClassWSAbnormal, cl.Code
}

// gotClose says whether the server's close frame arrived.
func (cn *clientConn) gotClose() bool {
	if cn.lean != nil {
		return cn.lean.gotClose.Load()
	}
	return cn.guard != nil && cn.guard.gotClose.Load()
}

// wire is what a clientConn's goroutines need of a connection:
// *websocket.Conn, or the lean path's *leanConn.
type wire interface {
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Ping(ctx context.Context) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// clientConn is one open connection and the goroutines around it.
type clientConn struct {
	s            *clientSession
	ws           wire        // coder/websocket's *websocket.Conn, or lean
	lean         *leanConn   // the lean path's connection, else nil
	guard        *frameGuard // coder/websocket's connection, else nil
	rwc          io.Closer   // the connection under ws, for a hard close
	closeTimeout time.Duration
	delivered    int

	cause   atomic.Int32 // causeNone until this client closes the connection
	reason  string       // the reason of that close; written by the CAS winner
	closing atomic.Bool  // a close handshake runs, maybe on another goroutine

	// The ping in flight, for the pong callback.
	base     time.Time // pingSent is monotonic time since base
	pingSeq  atomic.Int64
	pingSent atomic.Int64

	stop       chan struct{}      // closed when the reader is done
	pingCtx    context.Context    // ends with stop
	pingCancel context.CancelFunc //
	stopCancel func() bool        // context.AfterFunc's stop
	cancelDone chan struct{}      // closed when the cancel close is done
	wg         sync.WaitGroup     // pinger and writer
}

func (cn *clientConn) start(ctx context.Context) {
	c := cn.s.c
	cn.stopCancel = context.AfterFunc(ctx, func() {
		defer close(cn.cancelDone)
		cn.closeWith(causeCanceled, websocket.StatusGoingAway, reasonGoingAway)
	})
	if c.PingInterval > 0 {
		cn.base = time.Now()
		cn.pingCtx, cn.pingCancel = context.WithCancel(context.Background())
		cn.wg.Go(func() {
			cn.ping(c.PingInterval, or(c.PingTimeout, DefaultPingTimeout), maxMissedPings(c.MaxMissedPings))
		})
	}
	if c.Send != nil || c.Outbox != nil {
		cn.wg.Go(func() {
			if cn.greet(c.Send.Messages()) && c.Outbox != nil {
				cn.write(c.Outbox)
			}
		})
	}
	if c.SendEvery > 0 {
		cn.wg.Go(func() { cn.sendStamps(c.SendEvery, c.SendSize) })
	}
}

// echoPrefix starts every stamped message SendEvery sends.
const echoPrefix = `{"rtbench_echo":`

// sendStamps sends a stamped message every interval until the connection
// ends, into one reused buffer.
func (cn *clientConn) sendStamps(every time.Duration, size int) {
	t := time.NewTicker(every)
	defer t.Stop()
	buf := make([]byte, 0, max(size, 64))
	ctx := context.Background()
	for {
		select {
		case <-cn.stop:
			return
		case <-t.C:
			sent := time.Now().UnixNano()
			buf = append(buf[:0], echoPrefix...)
			buf = strconv.AppendInt(buf, sent, 10)
			if pad := size - len(buf) - len(`,"pad":""}`); pad > 0 {
				buf = append(buf, `,"pad":"`...)
				for range pad {
					buf = append(buf, 'x')
				}
				buf = append(buf, '"')
			}
			buf = append(buf, '}')
			if err := cn.ws.Write(ctx, websocket.MessageText, buf); err != nil {
				cn.ws.CloseNow() // the reader sees the end and reports it
				return
			}
		}
	}
}

// parseEcho reads the send time of a stamped message echoed back.
func parseEcho(b []byte) (int64, bool) {
	if !bytes.HasPrefix(b, []byte(echoPrefix)) {
		return 0, false
	}
	b = b[len(echoPrefix):]
	var n int64
	i := 0
	for ; i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false // not a time this client sent
		}
		n = n*10 + d
	}
	return n, i > 0
}

// finish stops the connection's goroutines once the reader is done, and
// makes sure the connection is closed.
func (cn *clientConn) finish() {
	close(cn.stop)
	if cn.pingCancel != nil {
		cn.pingCancel()
	}
	if !cn.stopCancel() {
		<-cn.cancelDone
	}
	if cn.guard != nil {
		cn.guard.finishing.Store(true)
	}
	cn.ws.CloseNow()
	cn.wg.Wait()
}

// closeWith starts the close handshake with code and reason and waits for
// it, at most closeTimeout; then the connection is dropped.
func (cn *clientConn) closeWith(cause int32, code websocket.StatusCode, reason string) {
	if len(reason) > 123 { // what a close frame holds; the reasons here are ASCII
		reason = reason[:123]
	}
	if cn.cause.CompareAndSwap(causeNone, cause) {
		cn.reason = reason
	}
	cn.closing.Store(true)
	t := time.AfterFunc(cn.closeTimeout, func() { cn.rwc.Close() })
	cn.ws.Close(code, reason)
	t.Stop()
}

// ping is the keepalive loop.
func (cn *clientConn) ping(interval, timeout time.Duration, maxMissed int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-cn.stop:
			return
		case <-t.C:
		}
		// Conn.Ping's payload is its own counter, which this mirrors: the
		// pong callback matches the payload to find the ping's send time.
		cn.pingSeq.Add(1)
		cn.pingSent.Store(int64(time.Since(cn.base)))
		ctx, cancel := context.WithTimeout(cn.pingCtx, timeout)
		err := cn.ws.Ping(ctx)
		cancel()
		switch {
		case err == nil:
			missed = 0
		case errors.Is(err, context.DeadlineExceeded) && cn.guard != nil && cn.guard.dropped.Load():
			// coder/websocket bounds a ping's write by the ping's context
			// and drops the connection when the write outlasts it; the
			// reader then sees only a lost connection. Say why, before
			// the reader's verdict is read (finish waits for this loop).
			cn.cause.CompareAndSwap(causeNone, causePingWriteLate)
			return
		case cn.pingCtx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			if missed++; missed >= maxMissed {
				cn.closeWith(causePingTimeout, websocket.StatusGoingAway, reasonPingTimeout)
				return
			}
		default:
			return // the connection failed: the reader reports it
		}
	}
}

// onPong is coder/websocket's pong callback. It runs on the goroutine that
// reads: the reader, or a close handshake on another goroutine, whose pongs
// are dropped so that the Observer is only called from the reader.
func (cn *clientConn) onPong(_ context.Context, payload []byte) {
	if cn.closing.Load() {
		return
	}
	seq, ok := parseSeq(payload)
	if !ok || seq == 0 || seq != cn.pingSeq.Load() {
		return // unsolicited (pings are numbered from 1), or the answer to a ping given up on
	}
	now := time.Now()
	e := &cn.s.pong
	*e = transport.Event{
		Kind:      transport.KindPong,
		Type:      "pong",
		Size:      2 + len(payload),
		FirstByte: now,
		At:        now,
		RTT:       now.Sub(cn.base) - time.Duration(cn.pingSent.Load()),
	}
	cn.s.obs.Event(e)
}

func maxMissedPings(n int) int {
	if n > 0 {
		return n
	}
	return DefaultMaxMissedPings
}

// parseSeq reads a decimal ping payload without allocating.
func parseSeq(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// greet sends the --send messages of one connection, in order; false when
// the connection failed (the reader reports it).
func (cn *clientConn) greet(msgs [][]byte) bool {
	for _, m := range msgs {
		select {
		case <-cn.stop:
			return false
		default:
		}
		if err := cn.ws.Write(context.Background(), websocket.MessageText, m); err != nil {
			cn.ws.CloseNow()
			return false
		}
	}
	return true
}

// write sends the Outbox until it is closed or the connection ends.
func (cn *clientConn) write(out <-chan Outgoing) {
	ctx := context.Background() // no timer per message; a close ends a blocked write
	for {
		select {
		case <-cn.stop:
			return
		case m, ok := <-out:
			if !ok {
				return
			}
			typ := websocket.MessageText
			if m.Binary {
				typ = websocket.MessageBinary
			}
			if err := cn.ws.Write(ctx, typ, m.Data); err != nil {
				cn.ws.CloseNow() // the reader sees the end and reports it
				return
			}
		}
	}
}
