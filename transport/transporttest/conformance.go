package transporttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Harness tells the conformance suite how to run one protocol's client
// against `rtbench serve`'s handlers.
type Harness struct {
	// Serve starts `rtbench serve`'s handlers (mock.Server) on a loopback
	// port for the test and returns the base URL ("http://127.0.0.1:port")
	// and a func that shuts the server down gracefully (the suite calls it
	// mid-session once; it must be safe to call again at cleanup). The suite
	// does not import the mock itself, so the mock's own tests can use this
	// package.
	Serve func(t testing.TB) (base string, shutdown func())
	// New returns a session for url with the given reconnect policy.
	New func(url string, rc transport.Reconnect) transport.Session
	// Ordered is a path (and query) on the mock server that streams
	// events without end, e.g. "/sse?rate=500".
	Ordered string
	// Finite is a path where the server ends each connection cleanly after a
	// few events, e.g. "/sse?rate=500&count=3".
	Finite string
	// CheckOrder checks the events of Ordered are complete and in order; nil
	// checks that Stamp.Seq goes up by exactly one from event to event.
	CheckOrder func(events []transport.Event) error
	// Reconnects says whether the pattern reconnects after a clean end with
	// the spec policy (SSE does; an AI request does not).
	Reconnects bool
	// Want is how many events to collect from Ordered; default 20.
	Want int
}

// Conformance runs the suite every protocol's client must pass. Call it from
// a test in the client's package (an external _test package, to avoid an
// import cycle through the mock server), whose TestMain checks for leaked
// goroutines.
func Conformance(t *testing.T, h Harness) {
	want := h.Want
	if want == 0 {
		want = 20
	}
	fast := transport.Reconnect{Initial: 10 * time.Millisecond, Floor: time.Millisecond, Cap: 20 * time.Millisecond}

	t.Run("events-in-order-and-cancel-returns-promptly", func(t *testing.T) {
		base, _ := h.Serve(t)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var rec Recorder
		rec.OnEvent = func(n int, e *transport.Event) {
			if n == want {
				cancel()
			}
		}
		runErr := make(chan error, 1)
		var cancelled time.Time
		go func() { runErr <- h.New(base+h.Ordered, fast).Run(ctx, &rec) }()
		var err error
		select {
		case err = <-runErr:
		case <-ctx.Done():
			cancelled = time.Now()
			err = <-runErr
		}
		if !cancelled.IsZero() {
			if took := time.Since(cancelled); took > time.Second {
				t.Errorf("Run returned %v after cancel, want promptly", took)
			}
		}
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		_, events, errs, _ := rec.Snapshot()
		if len(events) < want {
			t.Fatalf("got %d events before Run returned, want %d (errors: %v)", len(events), want, errs)
		}
		check := h.CheckOrder
		if check == nil {
			check = consecutiveSeq
		}
		if err := check(events[:want]); err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.At.Before(e.FirstByte) {
				t.Fatalf("event completed (%v) before its first byte (%v)", e.At, e.FirstByte)
			}
		}
	})

	t.Run("server-close-ends-the-session", func(t *testing.T) {
		base, _ := h.Serve(t)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var rec Recorder
		err := h.New(base+h.Finite, transport.Reconnect{Policy: transport.PolicyNever}).Run(ctx, &rec)
		if ctx.Err() != nil {
			t.Fatal("the session did not end by itself after the server ended the stream")
		}
		if err != nil {
			t.Fatalf("Run: %v, want nil for a clean end", err)
		}
		connects, events, _, closes := rec.Snapshot()
		if len(connects) != 1 || len(events) == 0 || len(closes) == 0 {
			t.Fatalf("%d connects, %d events, %d closes; want 1, some, at least 1", len(connects), len(events), len(closes))
		}
		if last := closes[len(closes)-1]; !last.Clean || last.Reconnect {
			t.Fatalf("last close %+v: want clean, no reconnect", last)
		}
	})

	if h.Reconnects {
		t.Run("reconnects-are-counted", func(t *testing.T) {
			base, _ := h.Serve(t)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var rec Recorder
			runErr := make(chan error, 1)
			go func() { runErr <- h.New(base+h.Finite, fast).Run(ctx, &rec) }()
			Eventually(t, 10*time.Second, "the session did not reconnect 3 times", func() bool {
				connects, _, _, _ := rec.Snapshot()
				return len(connects) >= 4
			})
			cancel()
			if err := <-runErr; err != nil {
				t.Fatalf("Run: %v", err)
			}
			connects, _, _, closes := rec.Snapshot()
			for i, c := range connects {
				if c.Attempt != i {
					t.Fatalf("connect %d has Attempt %d", i, c.Attempt)
				}
			}
			reconnecting := 0
			for _, c := range closes {
				if c.Reconnect {
					reconnecting++
				}
			}
			if reconnecting < 3 {
				t.Fatalf("%d closes announced a reconnect, want at least 3", reconnecting)
			}
		})
	}

	t.Run("server-shutdown-ends-the-session", func(t *testing.T) {
		base, shutdown := h.Serve(t)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var rec Recorder
		got := make(chan struct{})
		rec.OnEvent = func(n int, _ *transport.Event) {
			if n == 1 {
				close(got)
			}
		}
		runErr := make(chan error, 1)
		go func() {
			runErr <- h.New(base+h.Ordered, transport.Reconnect{Policy: transport.PolicyNever}).Run(ctx, &rec)
		}()
		select {
		case <-got:
		case err := <-runErr:
			t.Fatalf("Run ended before the first event: %v", err)
		}
		shutdown()
		select {
		case <-runErr: // a clean end or an error are both fine: it ended
		case <-ctx.Done():
			t.Fatal("the session did not end after the server shut down")
		}
		if _, _, _, closes := rec.Snapshot(); len(closes) == 0 {
			t.Fatal("no Close was reported")
		}
	})
}

func consecutiveSeq(events []transport.Event) error {
	for i, e := range events {
		if !e.Stamp.HasSeq {
			return fmt.Errorf("event %d has no seq: %q", i, truncate(e.Data))
		}
		if i > 0 && e.Stamp.Seq != events[i-1].Stamp.Seq+1 {
			return fmt.Errorf("event %d has seq %d after %d: not consecutive", i, e.Stamp.Seq, events[i-1].Stamp.Seq)
		}
	}
	return nil
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
