package poll

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// maxJitter bounds ?jitter= (the timeline clamps it below the interval too).
const maxJitter = time.Hour

// pollQuery is a parsed /poll query.
type pollQuery struct {
	rate     float64
	jitter   time.Duration
	size     int
	since    uint64
	hasSince bool
	wait     time.Duration
	channel  string
}

func (h *Handler) parsePoll(q url.Values) (pollQuery, error) {
	p := pollQuery{rate: 1}
	if err := checkQuery(q, "rate", "jitter", "size", "since", "wait", "channel"); err != nil {
		return p, err
	}
	var err error
	if q.Has("channel") {
		p.channel = q.Get("channel")
		if !pubsub.ValidChannel(p.channel) {
			return p, &paramError{"channel", "a channel name: 1-128 characters of A-Z a-z 0-9 _ - . :", p.channel}
		}
		for _, k := range []string{"rate", "jitter", "size"} {
			if q.Has(k) {
				return p, errors.New(k + ": applies to the tick timeline, not to ?channel=; drop one of them")
			}
		}
	}
	if r, ok, err := queryRate(q, "rate", h.maxRate()); err != nil {
		return p, err
	} else if ok {
		p.rate = r
	}
	if p.jitter, _, err = queryDuration(q, "jitter", maxJitter, "50ms"); err != nil {
		return p, err
	}
	if p.size, _, err = queryInt(q, "size", 0, transport.MaxPayload, "the payload size in bytes"); err != nil {
		return p, err
	}
	if p.since, p.hasSince, err = querySeq(q, "since"); err != nil {
		return p, err
	}
	if p.wait, _, err = queryDuration(q, "wait", h.maxWait(), "30s"); err != nil {
		return p, err
	}
	return p, nil
}

// Poll serves GET /poll: the latest state of the tick timeline
// transport.NewTimeline(Epoch, rate, jitter), or with ?channel=X the latest
// message of pub/sub channel X.
//
// Query: rate (ticks/s, default 1, at most MaxRate), jitter (Go duration),
// size (payload bytes, padded), since (the seq the client holds), wait (Go
// duration, at most MaxWait), channel (instead of rate, jitter and size).
//
// The body is the last due tick, transport.AppendTick's
// {"seq":N,"sched_ns":S,"sent_ns":T} (seq 0 with sched_ns = the epoch before
// the first tick), or the channel's newest message envelope,
// pubsub.Message.AppendJSON's {"channel":"X","seq":N,"sched_ns":S,"sent_ns":T,"data":...};
// an empty channel answers 200 with seq 0, sched_ns 0 and "data":null, so
// the empty state has an ETag like any other. ETag is "<seq>", strong;
// Last-Modified is sched_ns; Cache-Control is no-cache.
//
// The client's state is since or, without since, the seq of its
// If-None-Match. The answer is 304 Not Modified, without a body, when that
// state is the current one, else 200. With wait > 0 and no newer state than
// the client's (or, when it sent neither, than the current one), the request
// is held until the next tick is due (one timer, set to its Sched time), a
// message is published, the wait elapses or the request context ends (503).
func (h *Handler) Poll(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r, http.MethodGet) {
		return
	}
	p, err := h.parsePoll(r.URL.Query())
	if err != nil {
		h.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.channel != "" {
		h.pollChannel(w, r, p)
		return
	}
	h.pollTicks(w, r, p)
}

// target is the seq a held request waits to see exceeded: the client's state
// when it told it, else the current one.
func (p pollQuery) target(inm []string, cur uint64) uint64 {
	if p.hasSince {
		return p.since
	}
	if n, ok := knownSeq(inm); ok {
		return n
	}
	return cur
}

func (h *Handler) pollTicks(w http.ResponseWriter, r *http.Request, p pollQuery) {
	tl := transport.NewTimeline(h.epoch(), p.rate, p.jitter)
	inm := r.Header.Values("If-None-Match")
	now := time.Now().UnixNano()
	cur := tl.Due(now)
	if target := p.target(inm, cur); p.wait > 0 && cur <= target {
		deadline := now + int64(p.wait)
		wakeAt := deadline
		if target < tl.Due(deadline) { // the next tick comes first
			wakeAt = tl.Sched(target + 1)
		}
		closed := h.Stats.Opened(transport.Poll)
		t := time.NewTimer(until(now, wakeAt))
		end := hold(r.Context(), t.C, nil)
		t.Stop()
		closed()
		if end == ended {
			h.canceled(w)
			return
		}
		now = time.Now().UnixNano()
		cur = tl.Due(now)
	}

	sched := tl.Epoch.UnixNano()
	if cur > 0 {
		sched = tl.Sched(cur)
	}
	var tag [20]byte
	st := state{etag: strconv.AppendUint(tag[:0], cur, 10), lastMod: sched}
	if matchETag(inm, st.etag) || (p.hasSince && p.since == cur) {
		h.notModified(w, st)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = transport.AppendTick(*buf, cur, sched, time.Now().UnixNano(), p.size)
	h.writeJSON(w, http.StatusOK, st, *buf)
}

func (h *Handler) pollChannel(w http.ResponseWriter, r *http.Request, p pollQuery) {
	if h.Hub == nil {
		h.noChannels(w)
		return
	}
	m, changed, err := h.Hub.Latest(p.channel)
	if err != nil {
		h.hubError(w, err)
		return
	}
	inm := r.Header.Values("If-None-Match")
	cur := seqOf(m)
	if target := p.target(inm, cur); p.wait > 0 && cur <= target {
		closed := h.Stats.Opened(transport.Poll)
		t := time.NewTimer(p.wait)
		end := woke
		for end == woke && cur <= target {
			if end = hold(r.Context(), t.C, changed); end == woke {
				m, changed, _ = h.Hub.Latest(p.channel) // the channel exists: no error
				cur = seqOf(m)
			}
		}
		t.Stop()
		closed()
		if end == ended {
			h.canceled(w)
			return
		}
	}

	var tag [20]byte
	st := state{etag: strconv.AppendUint(tag[:0], cur, 10)}
	if m != nil {
		st.lastMod = m.SchedNS
	}
	if matchETag(inm, st.etag) || (p.hasSince && p.since == cur) {
		h.notModified(w, st)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	now := time.Now().UnixNano()
	if m != nil {
		*buf = m.AppendJSON(*buf, now)
	} else {
		*buf = appendEmpty(*buf, p.channel, now)
	}
	h.writeJSON(w, http.StatusOK, st, *buf)
}

// appendEmpty appends the state of a channel with no message yet.
func appendEmpty(dst []byte, channel string, sent int64) []byte {
	dst = append(dst, `{"channel":"`...)
	dst = append(dst, channel...) // a valid channel name needs no escaping
	dst = append(dst, `","seq":0,"sched_ns":0,"sent_ns":`...)
	dst = strconv.AppendInt(dst, sent, 10)
	return append(dst, `,"data":null}`...)
}

func seqOf(m *pubsub.Message) uint64 {
	if m == nil {
		return 0
	}
	return m.Seq
}

func (h *Handler) noChannels(w http.ResponseWriter) {
	h.writeError(w, http.StatusNotFound, "channels are not enabled on this server")
}

// hubError answers an error from the hub.
func (h *Handler) hubError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, pubsub.ErrTooManyChannels):
		w.Header().Set("Retry-After", "1")
		h.writeError(w, http.StatusServiceUnavailable, "too many channels on this server; reuse an existing channel")
	default:
		h.writeError(w, http.StatusBadRequest, "channel: "+err.Error())
	}
}
