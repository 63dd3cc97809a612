package pubsub

import (
	"net"
	"testing"
	"time"
)

// FuzzRelayMember feeds a member hub whatever its link to the sequencer
// could carry: no panic, the link ends when the stream does, and every
// channel's kept messages stay contiguous, within the ring, and counted
// exactly against the budget.
func FuzzRelayMember(f *testing.F) {
	f.Add([]byte(`{"op":"msg","ch":"a","seq":1,"sched":5,"data":{"x":1},"member":2,"id":1}` + "\n" +
		`{"op":"msg","ch":"a","seq":2,"sched":6,"data":"y"}` + "\n"))
	f.Add([]byte(`{"op":"msg","ch":"a","seq":7,"data":1}{"op":"msg","ch":"a","seq":3,"data":2}{"op":"err","id":1,"err":"too many channels"}`))
	f.Add([]byte(`{"op":"msg","ch":"bad name","seq":1,"data":1}{"op":"msg","ch":"b","seq":0,"data":[]}`))
	f.Add([]byte(`{"op":"msg","ch":"c","seq":18446744073709551615,"data":null}not json`))
	f.Fuzz(func(t *testing.T, stream []byte) {
		a, b := net.Pipe()
		h := New(Options{RingSize: 4})
		r := h.Join(1, b)
		go func() {
			a.Write(stream)
			a.Close()
		}()
		select {
		case <-r.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the link did not end with its stream")
		}
		r.Close()
		var bytes int64
		var count int
		h.mu.RLock()
		defer h.mu.RUnlock()
		for name, ch := range h.channels {
			if !ValidChannel(name) {
				t.Errorf("channel %q kept", name)
			}
			if len(ch.kept) > 4 {
				t.Errorf("channel %q keeps %d messages, ring 4", name, len(ch.kept))
			}
			for i, m := range ch.kept {
				if want := ch.last - uint64(len(ch.kept)-1-i); m.Seq != want {
					t.Errorf("channel %q: kept[%d] seq %d, want %d (last %d)", name, i, m.Seq, want, ch.last)
				}
				bytes += m.Size()
			}
			count += len(ch.kept)
		}
		if bytes != h.total.Load() || int64(count) != h.count.Load() {
			t.Errorf("budget counts %d bytes, %d messages; kept %d, %d", h.total.Load(), h.count.Load(), bytes, count)
		}
	})
}
