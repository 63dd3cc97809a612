package pusher_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/pusher"
)

type heldObserver struct {
	connected, errors *atomic.Int64
}

func (o *heldObserver) Connected(*transport.Connect) { o.connected.Add(1) }
func (o *heldObserver) Event(*transport.Event)       {}
func (o *heldObserver) Exchange(*transport.Exchange) {}
func (o *heldObserver) Error(*transport.Error)       { o.errors.Add(1) }
func (o *heldObserver) Closed(*transport.Close)      {}

// BenchmarkHeldSubscribers holds 1,000 subscribed Pusher sessions on serve
// (in this process) and reports the client's heap and goroutine stacks per
// session, and its goroutines per session: what `rtbench load` pays per
// Pusher subscriber, beside the server's own share.
//
//	go test -run '^$' -bench BenchmarkHeldSubscribers -benchtime 1x ./transport/pusher/
func BenchmarkHeldSubscribers(b *testing.B) {
	const n = 1000
	_, base := mocktest.Start(b, mock.Config{PusherApps: []pusher.App{testApp}})
	tg, err := pusher.ParseTarget("pusher://" + testApp.Key + "@" + strings.TrimPrefix(base, "http://") + "/held")
	if err != nil {
		b.Fatal(err)
	}
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var connected, errs atomic.Int64
		var wg sync.WaitGroup
		// The server runs in this process: measure it with the sessions
		// and without, and report the difference as the client's.
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		for range n {
			c := &pusher.Client{Target: tg, HTTP: hc, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
			wg.Go(func() { c.Run(ctx, &heldObserver{connected: &connected, errors: &errs}) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for connected.Load() < n && errs.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
		}
		runtime.GC()
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		cancel()
		wg.Wait()
		if connected.Load() != n || errs.Load() != 0 {
			b.Fatalf("%d of %d sessions subscribed, %d errors", connected.Load(), n, errs.Load())
		}
		heap := float64(m1.HeapInuse-m0.HeapInuse) / n
		stack := float64(m1.StackInuse-m0.StackInuse) / n
		b.ReportMetric(heap/1024, "heap-KiB/session")
		b.ReportMetric(stack/1024, "stack-KiB/session")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/session")
	}
}

// BenchmarkDecodeFrame: one hub message as serve sends it to a subscriber,
// through Decode (the fast path) and through encoding/json (decodeSlow's
// way): the per-frame cost of a Pusher subscriber.
//
//	go test -run '^$' -bench BenchmarkDecodeFrame -benchmem ./transport/pusher/
func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(`{"event":"rtbench","channel":"bench","data":"{\"seq\":12,\"sched_ns\":1733400000123456789,\"text\":\"hello\"}","seq":12,"sched_ns":1733400000123456789,"sent_ns":1733400000123556789}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f, err := pusher.Decode(frame); err != nil || f.Seq != 12 {
				b.Fatal(f, err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(frame, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
