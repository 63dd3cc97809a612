package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport/pubsub"
)

type envelope struct {
	Channel string          `json:"channel"`
	Seq     uint64          `json:"seq"`
	SchedNS int64           `json:"sched_ns"`
	SentNS  int64           `json:"sent_ns"`
	Data    json.RawMessage `json:"data"`
}

// readEnvelope reads one room message and checks its frame type and
// timestamps.
func readEnvelope(t *testing.T, c *websocket.Conn, typ websocket.MessageType) envelope {
	t.Helper()
	gotTyp, b := read(t, c)
	if gotTyp != typ {
		t.Fatalf("frame %q: type %v, want %v", b, gotTyp, typ)
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("envelope %q: %v", b, err)
	}
	if e.SchedNS == 0 || e.SentNS < e.SchedNS {
		t.Errorf("envelope %q: want 0 < sched_ns <= sent_ns", b)
	}
	return e
}

// TestRoom: two members and an HTTP publisher on one channel. Each member
// gets its own message once, as the echo, and everyone else's as envelopes,
// in channel order; an SSE-style subscriber of the channel sees the members'
// messages too.
func TestRoom(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	sse, err := ts.hub.Subscribe("room", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	a := ts.dial(t, "?channel=room", nil)
	b := ts.dial(t, "?channel=room", nil)

	type want struct {
		echo string // an echo of exactly this, or
		seq  uint64 // an envelope of this seq
		data string // with this data
	}
	steps := []struct {
		from  *websocket.Conn // nil: an HTTP publish
		msg   string
		wantA want
		wantB want
	}{
		{a, `{ "from": "a" }`, want{echo: `{ "from": "a" }`}, want{seq: 1, data: `{"from":"a"}`}},
		{b, `hello from b`, want{seq: 2, data: `"hello from b"`}, want{echo: `hello from b`}},
		{nil, `{"from":"http"}`, want{seq: 3, data: `{"from":"http"}`}, want{seq: 3, data: `{"from":"http"}`}},
		{a, `[1,2]`, want{echo: `[1,2]`}, want{seq: 4, data: `[1,2]`}},
	}
	for i, st := range steps {
		if st.from == nil {
			if _, _, err := ts.hub.Publish("room", []byte(st.msg), 0); err != nil {
				t.Fatal(err)
			}
		} else {
			write(t, st.from, websocket.MessageText, []byte(st.msg))
		}
		// Reading each member's next message in turn asserts the order:
		// a duplicate of a member's own message would show up here.
		for _, m := range []struct {
			name string
			c    *websocket.Conn
			w    want
		}{{"a", a, st.wantA}, {"b", b, st.wantB}} {
			if m.w.echo != "" {
				if typ, got := read(t, m.c); typ != websocket.MessageText || string(got) != m.w.echo {
					t.Fatalf("step %d, member %s: got %v %q, want the echo %q", i, m.name, typ, got, m.w.echo)
				}
				continue
			}
			e := readEnvelope(t, m.c, websocket.MessageText)
			if e.Channel != "room" || e.Seq != m.w.seq || string(e.Data) != m.w.data {
				t.Fatalf("step %d, member %s: got %s #%d %s, want room #%d %s", i, m.name, e.Channel, e.Seq, e.Data, m.w.seq, m.w.data)
			}
		}
	}

	msgs, missed, _ := sse.Next(nil)
	if missed != 0 || len(msgs) != len(steps) {
		t.Fatalf("SSE-side subscriber got %d messages (%d missed), want %d", len(msgs), missed, len(steps))
	}
	wantData := []string{`{"from":"a"}`, `"hello from b"`, `{"from":"http"}`, `[1,2]`}
	for i, m := range msgs {
		if m.Seq != uint64(i+1) || string(m.Data) != wantData[i] {
			t.Errorf("SSE-side message %d: #%d %s, want #%d %s", i, m.Seq, m.Data, i+1, wantData[i])
		}
	}
	if msgs[0].From == 0 || msgs[0].From != msgs[3].From || msgs[1].From == msgs[0].From || msgs[2].From != 0 {
		t.Errorf("From = %d %d %d %d, want a, b, 0 (HTTP), a", msgs[0].From, msgs[1].From, msgs[2].From, msgs[3].From)
	}
	if got := ts.stats.Snapshot().Published; got != 3 {
		t.Errorf("stats published = %d, want 3 (the members' messages)", got)
	}
}

// TestRoomBinary: with binary=1 room messages are binary frames; echoes
// keep the type the client sent.
func TestRoomBinary(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	c := ts.dial(t, "?channel=bin&binary=1", nil)
	if _, _, err := ts.hub.Publish("bin", []byte(`{"n":1}`), 0); err != nil {
		t.Fatal(err)
	}
	if e := readEnvelope(t, c, websocket.MessageBinary); e.Seq != 1 || string(e.Data) != `{"n":1}` {
		t.Fatalf("envelope #%d %s, want #1 {\"n\":1}", e.Seq, e.Data)
	}
	write(t, c, websocket.MessageText, []byte("hi"))
	if typ, got := read(t, c); typ != websocket.MessageText || string(got) != "hi" {
		t.Fatalf("echo = %v %q, want text \"hi\"", typ, got)
	}
}

// TestRoomTooLarge: a member message larger than the hub takes closes the
// connection with 1009 instead of being dropped silently.
func TestRoomTooLarge(t *testing.T) {
	ts := newTestServer(t, &Handler{Hub: pubsub.New(pubsub.Options{MaxData: 16})})
	c := ts.dial(t, "?channel=small", nil)
	write(t, c, websocket.MessageText, []byte(`{"too":"large for 16 bytes"}`))
	if ce := readClose(t, c); ce.Code != websocket.StatusMessageTooBig || ce.Reason != "message too large for a channel" {
		t.Fatalf("close = %v, want 1009 \"message too large for a channel\"", ce)
	}
	ts.waitReturned(t, 1)
}

func TestTakeBuffer(t *testing.T) {
	const grace = 10 * time.Second
	tests := []struct {
		name     string
		ready    bool          // a buffer is free at once
		freeAt   time.Duration // else one is freed after this; 0 = never
		stopAt   time.Duration // the writer stops after this; 0 = never
		wantErr  error
		wantWait time.Duration
	}{
		{name: "free buffer", ready: true},
		{name: "writer frees one", freeAt: 3 * time.Second, wantWait: 3 * time.Second},
		{name: "writer stops", stopAt: time.Second, wantErr: errStopping, wantWait: time.Second},
		{name: "slow consumer", wantErr: errSlowConsumer, wantWait: grace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				free := make(chan []byte, 1)
				stopping := make(chan struct{})
				if tt.ready {
					free <- []byte("buf")
				}
				if tt.freeAt > 0 {
					time.AfterFunc(tt.freeAt, func() { free <- []byte("buf") })
				}
				if tt.stopAt > 0 {
					time.AfterFunc(tt.stopAt, func() { close(stopping) })
				}
				start := time.Now()
				b, err := takeBuffer(free, stopping, grace)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if err == nil && string(b) != "buf" {
					t.Errorf("buffer = %q, want the free one", b)
				}
				if d := time.Since(start); d != tt.wantWait {
					t.Errorf("waited %v, want %v", d, tt.wantWait)
				}
			})
		})
	}
}

// chunkReader returns its data in reads of at most n bytes.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}

func TestReadMessage(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 1000)
	for _, tt := range []struct {
		name  string
		buf   []byte
		chunk int
	}{
		{"nil buffer", nil, 1 << 20},
		{"small chunks", make([]byte, 0, 16), 7},
		{"fits", make([]byte, 0, len(msg)), 4096},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readMessage(&chunkReader{msg, tt.chunk}, tt.buf)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("readMessage = %d bytes, %v; want the %d-byte message", len(got), err, len(msg))
			}
		})
	}
	// A buffer that already holds a message's capacity is reused as is.
	buf := make([]byte, 0, len(msg))
	r := new(chunkReader)
	allocs := testing.AllocsPerRun(100, func() {
		*r = chunkReader{msg, 4096}
		buf, _ = readMessage(r, buf[:0])
	})
	if allocs != 0 {
		t.Errorf("readMessage into a large enough buffer: %v allocs, want 0", allocs)
	}
}

// TestTickAllocs: pushing a tick allocates nothing. The count covers the
// whole process between two points in the stream, so it includes the
// client's reads, which are allocation-free too (see drain).
func TestTickAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures a 0.3 s stream")
	}
	const n = 300
	ts := newTestServer(t, &Handler{})
	c := ts.dial(t, "?rate=1000&size=100&count=400", nil)
	buf := make([]byte, 4096)
	var before, after runtime.MemStats
	for i := range n + 20 {
		if i == 20 { // past connection setup
			runtime.ReadMemStats(&before)
		}
		_, r, err := c.Reader(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readMessage(r, buf[:0]); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / n
	t.Logf("%.3f allocations per tick", per)
	if per >= 0.1 {
		t.Errorf("%.2f allocations per tick pushed and read, want 0", per)
	}
}
