package check

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// The burst detector. A buffering proxy, or a server that does not flush,
// holds events back and then delivers several at once: their server
// timestamps are far apart, their arrivals close together. Exactly:
//
// a burst is a run of at least BurstMin consecutive events of one connection
// that carry a server timestamp, arrived within BurstWindow of each other
// (last arrival − first arrival ≤ BurstWindow), and were stamped by the
// server at least BurstSpread apart and at least BurstRatio times further
// apart than they arrived (last stamp − first stamp ≥ both).
//
// The stamp is the payload's sent_ns (the time of the write), else its
// sched_ns, else its ts (transport.Stamp); events without one are not
// judged. A stream whose events are sent back to back (a replay, a fast
// producer) has stamps as close as its arrivals and is not a burst; a
// stream delivered as it is written has arrivals as far apart as its stamps.
// The floor keeps a fast stream's events, coalesced by TCP into one read,
// from counting.
const (
	BurstMin    = 3
	BurstWindow = 20 * time.Millisecond
	BurstSpread = 50 * time.Millisecond
	BurstRatio  = 10
	// maxStamped bounds the events a session keeps for the detector.
	maxStamped = 4096
)

// stamped is one event's arrival and server time, in Unix nanoseconds.
type stamped struct{ at, server int64 }

// burst is the largest burst seen: Events events stamped Sent apart by the
// server arrived within Arrived.
type burst struct {
	Events  int
	Sent    time.Duration
	Arrived time.Duration
}

// burstTracker follows one session's stamped events.
type burstTracker struct {
	conn    []stamped // the current connection's, up to maxStamped
	judged  int       // stamped events seen, all connections
	worst   burst
	spanAt  [2]int64 // first and last arrival, all connections
	spanSrv [2]int64 // first and last stamp
}

// serverTime is the event's server timestamp in Unix nanoseconds.
func serverTime(s transport.Stamp) (int64, bool) {
	switch {
	case s.HasSent:
		return s.SentNS, true
	case s.HasSched:
		return s.SchedNS, true
	}
	return s.TSUnixNano()
}

// newConnection starts a new run: a burst never spans a reconnect.
func (b *burstTracker) newConnection() { b.conn = b.conn[:0] }

// add records one event that arrived at at.
func (b *burstTracker) add(at time.Time, st transport.Stamp) {
	srv, ok := serverTime(st)
	if !ok {
		return
	}
	a := at.UnixNano()
	if b.judged == 0 {
		b.spanAt, b.spanSrv = [2]int64{a, a}, [2]int64{srv, srv}
	}
	b.judged++
	b.spanAt[1], b.spanSrv[1] = a, srv
	if len(b.conn) >= maxStamped {
		return
	}
	b.conn = append(b.conn, stamped{a, srv})
	j := len(b.conn) - 1
	i := j
	for i > 0 && a-b.conn[i-1].at <= int64(BurstWindow) {
		i--
	}
	n := j - i + 1
	if n < BurstMin {
		return
	}
	sent := time.Duration(srv - b.conn[i].server)
	arrived := time.Duration(a - b.conn[i].at)
	if sent < BurstSpread || sent < BurstRatio*arrived {
		return
	}
	if n > b.worst.Events || (n == b.worst.Events && sent > b.worst.Sent) {
		b.worst = burst{Events: n, Sent: sent, Arrived: arrived}
	}
}

// The clump detector: the burst detector's shape without a server clock,
// for a compressed stream whose events carry no timestamp. A compressor
// that holds events back releases them together after a silence; a stream
// delivered as it is written keeps its cadence. Exactly: a clump is a run
// of at least BurstMin consecutive events of one connection, each within
// BurstWindow of the one before, that followed a silence (since the
// connection's previous event) of at least BurstSpread and at least
// BurstRatio times the run's own span. The first run of a connection has no
// previous event and is not judged (a backlog sent on connect looks the
// same), so a clump needs events from two releases of the compressor.
//
// CompressedEvents and CompressedWait bound how long a compressed stream
// without timestamps is watched for a clump: the compression line is
// decided once a clump is seen, or after that many events, or that long
// after the first event (or at the check's bound).
const (
	CompressedEvents = 20
	CompressedWait   = 5 * time.Second
)

// clump is the largest clump seen: Events events arrived within Arrived
// after a silence of Silence.
type clump struct {
	Events  int
	Silence time.Duration
	Arrived time.Duration
}

// clumpTracker follows one session's arrivals.
type clumpTracker struct {
	last     int64 // the connection's previous arrival; 0 at a new connection
	runStart int64 // the current run's first arrival
	silence  int64 // the gap before the current run; 0 for a connection's first run
	runLen   int
	worst    clump
}

func (c *clumpTracker) newConnection() { c.last, c.runLen, c.silence = 0, 0, 0 }

// add records one event that arrived at at.
func (c *clumpTracker) add(at time.Time) {
	a := at.UnixNano()
	switch {
	case c.last == 0:
		c.runStart, c.runLen, c.silence = a, 1, 0
	case a-c.last <= int64(BurstWindow):
		c.runLen++
	default:
		c.runStart, c.runLen, c.silence = a, 1, a-c.last
	}
	c.last = a
	span := a - c.runStart
	if c.runLen < BurstMin || c.silence == 0 || c.silence < int64(BurstSpread) || c.silence < BurstRatio*span {
		return
	}
	if c.runLen > c.worst.Events {
		c.worst = clump{Events: c.runLen, Silence: time.Duration(c.silence), Arrived: time.Duration(span)}
	}
}
