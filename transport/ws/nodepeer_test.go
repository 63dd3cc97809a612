package ws

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// TestClientNodePeer: the strict client against a server nobody here wrote
// (testdata/peer/server.js, Node's npm ws package, which validates UTF-8
// and answers pings and closes itself): text with multi-byte characters, a
// binary message and one with a 64-bit length come back as they went, pings
// are answered, nothing is refused as a protocol error, and the close the
// client starts is answered, so it is clean.
func TestClientNodePeer(t *testing.T) {
	base := transporttest.NodePeer(t, "../../testdata/peer")
	url := "ws" + strings.TrimPrefix(base, "http") + "/chat"
	bothPaths(t, func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 70_000/16) // a 64-bit length each way
		sent := []Outgoing{
			{Data: []byte("héllo ✓ from rtbench")},
			{Binary: true, Data: []byte{0, 1, 0xfe, 0xff}},
			{Binary: true, Data: big},
		}
		out := make(chan Outgoing, len(sent))
		for _, m := range sent {
			out <- m
		}
		close(out)
		r := newRec()
		var once sync.Once
		done := make(chan struct{})
		messages, pongs := 0, 0
		r.OnEvent = func(_ int, e *transport.Event) { // on the reader's goroutine only
			switch e.Kind {
			case transport.KindPong:
				pongs++
			default:
				messages++
			}
			if messages == 1+len(sent) && pongs >= 1 {
				once.Do(func() { close(done) })
			}
		}
		c := &Client{URL: url, Outbox: out, PingInterval: 5 * time.Millisecond, Reconnect: never, CloseTimeout: wait}
		stop, _ := start(t, c, r)
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatal("the welcome, the echoes and a pong did not all arrive")
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		_, events, errs, closes := r.Snapshot()
		var got []transport.Event
		for _, e := range events {
			if e.Kind != transport.KindPong {
				got = append(got, e)
			}
		}
		if string(got[0].Data) != `{"type":"welcome","seq":1}` || got[0].Type != "text" {
			t.Errorf("first message %s %q, want the welcome", got[0].Type, got[0].Data)
		}
		for i, m := range sent {
			e := got[1+i]
			if wantType := map[bool]string{false: "text", true: "binary"}[m.Binary]; e.Type != wantType || !bytes.Equal(e.Data, m.Data) {
				t.Errorf("echo %d: %s %.40q (%d bytes), want %s %.40q (%d bytes)", i, e.Type, e.Data, len(e.Data), wantType, m.Data, len(m.Data))
			}
		}
		if len(errs) != 0 {
			t.Errorf("errors %+v", errs)
		}
		if len(closes) != 1 || closes[0].Code != 1001 || !closes[0].Clean {
			t.Errorf("closes %+v, want 1001 going away, clean (Node answered the close)", closes)
		}
	})
}
