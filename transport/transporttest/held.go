package transporttest

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// HeldSessions is the body of a protocol's held-subscribers benchmark: per
// iteration it starts n sessions, each run on its own goroutine with an
// Observer that counts connections and errors, waits up to 30 s for all of
// them to connect, and reports the heap and goroutine stacks per session
// (heap-KiB/session, stack-KiB/session) and goroutines per session: what
// `rtbench load` pays per subscriber. The server may run in this process:
// the figures are the difference between the process with the sessions
// and without, so they are the client's share. what names the connected
// state in the failure ("subscribed", "attached").
func HeldSessions(b *testing.B, n int, what string, run func(ctx context.Context, obs transport.Observer)) {
	b.Helper()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var connected, errs atomic.Int64
		var wg sync.WaitGroup
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		for range n {
			wg.Go(func() { run(ctx, &heldObserver{connected: &connected, errors: &errs}) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for connected.Load() < int64(n) && errs.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
		}
		runtime.GC()
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		cancel()
		wg.Wait()
		if connected.Load() != int64(n) || errs.Load() != 0 {
			b.Fatalf("%d of %d sessions %s, %d errors", connected.Load(), n, what, errs.Load())
		}
		b.ReportMetric(float64(m1.HeapInuse-m0.HeapInuse)/float64(n)/1024, "heap-KiB/session")
		b.ReportMetric(float64(m1.StackInuse-m0.StackInuse)/float64(n)/1024, "stack-KiB/session")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/session")
	}
}

// heldObserver counts a held session's connections and errors.
type heldObserver struct{ connected, errors *atomic.Int64 }

func (o *heldObserver) Connected(*transport.Connect) { o.connected.Add(1) }
func (o *heldObserver) Event(*transport.Event)       {}
func (o *heldObserver) Exchange(*transport.Exchange) {}
func (o *heldObserver) Error(*transport.Error)       { o.errors.Add(1) }
func (o *heldObserver) Closed(*transport.Close)      {}
