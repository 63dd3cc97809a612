package pusher_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/pusher"
)

// wait bounds every wait on the network; reaching it fails a test.
const wait = 10 * time.Second

var testApp = pusher.App{ID: "42", Key: "test-key", Secret: "test-secret"}

func startServer(t *testing.T) (*mock.Server, string) {
	t.Helper()
	return mocktest.Start(t, mock.Config{PusherApps: []pusher.App{testApp}})
}

type peer struct {
	t        *testing.T
	c        *websocket.Conn
	socketID string
}

func dial(t *testing.T, base, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// connect opens a socket and reads connection_established.
func connect(t *testing.T, base string) *peer {
	t.Helper()
	p := &peer{t: t, c: dial(t, base, "/app/"+testApp.Key+"?protocol=7&client=test&version=1")}
	f := p.next()
	if f.Event != pusher.EventConnectionEstablished {
		t.Fatalf("first message %q, want %s", f.Event, pusher.EventConnectionEstablished)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := f.DataObject(&d); err != nil || d.SocketID == "" || d.ActivityTimeout != 120 {
		t.Fatalf("connection_established data %s (%v): want socket_id and activity_timeout 120", f.Data, err)
	}
	if f.Data[0] != '"' {
		t.Errorf("connection_established data is %s, want a JSON-encoded string", f.Data)
	}
	p.socketID = d.SocketID
	return p
}

func (p *peer) next() pusher.Frame {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := p.c.Read(ctx)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	f, err := pusher.Decode(b)
	if err != nil {
		p.t.Fatalf("decode %s: %v", b, err)
	}
	return f
}

func (p *peer) send(v any) {
	p.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageText, b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *peer) subscribe(channel, auth, channelData string) pusher.Frame {
	p.t.Helper()
	d := map[string]string{"channel": channel}
	if auth != "" {
		d["auth"] = auth
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	p.send(map[string]any{"event": pusher.EventSubscribe, "data": d})
	return p.next()
}

// errorOf reads a pusher:error's code and message.
func errorOf(t *testing.T, f pusher.Frame) (code *int, msg string) {
	t.Helper()
	if f.Event != pusher.EventError {
		t.Fatalf("got %s %s, want pusher:error", f.Event, f.Data)
	}
	var d struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := f.DataObject(&d); err != nil {
		t.Fatalf("pusher:error data %s: %v", f.Data, err)
	}
	return d.Code, d.Message
}

// api sends a signed request to the HTTP API; mutate may change the
// signed query before it is sent.
func api(t *testing.T, base, method, path string, params url.Values, body any, at time.Time, mutate func(url.Values)) (int, string) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	q := pusher.SignRequest(testApp, method, path, params, b, at)
	if mutate != nil {
		mutate(q)
	}
	req, _ := http.NewRequest(method, base+path+"?"+q.Encode(), bytes.NewReader(b))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(rb))
}

func trigger(t *testing.T, base, channel, event, data string) {
	t.Helper()
	st, body := api(t, base, "POST", "/apps/42/events", nil, map[string]any{"name": event, "channels": []string{channel}, "data": data}, time.Now(), nil)
	if st != 200 || body != "{}" {
		t.Fatalf("trigger: %d %s", st, body)
	}
}

func TestConnectRefused(t *testing.T) {
	_, base := startServer(t)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/app/nope?protocol=7", pusher.CodeAppNotFound},
		{"/app/test-key", pusher.CodeNoProtocol},
		{"/app/test-key?protocol=x", pusher.CodeBadVersionFormat},
		{"/app/test-key?protocol=4", pusher.CodeUnsupportedVersion},
		{"/app/test-key?protocol=8", pusher.CodeUnsupportedVersion},
	} {
		t.Run(tc.path, func(t *testing.T) {
			p := &peer{t: t, c: dial(t, base, tc.path)}
			code, _ := errorOf(t, p.next())
			if code == nil || *code != tc.code {
				t.Fatalf("pusher:error code %v, want %d", code, tc.code)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_, _, err := p.c.Read(ctx)
			if cs := websocket.CloseStatus(err); int(cs) != tc.code {
				t.Fatalf("closed with %v (%v), want %d", cs, err, tc.code)
			}
		})
	}
}

func TestPingPong(t *testing.T) {
	_, base := startServer(t)
	p := connect(t, base)
	p.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	if f := p.next(); f.Event != pusher.EventPong {
		t.Fatalf("got %s, want pusher:pong", f.Event)
	}
}

// An event triggered through the HTTP API reaches a Pusher subscriber with
// its data as a string and serve's stamps, and the hub's other doors see
// it; a message published on /api/publish reaches the Pusher subscriber as
// the "message" event.
func TestPublicChannelAndHub(t *testing.T) {
	srv, base := startServer(t)
	p := connect(t, base)
	if f := p.subscribe("news", "", ""); f.Event != pusher.EventSubscriptionSucceeded || f.Channel != "news" {
		t.Fatalf("got %s on %q, want subscription_succeeded on news", f.Event, f.Channel)
	}
	hubSub, err := srv.Hub().Subscribe("news", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer hubSub.Close()

	before := time.Now().UnixNano()
	trigger(t, base, "news", "update", `{"some":"data"}`)
	f := p.next()
	if f.Event != "update" || f.Channel != "news" || string(f.Data) != `"{\"some\":\"data\"}"` {
		t.Fatalf("got %s on %s with data %s", f.Event, f.Channel, f.Data)
	}
	if f.Seq != 1 || f.SchedNS < before || f.SentNS < f.SchedNS {
		t.Errorf("stamps seq=%d sched_ns=%d sent_ns=%d, want seq 1 and sched ≤ sent after %d", f.Seq, f.SchedNS, f.SentNS, before)
	}
	msgs, _, _ := hubSub.Next(nil)
	if len(msgs) != 1 || string(msgs[0].Data) != `{"event":"update","data":{"some":"data"}}` {
		t.Fatalf("hub subscriber got %d messages: %v", len(msgs), msgs)
	}

	resp, err := http.Post(base+"/api/publish", "application/json", strings.NewReader(`{"channel":"news","data":{"text":"hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f = p.next()
	if f.Event != pusher.DefaultEvent || string(f.DataText()) != `{"text":"hi"}` || f.Seq != 2 {
		t.Fatalf("got %s seq %d data %s, want message seq 2 {\"text\":\"hi\"}", f.Event, f.Seq, f.DataText())
	}

	// Plain text data stays text; socket_id excludes that socket.
	trigger(t, base, "news", "plain", "hello")
	if f = p.next(); string(f.Data) != `"hello"` {
		t.Fatalf("plain data %s, want \"hello\"", f.Data)
	}
	st, body := api(t, base, "POST", "/apps/42/events", nil, map[string]any{"name": "skip", "channel": "news", "data": "x", "socket_id": p.socketID}, time.Now(), nil)
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	trigger(t, base, "news", "after", "y")
	if f = p.next(); f.Event != "after" {
		t.Fatalf("got %s, want the excluded socket to skip \"skip\" and get \"after\"", f.Event)
	}
}

func TestPrivateChannelAuth(t *testing.T) {
	_, base := startServer(t)
	p := connect(t, base)
	if _, msg := errorOf(t, p.subscribe("private-room", "", "")); !strings.Contains(msg, "Auth info required") {
		t.Errorf("no auth: %q", msg)
	}
	wrong := pusher.ChannelAuth(pusher.App{Key: testApp.Key, Secret: "other"}, p.socketID, "private-room", "")
	if _, msg := errorOf(t, p.subscribe("private-room", wrong, "")); !strings.HasPrefix(msg, "Invalid signature: Expected HMAC SHA256 hex digest of "+p.socketID+":private-room") {
		t.Errorf("wrong auth: %q", msg)
	}
	other := pusher.ChannelAuth(testApp, "1.1", "private-room", "") // another socket's
	if _, msg := errorOf(t, p.subscribe("private-room", other, "")); !strings.HasPrefix(msg, "Invalid signature") {
		t.Errorf("another socket's auth: %q", msg)
	}
	if f := p.subscribe("private-room", pusher.ChannelAuth(testApp, p.socketID, "private-room", ""), ""); f.Event != pusher.EventSubscriptionSucceeded {
		t.Fatalf("right auth: %s %s", f.Event, f.Data)
	}
	// Client events: refused on public channels, delivered to others only.
	p.send(map[string]any{"event": "client-x", "channel": "news", "data": map[string]any{}})
	if _, msg := errorOf(t, p.next()); !strings.Contains(msg, "only supported on private and presence channels") {
		t.Errorf("public client event: %q", msg)
	}
}

func presenceData(id string, info any) string {
	b, _ := json.Marshal(map[string]any{"user_id": id, "user_info": info})
	return string(b)
}

func TestPresenceAndClientEvents(t *testing.T) {
	_, base := startServer(t)
	const ch = "presence-room"
	a, b := connect(t, base), connect(t, base)
	cdA := presenceData("alice", map[string]string{"name": "Alice"})
	f := a.subscribe(ch, pusher.ChannelAuth(testApp, a.socketID, ch, cdA), cdA)
	if f.Event != pusher.EventSubscriptionSucceeded || string(f.DataText()) != `{"presence":{"ids":["alice"],"hash":{"alice":{"name":"Alice"}},"count":1}}` {
		t.Fatalf("alice: %s %s", f.Event, f.DataText())
	}
	// The channel data is signed: another user's with alice's signature fails.
	cdB := presenceData("bob", nil)
	if _, msg := errorOf(t, b.subscribe(ch, pusher.ChannelAuth(testApp, b.socketID, ch, cdA), cdB)); !strings.HasPrefix(msg, "Invalid signature") {
		t.Fatalf("forged channel_data: %q", msg)
	}
	f = b.subscribe(ch, pusher.ChannelAuth(testApp, b.socketID, ch, cdB), cdB)
	if string(f.DataText()) != `{"presence":{"ids":["alice","bob"],"hash":{"alice":{"name":"Alice"},"bob":null},"count":2}}` {
		t.Fatalf("bob: %s", f.DataText())
	}
	if f = a.next(); f.Event != pusher.EventMemberAdded || string(f.DataText()) != `{"user_id":"bob"}` {
		t.Fatalf("alice got %s %s, want member_added bob", f.Event, f.DataText())
	}

	st, body := api(t, base, "GET", "/apps/42/channels/"+ch+"/users", nil, nil, time.Now(), nil)
	if st != 200 || body != `{"users":[{"id":"alice"},{"id":"bob"}]}` {
		t.Errorf("users: %d %s", st, body)
	}
	st, body = api(t, base, "GET", "/apps/42/channels/"+ch, url.Values{"info": {"user_count,subscription_count"}}, nil, time.Now(), nil)
	if st != 200 || body != `{"occupied":true,"subscription_count":2,"user_count":2}` {
		t.Errorf("channel: %d %s", st, body)
	}
	st, body = api(t, base, "GET", "/apps/42/channels", url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}}, nil, time.Now(), nil)
	if st != 200 || body != `{"channels":{"presence-room":{"user_count":2}}}` {
		t.Errorf("channels: %d %s", st, body)
	}

	a.send(map[string]any{"event": "client-typing", "channel": ch, "data": map[string]any{"text": "hi"}})
	f = b.next()
	if f.Event != "client-typing" || f.UserID != "alice" || string(f.DataText()) != `{"text":"hi"}` {
		t.Fatalf("bob got %s from %q: %s", f.Event, f.UserID, f.DataText())
	}
	// Alice does not get her own event back: the next thing she sees is
	// bob leaving.
	b.c.Close(websocket.StatusNormalClosure, "")
	if f = a.next(); f.Event != pusher.EventMemberRemoved || string(f.DataText()) != `{"user_id":"bob"}` {
		t.Fatalf("alice got %s %s, want member_removed bob", f.Event, f.DataText())
	}
}

func TestHTTPAPIRefusals(t *testing.T) {
	_, base := startServer(t)
	ev := map[string]any{"name": "e", "channels": []string{"c"}, "data": "x"}
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		at     time.Time
		mutate func(url.Values)
		status int
		want   string
	}{
		{"wrong signature", "/apps/42/events", ev, time.Now(), func(q url.Values) { q.Set("auth_signature", strings.Repeat("a", 64)) },
			401, `Invalid signature: you should have sent HmacSHA256Hex("POST\n/apps/42/events\nauth_key=test-key&auth_timestamp=`},
		{"stale timestamp", "/apps/42/events", ev, time.Now().Add(-11 * time.Minute), nil, 401, "Timestamp expired: Given timestamp ("},
		{"unknown app", "/apps/7/events", ev, time.Now(), nil, 404, `Unknown app "7"`},
		{"no name", "/apps/42/events", map[string]any{"channels": []string{"c"}, "data": "x"}, time.Now(), nil, 400, `Missing "name"`},
		{"data too large", "/apps/42/events", map[string]any{"name": "e", "channel": "c", "data": strings.Repeat("x", pusher.MaxEventData+1)}, time.Now(), nil, 413, "Payload too large"},
		{"bad channel", "/apps/42/events", map[string]any{"name": "e", "channel": "a b", "data": "x"}, time.Now(), nil, 400, "Invalid channel name"},
		{"batch too large", "/apps/42/batch_events", map[string]any{"batch": make([]map[string]any, 11)}, time.Now(), nil, 400, "Batch too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := api(t, base, "POST", tc.path, nil, tc.body, tc.at, tc.mutate)
			if st != tc.status || !strings.HasPrefix(body, tc.want) {
				t.Fatalf("%d %s\nwant %d %s…", st, body, tc.status, tc.want)
			}
		})
	}
}

func TestBatchEvents(t *testing.T) {
	_, base := startServer(t)
	p := connect(t, base)
	p.subscribe("b1", "", "")
	st, body := api(t, base, "POST", "/apps/42/batch_events", nil, map[string]any{"batch": []map[string]any{
		{"channel": "b1", "name": "one", "data": "1"},
		{"channel": "b1", "name": "two", "data": "2"},
	}}, time.Now(), nil)
	if st != 200 || body != "{}" {
		t.Fatalf("%d %s", st, body)
	}
	for _, want := range []string{"one", "two"} {
		if f := p.next(); f.Event != want {
			t.Fatalf("got %s, want %s", f.Event, want)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		err  error
		want pusher.Frame
	}{
		{`{"event":"e","channel":"c","data":"{}"}`, nil, pusher.Frame{Event: "e", Channel: "c", Data: json.RawMessage(`"{}"`)}},
		{`{"event":"e","data":null}`, nil, pusher.Frame{Event: "e"}},
		{`[1]`, pusher.ErrNotObject, pusher.Frame{}},
		{`{"channel":"c"}`, pusher.ErrNoEvent, pusher.Frame{}},
		{`{"event":1}`, pusher.ErrNoEvent, pusher.Frame{}},
		{`{"event":"e","channel":1}`, pusher.ErrBadChannel, pusher.Frame{}},
		{"{\"event\":\"\xff\"}", pusher.ErrFrameUTF8, pusher.Frame{}},
	} {
		got, err := pusher.Decode([]byte(tc.in))
		if !errors.Is(err, tc.err) {
			t.Errorf("Decode(%s) err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (got.Event != tc.want.Event || got.Channel != tc.want.Channel || string(got.Data) != string(tc.want.Data)) {
			t.Errorf("Decode(%s) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// serveMock starts serve's handlers with testApp; shutdown closes the
// server gracefully and is idempotent (it also runs at cleanup).
func serveMock(t *testing.T) (base string, shutdown func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := mock.New(mock.Config{PusherApps: []pusher.App{testApp}})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	var once sync.Once
	shutdown = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Close(ctx)
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("mock Serve: %v", err)
			}
		})
	}
	t.Cleanup(shutdown)
	return "http://" + ln.Addr().String(), shutdown
}

// One connection holds at most MaxSubscriptions channels; unsubscribing
// makes room again.
func TestSubscriptionCap(t *testing.T) {
	_, base := startServer(t)
	p := connect(t, base)
	for i := range pusher.MaxSubscriptions {
		if f := p.subscribe(fmt.Sprintf("c%d", i), "", ""); f.Event != pusher.EventSubscriptionSucceeded {
			t.Fatalf("subscription %d: %s %s", i, f.Event, f.Data)
		}
	}
	if _, msg := errorOf(t, p.subscribe("one-more", "", "")); !strings.Contains(msg, "subscribed to 100 channels already") {
		t.Fatalf("over the cap: %q", msg)
	}
	p.send(map[string]any{"event": pusher.EventUnsubscribe, "data": map[string]string{"channel": "c0"}})
	if f := p.subscribe("one-more", "", ""); f.Event != pusher.EventSubscriptionSucceeded {
		t.Fatalf("after unsubscribing: %s %s", f.Event, f.Data)
	}
}
