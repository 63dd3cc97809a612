package ably

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport/pubsub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

// testServer serves h on a loopback port: GET / realtime, the REST routes.
func testServer(t *testing.T, h *Handler) (wsURL, httpURL string) {
	t.Helper()
	if h.Hub == nil {
		h.Hub = pubsub.New(pubsub.Options{})
	}
	mux := http.NewServeMux()
	h.Register(mux)
	mux.Handle("GET /{$}", h.Root(http.NotFoundHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/", srv.URL
}

// rawConn is a bare realtime connection speaking JSON.
type rawConn struct {
	t *testing.T
	c *websocket.Conn
}

func dialRaw(t *testing.T, wsURL, query string) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &rawConn{t: t, c: c}
}

func (r *rawConn) send(pm *ProtocolMessage) {
	r.t.Helper()
	b, _ := json.Marshal(pm)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.c.Write(ctx, websocket.MessageText, b); err != nil {
		r.t.Fatal(err)
	}
}

// next reads protocol messages until one with action a (HEARTBEATs the test
// did not ask for are skipped).
func (r *rawConn) next(a int) *ProtocolMessage {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, b, err := r.c.Read(ctx)
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", ActionName(a), err)
		}
		pm, err := DecodeProtocolMessage(b, JSON)
		if err != nil {
			r.t.Fatal(err)
		}
		if pm.Action == a {
			return pm
		}
		if pm.Action != ActionHeartbeat {
			r.t.Fatalf("got %s %s, want %s", ActionName(pm.Action), b, ActionName(a))
		}
	}
}

func serial(n int64) *int64 { return &n }

// TestRealtimeSession: CONNECTED with details, a ping answered with its id,
// ATTACHED with modes and a serial, a publish ACKed by its msgSerial and
// echoed with the next serial, a second connection resuming from the first
// serial gets the message again (RESUMED), DETACHED, CLOSED.
func TestRealtimeSession(t *testing.T) {
	ws, _ := testServer(t, &Handler{})
	a := dialRaw(t, ws, "key="+DefaultKey+"&format=json&heartbeats=true&v=6")
	conn := a.next(ActionConnected)
	if conn.ConnectionID == "" || conn.ConnectionDetails == nil || conn.ConnectionDetails.ConnectionKey == "" || conn.ConnectionDetails.MaxIdleInterval != 15000 {
		t.Fatalf("CONNECTED %+v", conn)
	}
	a.send(&ProtocolMessage{Action: ActionHeartbeat, ID: "ping-1"})
	if hb := a.next(ActionHeartbeat); hb.ID != "ping-1" {
		t.Errorf("heartbeat answered with id %q, want ping-1", hb.ID)
	}
	a.send(&ProtocolMessage{Action: ActionAttach, Channel: "room"})
	att := a.next(ActionAttached)
	if att.Flags&flagModes != flagModes || att.Flags&FlagResumed != 0 || att.ChannelSerial == "" {
		t.Errorf("ATTACHED %+v: want every mode, not resumed, a serial", att)
	}
	a.send(&ProtocolMessage{Action: ActionMessage, Channel: "room", MsgSerial: serial(0), Messages: []*Message{{Name: "greet", Data: Text("hi")}}})
	var ack, msg *ProtocolMessage
	for ack == nil || msg == nil { // the echo and the ACK may come in either order
		pm := a.nextAny()
		switch pm.Action {
		case ActionAck:
			ack = pm
		case ActionMessage:
			msg = pm
		}
	}
	if ack.MsgSerial == nil || *ack.MsgSerial != 0 || ack.Count != 1 {
		t.Errorf("ACK %+v, want msgSerial 0 count 1", ack)
	}
	if len(msg.Messages) != 1 || msg.Messages[0].Name != "greet" || string(msg.Messages[0].Data.B) != "hi" ||
		msg.Messages[0].ID != conn.ConnectionID+":0:0" || msg.Messages[0].ConnectionID != conn.ConnectionID || msg.ChannelSerial == att.ChannelSerial {
		t.Errorf("echo %+v %+v", msg, msg.Messages)
	}

	b := dialRaw(t, ws, "key="+DefaultKey)
	b.next(ActionConnected)
	b.send(&ProtocolMessage{Action: ActionAttach, Channel: "room", ChannelSerial: att.ChannelSerial})
	if att2 := b.next(ActionAttached); att2.Flags&FlagResumed == 0 {
		t.Errorf("re-attach from a serial of this server: flags %b, want RESUMED", att2.Flags)
	}
	if m := b.next(ActionMessage); m.ChannelSerial != msg.ChannelSerial {
		t.Errorf("resumed delivery: serial %s, want %s", m.ChannelSerial, msg.ChannelSerial)
	}
	b.send(&ProtocolMessage{Action: ActionAttach, Channel: "other", ChannelSerial: "another-server:7"})
	if att3 := b.next(ActionAttached); att3.Flags&FlagResumed != 0 {
		t.Errorf("a serial of another server resumed (flags %b)", att3.Flags)
	}

	a.send(&ProtocolMessage{Action: ActionDetach, Channel: "room"})
	if d := a.next(ActionDetached); d.Channel != "room" {
		t.Errorf("DETACHED %+v", d)
	}
	a.send(&ProtocolMessage{Action: ActionClose})
	a.next(ActionClosed)
}

func (r *rawConn) nextAny() *ProtocolMessage {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := r.c.Read(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	pm, err := DecodeProtocolMessage(b, JSON)
	if err != nil {
		r.t.Fatal(err)
	}
	return pm
}

// TestRealtimeRefusals: the errors the SDKs act on, by code.
func TestRealtimeRefusals(t *testing.T) {
	h := &Handler{}
	ws, _ := testServer(t, h)
	subOnly := h.kr.issue(h.kr.keys[0], tokenClaims{KeyName: "rtbench.local", Expires: time.Now().Add(time.Hour).UnixMilli(), Capability: `{"news":["subscribe"]}`}).Token
	expired := h.kr.issue(h.kr.keys[0], tokenClaims{KeyName: "rtbench.local", Expires: time.Now().Add(-time.Second).UnixMilli()}).Token

	for _, c := range []struct {
		name, query string
		code        int
	}{
		{"no credentials", "format=json", 40101},
		{"wrong secret", "key=rtbench.local:wrong", 40101},
		{"unknown key", "key=x.y:rtbench-local-secret", 40101},
		{"forged token", "access_token=rtb1.e30.AAAA", 40143},
		{"expired token", "access_token=" + expired, 40142},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, ws, c.query)
			if e := r.next(ActionError); e.Error == nil || e.Error.Code != c.code || e.Channel != "" {
				t.Errorf("ERROR %+v, want a connection error %d", e.Error, c.code)
			}
		})
	}

	r := dialRaw(t, ws, "access_token="+subOnly)
	r.next(ActionConnected)
	r.send(&ProtocolMessage{Action: ActionAttach, Channel: "secret"})
	if e := r.next(ActionError); e.Channel != "secret" || e.Error.Code != 40160 {
		t.Errorf("attach beyond the capability: %+v %+v, want a channel ERROR 40160", e, e.Error)
	}
	r.send(&ProtocolMessage{Action: ActionAttach, Channel: "news"})
	if a := r.next(ActionAttached); a.Flags&FlagModePublish != 0 || a.Flags&FlagModeSubscribe == 0 {
		t.Errorf("subscribe-only modes %b", a.Flags)
	}
	r.send(&ProtocolMessage{Action: ActionMessage, Channel: "news", MsgSerial: serial(5), Messages: []*Message{{Data: Text("x")}}})
	if n := r.next(ActionNack); *n.MsgSerial != 5 || n.Error.Code != 40160 {
		t.Errorf("publish beyond the capability: %+v %+v, want NACK 5 with 40160", n, n.Error)
	}
	r.send(&ProtocolMessage{Action: ActionAttach, Channel: "bad channel!"})
	if e := r.next(ActionError); e.Error.Code != 40010 {
		t.Errorf("bad channel name: %+v", e.Error)
	}
}

// TestRealtimeReattach: an ATTACH for a channel already attached is
// answered with ATTACHED (RESUMED) at the last serial delivered, while the
// channel's messages keep flowing (run with -race: the answer must not
// read the subscription the pump owns).
func TestRealtimeReattach(t *testing.T) {
	ws, _ := testServer(t, &Handler{})
	a := dialRaw(t, ws, "key="+DefaultKey)
	a.next(ActionConnected)
	a.send(&ProtocolMessage{Action: ActionAttach, Channel: "busy"})
	a.next(ActionAttached)
	a.send(&ProtocolMessage{Action: ActionMessage, Channel: "busy", MsgSerial: serial(0), Messages: []*Message{{Data: Text("1")}}})
	var last string
	for got := 0; got < 2; { // the echo and the ACK
		pm := a.nextAny()
		if pm.Action == ActionMessage {
			last = pm.ChannelSerial
		}
		if pm.Action == ActionMessage || pm.Action == ActionAck {
			got++
		}
	}
	a.send(&ProtocolMessage{Action: ActionAttach, Channel: "busy"})
	if att := a.next(ActionAttached); att.Flags&FlagResumed == 0 || att.ChannelSerial != last {
		t.Errorf("re-ATTACHED %+v, want RESUMED at %s", att, last)
	}
}

// TestRealtimeChannelCap: a connection attaches at most
// MaxChannelsPerConnection channels; the next is refused with 90010 and
// the connection goes on.
func TestRealtimeChannelCap(t *testing.T) {
	ws, _ := testServer(t, &Handler{})
	r := dialRaw(t, ws, "key="+DefaultKey)
	r.next(ActionConnected)
	for i := range MaxChannelsPerConnection {
		r.send(&ProtocolMessage{Action: ActionAttach, Channel: fmt.Sprint("c", i)})
		r.next(ActionAttached)
	}
	r.send(&ProtocolMessage{Action: ActionAttach, Channel: "one-more"})
	if e := r.next(ActionError); e.Channel != "one-more" || e.Error.Code != 90010 {
		t.Errorf("%+v %+v, want a channel ERROR 90010", e, e.Error)
	}
	r.send(&ProtocolMessage{Action: ActionHeartbeat, ID: "still"})
	r.next(ActionHeartbeat)
}
