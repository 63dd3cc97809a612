package poll_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// finiteAfter is how many polls of a /finite/… path are answered before the
// 204 that ends the session.
const finiteAfter = 3

// serveMock starts `rtbench serve`'s handlers (mock.New(cfg)) on a loopback
// port, behind finite: a path under /finite/ is served as the rest of the
// path for finiteAfter requests, then answered 204 No Content, the polling
// client's clean end. The mock has no such route: polling has no
// server-side end of its own. shutdown closes the mock gracefully (Close
// with a 5s timeout) and is idempotent; it also runs at cleanup. wrap, when
// given, goes around the whole handler (tests use it to see the requests).
func serveMock(t testing.TB, cfg mock.Config, wrap ...func(http.Handler) http.Handler) (base string, s *mock.Server, shutdown func()) {
	t.Helper()
	return serveMockAt(t, "127.0.0.1:0", cfg, wrap...)
}

// serveMockAt is serveMock on the address addr (to restart a server where
// it was).
func serveMockAt(t testing.TB, addr string, cfg mock.Config, wrap ...func(http.Handler) http.Handler) (base string, s *mock.Server, shutdown func()) {
	t.Helper()
	m := mocktest.Serve(t, cfg, mocktest.Options{Addr: addr, Wrap: func(h http.Handler) http.Handler {
		h = finite(h)
		for _, w := range wrap {
			h = w(h)
		}
		return h
	}})
	return m.URL, m.Server, m.Shutdown
}

func finite(next http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/finite/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if n.Add(1) > finiteAfter {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/"+rest, ""
		next.ServeHTTP(w, r2)
	})
}

// TestConformance runs the suite every client passes. Ordered long-polls
// /poll?rate=10: each request waits for the tick after the one it holds and
// /poll answers the latest state, so a client that turns around within a
// tick sees every tick, and one stalled longer (under -race on a 2-core
// machine shared with other test runs, stalls of over 100 ms happen; the
// client's own turnaround is under 0.5 ms) legitimately skips superseded
// states. The invariant of a latest-state poll is therefore that the seqs
// strictly increase: no state twice, none older than one already seen.
// Every-tick delivery at a rate the client can follow is
// TestLongPollEveryTick's. Finite is that route behind the 204 wrapper above.
func TestConformance(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) { conformance(t, path.lean) })
	}
}

func conformance(t *testing.T, lean *poll.Lean) {
	transporttest.Conformance(t, transporttest.Harness{
		Serve: func(t testing.TB) (string, func()) {
			base, _, shutdown := serveMock(t, mock.Config{})
			return base, shutdown
		},
		New: func(url string, rc transport.Reconnect) transport.Session {
			return &poll.Client{Request: transport.Request{URL: url}, LongPoll: 5 * time.Second, Reconnect: rc, Lean: lean}
		},
		Ordered:    "/poll?rate=10",
		CheckOrder: increasingSeq,
		Finite:     "/finite/poll?rate=10",
		Reconnects: false,
	})
}

// increasingSeq checks that every event has a seq and that they strictly
// increase.
func increasingSeq(events []transport.Event) error {
	for i, e := range events {
		if !e.Stamp.HasSeq {
			return fmt.Errorf("event %d has no seq: %q", i, e.Data)
		}
		if i > 0 && e.Stamp.Seq <= events[i-1].Stamp.Seq {
			return fmt.Errorf("event %d has seq %d after %d: a state seen twice or going back", i, e.Stamp.Seq, events[i-1].Stamp.Seq)
		}
	}
	return nil
}
