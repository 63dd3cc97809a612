package pubsub

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkAccounting verifies the hub's books: the hub-wide byte count is the
// sum of every kept message's Size, no channel keeps more than its bounds,
// the total is under MaxBytes, and the fifo is proportional to what is kept.
func checkAccounting(t *testing.T, h *Hub) Usage {
	t.Helper()
	u := h.Usage()
	var sum int64
	var n int
	h.mu.RLock()
	for name, ch := range h.channels {
		ch.mu.RLock()
		var chSum int64
		for i, m := range ch.kept {
			chSum += m.Size()
			if want := ch.first() + uint64(i); m.Seq != want {
				t.Errorf("channel %s: kept[%d] has seq %d, want %d", name, i, m.Seq, want)
			}
		}
		if chSum != ch.bytes {
			t.Errorf("channel %s: bytes %d, kept messages sum to %d", name, ch.bytes, chSum)
		}
		if ch.bytes > h.opts.ChannelBytes || len(ch.kept) > h.opts.RingSize {
			t.Errorf("channel %s keeps %d messages, %d B: over %d messages or %d B", name, len(ch.kept), ch.bytes, h.opts.RingSize, h.opts.ChannelBytes)
		}
		sum += chSum
		n += len(ch.kept)
		ch.mu.RUnlock()
	}
	h.mu.RUnlock()
	if sum != u.Bytes || int64(n) != h.count.Load() {
		t.Errorf("hub counts %d B in %d messages; the channels keep %d B in %d", u.Bytes, h.count.Load(), sum, n)
	}
	if u.Bytes > h.opts.MaxBytes {
		t.Errorf("hub keeps %d B, over its budget of %d B", u.Bytes, h.opts.MaxBytes)
	}
	h.budget.Lock()
	if f := len(h.fifo); f > 2*n+1024 {
		t.Errorf("fifo has %d entries for %d kept messages", f, n)
	}
	h.budget.Unlock()
	return u
}

// TestBudgetUnderFlood floods the hub from many goroutines with many
// channels of large messages (the 10,000 channels × 1,024 × 64 KiB
// would be 640 GiB of history unbounded): what it keeps stays within
// MaxBytes and ChannelBytes, counted exactly.
func TestBudgetUnderFlood(t *testing.T) {
	h := New(Options{MaxBytes: 4 << 20, ChannelBytes: 256 << 10, MaxChannels: 2000})
	data := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				name := fmt.Sprintf("c%d", (w*150+i)%300)
				if _, _, err := h.Publish(name, data, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	u := checkAccounting(t, h)
	published := int64(8*150) * (int64(len(data)) + messageOverhead)
	if u.Bytes > 4<<20 || u.Bytes < 3<<20 {
		t.Errorf("hub keeps %d B after %d B published: want close under the 4 MiB budget", u.Bytes, published)
	}
	t.Logf("published %d MiB to 300 channels; kept %d messages, %.2f MiB", published>>20, u.Messages, float64(u.Bytes)/(1<<20))
}

// TestBudgetDropsOldestFirst: past MaxBytes the hub-wide oldest message
// goes first, whatever its channel; past ChannelBytes the channel's oldest.
func TestBudgetDropsOldestFirst(t *testing.T) {
	data := []byte(`"` + strings.Repeat("y", 1000) + `"`)
	probe, _, _ := New(Options{}).Publish("a", data, 0)
	size := probe.Size() // the same for every message below (seqs < 10)
	h := New(Options{MaxBytes: 10 * size, ChannelBytes: 10 * size})
	for range 6 {
		for _, ch := range []string{"a", "b"} {
			if _, _, err := h.Publish(ch, data, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 12 messages published, a1 b1 a2 b2 ... a6 b6: 10 fit, so a1 and b1
	// (the hub-wide oldest) are dropped.
	checkAccounting(t, h)
	a, _ := h.Subscribe("a", 0, true)
	defer a.Close()
	b, _ := h.Subscribe("b", 0, true)
	defer b.Close()
	ma, missedA, _ := a.Next(nil)
	mb, missedB, _ := b.Next(nil)
	if missedA != 1 || missedB != 1 {
		t.Fatalf("missed a=%d b=%d: want the oldest of both channels dropped in publish order", missedA, missedB)
	}
	if ma[len(ma)-1].Seq != 6 || mb[len(mb)-1].Seq != 6 {
		t.Fatalf("newest kept a=%d b=%d, want 6 and 6", ma[len(ma)-1].Seq, mb[len(mb)-1].Seq)
	}

	// Per channel: c keeps what fits in ChannelBytes, its oldest dropped.
	h2 := New(Options{ChannelBytes: 3*size + 16}) // seq 10 is a digit longer
	for range 10 {
		if _, _, err := h2.Publish("c", data, 0); err != nil {
			t.Fatal(err)
		}
	}
	checkAccounting(t, h2)
	c, _ := h2.Subscribe("c", 0, true)
	defer c.Close()
	mc, missed, _ := c.Next(nil)
	if len(mc) != 3 || mc[2].Seq != 10 || missed != 7 {
		t.Fatalf("channel c kept %v, missed %d: want the newest up to 3, oldest dropped", seqs(mc), missed)
	}
}

// TestIdleChannelsEvicted: a channel with no subscriber and no publish for
// IdleTTL is evicted with its history (its bytes leave the budget); one with
// a subscriber stays however idle; an evicted name starts afresh.
func TestIdleChannelsEvicted(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	h := New(Options{IdleTTL: time.Minute, now: func() time.Time { return time.Unix(0, now.Load()) }})
	publishN(t, h, "idle", 5)
	publishN(t, h, "held", 5)
	sub, err := h.Subscribe("held", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before := checkAccounting(t, h)
	if before.Channels != 2 || before.Messages != 10 {
		t.Fatalf("before: %+v", before)
	}
	now.Add(int64(59 * time.Second))
	h.Sweep()
	if u := h.Usage(); u.Channels != 2 {
		t.Fatalf("swept before IdleTTL: %+v", u)
	}
	// Creating a channel sweeps on its own, at most every IdleTTL/4.
	now.Add(int64(15 * time.Second))
	publishN(t, h, "new", 1)
	after := checkAccounting(t, h)
	if after.Channels != 2 || after.Messages != 6 {
		t.Fatalf("after IdleTTL: %+v, want idle evicted (held and new left, 6 messages)", after)
	}
	m, _, err := h.Publish("idle", []byte(`1`), 0)
	if err != nil || m.Seq != 1 {
		t.Fatalf("republished to an evicted channel: seq %v %v, want a fresh channel at 1", m, err)
	}
	checkAccounting(t, h)
}

// TestEvictionRacesSubscribe: subscribing and publishing while channels are
// being evicted never lands on an evicted channel (a subscriber there would
// never hear a publish).
func TestEvictionRacesSubscribe(t *testing.T) {
	var now atomic.Int64
	h := New(Options{IdleTTL: time.Nanosecond, now: func() time.Time { return time.Unix(0, now.Add(1)) }})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				h.Sweep()
			}
		}
	}()
	for i := range 2000 {
		name := fmt.Sprintf("r%d", i%7)
		s, err := h.Subscribe(name, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, n, err := h.Publish(name, []byte(`1`), 0); err != nil || n < 1 {
			t.Fatalf("publish after subscribe reached %d subscribers (%v): the subscription is on an evicted channel", n, err)
		}
		if msgs, _, _ := s.Next(nil); len(msgs) == 0 {
			t.Fatalf("subscriber missed its own channel's publish")
		}
		s.Close()
	}
	close(stop)
	wg.Wait()
	checkAccounting(t, h)
}
