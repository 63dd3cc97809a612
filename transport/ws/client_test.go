package ws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// never is a policy that ends the session at the first end of a connection.
var never = transport.Reconnect{Policy: transport.PolicyNever}

// fast reconnects within milliseconds.
func fast(p transport.Policy) transport.Reconnect {
	return transport.Reconnect{Policy: p, Initial: 2 * time.Millisecond, Floor: time.Millisecond, Cap: 5 * time.Millisecond}
}

// rec is a Recorder that also signals each Connected.
type rec struct {
	transporttest.Recorder
	connected chan struct{}
}

func newRec() *rec { return &rec{connected: make(chan struct{}, 64)} }

func (r *rec) Connected(c *transport.Connect) {
	r.Recorder.Connected(c)
	r.connected <- struct{}{}
}

// waitConnected waits for n more connections.
func (r *rec) waitConnected(t testing.TB, n int) {
	t.Helper()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for range n {
		select {
		case <-r.connected:
		case <-timeout.C:
			t.Fatalf("no connection within %v", wait)
		}
	}
}

// start runs c in the background; the returned func cancels it and returns
// Run's error.
func start(t testing.TB, c *Client, obs transport.Observer) (stop func() error, done <-chan error) {
	t.Helper()
	useLean(c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx, obs) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop, errc
}

// runToEnd runs c until Run returns by itself.
func runToEnd(t testing.TB, c *Client, obs transport.Observer) error {
	t.Helper()
	useLean(c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := c.Run(ctx, obs)
	if ctx.Err() != nil {
		t.Fatalf("Run did not end by itself within %v", wait)
	}
	return err
}

// asError checks that err is the fatal *transport.Error of class and code.
func asError(t testing.TB, err error, class transport.Class, code int) *transport.Error {
	t.Helper()
	var e *transport.Error
	if !errors.As(err, &e) {
		t.Fatalf("Run: %v, want a *transport.Error of class %s", err, class)
	}
	if e.Class != class || e.Code != code || !e.Fatal {
		t.Fatalf("Run: %+v, want fatal %s code %d", e, class, code)
	}
	return e
}

// server is an httptest server whose handlers are waited for at cleanup and
// whose request contexts end then, which ends hijacked connections too.
type server struct {
	url  string // ws://127.0.0.1:port
	hits atomic.Int32
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	base, cancel := context.WithCancel(context.Background())
	var handlers sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		s.hits.Add(1)
		h(w, r)
	}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		cancel()
		srv.Close()
		handlers.Wait()
	})
	return s
}

// wsServer serves fn on every connection accepted by coder/websocket.
func wsServer(t testing.TB, fn func(ctx context.Context, c *websocket.Conn)) *server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		fn(r.Context(), c)
	})
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// rawServer answers the handshake itself with a 101 carrying extra header
// lines (and accept as Sec-WebSocket-Accept, when set), then runs script on
// the raw connection, which is closed when script returns or the test ends.
func rawServer(t testing.TB, accept, extra string, script func(ctx context.Context, c net.Conn, br *bufio.Reader)) *server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer c.Close()
		defer context.AfterFunc(r.Context(), func() { c.Close() })()
		acc := accept
		if acc == "" {
			acc = acceptKey(r.Header.Get("Sec-WebSocket-Key"))
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n", acc, extra)
		if script != nil {
			script(r.Context(), c, brw.Reader)
		}
	})
}

// Raw frames for the tests' own servers (transporttest's helpers).
var (
	frame           = transporttest.WSFrame
	closeFrame      = transporttest.WSCloseFrame
	readClientFrame = transporttest.ReadWSClientFrame
)

// readClientClose reads client frames until a close frame and returns its
// code (-1 when the connection ends first).
func readClientClose(br *bufio.Reader) (code int, reason string) {
	for {
		op, p, err := readClientFrame(br)
		if err != nil {
			return -1, ""
		}
		if op == 0x8 && len(p) >= 2 {
			return int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ws://h/ws", true},
		{"wss://h:443/ws?x=1", true},
		{"http://127.0.0.1:8080/ws", true},
		{"HTTPS://h/ws", true},
		{"ftp://h/ws", false},
		{"h/ws", false},
		{"ws:///ws", false},
		{"ws://h/%zz", false},
	} {
		_, err := parseURL(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseURL(%q): %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	for in, want := range map[string]string{
		"http://h/ws?a=1": "ws://h/ws?a=1",
		"https://h/ws":    "wss://h/ws",
		"ws://h/ws":       "ws://h/ws",
	} {
		u, _ := url.Parse(in)
		if got := wsURL(u); got != want {
			t.Errorf("wsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReconnects(t *testing.T) {
	const (
		spec   = transport.PolicySpec
		always = transport.PolicyAlways
		nev    = transport.PolicyNever
	)
	for _, tc := range []struct {
		p     transport.Policy
		class transport.Class
		code  int
		again bool
		steps int
	}{
		{spec, "", 1000, false, 0},
		{always, "", 1000, true, 0},
		{nev, "", 1000, false, 0},
		{spec, transport.ClassWSAbnormal, 1006, true, 0},
		{nev, transport.ClassWSAbnormal, 1006, false, 0},
		{spec, transport.ClassPingTimeout, 0, true, 0},
		{spec, transport.ClassWSClose, 1012, true, 0},
		{spec, transport.ClassWSClose, 1013, true, TryAgainBackoffSteps},
		{always, transport.ClassWSClose, 1013, true, TryAgainBackoffSteps},
		{nev, transport.ClassWSClose, 1013, false, 0},
		{spec, transport.ClassWSClose, 1008, false, 0},
		{spec, transport.ClassWSClose, 1011, false, 0},
		{always, transport.ClassWSClose, 1011, true, 0},
		{spec, transport.ClassMessageTooBig, 1009, false, 0},
		{always, transport.ClassMessageTooBig, 1009, true, 0},
		{spec, transport.ClassInvalidUTF8Text, 1007, false, 0},
		{spec, transport.ClassWSHandshakeStatus, 503, false, 0},
		{always, transport.ClassWSHandshakeStatus, 503, true, 0},
		{always, transport.ClassWSHandshakeStatus, 429, true, 0},
		{always, transport.ClassWSHandshakeStatus, 403, false, 0},
		{always, transport.ClassWSBadHandshake, 0, false, 0},
		{always, transport.ClassTLSAuthority, 0, false, 0},
		{always, transport.ClassDNS, 0, false, 0},
		{spec, transport.ClassRefused, 0, true, 0},
		{spec, transport.ClassReset, 0, true, 0},
		{nev, transport.ClassRefused, 0, false, 0},
		{always, transport.ClassCanceled, 0, false, 0},
	} {
		again, steps := reconnects(tc.p, tc.class, tc.code)
		if again != tc.again || steps != tc.steps {
			t.Errorf("reconnects(%v, %q, %d) = %v, %d; want %v, %d", tc.p, tc.class, tc.code, again, steps, tc.again, tc.steps)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"99999999999999999999", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		h := http.Header{"Retry-After": {tc.v}}
		if got := retryAfter(h); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if got := retryAfter(http.Header{"Retry-After": {future}}); got < 58*time.Minute || got > time.Hour {
		t.Errorf("retryAfter(an hour from now) = %v", got)
	}
}

func TestParseSeqAndFrameHeaderLen(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "42": 42, "": -1, "4x": -1, "1234567890123456789": -1} {
		got, ok := parseSeq([]byte(in))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("parseSeq(%q) = %d, want %d", in, got, want)
		}
	}
	for n, want := range map[int]int{0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10} {
		if got := frameHeaderLen(n); got != want || got+n != len(frame(true, 1, make([]byte, n))) {
			t.Errorf("frameHeaderLen(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestClientConnectPhases: what the handshake reports, over plain TCP and TLS.
// The httptrace on the dial context reaches net/http through coder/websocket,
// so the TCP and TLS phases and the time of the 101 are measured.
func TestClientConnectPhases(t *testing.T) { bothPaths(t, testClientConnectPhases) }

func testClientConnectPhases(t *testing.T) {
	plain := newTestServer(t, &Handler{})
	tlsSrv := httptest.NewUnstartedServer(&Handler{Epoch: testEpoch})
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	h := &Handler{Epoch: testEpoch}
	redirect := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/ws?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		h.ServeHTTP(w, r)
	})
	for _, tc := range []struct {
		name    string
		url     string // dialled
		final   string // after redirects
		http    *http.Client
		wantTLS bool
	}{
		{"ws", plain.url, plain.url, nil, false},
		{"wss", "wss" + strings.TrimPrefix(tlsSrv.URL, "https") + "/ws", "", tlsSrv.Client(), true},
		// The lean path falls back to HTTP for the redirect.
		{"redirect", redirect.url + "/old", redirect.url + "/ws", transport.NewHTTPClient(transport.HTTPOptions{}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRec()
			u := tc.url + "?rate=200&count=2"
			if tc.final == "" {
				tc.final = tc.url
			}
			c := &Client{URL: u, HTTP: tc.http, Subprotocols: []string{"chat", "other"}, Reconnect: never}
			if err := runToEnd(t, c, r); err != nil {
				t.Fatalf("Run: %v", err)
			}
			connects, events, _, closes := r.Snapshot()
			if len(connects) != 1 || len(events) != 2 || len(closes) != 1 {
				t.Fatalf("%d connects, %d events, %d closes; want 1, 2, 1", len(connects), len(events), len(closes))
			}
			ci := connects[0]
			if ci.Status != 101 || ci.Subprotocol != "chat" || ci.URL != tc.final+"?rate=200&count=2" || ci.Proto != "HTTP/1.1" || ci.Attempt != 0 {
				t.Errorf("connect %+v", ci)
			}
			if ci.TCP <= 0 || ci.DNS != 0 || (ci.TLS > 0) != tc.wantTLS || ci.Headers.Before(ci.Start) {
				t.Errorf("phases DNS %v TCP %v TLS %v, headers %v after start", ci.DNS, ci.TCP, ci.TLS, ci.Headers.Sub(ci.Start))
			}
			if ev := events[0]; !ev.Stamp.HasSeq || ev.Type != "text" || ev.Size != len(ev.Data)+2 || ev.At.Before(ev.FirstByte) {
				t.Errorf("event %+v", ev)
			}
			if cl := closes[0]; cl.Code != 1000 || cl.Reason != "count reached" || !cl.Clean || cl.Reconnect {
				t.Errorf("close %+v", cl)
			}
		})
	}
}

// TestClientCompress: permessage-deflate is offered only with Compress, and
// compressed messages arrive intact.
func TestClientCompress(t *testing.T) { bothPaths(t, testClientCompress) }

func testClientCompress(t *testing.T) {
	msg := bytes.Repeat([]byte(`{"seq":1,"text":"compressible "}`), 300)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, msg)
		c.Close(websocket.StatusNormalClosure, "")
	})
	for _, compress := range []bool{false, true} {
		r := newRec()
		c := &Client{URL: s.url, Compress: compress, Reconnect: never}
		if compress {
			c.HTTP = transport.NewHTTPClient(transport.HTTPOptions{}) // the lean path falls back to it
		}
		if err := runToEnd(t, c, r); err != nil {
			t.Fatal(err)
		}
		connects, events, _, _ := r.Snapshot()
		ext := connects[0].Header.Get("Sec-WebSocket-Extensions")
		if strings.Contains(ext, "permessage-deflate") != compress {
			t.Errorf("compress=%v: extensions %q", compress, ext)
		}
		if len(events) != 1 || !bytes.Equal(events[0].Data, msg) {
			t.Errorf("compress=%v: %d events, want the message intact", compress, len(events))
		}
	}
}

// TestClientOutboxEcho: Outbox messages go out in order with their types and come
// back as the mock's echoes; a closed Outbox does not stop the reading.
func TestClientOutboxEcho(t *testing.T) { bothPaths(t, testClientOutboxEcho) }

func testClientOutboxEcho(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	msgs := []Outgoing{
		{Data: []byte(`{"n":1}`)},
		{Binary: true, Data: []byte{0, 1, 2, 0xff}},
		{Data: []byte("héllo")},
		{Binary: true, Data: bytes.Repeat([]byte{7}, 70_000)},
	}
	out := make(chan Outgoing, len(msgs))
	for _, m := range msgs {
		out <- m
	}
	close(out)
	r := newRec()
	ticksAfter := 0
	echoes := 0
	done := make(chan struct{})
	r.OnEvent = func(n int, e *transport.Event) {
		if !e.Stamp.HasSeq {
			echoes++
		} else if echoes == len(msgs) {
			if ticksAfter++; ticksAfter == 3 {
				close(done)
			}
		}
	}
	stop, _ := start(t, &Client{URL: ts.url + "?rate=200", Outbox: out, Reconnect: never}, r)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("no echoes and ticks after them")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	_, events, errs, closes := r.Snapshot()
	var got []transport.Event
	for _, e := range events {
		if !e.Stamp.HasSeq {
			got = append(got, e)
		}
	}
	for i, m := range msgs {
		wantType := "text"
		if m.Binary {
			wantType = "binary"
		}
		if got[i].Type != wantType || !bytes.Equal(got[i].Data, m.Data) {
			t.Errorf("echo %d: %s %.20q, want %s %.20q", i, got[i].Type, got[i].Data, wantType, m.Data)
		}
	}
	if len(errs) != 0 {
		t.Errorf("errors %+v", errs)
	}
	if cl := closes[len(closes)-1]; cl.Code != 1001 || cl.Reason != "going away" || !cl.Clean || cl.Reconnect {
		t.Errorf("close %+v, want 1001 going away, clean", cl)
	}
}

// TestClientRoom: two clients in ?channel=x: what one sends reaches the other as
// an envelope and comes back to the sender as its echo only.
func TestClientRoom(t *testing.T) { bothPaths(t, testClientRoom) }

func testClientRoom(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	out := make(chan Outgoing)
	a, b := newRec(), newRec()
	gotA, gotB := make(chan struct{}, 1), make(chan struct{}, 1)
	a.OnEvent = func(int, *transport.Event) { gotA <- struct{}{} }
	b.OnEvent = func(int, *transport.Event) { gotB <- struct{}{} }
	stopA, _ := start(t, &Client{URL: ts.url + "?channel=x", Outbox: out, Reconnect: never}, a)
	stopB, _ := start(t, &Client{URL: ts.url + "?channel=x", Reconnect: never}, b)
	a.waitConnected(t, 1)
	b.waitConnected(t, 1)
	out <- Outgoing{Data: []byte(`{"hello":"room"}`)}
	for _, got := range []chan struct{}{gotA, gotB} {
		select {
		case <-got:
		case <-time.After(wait):
			t.Fatal("the message did not reach both members")
		}
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	_, evA, _, _ := a.Snapshot()
	_, evB, _, _ := b.Snapshot()
	if len(evA) != 1 || string(evA[0].Data) != `{"hello":"room"}` {
		t.Errorf("sender got %d events, first %q; want only its echo", len(evA), evA[0].Data)
	}
	if len(evB) != 1 || !bytes.Contains(evB[0].Data, []byte(`"channel":"x"`)) || !bytes.Contains(evB[0].Data, []byte(`{"hello":"room"}`)) || evB[0].Stamp.Seq != 1 {
		t.Errorf("member got %q, want the envelope with seq 1", evB[0].Data)
	}
}

// TestClientPings: each pong is an Event of KindPong with its round trip.
func TestClientPings(t *testing.T) { bothPaths(t, testClientPings) }

func testClientPings(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	r := newRec()
	done := make(chan struct{})
	r.OnEvent = func(n int, e *transport.Event) {
		if n == 3 {
			close(done)
		}
	}
	stop, _ := start(t, &Client{URL: ts.url + "?rate=0", PingInterval: 2 * time.Millisecond, Reconnect: never}, r)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("no 3 pongs")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, events, errs, _ := r.Snapshot()
	for _, e := range events {
		if e.Kind != transport.KindPong || e.RTT <= 0 || e.RTT > wait || e.Type != "pong" {
			t.Errorf("event %+v, want a pong with its RTT", e)
		}
	}
	if len(errs) != 0 {
		t.Errorf("errors %+v", errs)
	}
}

// TestClientFragmented: a message in two frames with a ping between them is
// delivered whole, and the ping is answered.
func TestClientFragmented(t *testing.T) { bothPaths(t, testClientFragmented) }

func testClientFragmented(t *testing.T) {
	pong := make(chan string, 1)
	s := rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
		c.Write(frame(false, 0x1, []byte(`{"seq":`)))
		c.Write(frame(true, 0x9, []byte("p1")))
		c.Write(frame(true, 0x0, []byte(`7}`)))
		op, p, _ := readClientFrame(br)
		if op == 0xA {
			pong <- string(p)
		}
		c.Write(closeFrame(1000, "done"))
		readClientClose(br)
	})
	r := newRec()
	if err := runToEnd(t, &Client{URL: s.url, Reconnect: never}, r); err != nil {
		t.Fatal(err)
	}
	_, events, _, _ := r.Snapshot()
	if len(events) != 1 || string(events[0].Data) != `{"seq":7}` || events[0].Stamp.Seq != 7 {
		t.Fatalf("events %+v, want one {\"seq\":7}", events)
	}
	select {
	case p := <-pong:
		if p != "p1" {
			t.Errorf("pong %q, want p1", p)
		}
	default:
		t.Error("the ping between fragments was not answered")
	}
}

// TestClientReadLimit: messages up to ReadLimit are delivered (the buffer grows);
// a bigger one closes with 1009 as message_too_big.
func TestClientReadLimit(t *testing.T) { bothPaths(t, testClientReadLimit) }

func testClientReadLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name      string
		limit     int64
		sizes     []int
		delivered int
		tooBig    bool
	}{
		{"growing", 0, []int{10, 5000, 70_000, 10}, 4, false},
		{"exactly 1 MiB", 0, []int{mib}, 1, false},
		{"1 MiB + 1", 0, []int{mib + 1}, 0, true},
		{"2 MiB", 0, []int{2 * mib}, 0, true},
		{"small limit", 100, []int{100, 101}, 1, true},
		{"no limit", -1, []int{2 * mib}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan int, 1)
			s := wsServer(t, func(ctx context.Context, c *websocket.Conn) {
				for i, n := range tc.sizes {
					if err := c.Write(ctx, websocket.MessageBinary, bytes.Repeat([]byte{byte(i + 1)}, n)); err != nil {
						seen <- int(websocket.CloseStatus(err))
						return
					}
				}
				err := c.Close(websocket.StatusNormalClosure, "done")
				if code := websocket.CloseStatus(err); code != -1 {
					seen <- int(code)
				} else {
					seen <- 1000 // the client echoed our close
				}
			})
			r := newRec()
			err := runToEnd(t, &Client{URL: s.url, ReadLimit: tc.limit, Reconnect: never, CloseTimeout: wait}, r)
			_, events, errs, closes := r.Snapshot()
			if len(events) != tc.delivered {
				t.Fatalf("%d messages delivered, want %d", len(events), tc.delivered)
			}
			for i, e := range events {
				if len(e.Data) != tc.sizes[i] || e.Data[0] != byte(i+1) || e.Data[len(e.Data)-1] != byte(i+1) || e.Size != tc.sizes[i]+frameHeaderLen(tc.sizes[i]) {
					t.Errorf("message %d: %d bytes (size %d), want %d", i, len(e.Data), e.Size, tc.sizes[i])
				}
			}
			if got := <-seen; tc.tooBig && got != 1009 || !tc.tooBig && got != 1000 {
				t.Errorf("server saw close %d", got)
			}
			last := closes[len(closes)-1]
			if !tc.tooBig {
				if err != nil || len(errs) != 0 || last.Code != 1000 || !last.Clean {
					t.Fatalf("Run: %v, errors %+v, close %+v; want a clean end", err, errs, last)
				}
				return
			}
			asError(t, err, transport.ClassMessageTooBig, 1009)
			if last.Code != 1009 || last.Clean || last.Reconnect {
				t.Errorf("close %+v, want 1009", last)
			}
		})
	}
}

// TestClientInvalidUTF8Text: coder/websocket does not check text messages; the
// client fails the connection with 1007 (RFC 6455 §8.1), or with
// AllowInvalidUTF8 delivers them and counts them.
func TestClientInvalidUTF8Text(t *testing.T) { bothPaths(t, testClientInvalidUTF8Text) }

func testClientInvalidUTF8Text(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			seen := make(chan int, 1)
			s := wsServer(t, func(ctx context.Context, c *websocket.Conn) {
				c.Write(ctx, websocket.MessageText, []byte("\xff\xfe not UTF-8"))
				c.Write(ctx, websocket.MessageText, []byte(`{"seq":1}`))
				err := c.Close(websocket.StatusNormalClosure, "done")
				if code := websocket.CloseStatus(err); code != -1 {
					seen <- int(code)
				} else {
					seen <- 1000
				}
			})
			r := newRec()
			err := runToEnd(t, &Client{URL: s.url, AllowInvalidUTF8: allow, Reconnect: never}, r)
			_, events, errs, closes := r.Snapshot()
			if allow {
				if err != nil || len(events) != 2 || len(errs) != 1 || errs[0].Class != transport.ClassInvalidUTF8Text || errs[0].Fatal {
					t.Fatalf("Run: %v; %d events, errors %+v; want 2 events and one non-fatal invalid_utf8_text", err, len(events), errs)
				}
				if string(events[0].Data) != "\xff\xfe not UTF-8" {
					t.Errorf("delivered %q", events[0].Data)
				}
				if got := <-seen; got != 1000 {
					t.Errorf("server saw %d", got)
				}
				return
			}
			asError(t, err, transport.ClassInvalidUTF8Text, 1007)
			if len(events) != 0 || closes[0].Code != 1007 {
				t.Errorf("%d events, close %+v; want none and 1007", len(events), closes[0])
			}
			if got := <-seen; got != 1007 {
				t.Errorf("server saw %d, want 1007", got)
			}
		})
	}
}

// TestClientServerCloses: the close code and reason of each connection are
// recorded; the policy decides what follows.
func TestClientServerCloses(t *testing.T) { bothPaths(t, testClientServerCloses) }

func testClientServerCloses(t *testing.T) {
	for _, tc := range []struct {
		code   websocket.StatusCode
		policy transport.Policy
		clean  bool
		again  bool
	}{
		{1000, transport.PolicySpec, true, false},
		{1001, transport.PolicySpec, true, false},
		{1008, transport.PolicySpec, false, false},
		{1011, transport.PolicySpec, false, false},
		{1012, transport.PolicySpec, false, true},
		{1013, transport.PolicySpec, false, true},
		{4000, transport.PolicySpec, false, false},
		{1000, transport.PolicyAlways, true, true},
		{1008, transport.PolicyAlways, false, true},
		{1013, transport.PolicyNever, false, false},
	} {
		t.Run(fmt.Sprintf("%d-%v", tc.code, tc.policy), func(t *testing.T) {
			reason := fmt.Sprintf("reason %d", tc.code)
			s := wsServer(t, func(ctx context.Context, c *websocket.Conn) {
				c.Write(ctx, websocket.MessageText, []byte(`{"seq":1}`))
				c.Close(tc.code, reason)
			})
			r := newRec()
			c := &Client{URL: s.url, Reconnect: fast(tc.policy)}
			var err error
			if tc.again {
				stop, _ := start(t, c, r)
				r.waitConnected(t, 2)
				err = stop()
			} else {
				err = runToEnd(t, c, r)
			}
			connects, events, errs, closes := r.Snapshot()
			first := closes[0]
			if first.Code != int(tc.code) || first.Reason != reason || first.Clean != tc.clean || first.Reconnect != tc.again {
				t.Fatalf("close %+v, want code %d %q clean=%v reconnect=%v", first, tc.code, reason, tc.clean, tc.again)
			}
			if len(events) < len(connects)-1 || len(events) == 0 {
				t.Errorf("%d events over %d connections", len(events), len(connects))
			}
			if tc.again {
				if err != nil || len(connects) < 2 {
					t.Fatalf("Run: %v after %d connects, want nil after a reconnect", err, len(connects))
				}
				if !tc.clean && (errs[0].Class != transport.ClassWSClose || errs[0].Code != int(tc.code) || errs[0].Fatal) {
					t.Errorf("error %+v, want non-fatal ws_close", errs[0])
				}
				return
			}
			if len(connects) != 1 {
				t.Errorf("%d connects, want 1", len(connects))
			}
			if tc.clean {
				if err != nil || len(errs) != 0 {
					t.Fatalf("Run: %v, errors %+v; want a clean end", err, errs)
				}
				return
			}
			asError(t, err, transport.ClassWSClose, int(tc.code))
		})
	}
}

// TestClientHandshakeStatus: an answer other than 101 fails the session at once,
// except 429 and 5xx under PolicyAlways, which back off and retry.
func TestClientHandshakeStatus(t *testing.T) { bothPaths(t, testClientHandshakeStatus) }

func testClientHandshakeStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		policy transport.Policy
		again  bool
	}{
		{200, transport.PolicySpec, false},
		{400, transport.PolicySpec, false},
		{403, transport.PolicySpec, false},
		{403, transport.PolicyAlways, false},
		{404, transport.PolicySpec, false},
		{503, transport.PolicySpec, false},
		{503, transport.PolicyAlways, true},
		{429, transport.PolicyAlways, true},
	} {
		t.Run(fmt.Sprintf("%d-%v", tc.status, tc.policy), func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "1") // clamped to the policy's 5ms cap
				w.WriteHeader(tc.status)
				io.WriteString(w, "no WebSocket here")
			})
			r := newRec()
			c := &Client{URL: s.url, Reconnect: fast(tc.policy)}
			if tc.again {
				stop, _ := start(t, c, r)
				transporttest.Eventually(t, wait, "no 3 attempts", func() bool { return s.hits.Load() >= 3 })
				if err := stop(); err != nil {
					t.Fatalf("Run: %v", err)
				}
				_, _, errs, _ := r.Snapshot()
				if e := errs[0]; e.Class != transport.ClassWSHandshakeStatus || e.Code != tc.status || e.Fatal {
					t.Fatalf("error %+v, want a non-fatal ws_handshake_status %d", e, tc.status)
				}
				return
			}
			err := runToEnd(t, c, r)
			asError(t, err, transport.ClassWSHandshakeStatus, tc.status)
			if n := s.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if connects, _, errs, closes := r.Snapshot(); len(connects) != 0 || len(errs) != 1 || len(closes) != 0 {
				t.Errorf("%d connects, %d errors, %d closes; want 0, 1, 0", len(connects), len(errs), len(closes))
			}
		})
	}
}

// TestClientBadHandshake: a wrong Sec-WebSocket-Accept or a subprotocol that was
// not offered fails the handshake, without retrying even under PolicyAlways.
func TestClientBadHandshake(t *testing.T) { bothPaths(t, testClientBadHandshake) }

func testClientBadHandshake(t *testing.T) {
	for _, tc := range []struct {
		name, accept, extra string
		offer               []string
	}{
		{"wrong accept", "dGhlIHNhbXBsZSBub25jZQ==", "", nil},
		{"unoffered subprotocol", "", "Sec-WebSocket-Protocol: evil\r\n", []string{"chat"}},
		{"subprotocol without an offer", "", "Sec-WebSocket-Protocol: chat\r\n", nil},
		{"unoffered extension", "", "Sec-WebSocket-Extensions: permessage-deflate\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := rawServer(t, tc.accept, tc.extra, nil)
			r := newRec()
			err := runToEnd(t, &Client{URL: s.url, Subprotocols: tc.offer, Reconnect: fast(transport.PolicyAlways)}, r)
			asError(t, err, transport.ClassWSBadHandshake, 0)
			if n := s.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestClientPingTimeout: a server that reads but never answers pings: after
// MaxMissedPings the client closes (1001 on the wire) and reports
// ping_timeout; the spec policy reconnects, as after a lost connection.
func TestClientPingTimeout(t *testing.T) { bothPaths(t, testClientPingTimeout) }

func testClientPingTimeout(t *testing.T) {
	for _, policy := range []transport.Policy{transport.PolicyNever, transport.PolicySpec} {
		t.Run(policy.String(), func(t *testing.T) {
			got := make(chan int, 4)
			s := rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				code, _ := readClientClose(br) // pings go unanswered
				got <- code
				io.Copy(io.Discard, br)
			})
			r := newRec()
			c := &Client{
				URL: s.url, PingInterval: 2 * time.Millisecond, PingTimeout: 10 * time.Millisecond,
				CloseTimeout: 20 * time.Millisecond, Reconnect: fast(policy),
			}
			var err error
			if policy == transport.PolicySpec {
				stop, _ := start(t, c, r)
				r.waitConnected(t, 2)
				err = stop()
			} else {
				err = runToEnd(t, c, r)
				asError(t, err, transport.ClassPingTimeout, 0)
			}
			_, _, errs, closes := r.Snapshot()
			if e := errs[0]; e.Class != transport.ClassPingTimeout || e.Fatal != (policy == transport.PolicyNever) {
				t.Errorf("error %+v", e)
			}
			if cl := closes[0]; cl.Code != 1006 || cl.Reason != "ping timeout" || cl.Clean || cl.Reconnect != (policy == transport.PolicySpec) {
				t.Errorf("close %+v", cl)
			}
			if code := <-got; code != 1001 {
				t.Errorf("server saw close %d, want 1001", code)
			}
		})
	}
}

// TestClientPingWriteOutlastsTheTimeout: a ping whose write cannot finish
// within the ping timeout (the peer stopped reading; in CI, a starved
// machine) makes coder/websocket drop the connection itself. The reader then
// sees only a lost connection; the client must still report ping_timeout,
// not ws_abnormal_close. The connection is a net.Pipe, whose writes block
// until the other end reads, which it never does after the handshake.
func TestClientPingWriteOutlastsTheTimeout(t *testing.T) {
	serverEnd, clientEnd := net.Pipe()
	t.Cleanup(func() { serverEnd.Close() })
	handshook := make(chan struct{})
	go func() {
		defer close(handshook)
		br := bufio.NewReader(serverEnd)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Errorf("handshake request: %v", err)
			return
		}
		fmt.Fprintf(serverEnd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acceptKey(req.Header.Get("Sec-WebSocket-Key")))
	}()
	dialed := false
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		if dialed {
			return nil, errors.New("dialed twice")
		}
		dialed = true
		return clientEnd, nil
	}}}
	r := newRec()
	c := &Client{
		URL: "ws://pipe.test/ws", HTTP: hc,
		PingInterval: time.Millisecond, PingTimeout: 20 * time.Millisecond, MaxMissedPings: 1000,
		CloseTimeout: 20 * time.Millisecond, Reconnect: fast(transport.PolicyNever),
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := c.Run(ctx, r)
	if ctx.Err() != nil {
		t.Fatalf("Run did not end by itself within %v", wait)
	}
	<-handshook
	e := asError(t, err, transport.ClassPingTimeout, 0)
	if !strings.Contains(e.Error(), "could not even be written") {
		t.Errorf("error %q does not say the ping's write outlasted the timeout", e)
	}
	_, _, _, closes := r.Snapshot()
	if cl := closes[0]; cl.Code != 1006 || cl.Reason != "ping timeout" || cl.Clean {
		t.Errorf("close %+v", cl)
	}
}

// TestClientAbnormalClose: a connection that ends without a close frame is 1006
// (never sent on the wire) and ws_abnormal_close; the spec policy reconnects.
func TestClientAbnormalClose(t *testing.T) { bothPaths(t, testClientAbnormalClose) }

func testClientAbnormalClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy transport.Policy
		script func(ctx context.Context, c net.Conn, br *bufio.Reader)
		events int
	}{
		{"rst", transport.PolicyNever, func(_ context.Context, c net.Conn, br *bufio.Reader) {
			readClientFrame(br) // the first ping: the client is connected
			c.(*net.TCPConn).SetLinger(0)
		}, 0},
		{"eof", transport.PolicyNever, func(_ context.Context, c net.Conn, br *bufio.Reader) {
			c.Write(frame(true, 0x1, []byte(`{"seq":1}`)))
		}, 1},
		{"eof mid-frame", transport.PolicyNever, func(_ context.Context, c net.Conn, br *bufio.Reader) {
			c.Write(frame(true, 0x1, []byte(`{"seq":1}`))[:5])
		}, 0},
		{"eof then reconnect", transport.PolicySpec, func(_ context.Context, c net.Conn, br *bufio.Reader) {
			c.Write(frame(true, 0x1, []byte(`{"seq":1}`)))
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := rawServer(t, "", "", tc.script)
			r := newRec()
			c := &Client{URL: s.url, PingInterval: time.Millisecond, Reconnect: fast(tc.policy)}
			var err error
			if tc.policy == transport.PolicySpec {
				stop, _ := start(t, c, r)
				r.waitConnected(t, 2)
				err = stop()
			} else {
				err = runToEnd(t, c, r)
				asError(t, err, transport.ClassWSAbnormal, 1006)
			}
			_, events, errs, closes := r.Snapshot()
			var messages int
			for _, e := range events {
				if e.Kind == transport.KindMessage {
					messages++
				}
			}
			if tc.policy == transport.PolicyNever && messages != tc.events {
				t.Errorf("%d messages, want %d", messages, tc.events)
			}
			if e := errs[0]; e.Class != transport.ClassWSAbnormal || e.Code != 1006 || e.Err == nil {
				t.Errorf("error %+v", e)
			}
			if cl := closes[0]; cl.Code != 1006 || cl.Clean || cl.Reconnect != (tc.policy == transport.PolicySpec) {
				t.Errorf("close %+v", cl)
			}
		})
	}
}

// TestClientCancel: cancelling Run closes with 1001 "going away"; a server that
// never answers the close, or never reads, holds Run up only CloseTimeout.
// The close is clean only when the server's close frame came back (RFC 6455
// §7.1.4); otherwise it is reported as 1006, which no one put on the wire.
func TestClientCancel(t *testing.T) { bothPaths(t, testClientCancel) }

func testClientCancel(t *testing.T) {
	const closeTimeout = 50 * time.Millisecond
	type seen struct {
		code   int
		reason string
	}
	for _, tc := range []struct {
		name   string
		server func(t *testing.T, got chan<- seen) *server
		outbox bool
		clean  bool
	}{
		{"answering", func(t *testing.T, got chan<- seen) *server {
			return wsServer(t, func(ctx context.Context, c *websocket.Conn) {
				_, _, err := c.Read(ctx)
				var ce websocket.CloseError
				errors.As(err, &ce)
				got <- seen{int(ce.Code), ce.Reason}
			})
		}, false, true},
		{"answering with another code", func(t *testing.T, got chan<- seen) *server {
			return rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				code, reason := readClientClose(br)
				got <- seen{code, reason}
				c.Write(closeFrame(1000, ""))
			})
		}, false, true},
		{"not answering the close", func(t *testing.T, got chan<- seen) *server {
			return rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				code, reason := readClientClose(br)
				got <- seen{code, reason}
				io.Copy(io.Discard, br)
			})
		}, false, false},
		{"closing TCP without a close frame", func(t *testing.T, got chan<- seen) *server {
			return rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				code, reason := readClientClose(br)
				got <- seen{code, reason}
			})
		}, false, false},
		{"sending data but no close frame", func(t *testing.T, got chan<- seen) *server {
			return rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				code, reason := readClientClose(br)
				got <- seen{code, reason}
				c.Write(frame(true, opText, []byte("late")))
				io.Copy(io.Discard, br)
			})
		}, false, false},
		{"not reading while the client writes", func(t *testing.T, got chan<- seen) *server {
			return rawServer(t, "", "", func(ctx context.Context, c net.Conn, br *bufio.Reader) {
				<-ctx.Done() // it cannot see the close; the test's cleanup ends it
			})
		}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan seen, 1)
			s := tc.server(t, got)
			var out chan Outgoing
			if tc.outbox {
				out = make(chan Outgoing, 1)
				out <- Outgoing{Binary: true, Data: make([]byte, 32<<20)} // more than the socket buffers
			}
			r := newRec()
			c := &Client{URL: s.url, Outbox: out, CloseTimeout: closeTimeout}
			stop, _ := start(t, c, r)
			r.waitConnected(t, 1)
			began := time.Now()
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("Run returned %v after cancel; the close must be bounded by CloseTimeout", took)
			}
			if !tc.outbox {
				if g := <-got; g.code != 1001 || g.reason != "going away" {
					t.Errorf("server saw %+v, want 1001 going away", g)
				}
			}
			_, _, errs, closes := r.Snapshot()
			want := transport.Close{Code: 1001, Reason: "going away", Clean: true}
			if !tc.clean {
				want = transport.Close{Code: 1006, Reason: "no close frame came back"}
			}
			if len(errs) != 0 || len(closes) != 1 || closes[0].Code != want.Code || closes[0].Reason != want.Reason ||
				closes[0].Clean != want.Clean || closes[0].Reconnect {
				t.Errorf("errors %+v, closes %+v; want %+v", errs, closes, want)
			}
		})
	}
}

// TestClientDialErrors: a refused connection fails at once under PolicyNever; the
// spec policy retries, MaxAttempts reconnects in a row.
func TestClientDialErrors(t *testing.T) { bothPaths(t, testClientDialErrors) }

func testClientDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name  string
		url   string
		rc    transport.Reconnect
		class transport.Class
		errs  int
	}{
		{"refused", "ws://" + addr + "/ws", never, transport.ClassRefused, 1},
		{"refused, 2 attempts", "ws://" + addr + "/ws", transport.Reconnect{MaxAttempts: 2, Floor: time.Millisecond, Initial: time.Millisecond, Cap: time.Millisecond}, transport.ClassRefused, 3},
		{"bad scheme", "ftp://" + addr + "/ws", never, transport.ClassOther, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRec()
			err := runToEnd(t, &Client{URL: tc.url, Reconnect: tc.rc}, r)
			asError(t, err, tc.class, 0)
			_, _, errs, _ := r.Snapshot()
			if len(errs) != tc.errs {
				t.Fatalf("%d errors, want %d: %+v", len(errs), tc.errs, errs)
			}
			for i, e := range errs {
				if e.Class != tc.class || e.Fatal != (i == len(errs)-1) {
					t.Errorf("error %d: %+v", i, e)
				}
			}
		})
	}
}

// pusher is a raw server that sends the same ~100-byte text message, framed
// in advance, as fast as the client reads, then (when total > 0) a close
// 1000 after total messages. It allocates nothing per message.
func pusher(t testing.TB, total int) *server {
	msg := []byte(`{"seq":123456,"sched_ns":1700000000000000000,"sent_ns":1700000000000000001,"pad":"xxxxxxxxxxxx"}`)
	const batch = 256
	chunk := bytes.Repeat(frame(true, 0x1, msg), batch)
	return rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
		sent := 0
		for total == 0 || sent < total {
			n := batch
			if total > 0 {
				n = min(batch, total-sent)
			}
			if _, err := c.Write(chunk[:n*len(chunk)/batch]); err != nil {
				return
			}
			sent += n
		}
		c.Write(closeFrame(1000, "done"))
		readClientClose(br)
	})
}

// counter is an Observer that keeps nothing.
type counter struct {
	n       int
	onEvent func(n int)
}

func (c *counter) Connected(*transport.Connect) {}
func (c *counter) Event(*transport.Event) {
	c.n++
	if c.onEvent != nil {
		c.onEvent(c.n)
	}
}
func (c *counter) Exchange(*transport.Exchange) {}
func (c *counter) Error(*transport.Error)       {}
func (c *counter) Closed(*transport.Close)      {}

// TestClientReadDoesNotAllocate: once warm, reading and reporting a message
// allocates nothing (heap allocations of the whole process over 10,000
// messages, the raw server included, which allocates nothing itself).
func TestClientReadDoesNotAllocate(t *testing.T) { bothPaths(t, testClientReadDoesNotAllocate) }

func testClientReadDoesNotAllocate(t *testing.T) {
	const warm, measured = 1000, 10_000
	s := pusher(t, 0)
	var before, after runtime.MemStats
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	obs := &counter{onEvent: func(n int) {
		switch n {
		case warm:
			runtime.ReadMemStats(&before)
		case warm + measured:
			runtime.ReadMemStats(&after)
			cancel()
		}
	}}
	c := &Client{URL: s.url, Reconnect: never, CloseTimeout: 20 * time.Millisecond}
	useLean(c)
	if err := c.Run(ctx, obs); err != nil {
		t.Fatal(err)
	}
	if obs.n < warm+measured {
		t.Fatalf("%d messages before the timeout", obs.n)
	}
	if allocs := after.Mallocs - before.Mallocs; allocs > measured/1000 {
		t.Errorf("%d allocations over %d messages, want about 0", allocs, measured)
	}
}
