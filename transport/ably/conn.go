package ably

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// serveRealtime runs one realtime connection: the credentials on the URL
// (key=, access_token= or accessToken=), format=json|msgpack, echo=false,
// heartbeats=true (HEARTBEAT messages, else WebSocket pings), clientId.
// Bad credentials are answered, as Ably does, with an ERROR message on the
// upgraded socket, which is then closed.
func (h *Handler) serveRealtime(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := JSON
	switch q.Get("format") {
	case "", "json":
	case "msgpack":
		f = MsgPack
	default:
		writeErr(w, r, &ErrorInfo{Code: 40003, StatusCode: 400, Message: "format=" + q.Get("format") + ": want json or msgpack"})
		return
	}
	hj := &pubsub.Hijacker{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		OriginPatterns:     h.OriginPatterns,
		InsecureSkipVerify: len(h.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered
	}
	if hj.Conn == nil {
		ws.CloseNow()
		return
	}
	hj.Conn.SetDeadline(time.Time{})
	defer h.Stats.Opened(transport.WS)()
	ws.SetReadLimit(maxProtocolMessageLen)
	c := &conn{h: h, ws: ws, raw: hj.Conn, format: f, id: randomID(8), channels: map[string]*attachment{}}
	c.key = c.id + "!" + randomID(8)
	c.echo = q.Get("echo") != "false"
	c.heartbeats = q.Get("heartbeats") == "true"
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c.ctx = ctx

	p, e := h.authConn(q)
	if e != nil {
		c.send(&ProtocolMessage{Action: ActionError, Error: e})
		ws.Close(websocket.StatusNormalClosure, "")
		return
	}
	if cid := q.Get("clientId"); cid != "" {
		if p.ClientID != "" && p.ClientID != "*" && p.ClientID != cid {
			c.send(&ProtocolMessage{Action: ActionError, Error: &ErrorInfo{Code: 40102, StatusCode: 401,
				Message: "incompatible credentials: clientId " + strconv.Quote(cid) + " is not the token's " + strconv.Quote(p.ClientID)}})
			ws.Close(websocket.StatusNormalClosure, "")
			return
		}
		p.ClientID = cid
	}
	c.p = p
	connected := &ProtocolMessage{Action: ActionConnected, ConnectionID: c.id, ConnectionDetails: &ConnectionDetails{
		ClientID: p.ClientID, ConnectionKey: c.key, MaxMessageSize: MaxMessageSize, MaxFrameSize: maxProtocolMessageLen,
		MaxInboundRate: 10000, MaxOutboundRate: 10000, ConnectionStateTTL: 120000,
		MaxIdleInterval: h.idle().Milliseconds(), ServerID: serveID,
	}}
	if q.Get("resume") != "" || q.Get("recover") != "" {
		// Connection state is not kept: the client gets a new connection
		// and re-attaches its channels from their serials (RTN15c7).
		connected.Error = &ErrorInfo{Code: 80008, StatusCode: 400, Message: "unable to recover connection: rtbench serve keeps no connection state; channels resume from their serials"}
	}
	if !c.send(connected) {
		return
	}
	var wg sync.WaitGroup
	wg.Go(c.heartbeat)
	c.read()
	cancel()
	c.mu.Lock()
	for _, a := range c.channels {
		a.stop()
	}
	c.mu.Unlock()
	wg.Wait()
	if r.Context().Err() != nil {
		ws.Close(websocket.StatusGoingAway, "server shutting down")
	} else {
		ws.CloseNow()
	}
}

// serveID is the serverId in serve's CONNECTED: a client that sees it knows
// channel serials end in the channel's message number (see channelSerial).
const serveID = "rtbench-serve"

func (h *Handler) idle() time.Duration {
	if h.MaxIdleInterval > 0 {
		return h.MaxIdleInterval
	}
	return DefaultMaxIdleInterval
}

func (h *Handler) writeTimeout() time.Duration {
	if h.WriteTimeout > 0 {
		return h.WriteTimeout
	}
	return DefaultWriteTimeout
}

func (h *Handler) authConn(q map[string][]string) (*Principal, *ErrorInfo) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if k := get("key"); k != "" {
		return h.kr.checkKey(k)
	}
	for _, name := range []string{"access_token", "accessToken"} {
		if t := get(name); t != "" {
			return h.kr.checkToken(t)
		}
	}
	return nil, &ErrorInfo{Code: 40101, StatusCode: 401, Message: "no credentials: connect with key= or access_token= on the URL"}
}

// conn is one realtime connection.
type conn struct {
	h          *Handler
	ws         *websocket.Conn
	raw        *pubsub.BatchConn // under ws: write deadlines, and a backlog written in one go
	ctx        context.Context
	format     Format
	id, key    string
	echo       bool
	heartbeats bool
	p          *Principal

	wmu sync.Mutex // one frame at a time

	mu       sync.Mutex
	channels map[string]*attachment
}

// attachment is one attached channel and the goroutine pushing its
// messages.
type attachment struct {
	sub *pubsub.Subscription
	// last is the seq of the last message sent (or where delivery
	// started): its serial answers a repeated ATTACH. The subscription
	// itself belongs to the pump's goroutine.
	last atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func (a *attachment) stop() {
	a.once.Do(func() { close(a.done) })
	a.wg.Wait()
	a.sub.Close()
}

// send writes pm; false when the connection is gone.
func (c *conn) send(pm *ProtocolMessage) bool {
	b, err := Marshal(pm, c.format)
	if err != nil {
		return false
	}
	return c.write(b)
}

// write writes one encoded frame; false when the connection is gone.
func (c *conn) write(b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.raw.SetWriteDeadline(time.Now().Add(c.h.writeTimeout()))
	if err := c.ws.Write(context.Background(), c.frameType(), b); err != nil {
		c.ws.CloseNow()
		return false
	}
	c.h.Stats.Sent(transport.WS, len(b))
	return true
}

func (c *conn) frameType() websocket.MessageType {
	if c.format == MsgPack {
		return websocket.MessageBinary
	}
	return websocket.MessageText
}

// writeMessages writes the MESSAGE frames of msgs, in one write system call,
// storing each one's seq in a.last before the frames leave: a client that
// has read a message and attaches again must be answered at its serial
// (a write that fails ends the connection, so no other reader sees it).
func (c *conn) writeMessages(a *attachment, msgs []*pubsub.Message) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.raw.Cork()
	var err error
	for _, hm := range msgs {
		var b []byte
		if b, err = c.h.frames.frame(hm, c.format, c.h.instance); err != nil {
			break
		}
		a.last.Store(hm.Seq)
		if err = c.ws.Write(context.Background(), c.frameType(), b); err != nil {
			break
		}
		c.h.Stats.Sent(transport.WS, len(b))
	}
	c.raw.SetWriteDeadline(time.Now().Add(c.h.writeTimeout()))
	if uerr := c.raw.Uncork(); err == nil {
		err = uerr
	}
	if err != nil {
		c.ws.CloseNow()
		return false
	}
	return true
}

// heartbeat keeps the promise of maxIdleInterval: a HEARTBEAT message, or
// a WebSocket ping when the client did not ask for heartbeats=true.
func (c *conn) heartbeat() {
	t := time.NewTicker(c.h.idle() * 2 / 3)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if c.heartbeats {
			if !c.send(&ProtocolMessage{Action: ActionHeartbeat}) {
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.h.writeTimeout())
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.ws.CloseNow()
			return
		}
	}
}

// read handles the client's messages until the connection ends.
func (c *conn) read() {
	for {
		typ, b, err := c.ws.Read(c.ctx)
		if err != nil {
			if c.ctx.Err() != nil {
				c.send(&ProtocolMessage{Action: ActionDisconnected, Error: &ErrorInfo{Code: 80003, StatusCode: 503, Message: "rtbench serve is shutting down"}})
			}
			return
		}
		if (typ == websocket.MessageBinary) != (c.format == MsgPack) {
			c.fatal(&ErrorInfo{Code: 80013, StatusCode: 400, Message: "protocol error: a " + typ.String() + " frame on a format=" + c.format.String() + " connection"})
			return
		}
		pm, err := DecodeProtocolMessage(b, c.format)
		if err != nil {
			c.fatal(&ErrorInfo{Code: 80013, StatusCode: 400, Message: "protocol error: " + err.Error()})
			return
		}
		if !c.handle(pm) {
			return
		}
	}
}

func (c *conn) fatal(e *ErrorInfo) {
	c.send(&ProtocolMessage{Action: ActionError, Error: e})
}

// handle acts on one client message; false ends the connection.
func (c *conn) handle(pm *ProtocolMessage) bool {
	switch pm.Action {
	case ActionHeartbeat:
		return c.send(&ProtocolMessage{Action: ActionHeartbeat, ID: pm.ID})
	case ActionAttach:
		return c.attach(pm)
	case ActionDetach:
		c.mu.Lock()
		a := c.channels[pm.Channel]
		delete(c.channels, pm.Channel)
		c.mu.Unlock()
		if a != nil {
			a.stop()
		}
		return c.send(&ProtocolMessage{Action: ActionDetached, Channel: pm.Channel})
	case ActionMessage:
		return c.message(pm)
	case ActionPresence:
		if pm.MsgSerial != nil {
			return c.send(&ProtocolMessage{Action: ActionNack, MsgSerial: pm.MsgSerial, Count: 1,
				Error: &ErrorInfo{Code: 40000, StatusCode: 400, Message: "presence is not supported by rtbench serve"}})
		}
		return true
	case ActionClose:
		c.send(&ProtocolMessage{Action: ActionClosed})
		c.ws.Close(websocket.StatusNormalClosure, "")
		return false
	case ActionDisconnect:
		c.ws.Close(websocket.StatusNormalClosure, "")
		return false
	}
	return true // AUTH and the rest: not served, and not fatal
}

func (c *conn) attach(pm *ProtocolMessage) bool {
	ch := pm.Channel
	modes := int64(flagModes)
	switch {
	case !pubsub.ValidChannel(ch):
		return c.send(&ProtocolMessage{Action: ActionError, Channel: ch, Error: errBadChannel(ch)})
	case !c.p.Capability.AllowsAny(ch):
		return c.send(&ProtocolMessage{Action: ActionError, Channel: ch, Error: errNotPermitted("attach", ch)})
	}
	if !c.p.Capability.Allows(ch, "subscribe") {
		modes &^= FlagModeSubscribe
	}
	if !c.p.Capability.Allows(ch, "publish") {
		modes &^= FlagModePublish
	}
	c.mu.Lock()
	a := c.channels[ch]
	c.mu.Unlock()
	if a != nil { // already attached: confirm
		return c.send(&ProtocolMessage{Action: ActionAttached, Channel: ch, Flags: modes | FlagResumed,
			ChannelSerial: channelSerial(c.h.instance, a.last.Load())})
	}
	c.mu.Lock()
	full := len(c.channels) >= MaxChannelsPerConnection
	c.mu.Unlock()
	if full {
		return c.send(&ProtocolMessage{Action: ActionError, Channel: ch, Error: &ErrorInfo{Code: 90010, StatusCode: 400,
			Message: "maximum number of channels per connection exceeded: " + strconv.Itoa(MaxChannelsPerConnection) + " attached; detach one first"}})
	}
	// Resume from the client's serial when it is one of this hub's, else
	// rewind N messages when asked (params.rewind), else from now.
	var after uint64
	resume, resumed := false, false
	if seq, ok := parseSerial(c.h.instance, pm.ChannelSerial); ok {
		after, resume, resumed = seq, true, true
	} else if n, err := strconv.ParseUint(pm.Params["rewind"], 10, 32); err == nil && n > 0 {
		if latest, _, err := c.h.Hub.Latest(ch); err == nil && latest != nil {
			after, resume = latest.Seq-min(latest.Seq, n), true
		}
	}
	sub, err := c.h.Hub.Subscribe(ch, after, resume)
	if err != nil {
		return c.send(&ProtocolMessage{Action: ActionError, Channel: ch, Error: hubError(ch, err)})
	}
	sub.SkipOwn = !c.echo
	a = &attachment{sub: sub, done: make(chan struct{})}
	a.last.Store(sub.Cursor())
	flags := modes
	if resumed {
		flags |= FlagResumed
	}
	serial := channelSerial(c.h.instance, sub.Cursor())
	if resume {
		// The ATTACHED serial is where delivery starts.
		serial = channelSerial(c.h.instance, after)
	}
	if !c.send(&ProtocolMessage{Action: ActionAttached, Channel: ch, Flags: flags, ChannelSerial: serial}) {
		sub.Close()
		return false
	}
	c.mu.Lock()
	c.channels[ch] = a
	c.mu.Unlock()
	a.wg.Go(func() { c.pump(ch, a) })
	return true
}

// pump sends the channel's messages as they are published.
func (c *conn) pump(ch string, a *attachment) {
	var buf []*pubsub.Message
	for {
		msgs, missed, changed := a.sub.Next(buf[:0])
		if missed > 0 {
			// The client fell further behind than the hub keeps: say so as
			// Ably does, with an ATTACHED that is not RESUMED.
			if !c.send(&ProtocolMessage{Action: ActionAttached, Channel: ch, Flags: int64(flagModes),
				ChannelSerial: channelSerial(c.h.instance, a.sub.Cursor()),
				Error:         &ErrorInfo{Code: 80020, StatusCode: 400, Message: strconv.FormatUint(missed, 10) + " messages were dropped before they could be delivered (the subscriber was too slow)"}}) {
				return
			}
		}
		if len(msgs) > 0 && !c.writeMessages(a, msgs) {
			return
		}
		clear(msgs)
		buf = msgs
		select {
		case <-changed:
		case <-a.done:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// message publishes a client's MESSAGE and answers ACK or NACK by its
// msgSerial.
func (c *conn) message(pm *ProtocolMessage) bool {
	if pm.MsgSerial == nil {
		c.fatal(&ErrorInfo{Code: 80013, StatusCode: 400, Message: "protocol error: MESSAGE without msgSerial"})
		return false
	}
	serial := *pm.MsgSerial
	var from uint64
	c.mu.Lock()
	if a := c.channels[pm.Channel]; a != nil {
		from = a.sub.ID
	}
	c.mu.Unlock()
	_, e := c.h.publishAll(c.p, pm.Channel, pm.Messages, c.id,
		func(i int) string { return c.id + ":" + strconv.FormatInt(serial, 10) + ":" + strconv.Itoa(i) }, from)
	if e != nil {
		return c.send(&ProtocolMessage{Action: ActionNack, MsgSerial: &serial, Count: 1, Error: e})
	}
	return c.send(&ProtocolMessage{Action: ActionAck, MsgSerial: &serial, Count: 1})
}
