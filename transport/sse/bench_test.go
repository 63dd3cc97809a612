package sse

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	r3 "github.com/r3labs/sse/v2"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/transporttest"
)

const fanoutSubscribers = 1000

var fanoutData = []byte(`{"headline":"a published update of typical size","n":1}`)

// BenchmarkFanoutSSE1000 publishes one message per iteration to a channel
// with 1,000 SSE subscribers on a loopback server and waits until every
// subscriber has read it. It reports delivered events per second and heap
// allocations per delivered event. The subscribers run in the same process
// and read into fixed buffers (no allocation of their own per event), so
// the allocations are the server's: the handler's writes, net/http's
// chunked writer, the hub's per-publish message (shared by all 1,000).
//
//	go test -run '^$' -bench FanoutSSE -benchtime 2000x ./transport/sse/
func BenchmarkFanoutSSE1000(b *testing.B) {
	hub := pubsub.New(pubsub.Options{})
	var stats transport.ServerStats
	srv := httptest.NewServer(&Handler{Hub: hub, Stats: &stats, Heartbeat: time.Hour})
	defer srv.Close()
	fanout(b, srv.URL+"?channel=bench&retry=0",
		func() bool { return stats.Snapshot().Open[transport.SSE] == fanoutSubscribers },
		func() {
			if _, n, err := hub.Publish("bench", fanoutData, 0); err != nil || n != fanoutSubscribers {
				b.Fatalf("publish: %d subscribers, %v", n, err)
			}
		})
}

// BenchmarkFanoutSSE1000PeerR3labs is the same measurement against
// r3labs/sse/v2's server (the SSE server the design names), as the peer
// measured in the same run: one stream, 1,000 subscribers, AutoReplay off so
// it does not resend its log to each subscriber.
//
//	go test -run '^$' -bench FanoutSSE -benchtime 2000x ./transport/sse/
func BenchmarkFanoutSSE1000PeerR3labs(b *testing.B) {
	peer := r3.New()
	peer.AutoReplay = false
	peer.AutoStream = false
	peer.CreateStream("bench")
	defer peer.Close()
	srv := httptest.NewServer(peer)
	defer srv.Close()
	// r3labs registers a subscriber (through its stream's run loop, which
	// also serialises publishes) before it sends the response headers, so
	// every subscriber is registered once its request has returned.
	fanout(b, srv.URL+"?stream=bench",
		func() bool { return true },
		func() { peer.Publish("bench", &r3.Event{Data: fanoutData}) })
}

// fanout connects fanoutSubscribers SSE readers to url, waits for ready,
// then times b.N calls of publish, each until every subscriber has read the
// event, and reports events/s, allocs/event and B/event.
func fanout(b *testing.B, url string, ready func() bool, publish func()) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	var received, target atomic.Int64
	target.Store(-1)
	reached := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range fanoutSubscribers {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			countEvents(resp.Body, func() {
				if received.Add(1) == target.Load() {
					reached <- struct{}{}
				}
			})
		}()
	}
	transporttest.Eventually(b, 10*time.Second, "subscribers did not all connect", ready)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		target.Store(int64(i+1) * fanoutSubscribers)
		publish()
		<-reached
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	delivered := float64(b.N) * fanoutSubscribers
	b.ReportMetric(delivered/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/delivered, "allocs/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/delivered, "B/event")
	cancel()
	wg.Wait()
}

// countEvents calls event once per blank line that ends an event ("\n\n"),
// reading into one fixed buffer, until r fails.
func countEvents(r io.Reader, event func()) {
	buf := make([]byte, 32<<10)
	var prev byte
	for {
		n, err := r.Read(buf)
		p := buf[:n]
		if n > 0 && prev == '\n' && p[0] == '\n' {
			event()
			p = p[1:]
		}
		for {
			i := bytes.Index(p, []byte("\n\n"))
			if i < 0 {
				break
			}
			event()
			p = p[i+2:]
		}
		if n > 0 {
			prev = buf[n-1]
		}
		if err != nil {
			return
		}
	}
}

// discardWriter is a ResponseWriter that flushes and forgets: the handler's
// own cost, with no socket.
type discardWriter struct {
	h      http.Header
	writes int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { w.writes++; return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Flush()                      {}

// BenchmarkTicksWithHeartbeats runs /sse's timeline loop for b.N events
// spaced 20 ms apart with a heartbeat due 10 ms after each write, so every
// gap takes the heartbeat path of the stream's one timer: the cost and the
// allocations of an event and a heartbeat (none once the stream is open);
// heartbeats/op falls below 1 when the machine fires timers late.
//
//	go test -run '^$' -bench TicksWithHeartbeats -benchmem ./transport/sse/
func BenchmarkTicksWithHeartbeats(b *testing.B) {
	h := &Handler{Hub: pubsub.New(pubsub.Options{}), Stats: &transport.ServerStats{}, Epoch: time.Now(), MaxRate: 1e6}
	w := &discardWriter{h: http.Header{}}
	c := conn{h: h, st: &Stream{w: w, timeout: time.Second, noDeadline: true},
		p: streamParams{rate: 50, heartbeat: 10 * time.Millisecond}, buf: make([]byte, 0, 512), last: time.Now()}
	c.st.rc = http.NewResponseController(c.st.w)
	c.p.count = uint64(b.N)
	req := httptest.NewRequest("GET", "/sse", nil)
	b.ReportAllocs()
	b.ResetTimer()
	c.ticks(req, 0, false)
	if c.sent != uint64(b.N) {
		b.Fatalf("%d events sent, want %d", c.sent, b.N)
	}
	b.ReportMetric(float64(w.writes-b.N)/float64(b.N), "heartbeats/op")
}
