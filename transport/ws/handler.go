package ws

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Defaults for Handler.
const (
	DefaultReadLimit    = 1 << 20          // bytes of one received message
	DefaultWriteTimeout = 10 * time.Second // one frame written
	DefaultMaxRate      = 1000.0           // ticks per second per connection
	DefaultCloseTimeout = 2 * time.Second  // the whole close handshake
)

// Handler serves GET /ws. One connection does three things at once:
//
//   - ticks: {"seq":N,"sched_ns":S,"sent_ns":T[,"pad":"..."]} on the
//     server-wide timeline (transport.NewTimeline(Epoch, rate, jitter)),
//     starting with the first tick due after the connection opens, each
//     written at its scheduled time;
//   - echo: every message received is sent back unchanged, with the same
//     message type, for round-trip measurement; a text message that is not
//     UTF-8 (RFC 6455 §8.1; coder/websocket does not check) is neither
//     echoed nor published: the connection closes with 1007; so does a
//     client's close whose reason is not UTF-8 (closeguard.go), which
//     coder/websocket would echo;
//   - with ?channel=X, a room: every message published to X (over HTTP or by
//     another member) is pushed as a pubsub envelope, and every message the
//     member sends is published to X as well as echoed, so it reaches the
//     other members and X's SSE and polling subscribers, but not the sender
//     twice.
//
// Query parameters: rate (ticks/s, default 1, or 0 with channel; 0 = none;
// at most MaxRate), jitter (a Go duration), spread (a Go duration: this
// connection's ticks shifted by its own offset below it, Timeline.Spread),
// size (tick payload bytes, padded,
// at most transport.MaxPayload), count (close with 1000 "count reached" after
// N ticks), channel, binary (1 = push ticks and room messages as binary
// frames; echoes keep the client's type). Bad values are answered 400 with a
// JSON error before upgrading. The first subprotocol the client offers is
// accepted. Compression is off.
//
// The connection ends when the client closes it, on a read or write error,
// when count is reached, or when the request context ends (the mock server
// cancels it on shutdown): then the handler closes with 1001 "server shutting
// down" and returns within CloseTimeout. When echoes back up (the client
// sends faster than it reads), the reader waits up to WriteTimeout for the
// writer and then closes with 1008 "slow consumer"; a frame that cannot be
// written within WriteTimeout drops the connection without a close frame.
type Handler struct {
	Hub   *pubsub.Hub            // channels; nil refuses ?channel
	Stats *transport.ServerStats // may be nil
	// Epoch anchors the tick timeline, shared server-wide; zero means the
	// Unix epoch.
	Epoch time.Time
	// OriginPatterns are the host patterns of the cross-origin pages allowed
	// to connect (coder/websocket's AcceptOptions.OriginPatterns); empty
	// accepts any origin.
	OriginPatterns []string
	ReadLimit      int64         // bytes of one received message; default DefaultReadLimit
	WriteTimeout   time.Duration // per frame written; default DefaultWriteTimeout
	MaxRate        float64       // highest rate accepted; default DefaultMaxRate
	CloseTimeout   time.Duration // bound on the close handshake; default DefaultCloseTimeout
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r.URL.Query(), or(h.MaxRate, DefaultMaxRate), h.Hub != nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		writeError(w, http.StatusUpgradeRequired, "/ws speaks WebSocket: connect with a WebSocket client (ws:// or wss://)")
		return
	}

	var sub *pubsub.Subscription
	if p.channel != "" {
		// Subscribe before upgrading so that nothing published once the
		// client sees the 101 can be missed.
		if sub, err = h.Hub.Subscribe(p.channel, 0, false); err != nil {
			status := http.StatusServiceUnavailable
			if errors.Is(err, pubsub.ErrBadChannel) {
				status = http.StatusBadRequest
			}
			writeError(w, status, "channel="+p.channel+": "+err.Error())
			return
		}
		sub.SkipOwn = true
		defer sub.Close()
	}

	rec := &hijackRecorder{ResponseWriter: w}
	opts := &websocket.AcceptOptions{
		OriginPatterns:     h.OriginPatterns,
		InsecureSkipVerify: len(h.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	}
	if sp := firstSubprotocol(r.Header); sp != "" {
		opts.Subprotocols = []string{sp}
	}
	conn, err := websocket.Accept(rec, r, opts)
	if err != nil {
		return // Accept has answered
	}
	if rec.conn == nil {
		conn.CloseNow()
		return
	}
	// The server's read and header deadlines may still be set on a hijacked
	// connection; this handler sets its own.
	rec.conn.SetDeadline(time.Time{})
	defer h.Stats.Opened(transport.WS)()

	// coder/websocket stores limit+1.
	conn.SetReadLimit(min(or(h.ReadLimit, DefaultReadLimit), math.MaxInt64-1))

	s := newSession(h, p, conn, rec.conn, sub)
	if fw := fault.Of(w); fw != nil {
		s.f = &wsFault{spec: fw.Spec}
	}
	s.run(r.Context())
}

func (h *Handler) timeline(p params) transport.Timeline {
	epoch := h.Epoch
	if epoch.IsZero() {
		epoch = time.Unix(0, 0)
	}
	return transport.NewTimeline(epoch, p.rate, p.jitter)
}

func or[T int64 | float64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// firstSubprotocol is the first subprotocol the client offers, or "".
func firstSubprotocol(h http.Header) string {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				return t
			}
		}
	}
	return ""
}

// headerHasToken reports whether the comma-separated header key lists token,
// ignoring case.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
