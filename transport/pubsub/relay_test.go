package pubsub

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relayed starts a sequencer and n member hubs joined to it over in-memory
// connections, torn down at the end of the test.
func relayed(t *testing.T, seqOpts Options, n int) (*Sequencer, []*Hub) {
	t.Helper()
	seq := NewSequencer(seqOpts)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after the relays' Close (cleanups run last first)
	hubs := make([]*Hub, n)
	for i := range hubs {
		a, b := net.Pipe()
		wg.Add(1)
		serve := seq.Add(i+1, a)
		go func() { defer wg.Done(); serve() }()
		hubs[i] = New(Options{})
		r := hubs[i].Join(i+1, b)
		t.Cleanup(func() { r.Close() })
	}
	return seq, hubs
}

// next waits for the subscription's next messages.
func next(t *testing.T, s *Subscription) []*Message {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		msgs, _, changed := s.Next(nil)
		if len(msgs) > 0 {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatal("no message within 10s")
		}
	}
}

// TestRelayOneHub: a message published in any member reaches the
// subscribers of every member, under one seq, with one sched_ns and the
// same data bytes.
func TestRelayOneHub(t *testing.T) {
	_, hubs := relayed(t, Options{}, 3)
	subs := make([]*Subscription, len(hubs))
	for i, h := range hubs {
		s, err := h.Subscribe("news", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		subs[i] = s
	}
	for round, from := range []int{0, 2, 1} {
		data := `{"text":"<b>&","from":` + string(rune('0'+from)) + `}`
		m, n, err := hubs[from].Publish("news", []byte(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint64(round+1) || n != 1 {
			t.Errorf("publish %d: seq %d, %d local subscribers; want seq %d, 1", round, m.Seq, n, round+1)
		}
		for i, s := range subs {
			got := next(t, s)
			if len(got) != 1 || got[0].Seq != m.Seq || got[0].SchedNS != m.SchedNS || string(got[0].Data) != data {
				t.Errorf("member %d got %+v, want seq %d sched %d data %s", i+1, got[0], m.Seq, m.SchedNS, data)
			}
		}
	}
	for i, h := range hubs {
		if m, _, _ := h.Latest("news"); m == nil || m.Seq != 3 {
			t.Errorf("member %d's latest: %+v, want seq 3", i+1, m)
		}
	}
}

// TestRelaySkipOwn: subscription IDs are unique across members, so a chat
// member's echo is skipped where it published and nowhere else.
func TestRelaySkipOwn(t *testing.T) {
	_, hubs := relayed(t, Options{}, 2)
	own, err := hubs[0].Subscribe("room", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	own.SkipOwn = true
	other, err := hubs[1].Subscribe("room", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SkipOwn = true
	if own.ID == other.ID {
		t.Fatalf("both subscriptions have ID %d", own.ID)
	}
	if _, _, err := hubs[0].Publish("room", []byte(`"mine"`), own.ID); err != nil {
		t.Fatal(err)
	}
	if got := next(t, other); string(got[0].Data) != `"mine"` {
		t.Errorf("other member got %s", got[0].Data)
	}
	if _, _, err := hubs[1].Publish("room", []byte(`"theirs"`), other.ID); err != nil {
		t.Fatal(err)
	}
	// own skips its echo (seq 1) and gets seq 2 only.
	if got := next(t, own); len(got) != 1 || string(got[0].Data) != `"theirs"` {
		t.Errorf("own got %v", got)
	}
}

// TestRelayForgetsIdleChannels: the sequencer forgets a channel no member
// holds after IdleTTL (its seqs restart at 1, and so does every member's
// history of it), and keeps one a member holds subscribers of.
func TestRelayForgetsIdleChannels(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	opts := Options{IdleTTL: time.Minute, now: func() time.Time { return time.Unix(0, now.Load()) }}
	_, hubs := relayed(t, opts, 2)
	pub := func(h *Hub, ch string) uint64 {
		t.Helper()
		m, _, err := h.Publish(ch, []byte(`1`), 0)
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	held, err := hubs[1].Subscribe("held", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	pub(hubs[0], "idle")
	pub(hubs[0], "idle")
	pub(hubs[1], "held") // after the hold frame, on the same link
	now.Add(int64(2 * time.Minute))
	pub(hubs[0], "sweep") // a new channel sweeps
	if seq := pub(hubs[0], "idle"); seq != 1 {
		t.Errorf("idle channel after IdleTTL: seq %d, want 1 (forgotten)", seq)
	}
	// Member 2 keeps it too, once it arrives there.
	deadline := time.After(10 * time.Second)
	for {
		m, changed, _ := hubs[1].Latest("idle")
		if m != nil && m.Seq == 1 && m.SchedNS == now.Load() {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("member 2's idle channel: %+v, want its history restarted at seq 1", m)
		}
	}
	if u := hubs[1].Usage(); u.Messages != 3 { // idle 1, held 1, sweep 1
		t.Errorf("member 2 keeps %d messages, want 3", u.Messages)
	}
	if seq := pub(hubs[0], "held"); seq != 2 {
		t.Errorf("held channel after IdleTTL: seq %d, want 2 (kept: member 2 holds a subscriber)", seq)
	}
	// Member 2 gets seq 1 (its own) and seq 2, maybe in two reads.
	var seqs []uint64
	for len(seqs) < 2 {
		for _, m := range next(t, held) {
			seqs = append(seqs, m.Seq)
		}
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Errorf("subscriber got seqs %v, want [1 2]", seqs)
	}
}

// TestKeepRestartsChannel: a seq that does not follow the channel's last
// restarts its history, and a subscriber whose cursor is past the new last
// gets the new messages (it used to index past the kept slice).
func TestKeepRestartsChannel(t *testing.T) {
	h := New(Options{})
	s, err := h.Subscribe("c", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		h.keep(&Message{Channel: "c", Seq: uint64(i + 1), SchedNS: 1, Data: []byte(`1`)})
	}
	if got := next(t, s); len(got) != 5 {
		t.Fatalf("got %d messages, want 5", len(got))
	}
	h.keep(&Message{Channel: "c", Seq: 1, SchedNS: 2, Data: []byte(`2`)})
	got, missed, _ := s.Next(nil)
	if len(got) != 1 || got[0].Seq != 1 || string(got[0].Data) != "2" || missed != 0 {
		t.Errorf("after the restart: %+v missed %d, want seq 1 data 2", got, missed)
	}
	if u := h.Usage(); u.Messages != 1 {
		t.Errorf("kept %d messages, want 1", u.Messages)
	}
	// A gap (the channel was evicted here): history restarts at the new seq.
	h.keep(&Message{Channel: "c", Seq: 9, SchedNS: 3, Data: []byte(`3`)})
	got, missed, _ = s.Next(nil)
	if len(got) != 1 || got[0].Seq != 9 || missed != 7 {
		t.Errorf("after the gap: %+v missed %d, want seq 9, 7 missed", got, missed)
	}
}

// TestRelayClosed: once the sequencer is gone, a publish fails at once with
// ErrRelayClosed and Done is closed.
func TestRelayClosed(t *testing.T) {
	a, b := net.Pipe()
	h := New(Options{})
	r := h.Join(1, b)
	a.Close()
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the sequencer's end closed")
	}
	if _, _, err := h.Publish("c", []byte(`1`), 0); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("publish: %v, want ErrRelayClosed", err)
	}
	r.Close()
}
