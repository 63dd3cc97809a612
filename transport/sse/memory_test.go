package sse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// liveHeap is runtime.MemStats.HeapInuse after two full collections (the
// second empties sync.Pool's victim cache), and TotalAlloc.
func liveHeap() (inuse, total uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.TotalAlloc
}

// endless serves head, then chunk again and again, flushed, until a write
// fails (the client closed the connection) or limit bytes are written. It
// sends the bytes written on served.
func endless(head string, chunk []byte, limit int, served chan<- int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		rc := http.NewResponseController(w)
		n, err := io.WriteString(w, head)
		for err == nil && n < limit {
			var m int
			m, err = w.Write(chunk)
			n += m
			if err == nil {
				err = rc.Flush()
			}
		}
		served <- n
	}
}

// memObserver records the live heap when the session reports its error,
// while the parser still holds its buffers.
type memObserver struct {
	transporttest.Recorder
	heapAtError uint64
}

func (o *memObserver) Error(e *transport.Error) {
	o.heapAtError, _ = liveHeap()
	o.Recorder.Error(e)
}

// TestMemoryEndlessStream: shared/REFERENCE.md §5 rows 16 and 17 against a
// server that never stops sending: a line that never ends, and "data: x"
// lines that never make an event. On both paths the client stops at the cap
// (1 MiB, the default) with event_too_large and closes the connection (the
// server's writes fail long before its 64 MiB limit), the live heap grown
// from before the session is under twice the cap when the error is reported,
// and the message names the cap and what raises it.
func TestMemoryEndlessStream(t *testing.T) {
	const (
		capBytes = DefaultMaxLine // = DefaultMaxEvent
		limit    = 64 << 20       // the server gives up here: the client never stopped
	)
	streams := []struct {
		name  string
		head  string
		chunk []byte
		msg   string
	}{
		{"endless line", "data: ", bytes.Repeat([]byte("x"), 32<<10), "line longer than 1048576 bytes (raise --max-event)"},
		{"endless data lines", "", bytes.Repeat([]byte("data: x\n"), 4<<10), "event data larger than 1048576 bytes (raise --max-event)"},
	}
	paths := []struct {
		name string
		lean *Lean
	}{{"nethttp", nil}, {"lean", &Lean{}}}
	for _, st := range streams {
		for _, p := range paths {
			t.Run(st.name+"/"+p.name, func(t *testing.T) {
				served := make(chan int, 1)
				srv := httptest.NewServer(endless(st.head, st.chunk, limit, served))
				defer srv.Close()
				hc := transport.NewHTTPClient(transport.HTTPOptions{})
				defer hc.CloseIdleConnections()
				c := &Client{
					Request:   transport.Request{URL: srv.URL},
					HTTP:      hc,
					Lean:      p.lean,
					Parser:    ParserOptions{Raise: "--max-event"},
					Reconnect: transport.Reconnect{Policy: transport.PolicyNever},
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				obs := new(memObserver)
				h0, a0 := liveHeap()
				err := c.Run(ctx, obs)
				_, a1 := liveHeap()
				if ctx.Err() != nil {
					t.Fatal("the session did not end by itself")
				}
				var te *transport.Error
				if !errors.As(err, &te) || te.Class != transport.ClassEventTooLarge || !strings.Contains(te.Error(), st.msg) {
					t.Fatalf("Run returned %v, want event_too_large saying %q", err, st.msg)
				}
				var written int
				select {
				case written = <-served:
				case <-time.After(10 * time.Second):
					t.Fatal("the server is still writing: the client did not close the connection")
				}
				if written >= limit {
					t.Fatalf("the server wrote all %d bytes: the client never stopped reading", written)
				}
				grown := int64(obs.heapAtError) - int64(h0)
				t.Logf("server wrote %.1f MiB before its write failed; live heap at the error %+.2f MiB (cap %d MiB); allocated during the session %.2f MiB",
					float64(written)/(1<<20), float64(grown)/(1<<20), capBytes>>20, float64(a1-a0)/(1<<20))
				if grown > 2*capBytes {
					t.Errorf("the live heap grew by %d bytes, over twice the %d-byte cap", grown, capBytes)
				}
				// A client that kept what it read would allocate what the
				// server wrote; this one allocates its buffers' growth.
				if alloc := a1 - a0; alloc > 8*capBytes {
					t.Errorf("the session allocated %d bytes in all, over 8 times the cap", alloc)
				}
			})
		}
	}
}
