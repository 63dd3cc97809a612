package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

func TestEcho(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
	}{
		{"text", websocket.MessageText, []byte(`{"ping":1}`)},
		{"binary", websocket.MessageBinary, all},
		{"empty", websocket.MessageText, []byte{}},
		{"above coder/websocket's 32 KiB default limit", websocket.MessageText, bytes.Repeat([]byte("x"), 200<<10)},
	}
	ts := newTestServer(t, &Handler{})
	c := ts.dial(t, "?rate=0", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, c, tt.typ, tt.msg)
			typ, got := read(t, c)
			if typ != tt.typ || !bytes.Equal(got, tt.msg) {
				t.Fatalf("echo = %v %.40q (%d bytes), want %v %.40q (%d bytes)", typ, got, len(got), tt.typ, tt.msg, len(tt.msg))
			}
		})
	}
}

// TestEchoPipelined sends more messages than the echo queue holds before
// reading any: the reader waits for the writer rather than closing with
// "slow consumer", and the echoes come back in order.
func TestEchoPipelined(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	c := ts.dial(t, "?rate=0", nil)
	const n = 5 * echoQueue
	for i := range n {
		write(t, c, websocket.MessageText, []byte(strings.Repeat("m", i)))
	}
	for i := range n {
		if _, got := read(t, c); string(got) != strings.Repeat("m", i) {
			t.Fatalf("echo %d = %q, want %d bytes of m", i, got, i)
		}
	}
}

func TestReadLimit(t *testing.T) {
	ts := newTestServer(t, &Handler{ReadLimit: 1000})
	c := ts.dial(t, "?rate=0", nil)
	msg := bytes.Repeat([]byte("a"), 1000)
	write(t, c, websocket.MessageBinary, msg)
	if _, got := read(t, c); !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes = %d bytes", len(msg), len(got))
	}
	write(t, c, websocket.MessageBinary, append(msg, 'a'))
	if ce := readClose(t, c); ce.Code != websocket.StatusMessageTooBig {
		t.Fatalf("close = %v, want 1009 for 1001 bytes over a 1000-byte limit", ce)
	}
	ts.waitReturned(t, 1)
}

// TestEchoInvalidUTF8: a text message that is not UTF-8, whole or across
// fragments, is not echoed: the server closes with 1007 (RFC 6455 §8.1).
// Binary is not text, and a character split across fragments is valid.
func TestEchoInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   websocket.MessageType
		parts []string
		close bool // 1007 instead of an echo
	}{
		{"invalid text", websocket.MessageText, []string{"ok \xff\xfe"}, true},
		{"invalid across fragments", websocket.MessageText, []string{"\xc3", "("}, true},
		{"truncated at the end", websocket.MessageText, []string{"abc\xe2\x82"}, true},
		{"valid split across fragments", websocket.MessageText, []string{"\xc3", "\xa9"}, false},
		{"binary", websocket.MessageBinary, []string{"\xff\xfe"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, &Handler{})
			c := ts.dial(t, "?rate=0", nil)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			w, err := c.Writer(ctx, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.parts { // one frame each
				if _, err := w.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			whole := strings.Join(tc.parts, "")
			if tc.close {
				if ce := readClose(t, c); ce.Code != websocket.StatusInvalidFramePayloadData {
					t.Fatalf("close = %v, want 1007", ce)
				}
				ts.waitReturned(t, 1)
				return
			}
			if typ, got := read(t, c); typ != tc.typ || string(got) != whole {
				t.Fatalf("echo = %v %q, want %v %q", typ, got, tc.typ, whole)
			}
		})
	}
}

type tick struct {
	Seq     uint64 `json:"seq"`
	SchedNS int64  `json:"sched_ns"`
	SentNS  int64  `json:"sent_ns"`
	Pad     string `json:"pad"`
}

func TestTicks(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		rate   float64
		jitter time.Duration
		count  int
		size   int // 0 = unpadded
		typ    websocket.MessageType
		spread time.Duration // ticks this much earlier at most, by one offset per connection
	}{
		{"fast", "?rate=1000&count=50", 1000, 0, 50, 0, websocket.MessageText, 0},
		{"jitter and size", "?rate=500&jitter=1ms&count=20&size=200", 500, time.Millisecond, 20, 200, websocket.MessageText, 0},
		{"binary", "?rate=1000&count=5&binary=1", 1000, 0, 5, 0, websocket.MessageBinary, 0},
		{"spread", "?rate=1000&count=20&spread=1ms", 1000, 0, 20, 0, websocket.MessageText, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Handler{})
			tl := transport.NewTimeline(testEpoch, tt.rate, tt.jitter)
			t0 := time.Now().UnixNano()
			c := ts.dial(t, tt.query, nil)
			var bytes int
			var first uint64
			var offset int64
			for i := range tt.count {
				typ, b := read(t, c)
				if typ != tt.typ {
					t.Fatalf("tick %d: frame type %v, want %v", i, typ, tt.typ)
				}
				var k tick
				if err := json.Unmarshal(b, &k); err != nil {
					t.Fatalf("tick %d: %q: %v", i, b, err)
				}
				if i == 0 {
					first = k.Seq
					// The first tick is the first one due after the
					// connection opened.
					if lo, hi := tl.Due(t0)+1, tl.Due(time.Now().UnixNano())+1; k.Seq < lo || k.Seq > hi {
						t.Errorf("first seq %d, want within [%d, %d]", k.Seq, lo, hi)
					}
				}
				if k.Seq != first+uint64(i) {
					t.Fatalf("tick %d: seq %d, want %d (consecutive)", i, k.Seq, first+uint64(i))
				}
				off := tl.Sched(k.Seq) - k.SchedNS
				if i == 0 {
					offset = off
				}
				if off != offset || off < 0 || off >= int64(max(tt.spread, 1)) {
					t.Errorf("seq %d: sched_ns %d is %v before the server-wide timeline's %d; want one offset for the connection, below %v",
						k.Seq, k.SchedNS, time.Duration(off), tl.Sched(k.Seq), tt.spread)
				}
				if k.SentNS < k.SchedNS {
					t.Errorf("seq %d: sent_ns %d before sched_ns %d", k.Seq, k.SentNS, k.SchedNS)
				}
				if tt.size > 0 && len(b) != tt.size {
					t.Errorf("seq %d: %d bytes, want size %d", k.Seq, len(b), tt.size)
				}
				bytes += len(b)
			}
			if ce := readClose(t, c); ce.Code != websocket.StatusNormalClosure || ce.Reason != "count reached" {
				t.Fatalf("close = %v, want 1000 \"count reached\"", ce)
			}
			ts.waitReturned(t, 1)
			s := ts.stats.Snapshot()
			if s.Events[transport.WS] != int64(tt.count) || s.Bytes[transport.WS] != int64(bytes) || s.Open[transport.WS] != 0 {
				t.Errorf("stats: events %d, bytes %d, open %d; want %d, %d, 0",
					s.Events[transport.WS], s.Bytes[transport.WS], s.Open[transport.WS], tt.count, bytes)
			}
		})
	}
}

func TestSubprotocol(t *testing.T) {
	tests := []struct {
		offer []string
		want  string
	}{
		{nil, ""},
		{[]string{"rtbench.v1", "chat"}, "rtbench.v1"},
		{[]string{"chat"}, "chat"},
	}
	ts := newTestServer(t, &Handler{})
	for _, tt := range tests {
		t.Run(strings.Join(tt.offer, ","), func(t *testing.T) {
			c := ts.dial(t, "?rate=0", &websocket.DialOptions{Subprotocols: tt.offer})
			if got := c.Subprotocol(); got != tt.want {
				t.Errorf("subprotocol = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPing shows that pings are answered while no data flows: the handler's
// reader always runs.
func TestPing(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	c := ts.dial(t, "?rate=0", nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c.CloseRead(ctx) // reads the pongs
	for i := range 3 {
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
	}
}

// TestShutdown cancels every request context, as the mock server does on
// shutdown: each client sees 1001 "server shutting down" and the handler
// returns.
func TestShutdown(t *testing.T) {
	for _, query := range []string{"?rate=0", "?rate=1000", "?channel=room"} {
		t.Run(query, func(t *testing.T) {
			ts := newTestServer(t, &Handler{})
			c := ts.dial(t, query, nil)
			closed := make(chan error, 1)
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						closed <- err
						return
					}
				}
			}()
			ts.cancel()
			ts.waitReturned(t, 1)
			select {
			case err := <-closed:
				var ce websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
					t.Fatalf("client read error %v, want close 1001 \"server shutting down\"", err)
				}
			case <-time.After(wait):
				t.Fatal("client saw no close")
			}
			if open := ts.stats.Snapshot().Open[transport.WS]; open != 0 {
				t.Errorf("open connections after shutdown = %d, want 0", open)
			}
		})
	}
}

// TestShutdownUnresponsiveClient: a client that never answers the close
// frame holds the handler for CloseTimeout, not for coder/websocket's 5 s.
func TestShutdownUnresponsiveClient(t *testing.T) {
	ts := newTestServer(t, &Handler{CloseTimeout: 50 * time.Millisecond})
	ts.dial(t, "?rate=0", nil) // never read
	start := time.Now()
	ts.cancel()
	ts.waitReturned(t, 1)
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("handler returned after %v, want about CloseTimeout (50ms), surely under coder/websocket's 5s", d)
	}
}
