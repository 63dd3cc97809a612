package transport

import (
	"cmp"
	"context"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Protocol describes one protocol rtbench speaks, as a row of the protocol
// table (package transport/client): its name, how detection recognises it,
// and how to build a session of it. Each protocol package exports one
// (sse.Protocol, ws.Protocol …); the table lists them.
type Protocol struct {
	// Name is how --mode and a checks file name the protocol: sse, ws …
	Name string
	// Pattern is the family reports group it under.
	Pattern Pattern
	// Requests is set for protocols whose sessions are a series of
	// request-response exchanges (polling, AI streams): they can run in the
	// open model (load --rate). Unset: sessions hold a stream.
	Requests bool
	// Sends is set for protocols whose sessions send messages the user
	// types or gives (SessionOptions.Outbox): listen feeds them stdin.
	Sends bool
	// ContentType is the media type its HTTP answer must have ("" none),
	// the default of check's content-type assertion.
	ContentType string
	// Schemes are URL schemes that mean this protocol without sending a
	// request (ws, wss).
	Schemes []string
	// Claims reports whether the answer to the detection request (whose
	// Body was req's) is this protocol. Detection asks the table in order;
	// nil claims nothing (a protocol only --mode or a scheme picks).
	Claims func(req *Request, resp *http.Response) bool
	// New builds one session.
	New func(o SessionOptions) Session
	// Publish, for a managed pub/sub service (Pusher), builds the publisher
	// that load --publish-rate and check drive through the service's HTTP
	// API, for the target in o.Request.URL; nil: the protocol has none.
	Publish func(o SessionOptions) (Publisher, error)
	// Knobs are the options of o that shape this protocol's sessions, by
	// name with units, for a result's params.defaults ("read_limit_bytes":
	// "1048576"); nil: none.
	Knobs func(o SessionOptions) map[string]string
}

// Publisher publishes message seq of a run, stamped with its intended
// time sched ({"seq":N,"sched_ns":S}), to the target's channel; the error
// is a classified *Error.
type Publisher func(ctx context.Context, seq uint64, sched time.Time) error

// DurationOrOff is d as a knob's value: "off" when it is 0.
func DurationOrOff(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

// MaxEventKnob is the event-stream protocols' knobs: the line and event cap
// (0: the parser's 1 MiB default) and the idle timeout.
func MaxEventKnob(o SessionOptions) map[string]string {
	return map[string]string{"max_event_bytes": strconv.Itoa(cmp.Or(o.MaxEvent, 1<<20)), "idle_timeout": DurationOrOff(o.IdleTimeout)}
}

// SessionOptions are everything a session of any protocol can be given;
// a protocol uses the fields that concern it and ignores the others. The
// zero value of each field means the protocol's default.
type SessionOptions struct {
	// Request is what the session sends: URL, method, headers, body.
	Request Request
	// HTTP sends the requests (and dials WebSocket handshakes); nil: the
	// protocol's default client.
	HTTP *http.Client
	// Reconnect is the reconnect policy and its gate.
	Reconnect Reconnect
	// First is the answer detection already received, used for the first
	// connection instead of sending Request again.
	First *Opened
	// Once shows one answer and stops: detection found that Request (a
	// POST, say) is not a stream and must not be repeated.
	Once bool
	// One makes the session one exchange (the open model's request). Such
	// a session may be Run many times, concurrently, each Run one request:
	// the open model builds one per source address and runs it for every
	// request, so what it prepares is prepared once.
	One bool
	// Repeat makes a request protocol send its request again each time one
	// ends, until the context ends (the closed model's session).
	Repeat bool
	// IdleTimeout ends a connection on which nothing (no event, comment,
	// message or ping) arrived for this long: idle_timeout. 0: none.
	IdleTimeout time.Duration
	// TTFBTimeout bounds the wait for response headers on the lean paths
	// (HTTP's own is set on the HTTP client).
	TTFBTimeout time.Duration

	// MaxEvent caps an event stream's lines and events in bytes; the error
	// names --max-event. 0: the parser's default.
	MaxEvent int
	// AIFormat forces an AI stream's format (an AIFormats name,
	// --ai-format); "": detect it from the response.
	AIFormat string
	// LastEventID is the SSE event id to resume after.
	LastEventID string
	// Comments reports SSE comment lines (": ping" heartbeats) as events
	// of Kind KindComment (listen --json shows them).
	Comments bool
	// Stamp says where each payload's clock is (--stamp); nil: sched_ns,
	// else the first of ClockFields.
	Stamp *StampSpec
	// NoEventIDs: the observer never reads Event.ID (the load engine), so
	// SSE events need not carry one; the last ID is still sent to resume.
	// It saves a held session its one steady allocation.
	NoEventIDs bool

	// WebSocket.
	Subprotocols []string
	ReadLimit    int64
	Compress     bool
	PingInterval time.Duration
	PingTimeout  time.Duration
	// AllowInvalidUTF8 reads on past a text message that is not UTF-8
	// (counted invalid_utf8_text) instead of closing with 1007.
	AllowInvalidUTF8 bool
	SendEvery        time.Duration // send a stamped message this often (echo round trips)
	SendSize         int
	// Outbox carries messages to send on the open connection; nil none.
	Outbox <-chan []byte

	// Polling.
	Interval      time.Duration
	LongPoll      time.Duration
	NoConditional bool
	// ClosedLoop polls as fast as the server answers: each request as soon
	// as the previous one was read, latency from its actual send
	// (--interval 0). Interval is then ignored.
	ClosedLoop bool
	// OwnHTTP, when set, gives each held (not One, not Once) polling
	// session a client of its own built from these options, so it keeps
	// one keep-alive connection for the whole run, as wrk's connections
	// do; LocalAddr, when set, is its source address. HTTP then serves
	// only the one-request sessions. Nil: every session uses HTTP.
	OwnHTTP *HTTPOptions

	// Lean runs plain (unencrypted, unproxied) held streams on the
	// protocol's lean path, when it has one, from LocalAddr (nil: any).
	Lean      bool
	LocalAddr net.Addr
	// Pool, with Lean, keeps the idle connections of the open model's
	// one-request sessions between requests (see ConnPool); nil: each
	// dials its own.
	Pool *ConnPool
}

// IsEventStream reports whether a Content-Type is text/event-stream
// (parameters and a trailing ";" allowed; the charset is ignored).
func IsEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(strings.TrimSuffix(strings.TrimSpace(ct), ";"))
	return err == nil && mt == "text/event-stream"
}
