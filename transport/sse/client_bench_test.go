package sse

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// BenchmarkClient runs one session over b.N tick events of about 100 bytes
// (id, data with seq/sched_ns/sent_ns, as the mock sends them) and reports
// the cost per event: one op is one event delivered to the Observer, stamp
// parsed. The session's setup (parser buffers, the connection) is amortised
// over b.N, so allocs/op shows what each event costs once warm.
//
//	go test -run '^$' -bench BenchmarkClient -benchmem ./transport/sse/
//
// first: the body is a pre-built in-memory stream handed over as First, so
// only the client is measured. first+idle: the same with IdleTimeout set
// (the per-line flag of the idle watch). loopback: a local HTTP server writes
// the events in 64 KiB chunks, so the chunked reading is included: net/http's
// client, and loopback-lean the lean path's (Lean: in-place chunk decoding
// into the parser's 512-byte buffer).
func BenchmarkClient(b *testing.B) {
	ev := appendTickEvent(nil, 1_000_000, 1_700_000_000_000_000_000, 1_700_000_000_000_000_123, 0)
	never := transport.Reconnect{Policy: transport.PolicyNever}
	report := func(b *testing.B, events int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("first", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		var obs ctCount
		c := &Client{First: ctOpened(ev, b.N), Reconnect: never}
		if err := c.Run(context.Background(), &obs); err != nil || obs.n != b.N {
			b.Fatalf("Run: %v, %d events of %d", err, obs.n, b.N)
		}
		report(b, obs.n)
	})
	b.Run("first+idle", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		var obs ctCount
		c := &Client{First: ctOpened(ev, b.N), Reconnect: never, IdleTimeout: time.Minute}
		if err := c.Run(context.Background(), &obs); err != nil || obs.n != b.N {
			b.Fatalf("Run: %v, %d events of %d", err, obs.n, b.N)
		}
		report(b, obs.n)
	})
	loopback := func(b *testing.B, lean bool) {
		chunk := make([]byte, 0, 64<<10)
		for len(chunk)+len(ev) <= cap(chunk) {
			chunk = append(chunk, ev...)
		}
		perChunk := len(chunk) / len(ev)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetHeaders(w.Header())
			// Headers first: a body written whole (b.N = 1) would otherwise
			// get a Content-Length, and the client rejects it as not a
			// stream.
			http.NewResponseController(w).Flush()
			left := b.N
			for left > 0 {
				n := min(left, perChunk)
				if _, err := w.Write(chunk[:n*len(ev)]); err != nil {
					return
				}
				left -= n
			}
		}))
		defer srv.Close()
		hc := transport.NewHTTPClient(transport.HTTPOptions{})
		defer hc.CloseIdleConnections()
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		b.ResetTimer()
		var obs ctCount
		c := &Client{Request: transport.Request{URL: srv.URL}, HTTP: hc, Reconnect: never}
		if lean {
			c.Lean = &Lean{}
		}
		if err := c.Run(context.Background(), &obs); err != nil || obs.n != b.N {
			b.Fatalf("Run: %v, %d events of %d", err, obs.n, b.N)
		}
		report(b, obs.n)
	}
	b.Run("loopback", func(b *testing.B) { loopback(b, false) })
	b.Run("loopback-lean", func(b *testing.B) { loopback(b, true) })
}

// ctCount counts events and reads the stamp, as a recorder would.
type ctCount struct {
	ctDiscard
	n   int
	seq uint64
}

func (c *ctCount) Event(e *transport.Event) {
	c.n++
	c.seq += e.Stamp.Seq
}
