package ws

import (
	"context"
	"testing"
	"time"
)

// BenchmarkClient: one Client reads ~100-byte text messages that a local raw
// server pushes as fast as they are read (pre-framed, so the server
// allocates nothing), then a close 1000. One op is one message: read into
// the reused buffer, its stamp parsed, reported to an Observer that keeps
// nothing. allocs/op is the whole process's, the handshake included
// (amortised over b.N): about 0 once warm.
//
//	go test -run '^$' -bench BenchmarkClient -benchmem ./transport/ws/
func BenchmarkClient(b *testing.B) {
	b.Run("coder", func(b *testing.B) { benchClient(b, nil) })
	b.Run("lean", func(b *testing.B) { benchClient(b, &Lean{}) })
}

func benchClient(b *testing.B, lean *Lean) {
	s := pusher(b, b.N)
	obs := &counter{}
	c := &Client{URL: s.url, Reconnect: never, Lean: lean}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.Run(ctx, obs); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if obs.n != b.N {
		b.Fatalf("%d messages, want %d", obs.n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
