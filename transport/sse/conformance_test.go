package sse_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// serveMock starts `rtbench serve`'s handlers on a loopback port.
func serveMock(t testing.TB) (string, func()) {
	t.Helper()
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{})
	return m.URL, m.Shutdown
}

func TestConformance(t *testing.T) {
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	t.Cleanup(hc.CloseIdleConnections)
	for _, path := range []struct {
		name string
		lean *sse.Lean
	}{{"nethttp", nil}, {"lean", &sse.Lean{}}} {
		t.Run(path.name, func(t *testing.T) {
			transporttest.Conformance(t, transporttest.Harness{
				Serve: serveMock,
				New: func(url string, rc transport.Reconnect) transport.Session {
					return &sse.Client{Request: transport.Request{URL: url}, HTTP: hc, Reconnect: rc, Lean: path.lean}
				},
				Ordered:    "/sse?rate=500",
				Finite:     "/sse?rate=500&count=3",
				Reconnects: true,
			})
		})
	}
}

// cutOnce aborts the first /sse response after n events, as a crashed proxy
// or a reset connection would.
type cutOnce struct {
	next   http.Handler
	n      int
	used   atomic.Bool
	mu     sync.Mutex
	lastID []string // the Last-Event-ID of each request
}

func (c *cutOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.lastID = append(c.lastID, r.Header.Get("Last-Event-ID"))
	c.mu.Unlock()
	if c.used.CompareAndSwap(false, true) {
		w = &cutWriter{ResponseWriter: w, left: c.n}
	}
	c.next.ServeHTTP(w, r)
}

type cutWriter struct {
	http.ResponseWriter
	left int
}

func (w *cutWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "data:") {
		if w.left == 0 {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		w.left--
	}
	return w.ResponseWriter.Write(p)
}

func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestClientResume reads /sse?rate=200 from the mock through a handler that
// cuts the first connection after 5 events: the client reconnects 50ms (10
// ticks) later with Last-Event-ID, and the 10 events it collects have no gap
// and no duplicate.
func TestClientResume(t *testing.T) {
	cut := &cutOnce{n: 5}
	srv := mocktest.Serve(t, mock.Config{}, mocktest.Options{Wrap: func(h http.Handler) http.Handler {
		cut.next = h
		return cut
	}})
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	defer hc.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var rec transporttest.Recorder
	rec.OnEvent = func(n int, _ *transport.Event) {
		if n == 10 {
			cancel()
		}
	}
	c := &sse.Client{
		Request:   transport.Request{URL: srv.URL + "/sse?rate=200"},
		HTTP:      hc,
		Reconnect: transport.Reconnect{Floor: 50 * time.Millisecond, Cap: 50 * time.Millisecond},
	}
	if err := c.Run(ctx, &rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	connects, events, errs, closes := rec.Snapshot()
	if len(events) != 10 {
		t.Fatalf("%d events, want 10 (errors %v)", len(events), errs)
	}
	if len(connects) != 2 || len(errs) != 1 || errs[0].Fatal || closes[0].Clean || !closes[0].Reconnect {
		t.Fatalf("want 2 connections, the first ended by one non-fatal error: connects %d, errors %v, closes %+v", len(connects), errs, closes)
	}
	if c := errs[0].Class; c != transport.ClassEOF && c != transport.ClassReset {
		t.Errorf("cut connection classed %s, want %s or %s", c, transport.ClassEOF, transport.ClassReset)
	}
	for i, e := range events {
		if !e.Stamp.HasSeq {
			t.Fatalf("event %d has no seq: %s", i, e.Data)
		}
		if i > 0 && e.Stamp.Seq != events[i-1].Stamp.Seq+1 {
			t.Fatalf("event %d: seq %d after %d (a gap or a duplicate across the reconnect)", i, e.Stamp.Seq, events[i-1].Stamp.Seq)
		}
	}
	cut.mu.Lock()
	defer cut.mu.Unlock()
	if len(cut.lastID) != 2 || cut.lastID[0] != "" || cut.lastID[1] != events[4].ID {
		t.Errorf("Last-Event-ID per request %q, want none then %q", cut.lastID, events[4].ID)
	}
}
