package ably

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

// ClassError is the error class of everything an Ably server refuses with
// an ErrorInfo (a connection ERROR, a channel ERROR, a NACK, a REST error):
// its Code is Ably's code (40101, 40160 …), so a run's errors come out by
// code.
const ClassError transport.Class = "ably_error"

// Defaults for Client.
const (
	// DefaultRequestTimeout bounds each wait for a protocol answer
	// (CONNECTED, ATTACHED, an ACK), as the SDKs' realtimeRequestTimeout.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultReadLimit is the largest frame read.
	DefaultReadLimit = 1 << 20
)

// Client is one realtime subscriber: it connects, attaches the target's
// channel and reports each message (of Target.Event, or all) as an Event
// whose Data is the message's data (JSON text for JSON data, the text of a
// string, the bytes of binary data), stamped from it (seq, sched_ns …).
// After a lost connection it reconnects as Reconnect says and re-attaches
// from the last channel serial it saw, so a server that keeps history
// resumes with no gap.
//
// With PublishEvery set, it publishes a stamped message
// {"seq","sched_ns","probe"} on the channel over the connection once
// attached and then every PublishEvery, and reports its own messages coming
// back as KindEcho events with the round trip in RTT (publish → delivery),
// as well as KindMessage events.
type Client struct {
	Target    *Target
	HTTP      *http.Client // dials the WebSocket; nil: a default client
	Reconnect transport.Reconnect
	Stamp     *transport.StampSpec
	// IdleTimeout ends a connection on which nothing arrived for this long;
	// 0: the server's maxIdleInterval plus DefaultRequestTimeout.
	IdleTimeout    time.Duration
	RequestTimeout time.Duration
	PublishEvery   time.Duration
	// Outbox: each value is published as one message's data (listen's
	// stdin), named Target.Event or "message".
	Outbox <-chan []byte
}

// Run implements transport.Session.
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	s := &session{c: c, obs: obs, probe: strconv.FormatInt(time.Now().UnixNano(), 36)}
	rc := c.Reconnect
	quiet := 0
	for attempt := 0; ; attempt++ {
		o := s.attempt(ctx, attempt)
		if o.delivered > 0 {
			quiet = 0
		} else {
			quiet++
		}
		if ctx.Err() != nil {
			if o.connected {
				obs.Closed(&transport.Close{At: time.Now(), Code: 1000, Clean: true})
			}
			return nil
		}
		again := rc.Policy != transport.PolicyNever && retriable(o)
		if again && rc.MaxAttempts > 0 && quiet > rc.MaxAttempts {
			again = false
		}
		var fatal *transport.Error
		if o.class != "" {
			e := &transport.Error{Class: o.class, Code: o.code, Err: o.err, At: time.Now(), Fatal: !again}
			obs.Error(e)
			if !again {
				fatal = e
			}
		}
		if o.connected {
			obs.Closed(&transport.Close{At: time.Now(), Code: o.closeCode, Reason: o.reason, Clean: o.class == "", Reconnect: again})
		}
		if !again {
			if fatal != nil {
				return fatal
			}
			return nil
		}
		if err := transport.Wait(ctx, rc.Delay(max(quiet, 1), 0, nil)); err != nil {
			return nil
		}
		if rc.Gate != nil {
			if err := rc.Gate(ctx); err != nil {
				return nil
			}
		}
	}
}

// retriable says whether a connection that ended this way is worth
// another: Ably's 4xxxx refusals (bad credentials, capability) are not,
// the network and 5xxxx and 8xxxx (disconnected) are.
func retriable(o outcome) bool {
	switch o.class {
	case "":
		return true // the server ended it (DISCONNECTED, a restart): come back
	case ClassError:
		return o.code < 40000 || o.code >= 50000
	case transport.ClassWSHandshakeStatus:
		return o.code == http.StatusTooManyRequests || o.code >= 500
	case transport.ClassDNS, transport.ClassTLS, transport.ClassTLSAuthority, transport.ClassTLSExpired,
		transport.ClassTLSHostname, transport.ClassTLSRecord, transport.ClassWSBadHandshake, transport.ClassCanceled:
		return false
	}
	return true
}

type session struct {
	c      *Client
	obs    transport.Observer
	serial string // the last channel serial seen: where a re-attach resumes
	probe  string // this session's mark on the messages it publishes
	seq    uint64 // its published messages
	sent   sync.Map
}

type outcome struct {
	connected bool
	delivered int
	class     transport.Class
	code      int
	err       error
	closeCode int
	reason    string
}

func (c *Client) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return DefaultRequestTimeout
}

// attempt is one connection: connect, attach, read until it ends.
func (s *session) attempt(ctx context.Context, attempt int) (o outcome) {
	c := s.c
	t := c.Target
	ci := &transport.Connect{Attempt: attempt, Start: time.Now()}
	var dnsStart, tcpStart, tlsStart time.Time
	trace := &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:              func(httptrace.DNSDoneInfo) { ci.DNS = time.Since(dnsStart) },
		ConnectStart:         func(string, string) { tcpStart = time.Now() },
		ConnectDone:          func(string, string, error) { ci.TCP = time.Since(tcpStart) },
		TLSHandshakeStart:    func() { tlsStart = time.Now() },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { ci.TLS = time.Since(tlsStart) },
		GotFirstResponseByte: func() { ci.Headers = time.Now() },
	}
	dctx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), c.requestTimeout())
	// The handshake runs on a goroutine that ends with it, over a
	// connection with small buffers: net/http's dial path is deep, and the
	// stack it grows would stay with this goroutine for the whole session.
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	small := *hc
	small.Transport = transport.HandshakeTransport(hc.Transport)
	type dialed struct {
		ws   *websocket.Conn
		resp *http.Response
		err  error
	}
	dc := make(chan dialed, 1)
	go func() {
		ws, resp, err := websocket.Dial(dctx, t.realtimeURL(), &websocket.DialOptions{HTTPClient: &small, CompressionMode: websocket.CompressionDisabled})
		dc <- dialed{ws, resp, err}
	}()
	d := <-dc
	ws, resp, err := d.ws, d.resp, d.err
	cancel()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return outcome{class: transport.ClassCanceled, err: err}
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			return outcome{class: transport.ClassWSHandshakeStatus, code: resp.StatusCode, err: fmt.Errorf("the realtime host answered HTTP %d instead of upgrading", resp.StatusCode)}
		case resp != nil:
			return outcome{class: transport.ClassWSBadHandshake, err: err}
		}
		return outcome{class: transport.Classify(err), err: err}
	}
	defer ws.CloseNow()
	ws.SetReadLimit(DefaultReadLimit)
	if ci.Headers.IsZero() {
		ci.Headers = time.Now()
	}
	ci.Status, ci.Proto, ci.Header = resp.StatusCode, resp.Proto, resp.Header
	ci.URL = transport.RedactURL(t.realtimeURL())

	// This goroutine reads the connection itself, without a context (one
	// with a Done channel costs coder/websocket a timer per read): what ends
	// a read early is the connection closing, by the server, by a watchdog
	// (the request and idle timeouts) or by the end of ctx, which closes it
	// gracefully (CLOSE, then the close handshake).
	cn := &clientConn{s: s, ws: ws, format: t.Format}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	closed := make(chan struct{})
	stopClose := context.AfterFunc(ctx, func() {
		defer close(closed)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cn.send(cctx, &ProtocolMessage{Action: ActionClose})
		cancel()
		ws.Close(websocket.StatusNormalClosure, "")
	})
	defer func() {
		if !stopClose() {
			<-closed
		}
	}()
	defer cn.disarm()

	// CONNECTED, then ATTACHED.
	pm, o := cn.await(rctx, c.requestTimeout(), "CONNECTED", ActionConnected)
	if pm == nil {
		return o
	}
	idle := c.IdleTimeout
	if idle <= 0 && pm.ConnectionDetails != nil && pm.ConnectionDetails.MaxIdleInterval > 0 {
		idle = time.Duration(pm.ConnectionDetails.MaxIdleInterval)*time.Millisecond + c.requestTimeout()
	}
	cn.connID = pm.ConnectionID
	cn.serve = pm.ConnectionDetails != nil && pm.ConnectionDetails.ServerID == serveID
	attach := &ProtocolMessage{Action: ActionAttach, Channel: t.Channel, ChannelSerial: s.serial}
	if err := cn.send(rctx, attach); err != nil {
		return outcome{class: transport.Classify(err), err: err}
	}
	pm, o = cn.await(rctx, c.requestTimeout(), "ATTACHED", ActionAttached)
	if pm == nil {
		return o
	}
	if pm.ChannelSerial != "" {
		s.serial = pm.ChannelSerial
	}
	ci.Attached = time.Now()
	s.obs.Connected(ci)
	o = outcome{connected: true}

	if c.PublishEvery > 0 {
		wg.Go(func() { cn.publishLoop(rctx, c.PublishEvery) })
	}
	if c.Outbox != nil {
		wg.Go(func() { cn.outboxLoop(rctx, c.Outbox) })
	}
	o.delivered, o.class, o.code, o.err = cn.deliver(rctx, idle)
	if o.class == "" && ctx.Err() == nil && cn.closed {
		o.reason = "the server ended the connection"
	}
	o.closeCode = 1000
	return o
}

// frame is one message read, or the error that ended reading.
type frame struct {
	pm   *ProtocolMessage
	size int
	at   time.Time
	err  error
}

type clientConn struct {
	s      *session
	ws     *websocket.Conn
	format Format
	connID string
	wmu    sync.Mutex
	serial int64 // msgSerial of the next MESSAGE sent
	closed bool  // the server closed (CLOSED, DISCONNECTED or a close frame)
	// serve: the server is rtbench serve, whose channel serials number the
	// channel's messages 1, 2, 3 …
	serve bool

	buf      bytes.Buffer // the message being read: no allocation per message
	watchdog *time.Timer  // closes the connection when a wait runs out
	expired  atomic.Bool  // the watchdog closed it
}

// next reads one message. What it returns aliases the connection's buffer
// until the next call.
func (cn *clientConn) next() frame {
	_, r, err := cn.ws.Reader(context.Background())
	if err == nil {
		cn.buf.Reset()
		_, err = cn.buf.ReadFrom(r)
	}
	at := time.Now()
	if err != nil {
		return frame{err: err, at: at}
	}
	b := cn.buf.Bytes()
	pm, err := DecodeProtocolMessage(b, cn.format)
	return frame{pm: pm, size: len(b), at: at, err: err}
}

// arm closes the connection in d, unless re-armed or disarmed before.
func (cn *clientConn) arm(d time.Duration) {
	if cn.watchdog == nil {
		cn.watchdog = time.AfterFunc(d, func() {
			cn.expired.Store(true)
			cn.ws.CloseNow()
		})
		return
	}
	cn.watchdog.Reset(d)
}

func (cn *clientConn) disarm() {
	if cn.watchdog != nil {
		cn.watchdog.Stop()
	}
}

func (cn *clientConn) send(ctx context.Context, pm *ProtocolMessage) error {
	b, err := Marshal(pm, cn.format)
	if err != nil {
		return err
	}
	typ := websocket.MessageText
	if cn.format == MsgPack {
		typ = websocket.MessageBinary
	}
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, cn.s.c.requestTimeout())
	defer cancel()
	return cn.ws.Write(wctx, typ, b)
}

// readErr is how a read error ends a connection.
func readErr(ctx context.Context, err error) (transport.Class, int, error) {
	var ce websocket.CloseError
	switch {
	case ctx.Err() != nil:
		return "", 0, nil
	case errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway):
		return "", int(ce.Code), nil
	case errors.As(err, &ce):
		return transport.ClassWSClose, int(ce.Code), err
	case errors.Is(err, ErrDecode):
		return ClassError, 80013, err
	}
	return transport.ClassWSAbnormal, 1006, err
}

// await reads until a frame with action want; an ERROR (or DISCONNECTED,
// or the connection ending) first is the outcome instead.
func (cn *clientConn) await(ctx context.Context, timeout time.Duration, what string, want int) (*ProtocolMessage, outcome) {
	cn.arm(timeout)
	defer cn.disarm()
	for {
		f := cn.next()
		switch {
		case f.err != nil && ctx.Err() != nil:
			return nil, outcome{class: transport.ClassCanceled, err: ctx.Err()}
		case f.err != nil && cn.expired.Load():
			return nil, outcome{class: transport.ClassTimeout, err: fmt.Errorf("no %s within %v", what, timeout)}
		}
		if f.err != nil {
			class, code, err := readErr(ctx, f.err)
			if class == "" && ctx.Err() == nil {
				class, err = transport.ClassEOF, fmt.Errorf("the connection ended before %s", what)
			}
			return nil, outcome{class: class, code: code, err: err}
		}
		switch pm := f.pm; pm.Action {
		case want:
			if pm.Error != nil && want == ActionConnected {
				// A CONNECTED with an error is still a connection (a
				// failed resume): report the error, go on.
				cn.s.obs.Error(&transport.Error{Class: ClassError, Code: pm.Error.Code, Err: pm.Error, At: f.at})
			}
			return pm, outcome{}
		case ActionError, ActionDisconnected, ActionDetached:
			e := pm.Error
			if e == nil {
				e = &ErrorInfo{Code: 80003, Message: ActionName(pm.Action) + " without an error"}
			}
			return nil, outcome{class: ClassError, code: e.Code, err: fmt.Errorf("waiting for %s: %s: %w", what, ActionName(pm.Action), e)}
		}
	}
}

// deliver reports messages until the connection ends.
func (cn *clientConn) deliver(ctx context.Context, idle time.Duration) (n int, class transport.Class, code int, err error) {
	s := cn.s
	if idle > 0 {
		cn.arm(idle)
		defer cn.disarm()
	}
	ev := &transport.Event{Kind: transport.KindMessage}
	for {
		f := cn.next()
		switch {
		case f.err != nil && ctx.Err() != nil:
			return n, "", 0, nil
		case f.err != nil && cn.expired.Load():
			return n, transport.ClassIdleTimeout, 0, fmt.Errorf("nothing from the server for %v (its maxIdleInterval and %v)", idle, s.c.requestTimeout())
		case f.err != nil:
			class, code, err := readErr(ctx, f.err)
			cn.closed = class == ""
			return n, class, code, err
		}
		if idle > 0 {
			cn.watchdog.Reset(idle)
		}
		pm := f.pm
		switch pm.Action {
		case ActionMessage:
			if pm.Channel != s.c.Target.Channel {
				continue
			}
			if pm.ChannelSerial != "" {
				s.serial = pm.ChannelSerial
			}
			// From rtbench serve, a message's seq is its number in the
			// channel (its serial), when every message is reported: so
			// lost and duplicates count what serve accepted and did not
			// deliver once, whoever published it and whatever its data
			// says (a publish that failed is the publisher's error, not
			// a loss; publishes in flight together reach the channel in
			// any order). Elsewhere, the seq in the data.
			seq, bySerial := uint64(0), false
			if cn.serve && s.c.Target.Event == "" && len(pm.Messages) == 1 {
				seq, bySerial = serialNumber(pm.ChannelSerial)
			}
			for i, m := range pm.Messages {
				if m == nil || s.c.Target.Event != "" && m.Name != s.c.Target.Event {
					continue
				}
				if err := m.normalise(); err != nil {
					s.obs.Error(&transport.Error{Class: ClassError, Code: 40013, Err: fmt.Errorf("message %d: %v", i, err), At: f.at})
					continue
				}
				*ev = transport.Event{Kind: transport.KindMessage, Type: m.Name, ID: m.ID, Data: m.Data.B,
					Size: f.size / len(pm.Messages), FirstByte: f.at, At: f.at}
				ev.Stamp, _ = s.c.Stamp.Parse(m.Data.B)
				if bySerial {
					ev.Stamp.Seq, ev.Stamp.HasSeq = seq, true
				}
				s.obs.Event(ev)
				n++
				if sent, ok := s.sent.LoadAndDelete(m.ID); ok {
					*ev = transport.Event{Kind: transport.KindEcho, Type: m.Name, ID: m.ID, Data: m.Data.B, At: f.at, RTT: f.at.Sub(sent.(time.Time))}
					s.obs.Event(ev)
				}
			}
		case ActionAttached:
			if pm.Error != nil {
				// A loss of continuity (80020 …): counted, delivery goes on.
				s.obs.Error(&transport.Error{Class: ClassError, Code: pm.Error.Code, Err: pm.Error, At: f.at})
			}
		case ActionNack:
			e := pm.Error
			if e == nil {
				e = &ErrorInfo{Code: 50001, Message: "NACK without an error"}
			}
			s.obs.Error(&transport.Error{Class: ClassError, Code: e.Code, Err: fmt.Errorf("publish refused: %w", e), At: f.at})
		case ActionError:
			if pm.Error == nil {
				pm.Error = &ErrorInfo{Code: 50000, Message: "ERROR without an error"}
			}
			return n, ClassError, pm.Error.Code, pm.Error
		case ActionDetached:
			e := pm.Error
			if e == nil {
				e = &ErrorInfo{Code: 90000, Message: "the server detached the channel"}
			}
			return n, ClassError, e.Code, e
		case ActionDisconnected, ActionClosed:
			cn.closed = true
			if pm.Error != nil && pm.Action == ActionDisconnected {
				return n, ClassError, pm.Error.Code, pm.Error
			}
			return n, "", 0, nil
		}
	}
}

// publishLoop publishes a stamped message now and every interval.
func (cn *clientConn) publishLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	next := time.Now()
	for {
		cn.publishStamp(ctx, next)
		select {
		case <-ctx.Done():
			return
		case next = <-t.C:
		}
	}
}

func (cn *clientConn) publishStamp(ctx context.Context, sched time.Time) {
	s := cn.s
	s.seq++
	data := fmt.Appendf(nil, `{"seq":%d,"sched_ns":%d,"probe":%q}`, s.seq, sched.UnixNano(), s.probe)
	name := s.c.Target.Event
	if name == "" {
		name = "message"
	}
	id := s.probe + ":" + strconv.FormatUint(s.seq, 10)
	s.sent.Store(id, time.Now())
	m := &Message{ID: id, Name: name, Data: Data{B: data, JSON: true, Set: true}}
	if err := cn.publish(ctx, m); err != nil {
		s.sent.Delete(id)
	}
}

// publish sends m on the channel with the next msgSerial.
func (cn *clientConn) publish(ctx context.Context, m *Message) error {
	cn.wmu.Lock()
	serial := cn.serial
	cn.serial++
	cn.wmu.Unlock()
	return cn.send(ctx, &ProtocolMessage{Action: ActionMessage, Channel: cn.s.c.Target.Channel, MsgSerial: &serial,
		Messages: []*Message{m.forWire(cn.format)}})
}

// outboxLoop publishes each outbox value as a message.
func (cn *clientConn) outboxLoop(ctx context.Context, in <-chan []byte) {
	name := cn.s.c.Target.Event
	if name == "" {
		name = "message"
	}
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-in:
			if !ok {
				return
			}
			m := &Message{Name: name, Data: Text(string(b))}
			if json.Valid(b) {
				m.Data = Data{B: b, JSON: true, Set: true}
			}
			if cn.publish(ctx, m) != nil {
				return
			}
		}
	}
}
