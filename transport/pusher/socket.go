package pusher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Close and error codes of the protocol (4000–4099: do not reconnect,
// 4100–4199: reconnect after a while, 4200–4299: reconnect at once).
const (
	CodeAppNotFound        = 4001
	CodeBadVersionFormat   = 4006
	CodeUnsupportedVersion = 4007
	CodeNoProtocol         = 4008
	CodeReconnect          = 4200
	CodePongTimeout        = 4201
)

// Protocol versions the server speaks (5 to 7 differ in nothing it uses).
const (
	minVersion = 5
	maxVersion = 7
)

var pongFrame = []byte(`{"event":"pusher:pong","data":"{}"}`)
var pingFrame = []byte(`{"event":"pusher:ping","data":"{}"}`)

// subscription is one socket's subscription to one channel.
type subscription struct {
	channel  string
	hub      *pubsub.Subscription
	userID   string          // presence channels
	userInfo json.RawMessage // presence channels
	stop     chan struct{}
	done     chan struct{}
}

// socket is one open connection. Its reader (the handler's goroutine)
// handles what the client sends; one goroutine per subscription delivers
// the channel's messages, and one keeps the connection alive. Writes are
// serialised by wmu, each with a deadline on the raw connection.
type socket struct {
	s    *Server
	app  App
	id   string
	conn *websocket.Conn
	raw  *pubsub.BatchConn // under conn: deadlines, and a backlog written in one go

	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex
	last   atomic.Int64 // Unix ns of the last message from the client
	subs   map[string]*subscription
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		writeJSONError(w, http.StatusUpgradeRequired, "/app/{key} is Pusher's WebSocket endpoint: connect with a Pusher client (pusher-js: wsHost, wsPort, forceTLS: false)")
		return
	}
	rec := &pubsub.Hijacker{ResponseWriter: w}
	conn, err := websocket.Accept(rec, r, &websocket.AcceptOptions{
		OriginPatterns:     s.OriginPatterns,
		InsecureSkipVerify: len(s.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	if rec.Conn == nil {
		conn.CloseNow()
		return
	}
	rec.Conn.SetDeadline(time.Time{})
	defer s.Stats.Opened(transport.WS)()
	conn.SetReadLimit(MaxFrame)

	so := &socket{s: s, conn: conn, raw: rec.Conn, subs: make(map[string]*subscription)}
	app, ok := s.appByKey(r.PathValue("key"))
	if !ok {
		so.refuse(CodeAppNotFound, "App key "+r.PathValue("key")+" does not exist on this server")
		return
	}
	if code, msg := checkVersion(r.URL.Query().Get("protocol")); code != 0 {
		so.refuse(code, msg)
		return
	}
	so.app = app
	so.ctx, so.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	s.nextID++
	so.id = strconv.FormatInt(time.Now().UnixNano()%1e9, 10) + "." + strconv.FormatUint(s.nextID, 10)
	s.sockets[so.id] = so
	s.mu.Unlock()
	so.last.Store(time.Now().UnixNano())

	stopShutdown := context.AfterFunc(r.Context(), func() {
		conn.Close(websocket.StatusCode(CodeReconnect), "server shutting down")
	})
	defer stopShutdown()

	activity := or(s.ActivityTimeout, DefaultActivityTimeout)
	est, _ := json.Marshal(map[string]any{"socket_id": so.id, "activity_timeout": int(activity / time.Second)})
	if so.write(appendFrame(nil, EventConnectionEstablished, "", est, false)) == nil {
		var wg sync.WaitGroup
		wg.Go(func() { so.keepalive(activity, or(s.PongTimeout, DefaultPongTimeout)) })
		so.read()
		so.cancel()
		wg.Wait()
	}
	so.cancel()
	so.leaveAll()
	s.mu.Lock()
	delete(s.sockets, so.id)
	s.mu.Unlock()
	conn.CloseNow()
}

func or(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// checkVersion checks the protocol query parameter.
func checkVersion(v string) (int, string) {
	if v == "" {
		return CodeNoProtocol, "No protocol version supplied: connect with ?protocol=7"
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return CodeBadVersionFormat, "Invalid version string format: protocol=" + v
	}
	if n < minVersion || n > maxVersion {
		return CodeUnsupportedVersion, fmt.Sprintf("Unsupported protocol version %d: this server speaks %d to %d", n, minVersion, maxVersion)
	}
	return 0, ""
}

// refuse sends pusher:error with code and closes with it.
func (so *socket) refuse(code int, msg string) {
	so.write(errorFrame(code, msg))
	so.conn.Close(websocket.StatusCode(code), truncate(msg, 123))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// write sends one text frame within the write timeout.
func (so *socket) write(b []byte) error {
	so.wmu.Lock()
	defer so.wmu.Unlock()
	so.raw.SetWriteDeadline(time.Now().Add(or(so.s.WriteTimeout, DefaultWriteTimeout)))
	err := so.conn.Write(context.Background(), websocket.MessageText, b)
	if err != nil && so.cancel != nil {
		so.cancel()
	}
	return err
}

// writeBatch writes one frame per message, in one write system call.
func (so *socket) writeBatch(msgs []*pubsub.Message, out *[]byte) error {
	so.wmu.Lock()
	defer so.wmu.Unlock()
	so.raw.Cork()
	var err error
	for _, m := range msgs {
		b := append(append((*out)[:0], so.s.frame(m)...), strconv.AppendInt(nil, time.Now().UnixNano(), 10)...)
		b = append(b, '}')
		*out = b
		if err = so.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
			break
		}
		so.s.Stats.Sent(transport.WS, len(b))
	}
	so.raw.SetWriteDeadline(time.Now().Add(or(so.s.WriteTimeout, DefaultWriteTimeout)))
	if uerr := so.raw.Uncork(); err == nil {
		err = uerr
	}
	if err != nil {
		so.cancel()
	}
	return err
}

// read handles the client's messages until the connection ends.
func (so *socket) read() {
	for {
		typ, b, err := so.conn.Read(context.Background())
		if err != nil {
			return
		}
		so.last.Store(time.Now().UnixNano())
		if typ != websocket.MessageText {
			so.write(errorFrame(0, "binary frames are not supported: send JSON text"))
			continue
		}
		f, err := Decode(b)
		if err != nil {
			so.write(errorFrame(0, "invalid message: "+err.Error()))
			continue
		}
		so.handle(f)
	}
}

func (so *socket) handle(f Frame) {
	switch {
	case f.Event == EventPing:
		so.write(pongFrame)
	case f.Event == EventPong:
	case f.Event == EventSubscribe:
		so.subscribe(f)
	case f.Event == EventUnsubscribe:
		var d struct {
			Channel string `json:"channel"`
		}
		if f.DataObject(&d) == nil {
			so.leave(d.Channel)
		}
	case strings.HasPrefix(f.Event, "client-"):
		so.clientEvent(f)
	default:
		so.write(errorFrame(0, "Unsupported event received: "+f.Event))
	}
}

// subscribe handles pusher:subscribe: the name, the auth signature of a
// private or presence channel, then the hub subscription, the presence
// roster and subscription_succeeded, then the channel's delivery.
func (so *socket) subscribe(f Frame) {
	var d struct {
		Channel     string `json:"channel"`
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := f.DataObject(&d); err != nil || d.Channel == "" {
		so.write(errorFrame(0, `pusher:subscribe needs data {"channel":NAME}`))
		return
	}
	ch := d.Channel
	if !pubsub.ValidChannel(ch) {
		so.write(errorFrame(0, "Invalid channel name "+strconv.Quote(ch)+": rtbench serve takes 1-128 characters of A-Z a-z 0-9 _ - . :"))
		return
	}
	if _, ok := so.subs[ch]; ok {
		so.write(appendFrame(nil, EventSubscriptionSucceeded, ch, []byte("{}"), false))
		return
	}
	if len(so.subs) >= MaxSubscriptions {
		so.write(errorFrame(0, fmt.Sprintf("Cannot subscribe to %s: this connection is subscribed to %d channels already, the most rtbench serve allows", ch, MaxSubscriptions)))
		return
	}
	kind := KindOf(ch)
	sub := &subscription{channel: ch, stop: make(chan struct{}), done: make(chan struct{})}
	if kind != Public {
		if d.Auth == "" {
			so.write(errorFrame(0, "Auth info required to subscribe to "+ch))
			return
		}
		cd := ""
		if kind == Presence {
			cd = d.ChannelData
		}
		if want := ChannelAuth(so.app, so.id, ch, cd); d.Auth != want {
			signed := so.id + ":" + ch
			if cd != "" {
				signed += ":" + cd
			}
			_, got, _ := strings.Cut(d.Auth, ":")
			so.write(errorFrame(0, "Invalid signature: Expected HMAC SHA256 hex digest of "+signed+", but got "+got))
			return
		}
		if kind == Presence {
			var u struct {
				UserID   json.RawMessage `json:"user_id"`
				UserInfo json.RawMessage `json:"user_info"`
			}
			if err := json.Unmarshal([]byte(cd), &u); err != nil || len(u.UserID) == 0 {
				so.write(errorFrame(0, "Invalid channel_data for "+ch+`: want a JSON object with "user_id"`))
				return
			}
			sub.userID = string(dataText(u.UserID))
			if string(u.UserInfo) != "null" {
				sub.userInfo = u.UserInfo
			}
		}
	}
	hs, err := so.s.Hub.Subscribe(ch, 0, false)
	if err != nil {
		so.write(errorFrame(0, "cannot subscribe to "+ch+": "+err.Error()))
		return
	}
	hs.SkipOwn = true
	sub.hub = hs
	so.subs[ch] = sub
	added := so.s.joined(so, ch, sub)
	data := []byte("{}")
	if kind == Presence {
		data = so.s.presenceData(ch)
		if added {
			m, _ := json.Marshal(struct {
				UserID   string          `json:"user_id"`
				UserInfo json.RawMessage `json:"user_info,omitempty"`
			}{sub.userID, sub.userInfo})
			so.announce(ch, appendFrame(nil, EventMemberAdded, ch, m, false))
		}
	}
	so.write(appendFrame(nil, EventSubscriptionSucceeded, ch, data, false))
	go so.deliver(sub)
}

// announce sends b to every other socket subscribed to channel.
func (so *socket) announce(channel string, b []byte) {
	for _, o := range so.s.others(so, channel) {
		o.write(b)
	}
}

// deliver writes the channel's messages to the socket until the
// subscription or the socket ends. The messages published since the last
// wake-up (more than one when the server is behind) leave in one write.
func (so *socket) deliver(sub *subscription) {
	defer close(sub.done)
	var (
		msgs []*pubsub.Message
		out  []byte
	)
	for {
		var changed <-chan struct{}
		msgs, _, changed = sub.hub.Next(msgs[:0])
		if len(msgs) > 0 && so.writeBatch(msgs, &out) != nil {
			return
		}
		clear(msgs)
		select {
		case <-changed:
		case <-sub.stop:
			return
		case <-so.ctx.Done():
			return
		}
	}
}

// leave ends the subscription to channel, announcing a presence member who
// left.
func (so *socket) leave(channel string) {
	sub := so.subs[channel]
	if sub == nil {
		return
	}
	delete(so.subs, channel)
	close(sub.stop)
	<-sub.done
	sub.hub.Close()
	if _, removed := so.s.left(so, channel); removed {
		m, _ := json.Marshal(map[string]string{"user_id": sub.userID})
		so.announce(channel, appendFrame(nil, EventMemberRemoved, channel, m, false))
	}
}

func (so *socket) leaveAll() {
	for ch := range so.subs {
		so.leave(ch)
	}
}

// clientEvent publishes a client-* event of a private or presence channel
// the socket is subscribed to, to every other subscriber of the channel.
func (so *socket) clientEvent(f Frame) {
	sub := so.subs[f.Channel]
	switch {
	case KindOf(f.Channel) == Public:
		so.write(errorFrame(0, "Client event rejected - only supported on private and presence channels"))
		return
	case sub == nil:
		so.write(errorFrame(0, "Client event rejected - not subscribed to "+f.Channel))
		return
	case len(f.Data) > MaxEventData:
		so.write(errorFrame(0, fmt.Sprintf("Client event rejected - data larger than %d bytes", MaxEventData)))
		return
	case len(f.Event) > MaxEventName:
		so.write(errorFrame(0, fmt.Sprintf("Client event rejected - event name longer than %d characters", MaxEventName)))
		return
	}
	data := f.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	if _, _, err := so.s.Hub.Publish(f.Channel, toHub(f.Event, data, sub.userID), sub.hub.ID); err != nil {
		so.write(errorFrame(0, "Client event rejected - "+err.Error()))
		return
	}
	so.s.Stats.Published()
}

// keepalive pings a client silent for activity and closes the connection
// with 4201 when no message follows within pong.
func (so *socket) keepalive(activity, pong time.Duration) {
	t := time.NewTimer(activity)
	defer t.Stop()
	var pinged int64
	for {
		select {
		case <-so.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		last := so.last.Load()
		if pinged != 0 && last <= pinged {
			so.conn.Close(websocket.StatusCode(CodePongTimeout), "Pong reply not received")
			return
		}
		pinged = 0
		if idle := time.Duration(now - last); idle < activity {
			t.Reset(activity - idle)
			continue
		}
		if so.write(pingFrame) != nil {
			return
		}
		pinged = now
		t.Reset(pong)
	}
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
