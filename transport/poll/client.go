package poll

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
)

// Defaults of Client. Both shape load, so reports print them.
const (
	// DefaultInterval is the time between the starts of two polls.
	DefaultInterval = 2 * time.Second
	// DefaultMaxBody bounds one response body: a full messages page (about
	// 4 MiB) fits.
	DefaultMaxBody = 8 << 20
)

// errBodyTooLarge is the failure of a body past MaxBody.
var errBodyTooLarge = errors.New("response body larger than the limit")

// Client is one polling session: it sends Request again and again over one
// keep-alive connection and reports each response as an Exchange, and each
// new state as an Event.
//
// Schedule. Plain polling is an open model: request k is intended at
// start + k·Interval, and Exchange.Intended is that time. A response slower
// than the interval delays the next request, which then starts at once: the
// lateness shows as Start − Intended and the schedule does not drift (the
// requests the slow one held back are sent back to back until it has caught
// up, as wrk2 does). With LongPoll the server paces the session: each request
// starts as soon as the previous one returned, and Intended is that moment
// (see LongPoll for a server that does not hold requests).
//
// Per exchange the observer sees, in order: Connected (a new connection
// only), the Events of the response, a missed-messages Error (pages only),
// then the Exchange; a failure adds an Error and a Closed.
//
// Changes. A 2xx response is a new state (Exchange.Changed, and an Event of
// Type "change" whose Data is the body) when its ETag differs from the last
// one seen, or, when it has no ETag, when its body differs from the previous
// body. A 304 is no change. By default each request is conditional:
// If-None-Match carries the last ETag and If-Modified-Since the last
// Last-Modified.
//
// rtbench's channel messages page ({"channel","last","missed","more",
// "messages":[...]}, GET /api/channels/{c}/messages) is recognised: each
// message envelope is an Event of Type "message", the next request asks
// since=last (no message is seen twice or skipped), "more":true asks again at
// once, and "missed" > 0 (messages that left the server's ring before this
// poll) is reported as a non-fatal Error of class other.
//
// Ends and failures. A 204 No Content is the server's "no more data": the
// session ends cleanly (Closed{Clean: true}, Run returns nil) under every
// policy. A network error, 408, 429 or 5xx is a failure: reported as a
// non-fatal Error and a Closed{Reconnect: true}, then polling resumes after
// Reconnect.Delay (Retry-After honoured, clamped to [Floor, Cap]) on the next
// slot of the schedule (with LongPoll: at once after the delay), calling
// Reconnect.Gate first. The session ends (the failure is fatal) after
// Reconnect.MaxAttempts failed retries in a row, that is at failure
// MaxAttempts+1. Any other status (4xx, unfollowed 3xx, 1xx) is fatal; under
// PolicyNever every failure is; PolicyAlways behaves as PolicySpec, which for
// polling already retries 429 and 5xx. Every HTTP response, a failing one
// included, is reported as an Exchange; a failure also as an Error
// (http_4xx, http_5xx, http_status with Code, or the network error's class;
// unexpected_eof for a connection closed before or inside the response,
// ttfb_timeout for headers that did not come, event_too_large past MaxBody). Connected is reported once per new TCP
// connection, not per request; when the transport had to dial again without
// a failure (the server closed the idle connection), a clean Closed for the
// old connection precedes the new Connected.
//
// Configure a Client before Run and do not change it while Run runs. Several
// Runs may share one Client, except that First is only meant for one.
type Client struct {
	// Request is what each poll sends.
	Request transport.Request
	// HTTP sends the polls. Nil: a client of each Run's own, built by
	// transport.NewHTTPClient from HTTPOptions with one connection at most
	// (MaxConnsPerHost 1) and a time-to-headers timeout of HTTPOptions'
	// (default transport.DefaultTTFBTimeout) plus LongPoll; its connection
	// is closed when Run returns. That is how a session keeps its own
	// keep-alive connection for the whole run, as a browser tab or wrk's
	// connection does. A client given here is shared: its pool decides which
	// connection each request gets (size it to the sessions, see
	// transport.HTTPOptions.IdleConnsPerHost), and it must allow LongPoll
	// before the response headers.
	HTTP *http.Client
	// HTTPOptions configure the session's own client when HTTP is nil.
	HTTPOptions transport.HTTPOptions
	// Lean, with HTTP nil, sends the polls of a plain http:// URL over the
	// session's own connection without net/http (see Lean for what stays
	// on net/http); nil: net/http always. `rtbench load` sets it.
	Lean *Lean
	// Interval is the time between the starts of two polls; default
	// DefaultInterval (2s). Ignored with LongPoll and ClosedLoop.
	Interval time.Duration
	// Stamp says where each payload's clock is (--stamp): nil reads
	// sched_ns, else the first of transport.ClockFields.
	Stamp *transport.StampSpec
	// ClosedLoop polls as fast as the server answers: each request starts
	// as soon as the previous response was read, and its latency counts
	// from its actual send (Exchange.Intended is Exchange.Start), which is
	// the server's response time. Without it the session follows its
	// Interval schedule (open loop per session, see Schedule above).
	ClosedLoop bool
	// NoConditional turns off If-None-Match and If-Modified-Since. Change
	// detection (ETag, else body) works either way.
	NoConditional bool
	// LongPoll, when set, long-polls: the first request is a plain poll for
	// the current state; each next one adds wait=<LongPoll> to the query
	// and, once a body had a top-level "seq" (transport.ParseStamp) or was a
	// messages page, since=<that seq or page's last>, and starts as soon as
	// the previous one returned. A long poll answered with no change in less
	// than half of LongPoll shows a server that does not hold requests (it
	// ignores wait=): the next request then waits Interval instead, so such a
	// server is polled, not hammered. This is how
	// rtbench's /poll and /api/channels/{c}/messages long-poll (the server
	// allows at most 60s). 0: off.
	LongPoll time.Duration
	// Reconnect says what failures do; the zero value retries network
	// errors, 408, 429 and 5xx with backoff, without limit.
	Reconnect transport.Reconnect
	// MaxBody bounds one response body; default DefaultMaxBody (8 MiB). A
	// larger body is a failure of class event_too_large.
	MaxBody int
	// First, when set, is the response to use for the first exchange instead
	// of sending Request (mode detection already sent it).
	First *transport.Opened
	// MaxRequests ends the session cleanly after this many exchanges that
	// got an answer; 0 means no limit. One request per session is how the
	// open model polls, and how listen shows the answer to a POST once.
	MaxRequests int

	// prepared, when set (Prepare), is the request every Run sends, built
	// once; nil: each Run prepares its own.
	prepared *target
}

// Prepare builds once what every Run of c sends (the URL parsed, the lean
// path's request bytes) and keeps the sessions of ended Runs for the next
// ones, so that a Client Run once per request, as the open model runs one,
// does not build them per request. Call it after configuring c and before
// its first Run; c must not change after it.
func (c *Client) Prepare() {
	c.prepared = c.prepare()
}

// target is a Client's request as every Run sends it, built once and shared
// read-only by the Runs, and the idle sessions of ended Runs.
type target struct {
	err      error  // the URL cannot be polled
	base     string // the URL without the parameters the session sets
	baseKeep string // the URL without wait= only (no since= known yet)
	waitArg  string // "wait=5s"; empty without LongPoll
	interval time.Duration
	maxBody  int
	lean     *leanTarget // nil: net/http sends the polls
	// idle holds the sessions of ended Runs (with their buffers) for the
	// next Runs: at most as many as ran at once, and the GC empties it.
	idle sync.Pool
}

func (c *Client) prepare() *target {
	t := &target{interval: c.Interval, maxBody: c.MaxBody}
	if t.interval <= 0 {
		t.interval = DefaultInterval
	}
	if t.maxBody <= 0 {
		t.maxBody = DefaultMaxBody
	}
	if c.LongPoll > 0 {
		t.waitArg = "wait=" + c.LongPoll.String()
	}
	u, err := url.Parse(c.Request.URL)
	if err != nil {
		t.err = fmt.Errorf("poll: bad URL: %w", err)
		return t
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		t.err = fmt.Errorf("poll: bad URL %q: want http:// or https:// and a host", c.Request.URL)
		return t
	}
	u.Fragment, u.RawFragment = "", ""
	raw := u.RawQuery
	if c.LongPoll > 0 {
		raw = dropParams(raw, "wait")
	}
	u.RawQuery = raw
	t.baseKeep = u.String()
	u.RawQuery = dropParams(raw, "since")
	t.base = u.String()
	t.lean = newLeanTarget(c, u, t.base, t.baseKeep)
	return t
}

// Run polls until ctx ends, the server answers 204, or a failure is fatal.
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	s, err := c.newSession(obs)
	if err != nil {
		e := &transport.Error{Class: transport.ClassOther, Err: err, At: time.Now(), Fatal: true}
		obs.Error(e)
		return e
	}
	defer s.finish()
	return s.run(ctx)
}

// session is the state of one Run. A prepared Client's ended sessions are
// reused: sessionState is zeroed for each Run, the buffers are kept.
type session struct {
	c *Client
	t *target

	urlBuf     []byte
	body, prev []byte // this and the previous body (change detection without ETag)
	leanState  leanPath

	sessionState
}

// sessionState is what one Run knows; nothing of it survives to the next.
type sessionState struct {
	obs transport.Observer
	hc  *http.Client
	own bool // hc is ours: close its idle connection at the end
	// lean is the lean path's state (&session.leanState); nil when net/http
	// sends the polls.
	lean *leanPath
	// stale: the Run's cancel may still reach leanState (its context ended
	// while it ran): the session is not reused.
	stale bool

	req      transport.Request // c.Request with the URL of each poll
	answered int               // exchanges answered, for MaxRequests

	etag, lastMod string // validators of the last state
	haveState     bool   // a 2xx arrived: long polls wait for the next state
	since         uint64
	hasSince      bool
	hasPrev       bool // prev holds the previous body

	conn     transport.Connect
	conns    int  // connections reported
	open     bool // a connection was reported and no Closed followed
	failures int  // consecutive

	x  transport.Exchange
	ev transport.Event
	er transport.Error
	cl transport.Close
}

func (c *Client) newSession(obs transport.Observer) (*session, error) {
	t := c.prepared
	if t == nil {
		t = c.prepare()
	}
	if t.err != nil {
		return nil, t.err
	}
	s, _ := t.idle.Get().(*session)
	if s == nil {
		s = &session{c: c, t: t}
	}
	s.sessionState = sessionState{obs: obs, hc: c.HTTP, req: c.Request}
	if t.lean != nil {
		s.leanState.reset(t.lean)
		s.lean = &s.leanState
	}
	if s.hc == nil && s.lean == nil {
		s.ownClient()
	}
	return s, nil
}

// ownClient builds the session's own net/http client (on the lean path,
// only when net/http takes over after a redirect).
func (s *session) ownClient() {
	o := s.c.HTTPOptions
	o.TTFBTimeout = cmp.Or(o.TTFBTimeout, transport.DefaultTTFBTimeout) + s.c.LongPoll
	o.MaxConnsPerHost, o.IdleConnsPerHost = 1, 1
	s.hc = transport.NewHTTPClient(o)
	s.own = true
}

// finish ends the Run: its connection goes back to the pool or is closed,
// and a prepared Client keeps the session for a next Run.
func (s *session) finish() {
	if s.own {
		s.hc.CloseIdleConnections()
	}
	if s.lean != nil {
		s.lean.release()
	}
	if s.c.prepared != nil && !s.stale && s.leanState.nc == nil {
		s.sessionState = sessionState{}
		s.c.prepared.idle.Put(s)
	}
}

// dropParams removes the parameters named keys from a raw query, keeping the
// others as written.
func dropParams(raw string, keys ...string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		drop := false
		for _, key := range keys {
			drop = drop || k == key
		}
		if drop || part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

// pollURL is the URL of the next poll.
func (s *session) pollURL() string {
	if !s.hasSince && !(s.haveState && s.t.waitArg != "") {
		return s.t.baseKeep
	}
	s.urlBuf = s.appendPollURL(s.urlBuf[:0], s.t.base, s.t.baseKeep)
	return string(s.urlBuf)
}

// appendPollURL appends the next poll's URL to b, given the session's base
// URLs (s.base and s.baseKeep, or their request targets): keep until a
// since= is known, then base with since=, and wait= once long polls wait.
func (s *session) appendPollURL(b []byte, base, keep string) []byte {
	if !s.hasSince {
		base = keep
	}
	wait := s.haveState && s.t.waitArg != ""
	b = append(b, base...)
	if !s.hasSince && !wait {
		return b
	}
	sep := byte('?')
	if strings.IndexByte(base, '?') >= 0 {
		sep = '&'
	}
	if s.hasSince {
		b = append(b, sep)
		b = append(b, "since="...)
		b = strconv.AppendUint(b, s.since, 10)
		sep = '&'
	}
	if wait {
		b = append(b, sep)
		b = append(b, s.t.waitArg...)
	}
	return b
}

// unwatch stops the Run's watch on its context; a cancel that ran (or
// runs) may still reach the lean state, so the session is not reused.
func (s *session) unwatch(stop func() bool) {
	s.stale = !stop()
}

// result is how one exchange went.
type result struct {
	kind  resultKind
	more  bool          // ok: ask again at once (a page cut short)
	retry time.Duration // failed: the server's Retry-After
}

type resultKind uint8

const (
	resOK       resultKind = iota // a 2xx or 304: the session goes on
	resEnd                        // 204: the server has no more data
	resCanceled                   // ctx ended
	resFailed                     // s.er holds the failure, Fatal decided
)

func (s *session) run(ctx context.Context) error {
	if s.lean != nil {
		// Once per session, not per request: a canceled context ends the
		// lean connection's read or write in progress.
		defer s.unwatch(context.AfterFunc(ctx, s.lean.cancelFn))
	}
	intended := time.Now()
	var first *http.Response
	if f := s.c.First; f != nil && f.Resp != nil {
		s.conn = f.Connect
		first = f.Resp
		if !s.conn.Start.IsZero() {
			intended = s.conn.Start
		}
	}
	for {
		var res result
		if first != nil {
			res = s.handle(ctx, intended, first)
			first = nil
		} else {
			if transport.Wait(ctx, time.Until(intended)) != nil {
				return s.canceled()
			}
			if s.failures > 0 && s.c.Reconnect.Gate != nil {
				if err := s.c.Reconnect.Gate(ctx); err != nil {
					if ctx.Err() != nil {
						return s.canceled()
					}
					return s.fatal(err)
				}
			}
			res = s.exchange(ctx, intended)
		}
		now := time.Now()
		switch res.kind {
		case resCanceled:
			return s.canceled()
		case resEnd:
			s.closed(now, true, false, "the server answered 204 No Content: no more data")
			return nil
		case resFailed:
			s.obs.Error(&s.er)
			s.closed(now, false, !s.er.Fatal, string(s.er.Class))
			if s.er.Fatal {
				e := s.er
				return &e
			}
			delay := s.c.Reconnect.Delay(s.failures, res.retry, nil)
			at := now.Add(delay)
			if s.c.LongPoll > 0 || s.c.ClosedLoop {
				intended = at
			} else { // the first slot of the schedule after the backoff
				k := (at.Sub(intended) + s.t.interval - 1) / s.t.interval
				intended = intended.Add(max(k, 1) * s.t.interval)
			}
		default:
			s.failures = 0
			s.answered++
			if s.c.MaxRequests > 0 && s.answered >= s.c.MaxRequests {
				s.closed(now, true, false, "request limit reached")
				return nil
			}
			switch {
			case s.c.LongPoll > 0 && !res.more && !s.x.Changed && now.Sub(s.x.Start) < s.c.LongPoll/2:
				// No change, and answered long before the wait: this server
				// does not hold requests. Poll it, do not hammer it.
				intended = now.Add(s.t.interval)
			case res.more || s.c.LongPoll > 0 || s.c.ClosedLoop:
				intended = now
			default:
				intended = intended.Add(s.t.interval)
			}
		}
	}
}

// exchange sends one poll and handles its response.
func (s *session) exchange(ctx context.Context, intended time.Time) result {
	if s.lean != nil {
		return s.leanExchange(ctx, intended)
	}
	if s.hc == nil {
		s.ownClient()
	}
	s.req.URL = s.pollURL()
	hreq, err := s.req.HTTPRequest(ctx)
	if err != nil {
		return s.failed(transport.ClassOther, 0, fmt.Errorf("poll: %w", err), false, 0)
	}
	if !s.c.NoConditional {
		if s.etag != "" {
			hreq.Header.Set("If-None-Match", s.etag)
		}
		if s.lastMod != "" {
			hreq.Header.Set("If-Modified-Since", s.lastMod)
		}
	}
	resp, err := transport.Do(s.hc, hreq, &s.conn)
	if err != nil {
		if ctx.Err() != nil {
			s.cutOff(intended)
			return result{kind: resCanceled}
		}
		return s.failed(classify(err), 0, err, true, 0)
	}
	return s.handle(ctx, intended, resp)
}

// handle reads and reports one response.
func (s *session) handle(ctx context.Context, intended time.Time, resp *http.Response) result {
	defer resp.Body.Close()
	// A new connection, or the session's first answer or its first since a
	// failure on a connection that stayed open (shared, or an HTTP/2
	// connection whose other streams go on).
	if !s.conn.Reused || !s.open {
		s.connected()
	}
	var err error
	s.body, err = readBody(resp.Body, s.body, s.t.maxBody)
	end := time.Now()
	if err != nil {
		if ctx.Err() != nil {
			s.cutOff(intended)
			return result{kind: resCanceled}
		}
		if errors.Is(err, errBodyTooLarge) {
			return s.failed(transport.ClassEventTooLarge, resp.StatusCode,
				fmt.Errorf("%s: %w (MaxBody %d bytes)", s.conn.URL, err, s.t.maxBody), true, 0)
		}
		return s.failed(classify(err), resp.StatusCode, fmt.Errorf("%s: reading the body: %w", s.conn.URL, err), true, 0)
	}
	h := resp.Header
	return s.report(intended, end, &answer{code: resp.StatusCode, status: resp.Status,
		etag: h.Get("ETag"), lastMod: h.Get("Last-Modified"), retry: h.Get("Retry-After")})
}

// answer is what a response said, for report: the lean path and net/http's
// each fill it their way.
type answer struct {
	code          int
	status        string // net/http's "503 Service Unavailable"; empty on the lean path
	reason        []byte // the lean path's reason phrase
	etag, lastMod string
	retry         string // Retry-After; only read for a failure
}

// report reports an exchange whose body is in s.body, and decides what
// the session does next.
func (s *session) report(intended, end time.Time, a *answer) result {
	x := &s.x
	*x = transport.Exchange{
		Intended: intended, Start: s.conn.Start, Headers: s.conn.Headers, End: end,
		Status: a.code, Bytes: int64(len(s.body)), Lean: s.lean != nil,
	}
	if x.Intended.After(x.Start) || s.c.ClosedLoop {
		// A First response sent before its Connect.Start was noted; in a
		// closed loop the request was meant to go when it went.
		x.Intended = x.Start
	}
	code := a.code
	switch {
	case code == http.StatusNoContent:
		s.obs.Exchange(x)
		return result{kind: resEnd}
	case code == http.StatusNotModified:
		s.haveState = true
		if a.etag != "" {
			s.etag = a.etag
		}
		s.obs.Exchange(x)
		return result{kind: resOK}
	case code >= 200 && code < 300:
		more := s.state(a.etag, a.lastMod, end)
		s.obs.Exchange(x)
		return result{kind: resOK, more: more}
	}
	s.obs.Exchange(x)
	status := a.status
	if status == "" {
		status = strconv.Itoa(code)
		if len(a.reason) > 0 {
			status += " " + string(a.reason)
		}
	}
	retryable := code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code < 600
	return s.failed(transport.HTTPStatusClass(code), code,
		fmt.Errorf("%s: HTTP %s%s", s.conn.URL, status, snippet(s.body)), retryable, retryAfter(a.retry, end))
}

// state takes in the body of a 2xx response whose validators are tag
// (ETag) and lastMod (Last-Modified): it reports the events and sets
// x.Changed. more says a messages page was cut short.
func (s *session) state(tag, lastMod string, end time.Time) (more bool) {
	x := &s.x
	s.haveState = true
	if lastMod != "" {
		s.lastMod = lastMod
	}
	if p, ok := parseMsgPage(s.body); ok {
		s.since, s.hasSince = p.last, true
		s.etag = tag
		for elem, i, ok := p.next(0); ok; elem, i, ok = p.next(i) {
			x.Changed = true
			s.event("message", elem, end)
		}
		if p.missed > 0 {
			s.er = transport.Error{Class: transport.ClassOther, Code: x.Status, At: end,
				Err: fmt.Errorf("%s: %d messages missed: they left the server's ring before this poll", s.conn.URL, p.missed)}
			s.obs.Error(&s.er)
		}
		return p.more
	}
	switch {
	case tag != "":
		x.Changed = tag != s.etag
	case s.hasPrev:
		x.Changed = !bytes.Equal(s.body, s.prev)
	default:
		x.Changed = true
	}
	s.etag = tag
	s.prev, s.body, s.hasPrev = s.body, s.prev, true
	if x.Changed {
		st := s.event("change", s.prev, end)
		if s.c.LongPoll > 0 && st.HasSeq {
			s.since, s.hasSince = st.Seq, true
		}
	} else if s.c.LongPoll > 0 && !s.hasSince {
		if st, _ := transport.ParseStamp(s.prev); st.HasSeq {
			s.since, s.hasSince = st.Seq, true
		}
	}
	return false
}

// event reports one message and returns its stamp.
func (s *session) event(typ string, data []byte, end time.Time) transport.Stamp {
	st, _ := s.c.Stamp.Parse(data)
	s.ev = transport.Event{
		Kind: transport.KindMessage, Type: typ, Data: data, Size: len(data),
		FirstByte: s.conn.Headers, At: end, Stamp: st,
	}
	s.obs.Event(&s.ev)
	return st
}

// connected reports a new connection. One that replaces an open connection
// after an answered exchange means the old one ended while idle between
// requests (the server closed the keep-alive connection, or a shared pool
// handed this request another one): it is closed as Idle, a reconnect but not
// an outage, since no request failed and the session did not wait.
func (s *session) connected() {
	if s.open {
		s.open = false
		s.cl = transport.Close{At: s.conn.Start, Clean: true, Reconnect: true, Idle: true,
			Reason: "the keep-alive connection ended while idle"}
		s.obs.Closed(&s.cl)
	}
	s.conn.Attempt = s.conns
	s.conns++
	s.open = true
	s.obs.Connected(&s.conn)
}

func (s *session) closed(at time.Time, clean, reconnect bool, reason string) {
	s.open = false
	s.cl = transport.Close{At: at, Clean: clean, Reconnect: reconnect, Reason: reason}
	s.obs.Closed(&s.cl)
}

// cutOff reports the request in flight that ctx ended: the run's end cut
// it off, so it is counted apart from the answered ones.
func (s *session) cutOff(intended time.Time) {
	if intended.After(s.conn.Start) {
		intended = s.conn.Start
	}
	s.obs.Exchange(&transport.Exchange{Intended: intended, Start: s.conn.Start, Headers: s.conn.Headers, End: time.Now(), CutOff: true})
}

// canceled ends the session at the caller's request.
func (s *session) canceled() error {
	if s.open {
		s.closed(time.Now(), false, false, "canceled")
	}
	return nil
}

// failed records a failure in s.er and decides whether it is fatal.
func (s *session) failed(class transport.Class, code int, err error, retryable bool, retry time.Duration) result {
	s.failures++
	rc := s.c.Reconnect
	fatal := !retryable || rc.Policy == transport.PolicyNever || rc.MaxAttempts > 0 && s.failures > rc.MaxAttempts
	s.er = transport.Error{Class: class, Code: code, Err: err, At: time.Now(), Fatal: fatal}
	return result{kind: resFailed, retry: retry}
}

// fatal ends the session on an error outside an exchange (the Gate's).
func (s *session) fatal(err error) error {
	e := transport.AsError(err)
	e.Fatal = true
	s.obs.Error(e)
	s.closed(time.Now(), false, false, string(e.Class))
	return e
}

// classify is transport.Classify, plus what only an HTTP exchange tells: an
// EOF before the response or inside the body is unexpected_eof, and a
// timeout waiting for the headers is ttfb_timeout.
func classify(err error) transport.Class {
	class := transport.Classify(err)
	switch {
	case class == transport.ClassOther && errors.Is(err, io.EOF):
		return transport.ClassEOF
	}
	return class
}

// readBody reads r into buf, failing past limit bytes.
func readBody(r io.Reader, buf []byte, limit int) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) > limit {
			return buf, errBodyTooLarge
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(512, len(buf)), limit+1-len(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if len(buf) > limit {
				return buf, errBodyTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// retryAfter reads a Retry-After header's value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// snippet is the start of an error body, for the message: ": <text>".
func snippet(body []byte) string {
	const most = 200
	b := bytes.TrimSpace(body)
	if len(b) == 0 || !utf8.Valid(b) {
		return ""
	}
	if len(b) > most {
		cut := most
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = append(b[:cut:cut], "…"...)
	}
	return ": " + string(b)
}
