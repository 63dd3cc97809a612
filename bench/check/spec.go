package check

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/bench/specfile"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
	"github.com/rtbench/rtbench/transport/match"
)

// Modes of a check: the pattern, as `rtbench listen --mode` names them.
const (
	ModeSSE  = "sse"
	ModeAI   = "ai"
	ModeWS   = "ws"
	ModePoll = "poll"
)

// Defaults and limits of a Spec.
const (
	// DefaultTimeout bounds a check that gives no timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultStreamEvents is the events assertion of an SSE or WebSocket
	// check that asserts nothing about events: enough for the burst
	// detector to judge. A polling check asks for one response.
	DefaultStreamEvents = 3
	// MaxConcurrency bounds Concurrency: a check is a smoke test, not a load.
	MaxConcurrency = 1000
	// PollInterval is the time between two polls of a polling check.
	PollInterval = time.Second
	// DefaultFirstMessage bounds the wait for a WebSocket's first message
	// when the check gives no time bound of its own (--first-event,
	// --within, --echo): a server that waits for a subscribe or auth
	// message sends nothing, and the check says so in seconds.
	DefaultFirstMessage = 5 * time.Second
	// EchoInterval is how often a WebSocket echo check sends its stamped
	// message until one comes back.
	EchoInterval = 100 * time.Millisecond
)

// DefaultAIBody is sent by an AI check that gives no body: a short streamed
// chat request that OpenAI-compatible servers, Anthropic's Messages API and
// rtbench serve's /api/chat all accept.
const DefaultAIBody = `{"model":"rtbench-check","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}`

// Spec is one check: the endpoint, how to call it and what must hold. The
// zero value of every field but Request.URL means its documented default.
type Spec struct {
	// Name labels the check in reports; default the URL.
	Name string
	// Request is what every session sends (URL, method, headers, body).
	Request transport.Request
	// Mode is sse, ai, ws or poll; "" detects it: ws:// and wss:// are
	// WebSockets, a ttft or complete assertion means ai, an echo ws, and
	// otherwise the first response decides (an event stream is sse, or ai
	// when a body is sent; JSON is poll; any other 2xx answer is taken for
	// a broken event stream, so that its content type fails).
	Mode string
	// Concurrency is the number of sessions run at once; default 1.
	Concurrency int
	// Timeout bounds the whole check; default DefaultTimeout.
	Timeout time.Duration
	// Reconnect is the sessions' policy. Its zero value is PolicySpec;
	// `rtbench check` passes PolicyNever unless --reconnect says otherwise,
	// so that one session is one connection.
	Reconnect transport.Policy
	// HTTP configures the HTTP client (TLS trust, timeouts).
	HTTP transport.HTTPOptions
	// Session holds the sessions' protocol knobs (idle timeout, read
	// limits, WebSocket pings, polling interval …); its Request, HTTP,
	// Reconnect, First and Once are the check's own. A zero Interval polls
	// every PollInterval.
	Session transport.SessionOptions
	// Assert is what must hold.
	Assert Assertions
	// PublishRate, for a managed service's URL (pusher://), publishes this
	// many stamped messages per second through its HTTP API while the
	// sessions listen, so that an event can arrive; 0 publishes nothing.
	PublishRate float64
}

// Assertions are a check's conditions, as written on the command line or in
// a checks file. Zero values mean "not asserted" or the mode's default.
type Assertions struct {
	// Status is the accepted HTTP status: codes and classes, comma-separated
	// ("200", "2xx", "200,204"); default 2xx. WebSockets must answer 101.
	Status string
	// ContentType is the media type the response must have (parameters
	// ignored); default text/event-stream for sse and ai, none otherwise.
	ContentType string
	// Events is how many events (messages, tokens, changed polls) must
	// arrive within Within (default: the timeout). With no event assertion
	// at all, SSE and WebSocket checks ask for DefaultStreamEvents and
	// polling checks for 1.
	Events int
	Within time.Duration
	// FirstEvent bounds the time from the request to the first event.
	FirstEvent time.Duration
	// Expect holds match expressions (`listen --until`'s language); each
	// passes when some event's JSON matches it.
	Expect []string
	// ExpectFirst is a match expression the first event's JSON must match:
	// a subscription's acknowledgement, after --send.
	ExpectFirst string
	// TTFT bounds an AI stream's time to first token.
	TTFT time.Duration
	// Complete asks that an AI stream end with its terminator ([DONE],
	// message_stop); default true in ai mode.
	Complete *bool
	// Echo sends a stamped WebSocket message and expects it back.
	Echo bool
	// Thresholds are `rtbench load` thresholds (bench.ParseThreshold),
	// evaluated on the check's sessions.
	Thresholds []string
}

// FieldError is a Spec that does not validate: Field names the assertion as
// a checks file spells it (status, content_type, within …), so that the
// command line can name its flag instead.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// plan is a validated Spec with its assertions parsed and the defaults that
// do not depend on the mode filled in.
type plan struct {
	spec        Spec
	name        string
	timeout     time.Duration
	sessions    int
	mode        string // "" until detection
	status      statusSet
	contentType string // media type, lower case; "" none
	// aiContentType: contentType is the AI mode's default, to be replaced
	// by the type the answer's format has (transport.AIMediaType).
	aiContentType bool
	events        int
	within        time.Duration
	firstEvent    time.Duration
	expect        []*match.Expr
	expectFirst   *match.Expr
	// firstDefault: firstEvent is DefaultFirstMessage, not asked for.
	firstDefault bool
	ttft         time.Duration
	complete     bool
	echo         bool
	thresholds   bench.Thresholds
}

// upgrade says whether the mode's sessions are WebSockets: the handshake
// must answer 101 and has no status or content type to assert.
func (p *plan) upgrade() bool {
	if p.mode == ModeWS {
		return true
	}
	pr := client.Lookup(p.mode)
	return pr != nil && pr.Pattern == transport.WS
}

// protocolOf is the table's row of mode.
func protocolOf(mode string) *transport.Protocol { return client.Lookup(mode) }

// Validate checks s without running it.
func (s *Spec) Validate() error {
	_, err := compile(*s)
	return err
}

func compile(s Spec) (*plan, error) {
	p := &plan{spec: s, name: s.Name, timeout: s.Timeout, sessions: s.Concurrency}
	a := &s.Assert
	byScheme, err := client.Scheme(s.Request.URL)
	if err != nil {
		return nil, &FieldError{Field: "url", Err: err}
	}
	isWS := byScheme != nil && byScheme.Name == ModeWS
	if p.name == "" {
		p.name = transport.RedactURL(s.Request.URL)
	}
	switch {
	case p.timeout < 0:
		return nil, fieldErr("timeout", "%v: want a positive duration such as 30s", p.timeout)
	case p.timeout == 0:
		p.timeout = DefaultTimeout
	}
	switch {
	case p.sessions < 0 || p.sessions > MaxConcurrency:
		return nil, fieldErr("concurrency", "%d: want 1 to %d sessions", p.sessions, MaxConcurrency)
	case p.sessions == 0:
		p.sessions = 1
	}
	if s.Mode != "" && client.Lookup(s.Mode) == nil {
		return nil, fieldErr("mode", "%q: want %s", s.Mode, client.Names())
	}
	p.mode = s.Mode
	if isWS && p.mode != "" && p.mode != ModeWS {
		return nil, fieldErr("mode", "%s with the WebSocket URL %s: use an http(s) URL, or mode ws", p.mode, s.Request.URL)
	}
	if isWS {
		p.mode = ModeWS
	}
	// Other schemes (pusher://) name their protocol as ws:// does.
	if byScheme != nil && !isWS {
		if p.mode != "" && p.mode != byScheme.Name {
			return nil, fieldErr("mode", "%s with the %s URL %s: use mode %s", p.mode, byScheme.Name, transport.RedactURL(s.Request.URL), byScheme.Name)
		}
		p.mode = byScheme.Name
	}
	switch {
	case s.PublishRate < 0 || s.PublishRate > 1000:
		return nil, fieldErr("publish_rate", "%v: want 0 (none) to 1000 messages per second", s.PublishRate)
	case s.PublishRate > 0 && (byScheme == nil || byScheme.Publish == nil):
		return nil, fieldErr("publish_rate", "publishes through a managed service's HTTP API: it needs a pusher:// or ably:// URL")
	}
	// Assertions that belong to one mode pick it when none is given.
	switch {
	case (a.TTFT > 0 || a.Complete != nil) && p.mode == "":
		p.mode = ModeAI
	case a.Echo && p.mode == "":
		p.mode = ModeWS
	}
	if a.TTFT > 0 && p.mode != ModeAI {
		return nil, fieldErr("ttft", "applies to AI streams, not mode %s", p.mode)
	}
	if a.Complete != nil && p.mode != ModeAI {
		return nil, fieldErr("complete", "applies to AI streams, not mode %s", p.mode)
	}
	if a.Echo && p.mode != ModeWS {
		return nil, fieldErr("echo", "applies to WebSockets, not mode %s", p.mode)
	}
	if a.Status != "" {
		if p.upgrade() {
			return nil, fieldErr("status", "%q: a WebSocket upgrade must answer 101, which the check asserts already", a.Status)
		}
		if p.status, err = parseStatus(a.Status); err != nil {
			return nil, &FieldError{Field: "status", Err: err}
		}
	}
	if a.ContentType != "" {
		mt, _, err := mime.ParseMediaType(a.ContentType)
		if err != nil {
			return nil, fieldErr("content_type", "%q: want a media type such as text/event-stream", a.ContentType)
		}
		if p.upgrade() {
			return nil, fieldErr("content_type", "%q: a WebSocket upgrade has no content type", a.ContentType)
		}
		p.contentType = mt
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"within", a.Within}, {"first_event", a.FirstEvent}, {"ttft", a.TTFT}} {
		if d.v < 0 {
			return nil, fieldErr(d.field, "%v: want a positive duration", d.v)
		}
		if d.v > p.timeout {
			return nil, fieldErr(d.field, "%v is longer than the check's timeout %v: raise the timeout or lower the bound", d.v, p.timeout)
		}
	}
	if a.Events < 0 {
		return nil, fieldErr("events", "%d: want 1 or more (0 asserts nothing)", a.Events)
	}
	p.events, p.within, p.firstEvent, p.ttft, p.echo = a.Events, a.Within, a.FirstEvent, a.TTFT, a.Echo
	if p.within > 0 && p.events == 0 {
		p.events = 1
	}
	for _, e := range a.Expect {
		x, err := match.Parse(e)
		if err != nil {
			return nil, &FieldError{Field: "expect", Err: err}
		}
		p.expect = append(p.expect, x)
	}
	if a.ExpectFirst != "" {
		if p.expectFirst, err = match.Parse(a.ExpectFirst); err != nil {
			return nil, &FieldError{Field: "expect_first", Err: err}
		}
	}
	if p.thresholds, err = bench.ParseThresholds(a.Thresholds); err != nil {
		if te, ok := errors.AsType[*bench.ThresholdError](err); ok {
			err = fmt.Errorf("%q: at %d: %s", te.Input, te.Pos, te.Msg)
		}
		return nil, &FieldError{Field: "thresholds", Err: err}
	}
	p.complete = a.Complete == nil || *a.Complete
	return p, nil
}

// setMode fills the defaults that depend on the mode, once it is known.
func (p *plan) setMode(mode string) {
	p.mode = mode
	a := &p.spec.Assert
	if p.status == nil && !p.upgrade() {
		p.status = statusSet{{200, 299}}
	}
	if p.contentType == "" {
		p.contentType = client.Lookup(mode).ContentType
		p.aiContentType = mode == ModeAI
	}
	eventish := a.Events > 0 || a.Within > 0 || a.FirstEvent > 0 || len(a.Expect) > 0 || a.ExpectFirst != "" || a.Echo || a.TTFT > 0
	if mode == ModeWS && a.FirstEvent == 0 && a.Within == 0 && !a.Echo {
		p.firstEvent, p.firstDefault = min(DefaultFirstMessage, p.timeout), true
	}
	if !eventish {
		switch mode {
		case ModeSSE, ModeWS:
			p.events = DefaultStreamEvents
		case ModePoll:
			p.events = 1
		default:
			if pr := client.Lookup(mode); pr != nil && pr.Publish != nil {
				p.events = 1 // a managed service: the message --publish-rate sends
			}
		}
	}
	if p.events > 0 && p.within == 0 {
		p.within = p.timeout
	}
	if mode != ModeAI {
		p.complete = false
	}
	if mode == ModeAI && p.spec.Request.Body == nil {
		p.spec.Request.Body = []byte(DefaultAIBody)
	}
}

// statusSet is the accepted statuses (specfile.Statuses).
type statusSet = specfile.Statuses

func parseStatus(s string) (statusSet, error) { return specfile.ParseStatuses(s) }

// statusText is "403 Forbidden", or the bare code when it has no name.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}
