package poll_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/poll"
)

// acceptCounter counts the TCP connections a listener accepts.
type acceptCounter struct {
	net.Listener
	n atomic.Int64
}

func (l *acceptCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// countingServer serves a changing JSON state and counts the connections
// and requests it gets.
func countingServer(t *testing.T) (url string, accepted, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"seq":%d}`, requests.Add(1))
	}))
	ln := &acceptCounter{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &ln.n, requests
}

// TestSessionsKeepTheirConnection: polling sessions that use their own
// client (HTTP nil, as `load` runs them) open one TCP connection each,
// however many requests they send, and report no reconnect; in a closed
// loop each exchange's latency counts from its actual send.
func TestSessionsKeepTheirConnection(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) { keepTheirConnection(t, path.lean) })
	}
}

func keepTheirConnection(t *testing.T, lean *poll.Lean) {
	const sessions, each = 500, 8
	url, accepted, requests := countingServer(t)
	var wg sync.WaitGroup
	obs := make([]*observer, sessions)
	errs := make([]error, sessions)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range sessions {
		obs[i] = &observer{}
		c := &poll.Client{Request: transport.Request{URL: url}, ClosedLoop: true, MaxRequests: each, Lean: lean}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Run(ctx, obs[i])
		}()
	}
	wg.Wait()
	if got := requests.Load(); got != sessions*each {
		t.Fatalf("the server got %d requests, want %d", got, sessions*each)
	}
	if got := accepted.Load(); got != sessions {
		t.Errorf("the server accepted %d connections for %d requests, want one per session (%d)", got, sessions*each, sessions)
	}
	for i, o := range obs {
		if errs[i] != nil {
			t.Fatalf("session %d: %v", i, errs[i])
		}
		connects, _, es, closes := o.Snapshot()
		if len(connects) != 1 || len(closes) != 1 || closes[0].Reconnect || len(es) != 0 {
			t.Fatalf("session %d: %d connects, closes %+v, errors %+v; want one connection, closed at the end", i, len(connects), closes, es)
		}
		for _, x := range o.exchanges() {
			if !x.Intended.Equal(x.Start) {
				t.Fatalf("session %d: intended %v, start %v: a closed loop counts from the actual send", i, x.Intended, x.Start)
			}
		}
	}
}

// TestReconnectOnTheSameConnection: a failed request (503) on a connection
// that stays open, as an HTTP/2 connection shared with other sessions does,
// is followed by a Connected (Attempt 1, Reused) when the next request is
// answered: the session is back, although no connection was dialed.
func TestReconnectOnTheSameConnection(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, `{"seq":%d}`, n.Load())
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := transport.NewHTTPClient(transport.HTTPOptions{Insecure: true})
	defer hc.CloseIdleConnections()
	o := &observer{}
	c := &poll.Client{Request: transport.Request{URL: srv.URL}, HTTP: hc, ClosedLoop: true, MaxRequests: 3,
		Reconnect: transport.Reconnect{Initial: time.Millisecond, Floor: time.Millisecond, Cap: time.Millisecond}}
	if err := runUntil(t, c, o); err != nil {
		t.Fatal(err)
	}
	connects, _, _, closes := o.Snapshot()
	if len(connects) != 2 || connects[0].Attempt != 0 || connects[1].Attempt != 1 || !connects[1].Reused || connects[1].Proto != "HTTP/2.0" {
		t.Fatalf("connects %+v; want the first, then one after the 503 on the same connection", connects)
	}
	if len(closes) != 2 || !closes[0].Reconnect || closes[0].Idle {
		t.Fatalf("closes %+v; want the 503's (reconnecting) and the end", closes)
	}
}

// TestOpenModelSharesConnections: one-request sessions (the open model's)
// on the lean path with a shared ConnPool of 4 connections: 200 requests,
// 50 at a time, open at most 4 TCP connections, and every one is answered.
func TestOpenModelSharesConnections(t *testing.T) {
	const requests, parallel, conns = 200, 50, 4
	url, accepted, served := countingServer(t)
	pool := transport.NewConnPool(conns)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	var failed atomic.Int64
	for range requests {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := &observer{}
			c := &poll.Client{Request: transport.Request{URL: url}, MaxRequests: 1, Lean: &poll.Lean{Pool: pool}}
			if err := c.Run(ctx, o); err != nil {
				failed.Add(1)
			}
			if _, _, errs, _ := o.Snapshot(); len(errs) > 0 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || served.Load() != requests {
		t.Fatalf("%d sessions failed, %d requests served; want none, %d", failed.Load(), served.Load(), requests)
	}
	if got := accepted.Load(); got > conns {
		t.Errorf("%d connections for %d requests; want at most the pool's %d", got, requests, conns)
	}
}
