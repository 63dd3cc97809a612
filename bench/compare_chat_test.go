package bench

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
)

// fakeRoom is an in-process chat room: every message sent (on a member's
// outbox or through Send) reaches every joined member, as its data, except
// that drop[i] members never get message IDs in lose, and dupe members get
// everything twice.
type fakeRoom struct {
	mu      sync.Mutex
	members []chan []byte
	lose    map[uint64]bool
	drop    map[int]bool
	dupe    map[int]bool
	absent  map[int]bool // never connects
	deaf    map[int]bool // connects, receives nothing
	failIDs map[uint64]bool
}

func (r *fakeRoom) join() chan []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan []byte, 1024)
	r.members = append(r.members, ch)
	return ch
}

func (r *fakeRoom) publish(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.members {
		ch <- data
	}
}

type fakeMember struct {
	room   *fakeRoom
	i      int
	outbox <-chan []byte
}

func (m *fakeMember) Run(ctx context.Context, obs transport.Observer) error {
	if m.room.absent[m.i] {
		<-ctx.Done()
		return nil
	}
	in := m.room.join()
	obs.Connected(&transport.Connect{Start: time.Now(), Headers: time.Now(), Status: 101})
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-m.outbox:
			m.room.publish(d)
		case d := <-in:
			id, _, ok := ParseChatMark(d)
			if !ok {
				return errors.New("no chat mark in " + string(d))
			}
			if (m.room.drop[m.i] && m.room.lose[id]) || m.room.deaf[m.i] {
				continue
			}
			// An envelope around the data, as serve's hub sends it.
			env := append(append([]byte(`{"channel":"c","seq":9,"sched_ns":1,"data":`), d...), '}')
			n := 1
			if m.room.dupe[m.i] {
				n = 2
			}
			for range n {
				obs.Event(&transport.Event{Kind: transport.KindMessage, At: time.Now(), Data: env,
					Stamp: transport.Stamp{HasSeq: true, Seq: 9, HasSched: true, SchedNS: 1}})
			}
		}
	}
}

func TestCompareRunChat(t *testing.T) {
	const members, per = 3, 4 // 1 s at 4 messages/s
	tests := []struct {
		name      string
		http      bool // send through Send instead of the outbox
		room      *fakeRoom
		interrupt bool // cancel the run once every message is sent
		cutOff    int64
		sent      int64
		delivered int64
		lost, dup int64
		errors    int64
		connected int
	}{
		{name: "every member gets every message once, on the socket", sent: 12, delivered: 36, connected: 3},
		{name: "every member gets every message once, over HTTP", http: true, sent: 12, delivered: 36, connected: 3},
		{name: "a member loses two and another gets duplicates", room: &fakeRoom{drop: map[int]bool{1: true}, lose: map[uint64]bool{2: true, 7: true}, dupe: map[int]bool{2: true}},
			sent: 12, delivered: 34, lost: 2, dup: 12, connected: 3},
		{name: "a member that never joined sends nothing and loses everything", room: &fakeRoom{absent: map[int]bool{0: true}}, sent: 8, delivered: 16, lost: 8, connected: 2},
		{name: "a deaf member loses every message", http: true, room: &fakeRoom{deaf: map[int]bool{1: true}}, sent: 12, delivered: 24, lost: 12, connected: 3},
		{name: "interrupted: what was still on its way is cut off, not lost", http: true, interrupt: true, room: &fakeRoom{deaf: map[int]bool{1: true}},
			sent: 12, delivered: 24, cutOff: 12, connected: 3},
		{name: "a failed send is not expected", http: true, room: &fakeRoom{failIDs: map[uint64]bool{5: true}}, sent: 11, delivered: 33, errors: 1, connected: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			room := tt.room
			if room == nil {
				room = &fakeRoom{}
			}
			drain := 200 * time.Millisecond
			if tt.interrupt {
				drain = time.Minute // every message counts as recent
			}
			c := Compare{ChatMembers: members, ChatRate: per, Duration: time.Second, Settle: time.Second, Drain: drain, Size: 64}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var sends sync.Mutex
			nsent := 0
			run := ChatRun{Name: "fake", Pattern: "ws", URL: "ws://127.0.0.1:1/ws?channel=c", Sends: "socket",
				NewSession: func(i int, _ *http.Client, outbox <-chan []byte) transport.Session {
					if tt.http != (outbox == nil) {
						t.Errorf("member %d: outbox %v with Send set %v", i, outbox != nil, tt.http)
					}
					return &fakeMember{room: room, i: i, outbox: outbox}
				}}
			if tt.http {
				run.Send = func(_ context.Context, _ *http.Client, member int, m ChatMessage) error {
					if want := uint64(member*per) + 1; m.ID < want || m.ID >= want+per {
						t.Errorf("member %d sent ID %d", member, m.ID)
					}
					if room.failIDs[m.ID] {
						return errors.New("HTTP 503")
					}
					room.publish(m.Data)
					sends.Lock()
					defer sends.Unlock()
					if nsent++; tt.interrupt && nsent == members*per {
						// A send that returns without error counts as
						// sent, even once the run is interrupted.
						cancel()
					}
					return nil
				}
			}
			r, err := c.RunChat(ctx, run)
			if err != nil {
				t.Fatal(err)
			}
			if r.Sent != tt.sent || r.Delivered != tt.delivered || r.Lost != tt.lost || r.Duplicates != tt.dup || r.SendErrors != tt.errors || r.Connected != tt.connected {
				t.Errorf("sent %d delivered %d lost %d dup %d errors %d connected %d, want %d %d %d %d %d %d",
					r.Sent, r.Delivered, r.Lost, r.Duplicates, r.SendErrors, r.Connected, tt.sent, tt.delivered, tt.lost, tt.dup, tt.errors, tt.connected)
			}
			if r.CutOff != tt.cutOff || r.Result.Interrupted != tt.interrupt {
				t.Errorf("cut off %d interrupted %v, want %d %v", r.CutOff, r.Result.Interrupted, tt.cutOff, tt.interrupt)
			}
			if r.Expected != tt.sent*members {
				t.Errorf("expected %d, want %d", r.Expected, tt.sent*members)
			}
			m, ok := r.Delivery()
			if !ok || m.Count != tt.delivered {
				t.Errorf("delivery histogram holds %d values, want one per delivered message (%d)", m.Count, tt.delivered)
			}
			if tt.http && r.RequestsUp != tt.sent+tt.errors {
				t.Errorf("requests up %d, want one per send (%d)", r.RequestsUp, tt.sent+tt.errors)
			}
			if !tt.http && r.RequestsUp != 0 {
				t.Errorf("requests up %d on the socket, want 0", r.RequestsUp)
			}
			if r.Result.Counters[Lost.String()] != tt.lost {
				t.Errorf("result's lost counter %d, want %d", r.Result.Counters[Lost.String()], tt.lost)
			}
		})
	}
}

func TestChatMark(t *testing.T) {
	at := time.Unix(1700000000, 123)
	d := ChatData(ChatMessage{ID: 42, Sched: at}, 64)
	if len(d) != 64 {
		t.Errorf("ChatData is %d bytes, want 64", len(d))
	}
	tests := []struct {
		in    string
		id    uint64
		sched int64
		ok    bool
	}{
		{string(d), 42, at.UnixNano(), true},
		{`{"seq":3,"data":` + string(d) + `}`, 42, at.UnixNano(), true},
		{`{"chat":"42"}`, 0, 0, false},
		{`{"chat":"0.5"}`, 0, 0, false},
		{`{"chat":"1.-5"}`, 0, 0, false},
		{`{"chat":"1.5`, 0, 0, false},
		{`{"p":"x"}`, 0, 0, false},
	}
	for _, tt := range tests {
		id, sched, ok := ParseChatMark([]byte(tt.in))
		if id != tt.id || sched != tt.sched || ok != tt.ok {
			t.Errorf("ParseChatMark(%q) = %d, %d, %v; want %d, %d, %v", tt.in, id, sched, ok, tt.id, tt.sched, tt.ok)
		}
	}
}

func FuzzParseChatMark(f *testing.F) {
	f.Add([]byte(`{"chat":"42.1700000000000000123","p":"xx"}`))
	f.Add([]byte(`{"chat":"1.`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, sched, ok := ParseChatMark(b)
		if ok && (id == 0 || sched <= 0) {
			t.Errorf("ok with id %d sched %d", id, sched)
		}
		if ok {
			back, s2, ok2 := ParseChatMark(ChatData(ChatMessage{ID: id, Sched: time.Unix(0, sched)}, 8))
			if !ok2 || back != id || s2 != sched {
				t.Errorf("round trip of %d.%d: %d.%d %v", id, sched, back, s2, ok2)
			}
		}
	})
}
