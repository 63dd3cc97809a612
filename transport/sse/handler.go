package sse

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/bounds"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Defaults for Handler.
const (
	DefaultHeartbeat = 15 * time.Second
	DefaultRetry     = 3 * time.Second
	DefaultMaxRate   = 10000.0
	DefaultReplay    = 1024
)

// The bounds of /sse's and /api/stream's durations, shared with the serve
// flags (which use them under their own names, bounds.Duration.As).
var (
	JitterBounds    = bounds.Upto("jitter", bounds.MaxDuration, "5ms")
	HeartbeatBounds = bounds.Interval("heartbeat", "no heartbeat", "15s")
	RetryBounds     = bounds.Interval("retry", "no retry: line", "3s")
	IntervalBounds  = bounds.Interval("interval", "", "500ms")
)

// Handler serves GET /sse, the measurement stream: unnamed events (so a
// browser's EventSource.onmessage fires), each
//
//	id: <seq>
//	data: {"seq":N,"sched_ns":S,"sent_ns":T[,"pad":"..."]}
//
// on the server-wide tick timeline, or with ?channel=X the messages published
// to channel X (pubsub envelopes, id = the channel seq).
//
// Query parameters: rate (events/s, default 1; 0 with channel), count (end
// the stream after N events), size (payload bytes, padded), jitter (a Go
// duration, deterministic per seq), spread (a Go duration: this
// connection's ticks shifted by its own offset below it, so that
// subscribers do not all get tick N at once; Timeline.Spread), channel,
// heartbeat (comment interval, default 15s, 0 = none), retry (the retry:
// sent first, default 3s).
//
// A Last-Event-ID header resumes after that seq with no gap and no duplicate:
// ticks are recomputed from the timeline, channel messages replayed from the
// hub's ring, in both cases at most Replay events back.
type Handler struct {
	Hub          *pubsub.Hub
	Stats        *transport.ServerStats
	Epoch        time.Time     // the tick timeline's epoch, shared server-wide
	Heartbeat    time.Duration // default DefaultHeartbeat
	Retry        time.Duration // default DefaultRetry
	WriteTimeout time.Duration // per write+flush; default DefaultWriteTimeout
	MaxRate      float64       // events/s per connection; default DefaultMaxRate
	Replay       int           // most events resent on resume; default DefaultReplay
}

type streamParams struct {
	rate      float64
	count     uint64
	size      int
	jitter    time.Duration
	spread    time.Duration
	channel   string
	heartbeat time.Duration
	retry     time.Duration
}

func (h *Handler) params(r *http.Request) (streamParams, error) {
	q := r.URL.Query()
	p := streamParams{
		rate:      1,
		heartbeat: cmp(h.Heartbeat, DefaultHeartbeat),
		retry:     cmp(h.Retry, DefaultRetry),
	}
	maxRate := h.MaxRate
	if maxRate <= 0 {
		maxRate = DefaultMaxRate
	}
	p.channel = q.Get("channel")
	if p.channel != "" {
		if !pubsub.ValidChannel(p.channel) {
			return p, fmt.Errorf("channel %q: %v", p.channel, pubsub.ErrBadChannel)
		}
		p.rate = 0
		if q.Has("rate") {
			return p, fmt.Errorf("rate and channel cannot be combined on /sse: event ids would mix two sequences; use two streams")
		}
	}
	var err error
	if q.Has("rate") {
		if p.rate, err = (bounds.Rate{Name: "rate", Unit: "events", Max: maxRate, Zero: "no events"}).Parse(q.Get("rate")); err != nil {
			return p, err
		}
	}
	if v := q.Get("count"); v != "" {
		if p.count, err = strconv.ParseUint(v, 10, 64); err != nil {
			return p, fmt.Errorf("count=%q: want a whole number of events (0 = no limit)", v)
		}
	}
	if v := q.Get("size"); v != "" {
		if p.size, err = strconv.Atoi(v); err != nil || p.size < 0 || p.size > transport.MaxPayload {
			return p, fmt.Errorf("size=%q: want payload bytes from 0 to %d", v, transport.MaxPayload)
		}
	}
	for _, d := range []struct {
		b   bounds.Duration
		dst *time.Duration
	}{
		{JitterBounds, &p.jitter},
		{HeartbeatBounds, &p.heartbeat},
		{RetryBounds, &p.retry},
	} {
		if !q.Has(d.b.Name) {
			continue
		}
		if *d.dst, err = d.b.Parse(q.Get(d.b.Name)); err != nil {
			return p, err
		}
	}
	if q.Has("spread") {
		if p.spread, err = transport.ParseSpread(q.Get("spread"), p.rate); err != nil {
			return p, err
		}
	}
	return p, nil
}

func cmp(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// badRequest answers 400 with a JSON error body.
func badRequest(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Write(append(b, '\n'))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := h.params(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	last, resume := parseLastEventID(r.Header.Get("Last-Event-ID"))

	var sub *pubsub.Subscription
	if p.channel != "" {
		// Subscribe before the stream opens so nothing published from now
		// on can be missed.
		if sub, err = h.Hub.Subscribe(p.channel, last, resume); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer sub.Close()
	}
	defer h.Stats.Opened(transport.SSE)()
	st, err := NewStream(w, h.WriteTimeout)
	if err != nil {
		return
	}
	// The open stream (its headers flushed) counts as the last write the
	// first heartbeat is timed from.
	c := conn{h: h, st: st, p: p, buf: make([]byte, 0, 512+p.size), last: time.Now()}
	if p.retry > 0 {
		c.buf = AppendRetry(c.buf[:0], p.retry)
		if c.send(time.Now(), false) != nil {
			return
		}
	}
	if sub != nil {
		c.channel(r, sub)
	} else {
		c.ticks(r, last, resume)
	}
}

// parseLastEventID reads a Last-Event-ID that rtbench itself issued: a seq.
// Anything else starts a fresh stream rather than failing it.
func parseLastEventID(v string) (uint64, bool) {
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// conn is one open stream.
type conn struct {
	h    *Handler
	st   *Stream
	p    streamParams
	buf  []byte
	sent uint64 // events sent, for count
	last time.Time
}

// send writes c.buf at now; event says whether it holds an event (counted)
// rather than a retry or a heartbeat comment.
func (c *conn) send(now time.Time, event bool) error {
	if err := c.st.SendAt(c.buf, now); err != nil {
		return err
	}
	c.last = now
	if event {
		c.sent++
		c.h.Stats.Sent(transport.SSE, len(c.buf))
	}
	return nil
}

func (c *conn) done() bool { return c.p.count > 0 && c.sent >= c.p.count }

// heartbeat sends a comment when nothing was written for a heartbeat period.
// A stream never stays silent longer than that.
func (c *conn) heartbeat(now time.Time) error {
	if c.p.heartbeat <= 0 || now.Sub(c.last) < c.p.heartbeat {
		return nil
	}
	c.buf = AppendComment(c.buf[:0], "ping")
	return c.send(now, false)
}

func (c *conn) heartbeatTimer() (*time.Ticker, <-chan time.Time) {
	if c.p.heartbeat <= 0 {
		return nil, nil
	}
	t := time.NewTicker(c.p.heartbeat)
	return t, t.C
}

// beatDue is when the next heartbeat is due, and false when there are none.
func (c *conn) beatDue() (time.Time, bool) {
	if c.p.heartbeat <= 0 {
		return time.Time{}, false
	}
	return c.last.Add(c.p.heartbeat), true
}

// ticks sends the timeline's events, and a heartbeat whenever the next event
// is further than a heartbeat period from the last write. One timer serves
// both, armed for whichever is due first: a held stream whose events come
// more often than its heartbeats wakes only for its events, and one that
// needs heartbeats gets them a heartbeat period after its last write (a
// ticker of its own would wake it every period and let it stay silent for up
// to two).
func (c *conn) ticks(r *http.Request, last uint64, resume bool) {
	tl := transport.NewTimeline(c.h.Epoch, c.p.rate, c.p.jitter).Spread(c.p.spread, r.RemoteAddr)
	if !tl.Ticking() {
		c.idle(r)
		return
	}
	replay := uint64(c.h.Replay)
	if replay == 0 {
		replay = DefaultReplay
	}
	due := tl.Due(time.Now().UnixNano())
	next := due + 1
	if resume && last < due {
		next = max(last+1, due-min(due, replay)+1)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for !c.done() {
		sched := tl.Sched(next)
		now := time.Now()
		if wait := time.Duration(sched - now.UnixNano()); wait > 0 {
			due, beats := c.beatDue()
			beat := beats && due.Sub(now) < wait
			if beat {
				wait = max(due.Sub(now), 0)
			}
			timer.Reset(wait)
			select {
			case <-r.Context().Done():
				return
			case <-timer.C:
			}
			if beat {
				if c.heartbeat(time.Now()) != nil {
					return
				}
				continue
			}
			now = time.Now()
		} else if r.Context().Err() != nil {
			return
		}
		c.buf = appendTickEvent(c.buf[:0], next, sched, now.UnixNano(), c.p.size)
		if c.send(now, true) != nil {
			return
		}
		next++
	}
}

func appendTickEvent(dst []byte, seq uint64, sched, sent int64, size int) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, "\ndata: "...)
	dst = transport.AppendTick(dst, seq, sched, sent, size)
	return append(dst, '\n', '\n')
}

// idle holds a stream with no events (rate=0) open with heartbeats until the
// client leaves.
func (c *conn) idle(r *http.Request) {
	due, beats := c.beatDue()
	if !beats {
		<-r.Context().Done()
		return
	}
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case now := <-t.C:
			if c.heartbeat(now) != nil {
				return
			}
			due, _ = c.beatDue()
			t.Reset(max(due.Sub(time.Now()), 0))
		}
	}
}

func (c *conn) channel(r *http.Request, sub *pubsub.Subscription) {
	hb, hbC := c.heartbeatTimer()
	if hb != nil {
		defer hb.Stop()
	}
	var pending []*pubsub.Message
	for {
		msgs, _, changed := sub.Next(pending[:0])
		pending = msgs
		for _, m := range msgs {
			now := time.Now()
			c.buf = append(c.buf[:0], "id: "...)
			c.buf = strconv.AppendUint(c.buf, m.Seq, 10)
			c.buf = append(c.buf, "\ndata: "...)
			c.buf = m.AppendJSON(c.buf, now.UnixNano())
			c.buf = append(c.buf, '\n', '\n')
			if c.send(now, true) != nil || c.done() {
				return
			}
		}
		clear(pending) // let published messages be collected
		select {
		case <-r.Context().Done():
			return
		case t := <-hbC:
			if c.heartbeat(t) != nil {
				return
			}
		case <-changed:
		}
	}
}

// TutorialStream serves GET /api/stream exactly like the common Next.js
// real-time tutorial route: "data: connected", then every Interval
// "data: {"time":<unix ms>,"value":<float>}". Query interval overrides it.
type TutorialStream struct {
	Stats        *transport.ServerStats
	Interval     time.Duration // default 1s
	WriteTimeout time.Duration
}

func (t *TutorialStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	interval := cmp(t.Interval, time.Second)
	if v := r.URL.Query().Get("interval"); v != "" {
		d, err := IntervalBounds.Parse(v)
		if err != nil {
			badRequest(w, err)
			return
		}
		interval = d
	}
	defer t.Stats.Opened(transport.SSE)()
	st, err := NewStream(w, t.WriteTimeout)
	if err != nil {
		return
	}
	buf := AppendEvent(make([]byte, 0, 128), "", "", []byte("connected"))
	if st.Send(buf) != nil {
		return
	}
	t.Stats.Sent(transport.SSE, len(buf))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
	for {
		select {
		case <-r.Context().Done():
			return
		case now := <-tick.C:
			buf = append(buf[:0], `data: {"time":`...)
			buf = strconv.AppendInt(buf, now.UnixMilli(), 10)
			buf = append(buf, `,"value":`...)
			buf = strconv.AppendFloat(buf, rng.Float64()*100, 'f', -1, 64)
			buf = append(buf, "}\n\n"...)
			if st.Send(buf) != nil {
				return
			}
			t.Stats.Sent(transport.SSE, len(buf))
		}
	}
}
