package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/internal/netpoll"
)

// Defaults for Client. The reconnect defaults are transport.Reconnect's
// (DefaultRetry, DefaultRetryFloor, DefaultRetryCap); the read caps are
// ParserOptions' (DefaultMaxLine, DefaultMaxEvent, DefaultReadSize).
const (
	// DefaultErrorBody is how many bytes of the body of a rejected response
	// (a status other than 200, a wrong content type) are quoted in the
	// error, when that body is text or JSON: servers explain themselves there.
	DefaultErrorBody = 200
	// DefaultErrorBodyWait bounds reading that excerpt, so a server that
	// sends headers and then stalls cannot hold a failing session.
	DefaultErrorBodyWait = time.Second
	// IdleChecks is how many times per IdleTimeout the idle watch wakes up.
	// Lines only set a flag; the watch reports idle_timeout after IdleChecks
	// wake-ups in a row saw none, so after between 1 and 1+1/IdleChecks
	// times IdleTimeout of silence, and a fast stream costs no timer update
	// per line.
	IdleChecks = 4
)

// MediaType is the media type an event stream must be served with.
const MediaType = "text/event-stream"

// Client is one SSE subscriber: an EventSource as WHATWG HTML §9.2 describes
// it, instrumented. It implements transport.Session. The zero value of every
// field but Request.URL means the documented default. A Client is not
// modified by Run, so one Client may run several sessions at once; each Run
// keeps its state (parser, buffers, last event ID) to itself.
//
// Each connection sends Accept: text/event-stream, Cache-Control: no-cache and
// Pragma: no-cache (unless Request.Header sets them), and Last-Event-ID when
// the last event ID is not empty. Redirects are followed by HTTP.
//
// A connection is failed, with no reconnect under PolicySpec and PolicyNever,
// when its status is not 200 (class http_4xx, http_5xx or http_status, with
// the code) or its media type is not text/event-stream (bad_content_type,
// under every policy). PolicyAlways reconnects after 429, 500, 502, 503 and
// 504, waiting at least their Retry-After (clamped to Reconnect.Cap).
//
// A connection that ends otherwise — the server closed the stream, a network
// error, idle_timeout, truncated_event, event_too_large — reconnects under
// PolicySpec and PolicyAlways after Reconnect.Delay (the server's retry:
// clamped to [Floor, Cap], with backoff and jitter), then Reconnect.Gate, with
// Last-Event-ID. Errors that cannot heal by retrying end the session under
// every policy: too_many_redirects, the TLS certificate classes, a request
// that cannot be built, and event_too_large for the second time in a row
// after the same last event ID (the resumed stream refuses the same event
// again, so retrying it for ever would only hammer the server). Reconnect.MaxAttempts reconnects in a row that
// deliver no event end the session with the last error.
//
// The Observer sees, per connection: Connected (only for an accepted 200
// event stream), its events, non-fatal warnings (not_streaming once per
// session, invalid_utf8 once per event that had ill-formed UTF-8,
// redirect_downgrade), then the error that ended it if any, then Closed.
// A failure before a connection was accepted is reported as an Error alone.
// Fatal is set on the one error that ends the session, which Run returns.
type Client struct {
	// Request is what each connection sends: URL, Method (default GET, or
	// POST with a Body: an AI endpoint can be read as a plain stream),
	// Header, Body.
	Request transport.Request
	// HTTP sends the requests. Nil: one client shared by every Client,
	// built once with transport.NewHTTPClient(transport.HTTPOptions{}).
	HTTP *http.Client
	// Parser caps lines and events (1 MiB each by default) and sizes the
	// read buffer. Its OnLine, when set, is called as well as the idle watch.
	Parser ParserOptions
	// Reconnect is the reconnect policy; the zero value follows the
	// specification with transport's defaults.
	Reconnect transport.Reconnect
	// IdleTimeout ends a connection (idle_timeout) that reads no line at
	// all, comments included, for this long. 0 means no idle timeout.
	IdleTimeout time.Duration
	// LastEventID is the last event ID the session starts with (e.g. a
	// flag); empty: Request.Header's Last-Event-ID, if any.
	LastEventID string
	// First, when set, is the response to use for the first connection
	// instead of sending Request: mode detection already received it. The
	// session closes its body, possibly while a Read is in progress (to end
	// it on cancel or idle timeout), which an http.Response body allows.
	First *transport.Opened
	// Lean, when set, reads plain http:// streams without net/http's
	// Transport: see Lean. nil: every connection goes through HTTP.
	Lean *Lean
	// Stamp says where each payload's clock is (--stamp): nil reads
	// sched_ns, else the first of transport.ClockFields.
	Stamp *transport.StampSpec
	// Comments reports each comment line (": ping" heartbeats) as an Event
	// of Kind transport.KindComment, as listen --json shows them. Whether or
	// not it is set, every line, comments included, resets the idle timeout.
	Comments bool

	wait func(ctx context.Context, d time.Duration) error // tests; default transport.Wait
}

var defaultHTTP = sync.OnceValue(func() *http.Client {
	return transport.NewHTTPClient(transport.HTTPOptions{})
})

// Run connects and reads events until ctx ends (nil), the stream ends for
// good, or a fatal error (the *transport.Error, also reported to obs).
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	return c.newSession(obs).run(ctx)
}

// Start runs the session as Run does and calls done once, with what Run
// would have returned, on a goroutine that done may keep (transport.Starter).
// On Linux, a lean connection's stream (http://, chunked) is read by a
// shared poller while it is held, so the session keeps no goroutine, and no
// stack, of its own between connections' ends; its events are reported from
// the poller's goroutine, one connection at a time as from Run. Elsewhere,
// and for any other connection, it reads on a goroutine as Run does.
func (c *Client) Start(ctx context.Context, obs transport.Observer, done func(error)) {
	s := c.newSession(obs)
	if c.Lean == nil || !netpoll.Supported() {
		go func() { done(s.run(ctx)) }()
		return
	}
	s.async = &async{ctx: ctx, done: done}
	go s.proceed(nil)
}

// newSession is the state of one Run, ready to connect. (Run's goroutine
// holds the session: its setup is kept out of Run's frame.)
func (c *Client) newSession(obs transport.Observer) *session {
	s := &session{c: c, obs: obs, http: c.HTTP, wait: c.wait, first: c.First, lean: c.Lean != nil}
	if s.http == nil {
		s.http = defaultHTTP()
	}
	if s.wait == nil {
		s.wait = transport.Wait
	}
	opts := c.Parser
	opts.Comments = opts.Comments || c.Comments
	if c.Lean != nil && opts.ReadSize <= 0 {
		opts.ReadSize = LeanReadSize
		opts.BusyReadSize = max(opts.BusyReadSize, DefaultReadSize)
	}
	if c.IdleTimeout > 0 {
		user := opts.OnLine
		opts.OnLine = func() {
			s.idle.saw()
			if user != nil {
				user()
			}
		}
	}
	s.p = NewParser(nil, opts)
	id := c.LastEventID
	if id == "" {
		id = c.Request.Header.Get("Last-Event-ID")
	}
	s.p.SetLastEventID(id)
	s.ev.Kind = transport.KindMessage
	return s
}

// session is the state of one Run.
type session struct {
	c     *Client
	obs   transport.Observer
	http  *http.Client
	wait  func(context.Context, time.Duration) error
	first *transport.Opened
	lean  bool // connect over the lean path while it applies
	p     *Parser
	idle  *idleWatch // of the current connection; nil without IdleTimeout

	conn     transport.Connect
	ev       transport.Event
	close    transport.Close
	invalid  int  // p.InvalidUTF8() already reported
	warned   bool // not_streaming was reported
	gzWarned bool // compressed was reported

	// The last connection ended refusing an event over the cap (refused),
	// after the event with this last event ID.
	refused   bool
	refusedID string

	async *async // a session of Start's; nil for Run's
}

// async is the state of a session of Start's that Run keeps in its frames.
type async struct {
	ctx     context.Context
	done    func(error)
	attempt int
	quiet   int // connections in a row that ended without delivering an event

	// The connection the poller reads (parked): its body (which the
	// parser reads), what stops ctx's watch, and whether it delivered an
	// event.
	pc         *netpoll.Conn
	body       io.Closer
	stopCancel func() bool
	events     bool
}

// reconnectOn says which policies reconnect after a connection ended.
type reconnectOn uint8

const (
	onNone   reconnectOn = iota // no policy: retrying cannot help
	onSpec                      // a network error or the end of the stream: spec and always
	onAlways                    // a retryable HTTP status: always only
)

func (r reconnectOn) allowed(p transport.Policy) bool {
	switch p {
	case transport.PolicySpec:
		return r == onSpec
	case transport.PolicyAlways:
		return r != onNone
	}
	return false
}

// ending is how one connection attempt ended.
type ending struct {
	err        *transport.Error // nil: the stream ended cleanly at an event boundary
	connected  bool             // Connected was reported
	events     bool             // at least one event was delivered
	on         reconnectOn
	retryAfter time.Duration // the response's Retry-After, clamped
}

func (s *session) run(ctx context.Context) error {
	quiet := 0 // connections in a row that ended without delivering an event
	for attempt := 0; ; attempt++ {
		end := s.connect(ctx, attempt)
		if done, err := s.ended(ctx, &end, &quiet); done {
			return err
		}
	}
}

// proceed runs a session of Start's from the end of a connection (nil: from
// its start) until it ends (done called) or a connection is parked with the
// poller, which resumes it when that connection ends.
func (s *session) proceed(end *ending) {
	a := s.async
	for {
		if end != nil {
			if done, err := s.ended(a.ctx, end, &a.quiet); done {
				a.done(err)
				return
			}
		}
		o := s.openAside(a.ctx, a.attempt)
		a.attempt++
		if o.end != nil {
			end = o.end
			continue
		}
		if s.park(o) {
			return
		}
		e := s.readOpened(a.ctx, o)
		end = &e
	}
}

// park hands an opened lean chunked stream to a poller: it is read by
// Readable, on the poller's goroutine, until it ends. false: the stream is
// to be read here (not lean, not chunked, of fixed length, or no poller).
// ctx's end and the idle timeout shut the connection's reading side rather
// than close it, which the poller reads as the end of the stream. The
// poller's Conn holds the socket from then on (the net.Conn is closed).
func (s *session) park(o opening) bool {
	lb, ok := o.body.(*leanBody)
	if !ok || o.whole != nil {
		return false
	}
	ch, ok1 := lb.r.(*chunked)
	tc, ok2 := lb.c.(*net.TCPConn)
	if !ok1 || !ok2 {
		return false
	}
	pc, err := netpoll.NewConn(tc)
	if err != nil {
		return false
	}
	a := s.async
	ch.conn = pc
	s.p.Reset(lb)
	a.pc, a.body, a.events = pc, lb, false
	a.stopCancel = context.AfterFunc(a.ctx, func() { pc.Shutdown() })
	if s.c.IdleTimeout > 0 {
		s.idle = startIdle(s.c.IdleTimeout, shutReading{pc})
	}
	if err := pc.Register(s); err != nil {
		// Read here after all (tc is still open); the parser has read
		// nothing yet.
		a.stopCancel()
		if s.idle != nil {
			s.idle.stop()
			s.idle = nil
		}
		ch.conn = tc
		return false
	}
	return true
}

// shutReading ends a parked connection's stream: the poller reads its end.
type shutReading struct{ c *netpoll.Conn }

func (s shutReading) Close() error { return s.c.Shutdown() }

// PollBudget is how many events a poller reads from one connection before it
// serves its other ready connections: a stream faster than it is read
// cannot keep them waiting.
const PollBudget = 64

// Readable reads a parked connection's events, on its poller's goroutine
// (netpoll.Handler), as read does on a session's own, PollBudget at most.
func (s *session) Readable() (more bool) {
	a := s.async
	for range PollBudget {
		ev, err := s.p.next()
		if err == netpoll.ErrWouldBlock {
			return false
		}
		if err != nil {
			s.unpark(ending{on: onSpec, connected: true, events: a.events, err: s.readFailed(err)})
			return false
		}
		if a.ctx.Err() != nil {
			s.unpark(ending{on: onSpec, connected: true, events: a.events}) // no event after cancel
			return false
		}
		if ev.Comment {
			s.comment(ev)
			continue
		}
		a.events = true
		s.event(ev)
	}
	return true
}

// unpark takes an ended connection back from the poller and goes on with
// the session on a goroutine of its own.
func (s *session) unpark(end ending) {
	s.async.pc.Deregister()
	go s.resume(end)
}

// resume closes a parked connection that ended, and proceeds.
func (s *session) resume(end ending) {
	a := s.async
	if s.idle != nil {
		s.idle.stop()
		s.idle = nil
	}
	a.stopCancel()
	a.body.Close() // the lean body's own connection, closed when the poller took it over
	a.pc.Close()
	a.pc, a.body, a.stopCancel = nil, nil, nil
	s.proceed(&end)
}

// ended decides what follows a connection that ended: done with the error
// Run returns, or a reconnect (after its wait). Kept out of run's frame,
// which a held session's goroutine keeps while it reads.
func (s *session) ended(ctx context.Context, endp *ending, quietp *int) (done bool, _ error) {
	end, quiet := *endp, *quietp
	{
		if ctx.Err() != nil {
			if end.connected {
				s.closed(false, false, string(transport.ClassCanceled))
			}
			return true, nil
		}
		if end.events {
			quiet = 0
		}
		quiet++
		*quietp = quiet
		rc := s.c.Reconnect
		again := end.on.allowed(rc.Policy)
		giveUp := again && rc.MaxAttempts > 0 && quiet > rc.MaxAttempts
		if giveUp {
			again = false
		}
		// An event over the cap is refused again on every reconnect (the
		// stream resumes at it): the second refusal in a row of the event
		// after the same last event ID ends the session with the error.
		refusedTwice := false
		if end.err != nil && end.err.Class == transport.ClassEventTooLarge {
			id := s.p.LastEventID()
			refusedTwice = s.refused && id == s.refusedID
			s.refused, s.refusedID = true, id
		} else {
			s.refused = false
		}
		if refusedTwice {
			again = false
		}
		reason := ""
		if end.err != nil {
			reason = string(end.err.Class)
		}
		if !again {
			if end.err == nil && !giveUp {
				if end.connected {
					s.closed(true, false, reason)
				}
				return true, nil // the server ended the stream and the policy does not reconnect
			}
			e := end.err
			if e == nil {
				e = &transport.Error{Class: transport.ClassEOF, Err: errors.New("the server ended the stream without sending an event")}
			}
			switch {
			case refusedTwice:
				e = &transport.Error{Class: e.Class, Code: e.Code, Err: fmt.Errorf("the same event was refused twice in a row: %w", e.Err)}
			case giveUp:
				e = &transport.Error{Class: e.Class, Code: e.Code, Err: fmt.Errorf("gave up after %d reconnects in a row with no event: %w", rc.MaxAttempts, e.Err)}
			}
			e.Fatal, e.At = true, time.Now()
			s.obs.Error(e)
			if end.connected {
				s.closed(end.err == nil, false, reason)
			}
			return true, e
		}
		if end.err != nil {
			s.obs.Error(end.err)
		}
		if end.connected {
			s.closed(end.err == nil, true, reason)
		}
		if err := s.wait(ctx, s.delay(quiet, end.retryAfter)); err != nil {
			return true, nil // only ctx ends a wait early
		}
		if rc.Gate != nil {
			if err := rc.Gate(ctx); err != nil {
				if ctx.Err() != nil {
					return true, nil
				}
				e := &transport.Error{Class: transport.Classify(err), Err: fmt.Errorf("reconnect gate: %w", err), At: time.Now(), Fatal: true}
				s.obs.Error(e)
				return true, e
			}
		}
	}
	return false, nil
}

// delay is the wait before the reconnect that follows quiet connections in a
// row without an event.
func (s *session) delay(quiet int, retryAfter time.Duration) time.Duration {
	rc := s.c.Reconnect
	if retryAfter > 0 {
		// Honour Retry-After, and spread sessions over up to half as much
		// again (within Cap) so they do not all come back at once.
		hi := min(retryAfter+retryAfter/2, capOf(rc))
		if hi <= retryAfter {
			return retryAfter
		}
		return retryAfter + time.Duration(rand.Int64N(int64(hi-retryAfter)))
	}
	var retry time.Duration
	if r, ok := s.p.Retry(); ok {
		retry = max(r, 1) // retry: 0 is a request, clamped up to Floor; 0 would mean none
	}
	return rc.Delay(quiet, retry, nil)
}

func capOf(rc transport.Reconnect) time.Duration {
	if rc.Cap > 0 {
		return rc.Cap
	}
	return transport.DefaultRetryCap
}

func floorOf(rc transport.Reconnect) time.Duration {
	if rc.Floor > 0 {
		return rc.Floor
	}
	return transport.DefaultRetryFloor
}

func (s *session) closed(clean, again bool, reason string) {
	s.close = transport.Close{At: time.Now(), Clean: clean, Reconnect: again, Reason: reason}
	s.obs.Closed(&s.close)
}

func (s *session) warn(class transport.Class, err error) {
	s.obs.Error(&transport.Error{Class: class, Err: err, At: time.Now()})
}

// connect makes one connection attempt and reads it to its end.
//
// The attempt is opened (dial, request, response headers, their checks) on
// a goroutine of its own that ends with it: that path is deep (net's dial,
// net/http's header parsing, mime, fmt), and the stack it would grow on
// this goroutine (to 8 KiB) would stay with it for the life of the session,
// since the runtime shrinks a stack only while a quarter of it is enough.
// Reading then fits the 4 KiB this goroutine starts with.
func (s *session) connect(ctx context.Context, attempt int) ending {
	o := s.openAside(ctx, attempt)
	if o.end != nil {
		return *o.end
	}
	return s.readOpened(ctx, o)
}

// openAside opens one connection attempt on a goroutine of its own.
func (s *session) openAside(ctx context.Context, attempt int) (o opening) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		o = s.open(ctx, attempt)
	}()
	<-done
	return o
}

// readOpened reads an opened connection to its end.
func (s *session) readOpened(ctx context.Context, o opening) ending {
	end := s.read(ctx, o.body)
	end.connected = true
	if o.whole != nil && end.err == nil && s.c.Reconnect.Policy != transport.PolicyAlways {
		end = notStreaming(o.whole)
	}
	return end
}

// opening is how one connection attempt opened: its body to read, or how
// it ended.
type opening struct {
	body  io.ReadCloser
	whole error // the body has a fixed length: it is not a stream
	end   *ending
}

// notStreaming ends a connection whose body had a fixed length.
func notStreaming(whole error) ending {
	return ending{connected: true, err: &transport.Error{Class: transport.ClassNotStreaming, Err: whole, At: time.Now()}, on: onNone}
}

// open opens one connection attempt: the request sent and its response
// accepted (Connected reported), or how it ended.
func (s *session) open(ctx context.Context, attempt int) opening {
	{
		end := func(e ending) opening { return opening{end: &e} }
		var resp *http.Response
		if s.first != nil {
			resp, s.conn = s.first.Resp, s.first.Connect
			s.first = nil
		} else {
			r := s.send(ctx)
			if r.end != nil {
				return opening{end: r.end}
			}
			resp = r.resp
		}
		s.conn.Attempt = attempt
		if resp.StatusCode != http.StatusOK {
			return end(s.rejectStatus(resp))
		}
		ct := resp.Header.Get("Content-Type")
		// Parameters (charset included: the stream is UTF-8 whatever it says)
		// and a trailing ";" are fine; only the essence counts.
		if mt, _, _ := mime.ParseMediaType(ct); mt != MediaType {
			what := "no Content-Type"
			if ct != "" {
				what = "Content-Type " + strconv.Quote(ct)
			}
			msg := fmt.Sprintf("%s answered with %s, not %s", urlOf(resp), what, MediaType)
			return end(ending{err: &transport.Error{Class: transport.ClassBadContentType, Err: errors.New(msg + excerpt(resp)), At: time.Now()}})
		}
		s.obs.Connected(&s.conn)
		if resp.Request != nil && resp.Request.URL.Scheme == "http" && strings.HasPrefix(s.c.Request.URL, "https:") {
			s.warn(transport.ClassDowngrade, fmt.Errorf("redirected from https to plain-text %s", resp.Request.URL))
		}
		// A compressed stream is read decoded, with a warning once a session:
		// a compressor can hold events back until it flushes (rtbench check
		// judges whether this one does, from the events' timing).
		if transport.Gunzip(resp) && !s.gzWarned {
			s.gzWarned = true
			s.warn(transport.ClassCompressed, fmt.Errorf("%s sends its event stream compressed (Content-Encoding: %s): a compressor can hold events back until it flushes; rtbench check judges whether this one does", urlOf(resp), encodingOf(resp)))
		}
		// A body of fixed length is not a stream: the server sends it whole.
		// Only --reconnect always fetches it again (once warned): spec and
		// never end the session after it, named once, rather than re-fetch it
		// on every retry.
		var whole error
		if resp.ContentLength >= 0 {
			whole = transport.WholeBody(urlOf(resp), resp.ContentLength)
			if s.c.Reconnect.Policy == transport.PolicyAlways && !s.warned {
				s.warned = true
				s.warn(transport.ClassNotStreaming, whole)
			}
		}
		// Connected has seen the headers; the session keeps no reference to
		// them while it reads.
		s.conn.Header = nil
		return opening{body: resp.Body, whole: whole}
	}
}

// sendResult is the answer to one connection's request: its response, or
// how the attempt ended.
type sendResult struct {
	resp *http.Response
	end  *ending
}

// send builds and sends the request of one connection and reads the
// response headers, over the lean path while it applies, else through HTTP.
func (s *session) send(ctx context.Context) sendResult {
	req, err := s.request(ctx)
	if err != nil {
		return sendResult{end: &ending{err: &transport.Error{Class: transport.ClassOther, Err: fmt.Errorf("building the request: %w", err), At: time.Now()}}}
	}
	if s.lean && !leanApplies(req) {
		s.lean = false
	}
	var resp *http.Response
	if s.lean {
		resp, err = leanDo(ctx, s.c.Lean, req, &s.conn)
		if errors.Is(err, errFallback) {
			s.lean = false // net/http follows the redirect, now and on reconnects
			if req, err = s.request(ctx); err != nil {
				return sendResult{end: &ending{err: &transport.Error{Class: transport.ClassOther, Err: fmt.Errorf("building the request: %w", err), At: time.Now()}}}
			}
		}
	}
	if !s.lean {
		resp, err = transport.Do(s.http, req, &s.conn)
	}
	if err != nil {
		end := requestFailed(err)
		return sendResult{end: &end}
	}
	return sendResult{resp: resp}
}

// request builds the request of one connection: Request with the event
// stream's headers and the last event ID.
func (s *session) request(ctx context.Context) (*http.Request, error) {
	req, err := s.c.Request.HTTPRequest(ctx)
	if err != nil {
		return nil, err
	}
	h := req.Header
	setDefault(h, "Accept", MediaType)
	setDefault(h, "Cache-Control", "no-cache")
	setDefault(h, "Pragma", "no-cache")
	if id := s.p.LastEventID(); id != "" {
		h.Set("Last-Event-ID", id)
	} else {
		h.Del("Last-Event-ID")
	}
	return req, nil
}

func setDefault(h http.Header, key, value string) {
	if _, ok := h[key]; !ok {
		h.Set(key, value)
	}
}

// encodingOf is the response's Content-Encoding ("gzip" when a transport
// decoded it and dropped the header).
func encodingOf(resp *http.Response) string {
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		return ce
	}
	return "gzip"
}

func urlOf(resp *http.Response) string {
	if resp.Request != nil && resp.Request.URL != nil {
		return resp.Request.URL.String()
	}
	return "the server"
}

// requestFailed classifies an error that came before any response.
func requestFailed(err error) ending {
	class := transport.Classify(err)
	on := onSpec
	switch class {
	case transport.ClassTooManyRedirects, transport.ClassTLSAuthority, transport.ClassTLSExpired,
		transport.ClassTLSHostname, transport.ClassTLSRecord:
		on = onNone // the same again next time
	}
	return ending{err: &transport.Error{Class: class, Err: err, At: time.Now()}, on: on}
}

// rejectStatus fails a connection whose status is not 200.
func (s *session) rejectStatus(resp *http.Response) ending {
	code := resp.StatusCode
	var msg string
	if code == http.StatusNoContent {
		msg = "server asked to stop (204)"
	} else {
		msg = fmt.Sprintf("%s answered %d %s instead of an event stream", urlOf(resp), code, http.StatusText(code))
	}
	end := ending{on: onNone}
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		end.on = onAlways
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			rc := s.c.Reconnect
			end.retryAfter = min(max(ra, floorOf(rc)), capOf(rc))
			msg += "; Retry-After " + ra.Round(time.Second).String()
		}
	}
	end.err = &transport.Error{Class: transport.HTTPStatusClass(code), Code: code, Err: errors.New(msg + excerpt(resp)), At: time.Now()}
	return end
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 63); err == nil {
		if n > uint64(time.Duration(1<<63-1)/time.Second) {
			return 1<<63 - 1, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// excerpt reads the start of a rejected response's body, when it is text or
// JSON, as ": <text>" for an error message, and closes the body.
func excerpt(resp *http.Response) string {
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == MediaType || !(strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return ""
	}
	stop := time.AfterFunc(DefaultErrorBodyWait, func() { resp.Body.Close() })
	defer stop.Stop()
	buf := make([]byte, DefaultErrorBody+1)
	n, _ := io.ReadFull(resp.Body, buf)
	b := buf[:n]
	more := n > DefaultErrorBody
	if more {
		b = b[:DefaultErrorBody]
		// Drop a character cut in two by the limit.
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size > 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if text == "" {
		return ""
	}
	if more {
		text += "…"
	}
	return ": " + text
}

// read parses one accepted stream until it ends. It is the frame a held
// session waits in, under Parser.Next: what it does besides is kept in
// functions of their own, so that its frame stays small.
func (s *session) read(ctx context.Context, body io.ReadCloser) (end ending) {
	defer s.watch(ctx, body)()
	end.on = onSpec
	for {
		ev, err := s.p.next()
		if err != nil {
			end.err = s.readFailed(err)
			return end
		}
		if ctx.Err() != nil {
			return end // no event after cancel, even one already buffered
		}
		if ev.Comment {
			s.comment(ev)
			continue
		}
		end.events = true
		s.event(ev)
	}
}

// watch resets the parser to read body, and makes ctx's end (a First
// response may not carry ctx) and the idle timeout close body, which is
// what unblocks a read. The function it returns stops both and closes body.
func (s *session) watch(ctx context.Context, body io.ReadCloser) func() {
	s.p.Reset(body)
	stopCancel := context.AfterFunc(ctx, func() { body.Close() })
	if s.c.IdleTimeout > 0 {
		s.idle = startIdle(s.c.IdleTimeout, body)
	}
	return func() {
		if s.idle != nil {
			s.idle.stop()
			s.idle = nil
		}
		stopCancel()
		body.Close()
	}
}

// event reports an event.
//
//go:noinline
func (s *session) event(ev *Event) {
	if n := s.p.InvalidUTF8(); n != s.invalid {
		s.warn(transport.ClassInvalidUTF8, invalidUTF8(s.p.LastEventID(), n-s.invalid))
		s.invalid = n
	}
	e := &s.ev
	e.Type, e.ID, e.Data, e.Size = ev.Type, ev.ID, ev.Data, ev.Size
	e.FirstByte, e.At = ev.FirstByte, ev.Dispatched
	e.Stamp, _ = s.c.Stamp.Parse(ev.Data)
	s.obs.Event(e)
}

// comment reports a comment line.
//
//go:noinline
func (s *session) comment(ev *Event) {
	e := &s.ev
	*e = transport.Event{Kind: transport.KindComment, Type: "comment", Data: ev.Data, Size: ev.Size, FirstByte: ev.FirstByte, At: ev.Dispatched}
	s.obs.Event(e)
	e.Kind = transport.KindMessage
}

func invalidUTF8(id string, n int) error {
	at := ""
	if id != "" {
		at = " (last event ID " + strconv.Quote(id) + ")"
	}
	return fmt.Errorf("an event%s had %d ill-formed UTF-8 sequence(s), replaced with U+FFFD", at, n)
}

// readFailed classifies the end of a stream; nil is a clean end.
func (s *session) readFailed(err error) *transport.Error {
	var limit *LimitError
	e := &transport.Error{Err: err, At: time.Now()}
	switch {
	case s.idle != nil && s.idle.fired.Load():
		e.Class, e.Err = transport.ClassIdleTimeout, fmt.Errorf("nothing read for %v, not even a comment (idle timeout)", s.c.IdleTimeout)
	case errors.Is(err, io.EOF):
		if !s.p.Truncated() {
			return nil
		}
		e.Class, e.Err = transport.ClassTruncatedEvent, errors.New("the stream ended in the middle of an event; the partial event was discarded")
	case errors.As(err, &limit):
		e.Class = transport.ClassEventTooLarge
	default:
		e.Class = transport.Classify(err)
	}
	return e
}

// idleWatch closes a connection's body when no line arrives for a while.
// Lines only set a flag (no timer update per line); a timer wakes up
// IdleChecks times per timeout and fires after that many quiet wake-ups.
type idleWatch struct {
	period               time.Duration
	seen, fired, stopped atomic.Bool
	quiet                atomic.Int32 // wake-ups in a row with no line
	timer                *time.Timer
	body                 io.Closer
}

func startIdle(timeout time.Duration, body io.Closer) *idleWatch {
	w := &idleWatch{period: max(timeout/IdleChecks, 1), body: body}
	w.timer = time.AfterFunc(time.Hour, w.tick)
	w.timer.Reset(w.period)
	return w
}

// saw records a line. It only writes when the flag is clear, so a fast stream
// does not write a shared cache line on every line.
func (w *idleWatch) saw() {
	if w != nil && !w.seen.Load() {
		w.seen.Store(true)
	}
}

func (w *idleWatch) tick() {
	if w.stopped.Load() {
		return
	}
	if w.seen.Swap(false) {
		w.quiet.Store(0)
	} else if w.quiet.Add(1) >= IdleChecks {
		w.fired.Store(true)
		w.body.Close()
		return
	}
	w.timer.Reset(w.period)
}

func (w *idleWatch) stop() {
	w.stopped.Store(true)
	w.timer.Stop()
}
