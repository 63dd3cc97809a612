package check

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// errDecided ends a session whose assertions are all decided.
var errDecided = errors.New("every assertion is decided")

// head is the first final HTTP response of a session (not a redirect): the
// handshake the status, content-type and header detectors judge.
type head struct {
	status        int
	header        http.Header
	contentLength int64 // -1 when unknown (chunked)
	chunked       bool
	proto         string
	askedGzip     bool // rtbench added Accept-Encoding: gzip
}

// probe watches one session: it is the session's transport.Observer (next to
// the engine's recorder) and sees its HTTP responses through roundTripper.
// It decides the assertions as the observations come and cancels the
// session once all are decided. Observer calls come from the session, one at
// a time; the decision timers and the HTTP hook from other goroutines: mu
// guards everything.
type probe struct {
	mu     sync.Mutex
	p      *plan
	origin time.Time // the session's (or its detection request's) start
	cancel context.CancelCauseFunc
	timers []*time.Timer
	ran    bool // the session was started
	// stall is rtbench's own longest stall in the run (its self-check): a
	// burst whose events were sent within it may be rtbench's delay, not
	// the server's or a proxy's.
	stall time.Duration

	head *head

	events    int
	firstAt   time.Time
	nthAt     time.Time // arrival of the p.events-th event
	inWithin  int       // events that arrived within p.within
	lastData  []byte    // the newest event's data, cut to lastDataMax
	firstData []byte    // the first event's data, cut to lastDataMax (expectFirst)
	firstOK   bool      // the first event matched expectFirst
	expectAt  []time.Time
	expectSeq []int
	burst     burstTracker
	clump     clumpTracker
	texts     int // events and messages carrying text (UTF-8 judged)

	firstToken time.Time
	exchange   *transport.Exchange // the AI request, once over

	echoRTT time.Duration
	echoed  bool

	invalidUTF8 int
	utf8Class   transport.Class
	notStream   string
	fatal       *transport.Error
	closed      *transport.Close // the last connection's end
	end         time.Time        // the session returned
	stopped     bool             // … because it was decided, timed out or interrupted
	decidedAt   time.Time
}

const lastDataMax = 160

func newProbe(p *plan) *probe {
	return &probe{p: p, expectAt: make([]time.Time, len(p.expect)), expectSeq: make([]int, len(p.expect))}
}

// start arms the decision timers; origin is when the session (or its
// detection request) started.
func (pr *probe) start(origin time.Time, cancel context.CancelCauseFunc) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.origin, pr.cancel, pr.ran = origin, cancel, true
	for _, d := range []time.Duration{pr.p.within, pr.p.firstEvent, pr.p.ttft} {
		if d > 0 {
			pr.timers = append(pr.timers, time.AfterFunc(time.Until(origin.Add(d)), pr.tick))
		}
	}
	pr.decide(time.Now())
}

func (pr *probe) tick() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.decide(time.Now())
}

// finish records how the session ended; stopped says its context had ended
// (decided, timed out, interrupted) rather than the stream.
func (pr *probe) finish(err error, stopped bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for _, t := range pr.timers {
		t.Stop()
	}
	pr.end, pr.stopped = time.Now(), stopped
	if err != nil && pr.fatal == nil && !stopped {
		if e := transport.AsError(err); e.Class != transport.ClassCanceled {
			c := *e
			pr.fatal = &c
		}
	}
}

// decide cancels the session once every assertion is decided at now. mu is
// held.
func (pr *probe) decide(now time.Time) {
	if pr.cancel == nil || !pr.decidedAt.IsZero() || !pr.allDecided(now) {
		return
	}
	pr.decidedAt = now
	pr.cancel(errDecided)
}

// allDecided reports whether no assertion needs more observations.
func (pr *probe) allDecided(now time.Time) bool {
	p := pr.p
	connected := pr.head != nil || pr.fatal != nil
	if !connected {
		return false
	}
	if pr.head != nil && !pr.statusOK() {
		return true // nothing else can be judged
	}
	past := func(d time.Duration) bool { return d > 0 && !now.Before(pr.origin.Add(d)) }
	if p.firstEvent > 0 && pr.firstAt.IsZero() && past(p.firstEvent) {
		return true // failed: nothing came in the first event's window
	}
	if p.expectFirst != nil && pr.firstAt.IsZero() {
		return false
	}
	if p.events > 0 && pr.events < p.events && !past(p.within) {
		return false
	}
	if p.firstEvent > 0 && pr.firstAt.IsZero() && !past(p.firstEvent) {
		return false
	}
	for _, at := range pr.expectAt {
		if at.IsZero() {
			return false
		}
	}
	if p.ttft > 0 && pr.firstToken.IsZero() && pr.exchange == nil && !past(p.ttft) {
		return false
	}
	if p.complete && pr.exchange == nil {
		return false
	}
	if p.echo && !pr.echoed {
		return false
	}
	// A compressed stream without server timestamps is watched for a clump
	// a while longer (CompressedEvents, CompressedWait).
	if pr.compressed() && pr.burst.judged < BurstMin && pr.clump.worst.Events == 0 && pr.events < CompressedEvents &&
		(pr.firstAt.IsZero() || now.Sub(pr.firstAt) < CompressedWait) && !past(p.within) && !past(p.timeout) {
		return false
	}
	return true
}

// compressed reports whether the event stream came compressed. mu is held.
func (pr *probe) compressed() bool {
	if pr.head == nil || (pr.p.mode != ModeSSE && pr.p.mode != ModeAI) {
		return false
	}
	ce := strings.TrimSpace(pr.head.header.Get("Content-Encoding"))
	return ce != "" && !strings.EqualFold(ce, "identity")
}

// statusOK reports whether the handshake has the wanted status. mu is held.
func (pr *probe) statusOK() bool {
	if pr.p.upgrade() {
		return pr.head.status == http.StatusSwitchingProtocols
	}
	return pr.p.status.Has(pr.head.status)
}

// sawResponse records the session's first final HTTP response.
func (pr *probe) sawResponse(resp *http.Response, askedGzip bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.head != nil {
		return
	}
	if resp.StatusCode/100 == 3 && resp.Header.Get("Location") != "" {
		return // followed
	}
	pr.head = &head{
		status:        resp.StatusCode,
		header:        resp.Header.Clone(),
		contentLength: resp.ContentLength,
		chunked:       len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked",
		proto:         resp.Proto,
		askedGzip:     askedGzip,
	}
	pr.decide(time.Now())
}

// The Observer methods.

func (pr *probe) Connected(*transport.Connect) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.burst.newConnection()
	pr.clump.newConnection()
	pr.decide(time.Now())
}

func (pr *probe) Event(e *transport.Event) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	p := pr.p
	switch e.Kind {
	case transport.KindPong:
		return
	case transport.KindEcho:
		if !pr.echoed {
			pr.echoed, pr.echoRTT = true, e.RTT
		}
		pr.decide(e.At)
		return
	}
	if e.Kind == transport.KindToken && pr.firstToken.IsZero() && len(e.Data) > 0 {
		pr.firstToken = e.At
	}
	pr.events++
	if pr.events == 1 {
		pr.firstAt = e.At
		if p.expectFirst != nil {
			pr.firstData = append([]byte(nil), e.Data[:min(len(e.Data), lastDataMax)]...)
			pr.firstOK = p.expectFirst.Match(e.Data)
		}
	}
	if p.events > 0 && pr.events == p.events {
		pr.nthAt = e.At
	}
	if p.within > 0 && !e.At.After(pr.origin.Add(p.within)) {
		pr.inWithin++
	}
	if e.Type != "binary" {
		pr.texts++
	}
	pr.lastData = append(pr.lastData[:0], e.Data[:min(len(e.Data), lastDataMax)]...)
	for i, x := range p.expect {
		if pr.expectAt[i].IsZero() && x.Match(e.Data) {
			pr.expectAt[i], pr.expectSeq[i] = e.At, pr.events
		}
	}
	pr.burst.add(e.At, e.Stamp)
	pr.clump.add(e.At)
	if pr.events == 1 && pr.compressed() {
		pr.timers = append(pr.timers, time.AfterFunc(CompressedWait, pr.tick))
	}
	pr.decide(e.At)
}

func (pr *probe) Exchange(x *transport.Exchange) {
	if pr.p.mode != ModeAI {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	c := *x
	c.Text = nil
	pr.exchange = &c
	pr.decide(time.Now())
}

func (pr *probe) Error(e *transport.Error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	switch e.Class {
	case transport.ClassInvalidUTF8, transport.ClassInvalidUTF8Text:
		pr.invalidUTF8++
		pr.utf8Class = e.Class
	case transport.ClassNotStreaming:
		pr.notStream = e.Error()
	case transport.ClassCanceled:
		return
	}
	if e.Fatal && pr.fatal == nil {
		c := *e
		pr.fatal = &c
	}
	pr.decide(time.Now())
}

func (pr *probe) Closed(c *transport.Close) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	cc := *c
	pr.closed = &cc
}

// roundTripper is a session's HTTP transport: it asks for gzip as a browser
// does (so that a proxy that compresses event streams shows it), decodes it
// when it comes, and shows the probe every response before the client
// judges it.
type roundTripper struct {
	base http.RoundTripper
	pr   *probe
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ask := req.Header.Get("Accept-Encoding") == "" && req.Header.Get("Upgrade") == ""
	if ask {
		req = req.Clone(req.Context())
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rt.pr.sawResponse(resp, ask)
	if ask && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		resp.Body = transport.GunzipBody(resp.Body)
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	return resp, nil
}
