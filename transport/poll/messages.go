package poll

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// maxPageBytes bounds the message envelopes of one messages response; past
// it the page ends early with "more":true (it always holds one message).
const maxPageBytes = 4 << 20

var msgsPool = sync.Pool{New: func() any { s := make([]*pubsub.Message, 0, 64); return &s }}

// Messages serves GET /api/channels/{channel}/messages: every message of the
// channel with seq > since that the hub's ring still holds, oldest first:
//
//	{"channel":"X","last":L,"missed":M,"more":false,"messages":[<envelope>,...]}
//
// Each envelope is pubsub.Message.AppendJSON's
// {"channel":"X","seq":N,"sched_ns":S,"sent_ns":T,"data":...}. L is the seq
// to send as since next time: the last message returned, or, when there is
// none, the channel's newest seq (which is below since after a server
// restart: the client then resumes from the new server's messages). M counts
// the messages after since that already left the ring, a gap the client can
// see. A page holds at most limit messages and about 4 MiB; "more":true says
// it was cut short and the client should ask again from L at once.
//
// Query: since (default 0: the whole ring), limit (1 to MaxMessages, default
// MaxMessages), wait (Go duration, at most MaxWait): when nothing is newer
// than since, hold the request until a message is published, the wait
// elapses (then 200 with an empty list) or the request context ends (503).
//
// ETag is "<the channel's newest seq>"; If-None-Match matching it answers
// 304 without a body.
func (h *Handler) Messages(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r, http.MethodGet) {
		return
	}
	if h.Hub == nil {
		h.noChannels(w)
		return
	}
	name := r.PathValue("channel")
	q := r.URL.Query()
	err := checkQuery(q, "since", "wait", "limit")
	if err == nil && !pubsub.ValidChannel(name) {
		err = &paramError{"channel", "a channel name in the path: 1-128 characters of A-Z a-z 0-9 _ - . :", name}
	}
	var since uint64
	if err == nil {
		since, _, err = querySeq(q, "since")
	}
	var wait time.Duration
	if err == nil {
		wait, _, err = queryDuration(q, "wait", h.maxWait(), "30s")
	}
	limit, hasLimit := h.maxMessages(), false
	if err == nil {
		var n int
		if n, hasLimit, err = queryInt(q, "limit", 1, h.maxMessages(), "the most messages to return"); hasLimit {
			limit = n
		}
	}
	if err != nil {
		h.writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	sub, err := h.Hub.Subscribe(name, since, true)
	if err != nil {
		h.hubError(w, err)
		return
	}
	defer sub.Close()
	mp := msgsPool.Get().(*[]*pubsub.Message)
	defer func() { clear(*mp); *mp = (*mp)[:0]; msgsPool.Put(mp) }()

	msgs, missed, changed := sub.Next((*mp)[:0])
	if len(msgs) == 0 && missed == 0 && wait > 0 {
		closed := h.Stats.Opened(transport.Poll)
		t := time.NewTimer(wait)
		end := woke
		for end == woke && len(msgs) == 0 && missed == 0 {
			if end = hold(r.Context(), t.C, changed); end == woke {
				msgs, missed, changed = sub.Next(msgs)
			}
		}
		t.Stop()
		closed()
		if end == ended {
			*mp = msgs
			h.canceled(w)
			return
		}
	}
	*mp = msgs // return the grown slice to the pool

	var tag [20]byte
	st := state{etag: strconv.AppendUint(tag[:0], sub.Cursor(), 10)}
	if matchETag(r.Header.Values("If-None-Match"), st.etag) {
		h.notModified(w, st)
		return
	}

	page, body := getBuf(), getBuf()
	defer putBuf(page)
	defer putBuf(body)
	now := time.Now().UnixNano()
	n := 0
	for _, m := range msgs {
		if n == limit || (n > 0 && len(*page) >= maxPageBytes) {
			break
		}
		if n > 0 {
			*page = append(*page, ',')
		}
		*page = m.AppendJSON(*page, now)
		n++
	}
	more := n < len(msgs)
	last := sub.Cursor()
	if more {
		last = msgs[n-1].Seq
	}
	b := append(*body, `{"channel":"`...)
	b = append(b, name...) // a valid channel name needs no escaping
	b = append(b, `","last":`...)
	b = strconv.AppendUint(b, last, 10)
	b = append(b, `,"missed":`...)
	b = strconv.AppendUint(b, missed, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	b = append(b, `,"messages":[`...)
	b = append(b, *page...)
	b = append(b, "]}"...)
	*body = b
	h.writeJSON(w, http.StatusOK, st, b)
}
