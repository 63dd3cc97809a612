package poll

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// openRequest is the open model's request session as `rtbench load --rate`
// builds it (Protocol.New with One, the lean path and a shared ConnPool),
// with conn waiting idle in the pool as a keep-alive connection would.
func openRequest(t testing.TB, conn *cannedConn) *Client {
	t.Helper()
	pool := transport.NewConnPool(1)
	t.Cleanup(pool.Close)
	const url = "http://127.0.0.1:8080/healthz"
	c := Protocol.New(transport.SessionOptions{Request: transport.Request{URL: url}, One: true, Lean: true, Pool: pool}).(*Client)
	if c.prepared == nil || c.prepared.lean == nil {
		t.Fatal("the open model's request is not prepared on the lean path")
	}
	if _, err := pool.Get(t.Context(), c.prepared.lean.poolKey); err != nil { // the connection's slot
		t.Fatal(err)
	}
	pool.Put(c.prepared.lean.poolKey, &pooled{nc: conn, rr: respReader{rd: conn, buf: make([]byte, leanReadBuffer)}})
	return c
}

// lastRequestConn is a cannedConn that keeps the last request written.
type lastRequestConn struct {
	cannedConn
	last []byte
}

func (c *lastRequestConn) Write(p []byte) (int, error) {
	c.last = append(c.last[:0], p...)
	return c.cannedConn.Write(p)
}

// BenchmarkOpenModelRequest: one open-model request, as each of `rtbench
// load --rate`'s requests runs: a Run of the prepared one-request Client on a
// keep-alive connection lent by the pool and given back, the request written,
// the answer parsed and reported, without the network. The per-request
// allocations are context.AfterFunc's (see TestOpenModelRequestAllocs).
func BenchmarkOpenModelRequest(b *testing.B) {
	conn := &cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 12:00:00 GMT\r\nContent-Length: 29\r\n\r\n{\"status\":\"ok\",\"uptime_s\":1}\n")}
	c := openRequest(b, conn)
	obs := &counter{n: -1}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Run(ctx, obs); err != nil {
			b.Fatal(err)
		}
	}
	if obs.exchanges != b.N || conn.reqs != b.N {
		b.Fatalf("%d exchanges, %d requests written for %d runs", obs.exchanges, conn.reqs, b.N)
	}
}

// openRequestAllocs is what one open-model request allocates: the two of
// context.AfterFunc (its context and its stop func), the watch that lets the
// run's end cut a read in progress, and nothing else.
const openRequestAllocs = 2

// TestOpenModelRequestAllocs holds BenchmarkOpenModelRequest's claim.
func TestOpenModelRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates, and sync.Pool drops items at random")
	}
	conn := &cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")}
	c := openRequest(t, conn)
	obs := &counter{n: -1}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c.Run(ctx, obs) // buffers grow once
	if n := testing.AllocsPerRun(100, func() { c.Run(ctx, obs) }); n > openRequestAllocs {
		t.Errorf("%v allocations per open-model request, want at most %d", n, openRequestAllocs)
	}
	if conn.reqs != 102 {
		t.Errorf("%d requests written, want 102", conn.reqs)
	}
}

// TestPreparedRunsCarryNothing: the prepared Client reuses its ended Runs'
// sessions; a Run still starts as a fresh session does: no validators
// (If-None-Match) from the last answer, its connection reported as the
// session's first, the body a change.
func TestPreparedRunsCarryNothing(t *testing.T) {
	conn := &lastRequestConn{cannedConn: cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nETag: \"7\"\r\nLast-Modified: Sun, 06 Dec 2026 12:00:00 GMT\r\nContent-Length: 2\r\n\r\n{}")}}
	pool := transport.NewConnPool(1)
	defer pool.Close()
	c := Protocol.New(transport.SessionOptions{Request: transport.Request{URL: "http://127.0.0.1:8080/x"}, One: true, Lean: true, Pool: pool}).(*Client)
	key := c.prepared.lean.poolKey
	if _, err := pool.Get(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	pool.Put(key, &pooled{nc: conn, rr: respReader{rd: conn, buf: make([]byte, leanReadBuffer)}})
	var reused *session
	for i := range 3 {
		o := &recordingObserver{}
		if err := c.Run(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(conn.last), "If-") {
			t.Errorf("run %d sent a conditional request (a previous Run's validators):\n%s", i, conn.last)
		}
		if len(o.connects) != 1 || o.connects[0].Attempt != 0 || len(o.exchanges) != 1 || !o.exchanges[0].Changed || !o.exchanges[0].Lean || len(o.closes) != 1 {
			t.Errorf("run %d: connects %+v, exchanges %+v, closes %d; want one first connection, one changed answer, one close", i, o.connects, o.exchanges, len(o.closes))
		}
		s, _ := c.prepared.idle.Get().(*session)
		if s == nil {
			if !raceEnabled { // sync.Pool drops items at random under -race
				t.Fatalf("run %d: the ended session was not kept for the next Run", i)
			}
			continue
		}
		if reused != nil && s != reused && !raceEnabled {
			t.Errorf("run %d ran on another session", i)
		}
		reused = s
		if !reflect.DeepEqual(s.sessionState, sessionState{}) {
			t.Errorf("run %d: the idle session holds state %+v", i, s.sessionState)
		}
		c.prepared.idle.Put(s)
	}
}

// recordingObserver keeps what a Run reported.
type recordingObserver struct {
	connects  []transport.Connect
	exchanges []transport.Exchange
	closes    []transport.Close
}

func (o *recordingObserver) Connected(c *transport.Connect) { o.connects = append(o.connects, *c) }
func (o *recordingObserver) Event(*transport.Event)         {}
func (o *recordingObserver) Error(*transport.Error)         {}
func (o *recordingObserver) Closed(c *transport.Close)      { o.closes = append(o.closes, *c) }
func (o *recordingObserver) Exchange(x *transport.Exchange) { o.exchanges = append(o.exchanges, *x) }
