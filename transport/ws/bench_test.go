package ws

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkFanoutWS1000: 1,000 WebSocket members of one channel on a
// loopback server; each iteration publishes one message with Hub.Publish and
// waits until all 1,000 have received it.
//
// events/s is delivered messages per second. allocs/event is heap
// allocations per delivered message over the timed section, from
// runtime.MemStats.Mallocs: it includes the publish itself (a few
// allocations shared by the 1,000 deliveries) and the benchmark's client
// readers, which run in the same process and are written not to allocate
// (Conn.Reader with a context without a Done channel, and one reused buffer).
func BenchmarkFanoutWS1000(b *testing.B) {
	const subs = 1000
	ts := newTestServer(b, &Handler{})
	var got sync.WaitGroup // one Done per message delivered to a client
	var readers sync.WaitGroup
	conns := make([]*websocket.Conn, subs)
	for i := range conns {
		c := ts.dial(b, "?channel=fanout", nil)
		conns[i] = c
		readers.Go(func() { drain(c, &got) })
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
		readers.Wait()
	}()
	msg := []byte(`{"bench":"fanout"}`)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		got.Add(subs)
		if _, _, err := ts.hub.Publish("fanout", msg, 0); err != nil {
			b.Fatal(err)
		}
		got.Wait()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)

	events := float64(b.N) * subs
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
}

// drain reads messages until the connection ends, without allocating,
// calling got.Done for each.
func drain(c *websocket.Conn, got *sync.WaitGroup) {
	ctx := context.Background() // no Done channel: no context.AfterFunc per frame
	buf := make([]byte, 4096)
	for {
		_, r, err := c.Reader(ctx)
		if err != nil {
			return
		}
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		got.Done()
	}
}
