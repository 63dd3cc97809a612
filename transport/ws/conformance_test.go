package ws_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/transporttest"
	"github.com/rtbench/rtbench/transport/ws"
)

// serveMock starts `rtbench serve`'s handlers on a loopback port. shutdown
// closes the server gracefully (5 s at most) and waits for Serve to return;
// it is idempotent and also runs at cleanup.
func serveMock(t testing.TB) (base string, shutdown func()) {
	t.Helper()
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{})
	return m.URL, m.Shutdown
}

// failingRT fails every request: the lean run uses it as its HTTP client,
// so a session that does not take the lean path fails the suite.
type failingRT struct{}

func (failingRT) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("net/http was used")
}

func TestConformance(t *testing.T) {
	for _, path := range []struct {
		name string
		lean *ws.Lean
		http *http.Client
	}{{"coder", nil, nil}, {"lean", &ws.Lean{}, &http.Client{Transport: failingRT{}}}} {
		t.Run(path.name, func(t *testing.T) {
			transporttest.Conformance(t, transporttest.Harness{
				Serve: serveMock,
				New: func(url string, rc transport.Reconnect) transport.Session {
					return &ws.Client{URL: url, Reconnect: rc, Lean: path.lean, HTTP: path.http}
				},
				Ordered:    "/ws?rate=500",
				Finite:     "/ws?rate=500&count=3",
				Reconnects: false, // the spec policy does not reconnect after 1000
			})
		})
	}
}

// TestAlwaysReconnectsAfterCountClose: with PolicyAlways, each 1000 "count
// reached" close is followed by a new connection, numbered by Attempt.
func TestAlwaysReconnectsAfterCountClose(t *testing.T) {
	base, _ := serveMock(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var rec transporttest.Recorder
	c := &ws.Client{
		URL:       base + "/ws?rate=500&count=3",
		Reconnect: transport.Reconnect{Policy: transport.PolicyAlways, Initial: 5 * time.Millisecond, Floor: time.Millisecond, Cap: 10 * time.Millisecond},
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx, &rec) }()
	transporttest.Eventually(t, 10*time.Second, "the session did not reconnect 3 times", func() bool {
		connects, _, _, _ := rec.Snapshot()
		return len(connects) >= 4
	})
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	connects, events, errs, closes := rec.Snapshot()
	if len(errs) != 0 {
		t.Errorf("errors: %+v, want none", errs)
	}
	for i, c := range connects {
		if c.Attempt != i || c.Status != http.StatusSwitchingProtocols {
			t.Fatalf("connect %d: Attempt %d, Status %d", i, c.Attempt, c.Status)
		}
	}
	countCloses := 0
	for _, c := range closes {
		if c.Code == 1000 && c.Reason == "count reached" {
			if !c.Clean || !c.Reconnect {
				t.Fatalf("close %+v: want clean, reconnecting", c)
			}
			countCloses++
		}
	}
	if countCloses < 3 {
		t.Fatalf("%d count-reached closes announced a reconnect, want at least 3", countCloses)
	}
	if len(events) < 9 {
		t.Fatalf("%d events over %d connections, want 3 per finished connection", len(events), len(connects))
	}
}
