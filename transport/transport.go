package transport

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport/bounds"
)

// Pattern is one of the real-time patterns rtbench speaks.
type Pattern int

const (
	SSE      Pattern = iota // Server-Sent Events
	WS                      // WebSocket
	Poll                    // plain, conditional and long polling
	AIStream                // LLM token streaming over SSE
	numPatterns
)

// Patterns lists every pattern in display order.
var Patterns = [numPatterns]Pattern{SSE, WS, Poll, AIStream}

func (p Pattern) String() string {
	switch p {
	case SSE:
		return "sse"
	case WS:
		return "ws"
	case Poll:
		return "poll"
	case AIStream:
		return "ai"
	}
	return "pattern(" + strconv.Itoa(int(p)) + ")"
}

// ServerStats counts what the mock server does, per pattern. The zero value is
// ready; every method is safe for concurrent use and a nil *ServerStats
// ignores calls, so handlers can be used without one.
type ServerStats struct {
	open      [numPatterns]atomic.Int64
	events    [numPatterns]atomic.Int64
	bytes     [numPatterns]atomic.Int64
	published atomic.Int64
	rejected  atomic.Int64
	accepted  atomic.Int64
}

// Opened records a connection of pattern p that was opened; call the returned
// func when it closes.
func (s *ServerStats) Opened(p Pattern) (closed func()) {
	if s == nil {
		return func() {}
	}
	s.open[p].Add(1)
	return func() { s.open[p].Add(-1) }
}

// Sent records one event (or response) of n bytes written for pattern p.
func (s *ServerStats) Sent(p Pattern, n int) {
	if s == nil {
		return
	}
	s.events[p].Add(1)
	s.bytes[p].Add(int64(n))
}

// Published records one message published to a channel.
func (s *ServerStats) Published() {
	if s != nil {
		s.published.Add(1)
	}
}

// Accepted records one TCP connection accepted by the server, whatever it
// then carries: how many connections the clients opened, keep-alive reuse
// showing as fewer connections than requests.
func (s *ServerStats) Accepted() {
	if s != nil {
		s.accepted.Add(1)
	}
}

// Rejected records one request refused by the connection cap.
func (s *ServerStats) Rejected() {
	if s != nil {
		s.rejected.Add(1)
	}
}

// StatsSnapshot is a point-in-time copy of ServerStats.
type StatsSnapshot struct {
	Open      [numPatterns]int64
	Events    [numPatterns]int64
	Bytes     [numPatterns]int64
	Published int64
	Rejected  int64
	Accepted  int64 // TCP connections accepted
}

// Snapshot copies the counters. Each counter is read atomically; the set is
// not a single atomic cut, which is fine for monitoring.
func (s *ServerStats) Snapshot() StatsSnapshot {
	var out StatsSnapshot
	if s == nil {
		return out
	}
	for i := range numPatterns {
		out.Open[i] = s.open[i].Load()
		out.Events[i] = s.events[i].Load()
		out.Bytes[i] = s.bytes[i].Load()
	}
	out.Published = s.published.Load()
	out.Rejected = s.rejected.Load()
	out.Accepted = s.accepted.Load()
	return out
}

// Timeline is the deterministic schedule of a tick stream: tick seq (counted
// from 1) is due at Epoch + seq*Interval + jitter(seq). Every connection to the
// same server with the same rate and jitter sees the same ticks at the same
// times, which is what makes Last-Event-ID resume exact (the missed ticks are
// recomputed, not stored) and what lets a polling client and a streaming
// client be compared on one schedule.
//
// Jitter is a deterministic pseudo-random delay in [0, Jitter) derived from
// seq, so ticks stay in order; it is clamped below Interval.
type Timeline struct {
	Epoch    time.Time
	Interval time.Duration
	Jitter   time.Duration
}

// NewTimeline returns the timeline for rate ticks per second. A rate <= 0
// gives a zero Interval, which means "no ticks".
func NewTimeline(epoch time.Time, rate float64, jitter time.Duration) Timeline {
	tl := Timeline{Epoch: epoch}
	if rate > 0 {
		tl.Interval = time.Duration(float64(time.Second) / rate)
		if tl.Interval < 1 {
			tl.Interval = 1
		}
	}
	tl.Jitter = min(max(jitter, 0), tl.Interval-1)
	if tl.Jitter < 0 {
		tl.Jitter = 0
	}
	return tl
}

// SpreadBounds bounds the spread parameter of /sse and /ws
// (Timeline.Spread): 0 (every connection on the server-wide phase) to
// bounds.MaxDuration.
var SpreadBounds = bounds.Upto("spread", bounds.MaxDuration, "20s")

// ParseSpread reads the spread parameter v of a stream with rate ticks per
// second: a duration within SpreadBounds, refused when it is not 0 and
// there are no ticks to shift.
func ParseSpread(v string, rate float64) (time.Duration, error) {
	d, err := SpreadBounds.Parse(v)
	if err == nil && d > 0 && rate == 0 {
		err = fmt.Errorf("spread=%q shifts ticks, but there are none (rate 0 or channel): add rate=N or leave spread out", v)
	}
	return d, err
}

// Spread returns the timeline shifted earlier by an offset in [0, spread)
// drawn from key (a connection's remote address), at most one interval: the
// connections of one server then get their ticks on phases of their own,
// as streams driven by per-connection timers do, instead of all at the same
// instant (100,000 subscribers of one tick stream are a fan-out burst).
// Seq numbers keep their meaning: a connection's tick seq comes at most one
// interval earlier than on the server-wide timeline, so a Last-Event-ID
// resume on a new connection (a new phase) still has no gap and no
// duplicate. A spread <= 0 leaves the timeline as it is.
func (tl Timeline) Spread(spread time.Duration, key string) Timeline {
	if tl.Interval > 0 {
		spread = min(spread, tl.Interval)
	}
	if spread <= 0 {
		return tl
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	tl.Epoch = tl.Epoch.Add(-time.Duration(mix64(h.Sum64()) % uint64(spread)))
	return tl
}

// Ticking reports whether the timeline has ticks at all.
func (tl Timeline) Ticking() bool { return tl.Interval > 0 }

// Sched returns the wall-clock time, in Unix nanoseconds, at which tick seq
// is due.
func (tl Timeline) Sched(seq uint64) int64 {
	return tl.Epoch.UnixNano() + int64(seq)*int64(tl.Interval) + tl.jitter(seq)
}

// Due returns the last tick due at or before now (Unix nanoseconds), or 0 when
// none is due yet.
func (tl Timeline) Due(now int64) uint64 {
	if tl.Interval <= 0 {
		return 0
	}
	d := now - tl.Epoch.UnixNano()
	if d < int64(tl.Interval) {
		return 0
	}
	seq := uint64(d / int64(tl.Interval))
	if tl.Sched(seq) > now {
		seq--
	}
	return seq
}

func (tl Timeline) jitter(seq uint64) int64 {
	if tl.Jitter <= 0 {
		return 0
	}
	// A cheap, well-mixed hash so jitter looks random yet is the same for a
	// given seq on every connection and every replay.
	return int64(mix64(seq) % uint64(tl.Jitter))
}

// mix64 is splitmix64's finaliser.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Tick payload field names. Clients look for these to compute delivery
// latency (receive - sched_ns) and wire latency (receive - sent_ns).
const (
	FieldSeq   = "seq"
	FieldSched = "sched_ns"
	FieldSent  = "sent_ns"
)

// MaxPayload bounds the size of one generated payload (the size parameter).
const MaxPayload = 1 << 20

// AppendTick appends the JSON payload of tick seq to dst:
//
//	{"seq":N,"sched_ns":S,"sent_ns":T}
//
// When size is larger than that, a "pad" string field brings the payload to
// exactly size bytes (or the smallest length above the bare payload that a pad
// field allows). It does not allocate when dst has room.
func AppendTick(dst []byte, seq uint64, sched, sent int64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"sched_ns":`...)
	dst = strconv.AppendInt(dst, sched, 10)
	dst = append(dst, `,"sent_ns":`...)
	dst = strconv.AppendInt(dst, sent, 10)
	return appendPad(dst, start, size)
}

// padOverhead is len(`,"pad":""`).
const padOverhead = 9

var padding = []byte(strings.Repeat("x", 4096))

// appendPad closes the JSON object started at dst[start:], padding it to size
// bytes in total when asked.
func appendPad(dst []byte, start, size int) []byte {
	size = min(size, MaxPayload)
	n := len(dst) - start + 1 // with the closing brace
	if size > n {
		fill := max(size-n-padOverhead, 0)
		dst = append(dst, `,"pad":"`...)
		for fill > 0 {
			k := min(fill, len(padding))
			dst = append(dst, padding[:k]...)
			fill -= k
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}
