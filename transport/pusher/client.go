package pusher

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

// DefaultSubscribeTimeout bounds the wait for connection_established and
// then for subscription_succeeded, when the session has no TTFB timeout.
const DefaultSubscribeTimeout = 10 * time.Second

// Client is a Pusher subscriber session (transport.Session): it connects to
// Target's /app/KEY, subscribes to its channel (signing private and
// presence subscriptions with the secret), and reports every channel event
// (of Target.Event, when set) to the Observer until the context ends,
// answering the server's pings and reconnecting as Reconnect says.
//
// It reports Connected once subscription_succeeded arrives, with Headers
// set to that moment: a Pusher session's handshake is connect,
// connection_established and subscribe together, while its DNS, TCP and TLS
// phases are the connection's. pusher:error messages and 4000–4299 closes
// are errors of class pusher_error with Pusher's code (0 for null).
type Client struct {
	Target    Target
	HTTP      *http.Client // dials the handshake; nil: a default client
	Reconnect transport.Reconnect
	// Stamp says where the event data's clock is; nil: sched_ns.
	Stamp *transport.StampSpec
	// SubscribeTimeout bounds the waits for connection_established and
	// subscription_succeeded; default DefaultSubscribeTimeout.
	SubscribeTimeout time.Duration
	// PingInterval sends pusher:ping this often and reports each
	// pusher:pong as an Event of KindPong with its round trip; 0: none.
	PingInterval time.Duration
}

var _ transport.Session = (*Client)(nil)

// pusherError is a pusher:error or a close with a Pusher code.
type pusherError struct {
	Code int
	Msg  string
}

func (e *pusherError) Error() string {
	if e.Code == 0 {
		return "pusher:error: " + e.Msg
	}
	return fmt.Sprintf("pusher:error %d: %s", e.Code, e.Msg)
}

// result is how one attempt ended.
type result struct {
	connected bool
	delivered int
	err       *transport.Error // nil: ended cleanly or cancelled
	again     bool             // the protocol says reconnect (4100–4299, abnormal)
}

// Run implements transport.Session.
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	hc := c.HTTP
	if hc == nil {
		hc = transport.NewHTTPClient(transport.HTTPOptions{})
		defer hc.CloseIdleConnections()
	}
	idle := 0
	for attempt := 0; ; attempt++ {
		r := c.attempt(ctx, hc, attempt, obs)
		if r.delivered > 0 {
			idle = 0
		} else {
			idle++
		}
		if ctx.Err() != nil {
			if r.connected {
				obs.Closed(&transport.Close{At: time.Now(), Code: int(websocket.StatusNormalClosure), Clean: true})
			}
			return nil
		}
		again := false
		switch c.Reconnect.Policy {
		case transport.PolicyNever:
		case transport.PolicyAlways:
			again = r.err == nil || r.again
		default:
			again = r.again
		}
		if again && c.Reconnect.MaxAttempts > 0 && idle > c.Reconnect.MaxAttempts {
			again = false
		}
		if r.err != nil {
			r.err.Fatal = !again
			obs.Error(r.err)
		}
		if r.connected {
			obs.Closed(&transport.Close{At: time.Now(), Code: closeCode(r.err), Clean: r.err == nil, Reconnect: again})
		}
		if !again {
			if r.err != nil {
				return r.err
			}
			return nil
		}
		if transport.Wait(ctx, c.Reconnect.Delay(max(idle, 1), 0, nil)) != nil {
			return nil
		}
		if g := c.Reconnect.Gate; g != nil {
			if err := g(ctx); err != nil {
				return nil
			}
		}
	}
}

func closeCode(e *transport.Error) int {
	if e == nil {
		return int(websocket.StatusNormalClosure)
	}
	if e.Code >= 1000 {
		return e.Code
	}
	return int(websocket.StatusAbnormalClosure)
}

// fail builds an attempt's error.
func fail(class transport.Class, code int, err error, again bool) result {
	return result{err: &transport.Error{Class: class, Code: code, Err: err, At: time.Now()}, again: again}
}

// againFor says whether Pusher's close or error code asks for a reconnect:
// 4000–4099 never, 4100–4299 yes, others (no code) no.
func againFor(code int) bool { return code >= 4100 && code < 4300 }

func (c *Client) attempt(ctx context.Context, hc *http.Client, n int, obs transport.Observer) result {
	ci := transport.Connect{Attempt: n, Start: time.Now()}
	var dnsStart, tcpStart, tlsStart time.Time
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:           func(httptrace.DNSDoneInfo) { ci.DNS = time.Since(dnsStart) },
		ConnectStart:      func(string, string) { tcpStart = time.Now() },
		ConnectDone:       func(string, string, error) { ci.TCP = time.Since(tcpStart) },
		TLSHandshakeStart: func() { tlsStart = time.Now() },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { ci.TLS = time.Since(tlsStart) },
	}
	u := c.Target.SocketURL()
	// The handshake runs on a goroutine that ends with it: net/http's dial
	// path is deep, and the stack it grows would otherwise stay with the
	// session's goroutine, which then only reads, for the whole session.
	type dialed struct {
		conn *websocket.Conn
		resp *http.Response
		err  error
	}
	ch := make(chan dialed, 1)
	go func() {
		small := *hc
		small.Transport = transport.HandshakeTransport(hc.Transport)
		conn, resp, err := websocket.Dial(httptrace.WithClientTrace(ctx, trace), u, &websocket.DialOptions{HTTPClient: &small})
		ch <- dialed{conn, resp, err}
	}()
	d := <-ch
	conn, resp, err := d.conn, d.resp, d.err
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return result{}
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			return fail(transport.ClassWSHandshakeStatus, resp.StatusCode, fmt.Errorf("%s answered HTTP %d instead of a WebSocket", c.Target.Host, resp.StatusCode), resp.StatusCode == 429 || resp.StatusCode >= 500)
		}
		cl := transport.Classify(err)
		return fail(cl, 0, err, !cl.Unreachable() || cl == transport.ClassRefused)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(MaxFrame)
	ci.Status, ci.Proto, ci.URL = resp.StatusCode, resp.Proto, u

	wait := c.SubscribeTimeout
	if wait <= 0 {
		wait = DefaultSubscribeTimeout
	}
	socketID, r := c.handshake(ctx, conn, wait)
	if socketID == "" {
		return r
	}
	ci.Headers = time.Now()
	obs.Connected(&ci)
	r = c.read(ctx, conn, obs)
	r.connected = true
	return r
}

// handshake reads connection_established, subscribes and reads
// subscription_succeeded, within wait each.
func (c *Client) handshake(ctx context.Context, conn *websocket.Conn, wait time.Duration) (string, result) {
	f, r := readWithin(ctx, conn, wait, "pusher:connection_established")
	if r.err != nil || ctx.Err() != nil {
		return "", r
	}
	if f.Event != EventConnectionEstablished {
		return "", errorResult(f, "pusher:connection_established")
	}
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if err := f.DataObject(&est); err != nil || est.SocketID == "" {
		return "", fail(transport.ClassPusherError, 0, fmt.Errorf("connection_established without a socket_id: %.200s", f.Data), false)
	}
	sub := map[string]string{"channel": c.Target.Channel}
	switch KindOf(c.Target.Channel) {
	case Private:
		sub["auth"] = ChannelAuth(c.Target.App, est.SocketID, c.Target.Channel, "")
	case Presence:
		user := c.Target.User
		if user == "" {
			user = est.SocketID
		}
		cd, _ := json.Marshal(map[string]string{"user_id": user})
		sub["channel_data"] = string(cd)
		sub["auth"] = ChannelAuth(c.Target.App, est.SocketID, c.Target.Channel, string(cd))
	}
	b, _ := json.Marshal(map[string]any{"event": EventSubscribe, "data": sub})
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return "", fail(transport.Classify(err), 0, err, true)
	}
	for {
		f, r = readWithin(ctx, conn, wait, "pusher_internal:subscription_succeeded")
		if r.err != nil || ctx.Err() != nil {
			return "", r
		}
		switch f.Event {
		case EventSubscriptionSucceeded:
			if f.Channel == c.Target.Channel {
				return est.SocketID, result{}
			}
		case EventPing:
			conn.Write(ctx, websocket.MessageText, pongFrame)
		case EventError:
			return "", errorResult(f, "pusher_internal:subscription_succeeded")
		}
	}
}

// errorResult reads a pusher:error (or an unexpected frame) met while
// waiting for want.
func errorResult(f Frame, want string) result {
	if f.Event == EventError {
		pe := errorData(f)
		return fail(transport.ClassPusherError, pe.Code, pe, againFor(pe.Code))
	}
	return fail(transport.ClassPusherError, 0, fmt.Errorf("got %.100s while waiting for %s", f.Event, want), false)
}

func errorData(f Frame) *pusherError {
	var d struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	pe := &pusherError{Msg: string(f.DataText())}
	if f.DataObject(&d) == nil {
		pe.Msg = d.Message
		if d.Code != nil {
			pe.Code = *d.Code
		}
	}
	return pe
}

// readWithin reads one frame within wait.
func readWithin(ctx context.Context, conn *websocket.Conn, wait time.Duration, what string) (Frame, result) {
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, b, err := conn.Read(rctx)
	if err != nil {
		if ctx.Err() != nil {
			return Frame{}, result{}
		}
		if rctx.Err() != nil {
			return Frame{}, fail(transport.ClassTTFBTimeout, 0, fmt.Errorf("no %s within %v", what, wait), true)
		}
		return Frame{}, closeResult(err)
	}
	f, err := Decode(b)
	if err != nil {
		return Frame{}, fail(transport.ClassPusherError, 0, fmt.Errorf("bad message from the server: %v", err), false)
	}
	return f, result{}
}

// closeResult classifies the end of a connection.
func closeResult(err error) result {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		code := int(ce.Code)
		switch {
		case code >= 4000 && code < 4300:
			return fail(transport.ClassPusherError, code, &pusherError{Code: code, Msg: ce.Reason}, againFor(code))
		case ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway:
			return result{}
		}
		return fail(transport.ClassWSClose, code, fmt.Errorf("the server closed the connection with %d %q", code, ce.Reason), code == 1012 || code == 1013)
	}
	return fail(transport.ClassWSAbnormal, int(websocket.StatusAbnormalClosure), err, true)
}

// read delivers the channel's events until the connection or ctx ends.
func (c *Client) read(ctx context.Context, conn *websocket.Conn, obs transport.Observer) result {
	var (
		r        result
		ev       transport.Event
		pingMu   sync.Mutex
		pingSent time.Time
		wg       sync.WaitGroup
	)
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	if c.PingInterval > 0 {
		wg.Go(func() {
			t := time.NewTicker(c.PingInterval)
			defer t.Stop()
			for {
				select {
				case <-rctx.Done():
					return
				case <-t.C:
				}
				pingMu.Lock()
				pingSent = time.Now()
				pingMu.Unlock()
				if conn.Write(rctx, websocket.MessageText, pingFrame) != nil {
					return
				}
			}
		})
	}
	stop := context.AfterFunc(ctx, func() { conn.Close(websocket.StatusNormalClosure, "") })
	defer stop()
	var buf bytes.Buffer // each message is read into it: no allocation per message
	for {
		b, err := readInto(conn, &buf)
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return r
			}
			d := r.delivered
			r = closeResult(err)
			r.delivered = d
			return r
		}
		f, err := Decode(b)
		if err != nil {
			obs.Error(&transport.Error{Class: transport.ClassPusherError, Err: fmt.Errorf("bad message from the server: %v", err), At: at})
			continue
		}
		switch f.Event {
		case EventPing:
			conn.Write(rctx, websocket.MessageText, pongFrame)
			continue
		case EventPong:
			pingMu.Lock()
			sent := pingSent
			pingMu.Unlock()
			if !sent.IsZero() {
				ev = transport.Event{Kind: transport.KindPong, At: at, RTT: at.Sub(sent), Size: len(b)}
				obs.Event(&ev)
			}
			continue
		case EventError:
			pe := errorData(f)
			obs.Error(&transport.Error{Class: transport.ClassPusherError, Code: pe.Code, Err: pe, At: at})
			continue
		}
		if f.Channel != c.Target.Channel || isProtocolEvent(f.Event) || (c.Target.Event != "" && f.Event != c.Target.Event) {
			continue
		}
		data := f.DataText()
		ev = transport.Event{Kind: transport.KindMessage, Type: f.Event, Data: data, Size: len(b) + frameHeader(len(b)), FirstByte: at, At: at}
		ev.Stamp, _ = c.Stamp.Parse(data)
		if !ev.Stamp.HasSched && !ev.Stamp.HasClock && f.SchedNS > 0 {
			ev.Stamp.SchedNS, ev.Stamp.HasSched = f.SchedNS, true
			if f.Seq > 0 {
				ev.Stamp.Seq, ev.Stamp.HasSeq = f.Seq, true
			}
		}
		if f.Seq > 0 && c.Target.Event == "" {
			// rtbench serve numbers the channel's messages: with every
			// event reported, lost and duplicates count what serve
			// accepted and did not deliver once, whatever the publisher's
			// seq says (a failed publish is the publisher's error; publishes
			// in flight together reach the channel in any order).
			ev.Stamp.Seq, ev.Stamp.HasSeq = f.Seq, true
		}
		if !ev.Stamp.HasSent && f.SentNS > 0 {
			ev.Stamp.SentNS, ev.Stamp.HasSent = f.SentNS, true
		}
		r.delivered++
		obs.Event(&ev)
	}
}

// readInto reads the next message into buf and returns its bytes, valid
// until the next call.
func readInto(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := conn.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isProtocolEvent says whether an event is the protocol's own.
func isProtocolEvent(e string) bool {
	return len(e) >= 7 && e[:7] == "pusher:" || len(e) >= 16 && e[:16] == "pusher_internal:"
}

// frameHeader is the header of an unmasked server frame of n bytes.
func frameHeader(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 65535:
		return 4
	}
	return 10
}
