package ably

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// dropListener remembers its connections so a test can cut them all, as a
// network failure would.
type dropListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *dropListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *dropListener) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func dropServer(t testing.TB, h *Handler) (host string, dl *dropListener) {
	t.Helper()
	if h.Hub == nil {
		h.Hub = pubsub.New(pubsub.Options{})
	}
	mux := http.NewServeMux()
	h.Register(mux)
	mux.Handle("GET /{$}", h.Root(http.NotFoundHandler()))
	srv := httptest.NewUnstartedServer(mux)
	dl = &dropListener{Listener: srv.Listener}
	srv.Listener = dl
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), dl
}

// noKeepAlive publishes on a connection of its own each time, so cutting
// the server's connections cuts no publish.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func stamped(seq int) *Message {
	return &Message{Name: "tick", Data: Data{B: fmt.Appendf(nil, `{"seq":%d,"sched_ns":%d}`, seq, time.Now().UnixNano()), JSON: true, Set: true}}
}

// TestClientResumesFromSerial: messages published while the client was
// disconnected arrive after it reconnects, exactly once and in order,
// because it re-attaches from the last channel serial it saw; each message
// is an event with its stamp; the attach time is reported.
func TestClientResumesFromSerial(t *testing.T) {
	for _, format := range []string{"json", "msgpack"} {
		t.Run(format, func(t *testing.T) {
			h := &Handler{}
			host, dl := dropServer(t, h)
			target, err := ParseTarget("ably+http://" + DefaultKey + "@" + host + "/room?event=tick&format=" + format)
			if err != nil {
				t.Fatal(err)
			}
			published := make(chan struct{})
			gate := func(ctx context.Context) error { // the reconnect waits for the publishes below
				select {
				case <-published:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			c := &Client{Target: target, Reconnect: transport.Reconnect{Floor: time.Millisecond, Cap: 5 * time.Millisecond, Gate: gate}}
			var rec transporttest.Recorder
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, &rec) }()
			defer func() { cancel(); <-done }()
			transporttest.Eventually(t, wait, "connected", func() bool { cs, _, _, _ := rec.Snapshot(); return len(cs) == 1 })

			for i := 1; i <= 3; i++ {
				if err := RESTPublish(t.Context(), noKeepAlive, target, stamped(i)); err != nil {
					t.Fatal(err)
				}
			}
			// An event of another name is not reported.
			if err := RESTPublish(t.Context(), noKeepAlive, target, &Message{Name: "other", Data: Text("x")}); err != nil {
				t.Fatal(err)
			}
			transporttest.Eventually(t, wait, "3 events", func() bool { _, ev, _, _ := rec.Snapshot(); return len(ev) == 3 })
			dl.drop()
			transporttest.Eventually(t, wait, "the drop seen", func() bool { _, _, _, cl := rec.Snapshot(); return len(cl) == 1 })
			for i := 4; i <= 5; i++ {
				if err := RESTPublish(t.Context(), noKeepAlive, target, stamped(i)); err != nil {
					t.Fatal(err)
				}
			}
			close(published)
			transporttest.Eventually(t, wait, "5 events", func() bool { _, ev, _, _ := rec.Snapshot(); return len(ev) >= 5 })
			cs, ev, _, cl := rec.Snapshot()
			for i, e := range ev {
				if e.Type != "tick" || !e.Stamp.HasSeq || e.Stamp.Seq != uint64(i+1) || !e.Stamp.HasSched {
					t.Errorf("event %d: %s %s stamp %+v, want tick seq %d", i, e.Type, e.Data, e.Stamp, i+1)
				}
			}
			if len(ev) != 5 {
				t.Errorf("%d events, want 5 (no duplicate)", len(ev))
			}
			if len(cs) != 2 || cs[0].Attached.IsZero() || cs[0].Attached.Before(cs[0].Headers) || cs[1].Attempt != 1 {
				t.Errorf("connects %+v, want two, attached after the 101", cs)
			}
			if !cl[0].Reconnect {
				t.Errorf("close %+v, want a reconnect", cl[0])
			}
		})
	}
}

// TestClientSeqFromServeSerial: from rtbench serve, a message's seq is its
// number in the channel (its serial), not the seq its publisher wrote in the
// data: publishes in flight together reach the channel in any order, and
// one that failed is no loss of the subscriber's.
func TestClientSeqFromServeSerial(t *testing.T) {
	host, _ := dropServer(t, &Handler{})
	target, _ := ParseTarget("ably+http://" + DefaultKey + "@" + host + "/serials")
	c := &Client{Target: target, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
	var rec transporttest.Recorder
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, &rec) }()
	defer func() { cancel(); <-done }()
	transporttest.Eventually(t, wait, "connected", func() bool { cs, _, _, _ := rec.Snapshot(); return len(cs) == 1 })
	for _, n := range []int{5, 2, 9} {
		if err := RESTPublish(t.Context(), noKeepAlive, target, stamped(n)); err != nil {
			t.Fatal(err)
		}
	}
	transporttest.Eventually(t, wait, "3 events", func() bool { _, ev, _, _ := rec.Snapshot(); return len(ev) == 3 })
	_, ev, _, _ := rec.Snapshot()
	for i, e := range ev {
		if !e.Stamp.HasSeq || e.Stamp.Seq != uint64(i+1) || !e.Stamp.HasSched {
			t.Errorf("event %d: stamp %+v, want seq %d (the channel's) and the data's sched_ns", i, e.Stamp, i+1)
		}
	}
}

// TestClientEcho: with PublishEvery the client publishes stamped messages
// on its connection and reports each coming back as an echo with its round
// trip.
func TestClientEcho(t *testing.T) {
	host, _ := dropServer(t, &Handler{})
	target, _ := ParseTarget("ably+http://" + DefaultKey + "@" + host + "/echo")
	c := &Client{Target: target, PublishEvery: 20 * time.Millisecond, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
	var rec transporttest.Recorder
	ctx, cancel := context.WithCancel(t.Context())
	echoes := 0
	rec.OnEvent = func(_ int, e *transport.Event) {
		if e.Kind == transport.KindEcho {
			if echoes++; echoes == 3 {
				cancel()
			}
		}
	}
	if err := c.Run(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	_, ev, errs, _ := rec.Snapshot()
	var seqs []uint64
	for _, e := range ev {
		if e.Kind == transport.KindEcho && e.RTT <= 0 {
			t.Errorf("echo with RTT %v", e.RTT)
		}
		if e.Kind == transport.KindMessage {
			seqs = append(seqs, e.Stamp.Seq)
		}
	}
	if len(seqs) < 3 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3 || len(errs) != 0 {
		t.Errorf("messages seq %v, errors %v: want 1, 2, 3 and none", seqs, errs)
	}
}

// TestClientRefused: a wrong key ends the session at once with Ably's code,
// whatever the reconnect policy: retrying cannot fix credentials.
func TestClientRefused(t *testing.T) {
	host, _ := dropServer(t, &Handler{})
	for _, c := range []struct {
		url  string
		code int
	}{
		{"ably+http://rtbench.local:wrong@" + host + "/x", 40101},
		{"ably+http://rtb1.e30.AAAA@" + host + "/x", 40143},
		{"ably+http://" + DefaultKey + "@" + host + "/bad%20name", 40010},
	} {
		target, err := ParseTarget(c.url)
		if err != nil {
			t.Fatal(err)
		}
		var rec transporttest.Recorder
		err = (&Client{Target: target, Reconnect: transport.Reconnect{Policy: transport.PolicyAlways}}).Run(t.Context(), &rec)
		var e *transport.Error
		if !errors.As(err, &e) || e.Class != ClassError || e.Code != c.code || !e.Fatal {
			t.Errorf("%s: Run = %v, want a fatal %s %d", transport.RedactURL(c.url), err, ClassError, c.code)
		}
		if strings.Contains(fmt.Sprint(err), "wrong") && strings.Contains(fmt.Sprint(err), "rtbench.local:wrong") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

// TestClientWaitsRunOut: a server that goes silent ends the connection at
// the wait's timeout with its class: before CONNECTED, the request timeout;
// once attached, the idle timeout. The reads themselves carry no timer, so
// this is the watchdog's work.
func TestClientWaitsRunOut(t *testing.T) {
	for _, tt := range []struct {
		name  string
		greet []string // frames the server sends, then nothing
		class transport.Class
	}{
		{"nothing after the upgrade", nil, transport.ClassTimeout},
		{"nothing after ATTACHED", []string{
			`{"action":4,"connectionId":"c","connectionDetails":{"connectionKey":"k","maxIdleInterval":15000}}`,
			`{"action":11,"channel":"quiet"}`,
		}, transport.ClassIdleTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer ws.CloseNow()
				for _, f := range tt.greet {
					if ws.Write(r.Context(), websocket.MessageText, []byte(f)) != nil {
						return
					}
				}
				for { // read (the ATTACH) until the client goes
					if _, _, err := ws.Read(r.Context()); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			target, err := ParseTarget("ably+http://" + DefaultKey + "@" + strings.TrimPrefix(srv.URL, "http://") + "/quiet")
			if err != nil {
				t.Fatal(err)
			}
			c := &Client{Target: target, RequestTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond,
				Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
			var rec transporttest.Recorder
			err = c.Run(t.Context(), &rec)
			var e *transport.Error
			if !errors.As(err, &e) || e.Class != tt.class {
				t.Fatalf("Run = %v, want a %s error", err, tt.class)
			}
		})
	}
}
