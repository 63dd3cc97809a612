package pubsub

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seqs(msgs []*Message) []uint64 {
	out := []uint64{}
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

func publishN(t *testing.T, h *Hub, ch string, n int) {
	t.Helper()
	for i := range n {
		if _, _, err := h.Publish(ch, fmt.Appendf(nil, `{"i":%d}`, i), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSubscribeResume(t *testing.T) {
	tests := []struct {
		name       string
		ring       int
		published  int
		after      uint64
		resume     bool
		wantSeqs   []uint64
		wantMissed uint64
	}{
		{"new subscriber sees only what comes next", 8, 5, 0, false, []uint64{}, 0},
		{"resume from 0 replays the ring", 8, 5, 0, true, []uint64{1, 2, 3, 4, 5}, 0},
		{"resume mid-way: no gap, no duplicate", 8, 5, 3, true, []uint64{4, 5}, 0},
		{"resume at the head: nothing", 8, 5, 5, true, []uint64{}, 0},
		{"resume from the future starts at the head", 8, 5, 99, true, []uint64{}, 0},
		{"older than the ring: the gap is counted", 4, 10, 2, true, []uint64{7, 8, 9, 10}, 4},
		{"exactly the ring behind", 4, 10, 6, true, []uint64{7, 8, 9, 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Options{RingSize: tt.ring})
			publishN(t, h, "c", tt.published)
			sub, err := h.Subscribe("c", tt.after, tt.resume)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			msgs, missed, _ := sub.Next(nil)
			if got := seqs(msgs); fmt.Sprint(got) != fmt.Sprint(tt.wantSeqs) {
				t.Errorf("seqs = %v, want %v", got, tt.wantSeqs)
			}
			if missed != tt.wantMissed {
				t.Errorf("missed = %d, want %d", missed, tt.wantMissed)
			}
			// Then live delivery continues exactly after.
			publishN(t, h, "c", 1)
			msgs, missed, _ = sub.Next(nil)
			if len(msgs) != 1 || msgs[0].Seq != uint64(tt.published+1) || missed != 0 {
				t.Errorf("next live = %v missed %d, want [%d]", seqs(msgs), missed, tt.published+1)
			}
		})
	}
}

func TestChangedWakesSubscriber(t *testing.T) {
	h := New(Options{})
	sub, _ := h.Subscribe("c", 0, false)
	defer sub.Close()
	_, _, changed := sub.Next(nil)
	select {
	case <-changed:
		t.Fatal("changed closed before any publish")
	default:
	}
	_, delivered, err := h.Publish("c", []byte(`"x"`), 0)
	if err != nil || delivered != 1 {
		t.Fatalf("publish: delivered %d err %v, want 1 nil", delivered, err)
	}
	<-changed // must be closed now; a hang fails the test by timeout
}

func TestEnvelope(t *testing.T) {
	h := New(Options{})
	m, _, err := h.Publish("news.eu", []byte("{ \"text\" : \"hi\",\n \"n\": [1, 2] }"), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := string(m.AppendJSON(nil, 42))
	want := fmt.Sprintf(`{"channel":"news.eu","seq":1,"sched_ns":%d,"sent_ns":42,"data":{"text":"hi","n":[1,2]}}`, m.SchedNS)
	if got != want {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) || strings.ContainsAny(got, "\r\n") {
		t.Fatalf("envelope must be one line of valid JSON: %q", got)
	}
	buf := make([]byte, 0, 256)
	if allocs := testing.AllocsPerRun(100, func() { buf = m.AppendJSON(buf[:0], 1) }); allocs != 0 {
		t.Errorf("AppendJSON with room: %v allocs, want 0", allocs)
	}
}

func TestSkipOwn(t *testing.T) {
	h := New(Options{})
	a, _ := h.Subscribe("room", 0, false)
	b, _ := h.Subscribe("room", 0, false)
	defer a.Close()
	defer b.Close()
	a.SkipOwn, b.SkipOwn = true, true
	h.Publish("room", JSONData([]byte("from a")), a.ID)
	h.Publish("room", JSONData([]byte(`{"from":"b"}`)), b.ID)
	h.Publish("room", []byte(`"from http"`), 0)
	ma, _, _ := a.Next(nil)
	mb, _, _ := b.Next(nil)
	if fmt.Sprint(seqs(ma)) != "[2 3]" || fmt.Sprint(seqs(mb)) != "[1 3]" {
		t.Fatalf("a got %v, b got %v; want [2 3] and [1 3]", seqs(ma), seqs(mb))
	}
	if string(mb[0].Data) != `"from a"` || string(ma[0].Data) != `{"from":"b"}` {
		t.Fatalf("data: %s %s", mb[0].Data, ma[0].Data)
	}
}

func TestErrors(t *testing.T) {
	h := New(Options{MaxChannels: 2, MaxData: 16})
	tests := []struct {
		channel, data string
		want          error
	}{
		{"", `1`, ErrBadChannel},
		{"has space", `1`, ErrBadChannel},
		{strings.Repeat("x", 129), `1`, ErrBadChannel},
		{"ok", `{"a":`, ErrBadData},
		{"ok", `"` + strings.Repeat("x", 20) + `"`, ErrTooLarge},
		{"one", `1`, nil},
		{"two", `2`, nil},
		{"three", `3`, ErrTooManyChannels},
		{"one", `4`, nil},
	}
	for _, tt := range tests {
		if _, _, err := h.Publish(tt.channel, []byte(tt.data), 0); !errors.Is(err, tt.want) {
			t.Errorf("Publish(%q, %s) = %v, want %v", tt.channel, tt.data, err, tt.want)
		}
	}
}

func TestJSONData(t *testing.T) {
	tests := map[string]string{
		`{"a": 1}`:   `{"a":1}`,
		`hello`:      `"hello"`,
		"line\nnext": `"line\nnext"`,
		"\xff":       `"\ufffd"`,
		` 12 `:       `12`,
	}
	for in, want := range tests {
		if got := string(JSONData([]byte(in))); got != want {
			t.Errorf("JSONData(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLatest(t *testing.T) {
	h := New(Options{})
	m, changed, err := h.Latest("c")
	if m != nil || err != nil {
		t.Fatalf("empty channel: %v %v", m, err)
	}
	publishN(t, h, "c", 3)
	<-changed
	if m, _, _ = h.Latest("c"); m == nil || m.Seq != 3 {
		t.Fatalf("Latest = %+v, want seq 3", m)
	}
}

// Concurrent publishers and subscribers: every subscriber sees every message
// exactly once and in order (run with -race).
func TestConcurrentOrder(t *testing.T) {
	const pubs, each, subs = 4, 200, 8
	h := New(Options{RingSize: pubs * each})
	var wg sync.WaitGroup
	results := make([][]uint64, subs)
	ready := make(chan struct{}, subs)
	for i := range subs {
		sub, _ := h.Subscribe("c", 0, false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.Close()
			ready <- struct{}{}
			var got []uint64
			for len(got) < pubs*each {
				msgs, missed, changed := sub.Next(nil)
				if missed != 0 {
					t.Errorf("missed %d", missed)
					return
				}
				got = append(got, seqs(msgs)...)
				if len(got) < pubs*each {
					<-changed
				}
			}
			results[i] = got
		}()
	}
	for range subs {
		<-ready
	}
	var pw sync.WaitGroup
	for range pubs {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for range each {
				h.Publish("c", []byte(`1`), 0)
			}
		}()
	}
	pw.Wait()
	wg.Wait()
	for i, got := range results {
		for j, s := range got {
			if s != uint64(j+1) {
				t.Fatalf("subscriber %d: position %d has seq %d", i, j, s)
			}
		}
	}
}
