package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// A client session (one SSE subscriber, one WebSocket, one polling loop, one
// AI request) reports what it sees to an Observer. `rtbench listen` prints
// the observations; the load engine records them into histograms. Clients
// know nothing of either.
//
// A session calls its Observer from one goroutine at a time, in order. The
// pointers passed are reused by the session: they, and Event.Data, are valid
// only during the call, which is what lets the hot path run without
// allocating. An Observer that keeps anything must copy it.
type Observer interface {
	// Connected: a connection is established and its response headers (or
	// its 101) have arrived. Called once per attempt that got that far.
	Connected(*Connect)
	// Event: one message: an SSE event, a WebSocket message or pong, a
	// changed poll response, an AI content delta.
	Event(*Event)
	// Exchange: one request-response exchange completed (a poll, an AI
	// request), with its timings.
	Exchange(*Exchange)
	// Error: something went wrong. Fatal errors end the session; the others
	// are counted and the session goes on (or reconnects).
	Error(*Error)
	// Closed: one connection ended; Reconnect says whether the session will
	// open another.
	Closed(*Close)
}

// Request is what a session sends.
type Request struct {
	URL    string
	Method string // default GET, or POST when Body or Send is set
	Header http.Header
	Body   []byte
	// Send are the messages sent first on every connection (--send): a
	// WebSocket sends them once open; an HTTP request carries them as the
	// first lines of its body, before Body. nil sends none.
	Send *Sender
}

// HTTPRequest builds the *http.Request for one attempt.
func (r *Request) HTTPRequest(ctx context.Context) (*http.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
		if r.Body != nil {
			method = http.MethodPost
		}
	}
	var body io.Reader
	b := r.Body
	if r.Send != nil {
		b = append(r.Send.Lines(), r.Body...)
		if method == http.MethodGet && r.Method == "" {
			method = http.MethodPost
		}
	}
	if b != nil {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if b != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Connect describes one established connection.
type Connect struct {
	Attempt int       // 0 for the first connection of the session, then 1, 2, … for reconnects
	Start   time.Time // the request (dial) started
	// Phases; zero when not done (a reused connection, an IP literal, no TLS).
	DNS, TCP, TLS time.Duration
	Reused        bool      // an idle keep-alive connection was reused
	Headers       time.Time // the response headers (HTTP) or the 101 (WebSocket) arrived: TTFB
	Status        int
	Proto         string
	URL           string      // after redirects
	Header        http.Header // response headers
	Subprotocol   string      // WebSocket
	// Attached is when a pub/sub protocol confirmed the channel (Ably's
	// ATTACHED): the session can receive. Zero for other protocols.
	Attached time.Time
}

// EventKind says what an Event is.
type EventKind uint8

const (
	KindMessage EventKind = iota // an SSE event, a WebSocket message, a changed poll response
	KindToken                    // an AI stream content delta: Data is its text
	KindPong                     // a WebSocket pong: RTT is set
	KindEcho                     // a stamped message echoed back by the server: RTT is set
	// KindComment is an SSE comment line (": ping" heartbeats and the like),
	// reported only by clients asked to (sse.Client.Comments): Data is the
	// text after the colon, one leading space removed. It is traffic, not a
	// message: observers do not count it as an event.
	KindComment
)

// Event is one message a session received.
type Event struct {
	Kind EventKind
	Type string // SSE event type ("message" when unnamed); "text" or "binary" for WebSocket; the AI event name
	ID   string // SSE id (the last event ID in force); empty elsewhere
	Data []byte // valid only during the Observer call
	Size int    // bytes this event took on the wire, framing included, where known

	FirstByte time.Time // the first byte of the event was read
	At        time.Time // the event was complete (dispatched)

	Stamp Stamp         // server timestamps found in the payload (ParseStamp)
	RTT   time.Duration // KindPong: ping round trip
}

// Exchange is one request-response exchange: a poll, or a whole AI request.
type Exchange struct {
	Intended time.Time // when the session's own schedule wanted it sent (polling); zero when it has none (an AI request)
	Start    time.Time // the request started
	Headers  time.Time // response headers arrived (TTFB)
	First    time.Time // AI: the first non-empty content delta (TTFT); zero if none
	End      time.Time // the body was read to its end
	Status   int
	Bytes    int64 // body bytes

	Changed bool // polling: a new state (not a 304, not the same body)
	// Lean: rtbench's own HTTP/1.1 client (the lean path) sent the request
	// and read its answer; false: net/http did.
	Lean bool

	// AI streams.
	Format          string // an AIFormats name ("openai", "anthropic", "gemini" …); empty for a plain stream
	Chunks          int    // events that carried answer text (not reasoning, not tool arguments)
	Tokens          int    // output tokens: from usage when the stream carried it, else Chunks
	TokensFromUsage bool
	// TokensSource names the field Tokens came from ("usage.output_tokens",
	// "eval_count" …); empty when they were counted from deltas.
	TokensSource string
	PromptTokens int
	Complete     bool // the format's terminator ([DONE], message_stop, response.completed …) arrived
	BadChunks    int  // events whose JSON could not be read (skipped)
	Frames       int  // events (SSE events, NDJSON or data stream lines) read, content or not
	Text         []byte

	// Reasoning (thinking) deltas, which come before the answer and are
	// not its text: when the first and last arrived, how many events
	// carried them, and the reasoning tokens when the usage says.
	ReasoningFirst, ReasoningLast time.Time
	ReasoningChunks               int
	ReasoningTokens               int
	// ToolChunks counts events that carried tool-call arguments (deltas or
	// whole calls), apart from the text.
	ToolChunks int
	// Server is what the server said its generation took (Ollama's final
	// line); zero when it said nothing.
	Server ServerTiming

	// CutOff: the caller's context ended the exchange while it was in
	// flight (the end of a run, or of its drain): End is when it was cut.
	// It is not completed work: a recorder counts it apart and keeps it out
	// of request counts, end-to-end latencies and tokens.
	CutOff bool
}

// ServerTiming is a server's own account of one generation, as Ollama's
// final line gives it (total_duration, load_duration, prompt_eval_*, eval_*).
type ServerTiming struct {
	Total, Load, PromptEval, Eval time.Duration
	PromptEvalCount, EvalCount    int
}

// Close describes the end of one connection.
type Close struct {
	At        time.Time
	Code      int // WebSocket close code (1005: none received, 1006: abnormal); 0 for HTTP
	Reason    string
	Clean     bool // the peer ended it normally: EOF at an event boundary, close 1000/1001, the AI terminator
	Reconnect bool // the session will open another connection
	// Idle: the connection ended between two requests of a request-response
	// session (a keep-alive connection the server closed while idle, or a
	// shared pool that gave the next request another connection). No
	// request failed and the session did not wait, so it is not an outage;
	// the next Connected still counts as a reconnect.
	Idle bool
}

// Error is one failure, classified.
type Error struct {
	Class Class
	Code  int // the HTTP status or WebSocket close code, for classes that have one
	Err   error
	At    time.Time
	Fatal bool // the session ends: no reconnect follows
}

// Error is the cause's message with any URL in it redacted (RedactText):
// Go's HTTP errors quote the request URL, query and all.
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Class)
	}
	return RedactText(e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err as an *Error, classifying it if it is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: Classify(err), Err: err, At: time.Now()}
}

// Session is one client session: it connects, reads until ctx ends or the
// stream ends for good, reconnecting as its policy says, and reports
// everything to obs. Run returns nil when the session ended normally (ctx
// cancelled by the caller, or the peer ended it cleanly and the policy does
// not reconnect) and the fatal *Error otherwise.
type Session interface {
	Run(ctx context.Context, obs Observer) error
}

// Starter is a Session that can also run without holding its caller's
// goroutine: Start runs it as Run does and calls done once, with what Run
// would have returned, on a goroutine that done may block or keep. A held
// session started so may keep no goroutine of its own while it waits (SSE's
// lean streams on Linux, read by shared pollers), which is most of what a
// held session costs.
type Starter interface {
	Session
	Start(ctx context.Context, obs Observer, done func(error))
}

// Delivery is the event's end-to-end latency: its arrival (At) minus the
// time the sender's schedule meant it to go out (sched_ns), or else minus
// the payload's own clock (Stamp.Clock: ts, time, timestamp, sent_at,
// created_at, or the field --stamp names, which wins over sched_ns). ok is
// false when the payload carries none. Across hosts with skewed clocks it
// can be negative; the caller decides how to count that.
func (e *Event) Delivery() (d time.Duration, ok bool) {
	if e.Stamp.HasSched && !(e.Stamp.HasClock && e.Stamp.ClockFirst) {
		return time.Duration(e.At.UnixNano() - e.Stamp.SchedNS), true
	}
	if e.Stamp.HasClock {
		return time.Duration(e.At.UnixNano() - e.Stamp.Clock), true
	}
	return 0, false
}

// Wire is the event's wire latency: its arrival minus the time the server
// wrote it (sent_ns). ok is false when the payload has no sent_ns.
func (e *Event) Wire() (d time.Duration, ok bool) {
	if !e.Stamp.HasSent {
		return 0, false
	}
	return time.Duration(e.At.UnixNano() - e.Stamp.SentNS), true
}

// Repeat is a session that runs a fresh session from New, again and again,
// until ctx ends or one of them fails: the closed model for request
// patterns, where one Run is one AI request.
type Repeat struct {
	New func() Session
}

// Run implements Session.
func (r Repeat) Run(ctx context.Context, obs Observer) error {
	for ctx.Err() == nil {
		if err := r.New().Run(ctx, obs); err != nil {
			return err
		}
	}
	return nil
}
