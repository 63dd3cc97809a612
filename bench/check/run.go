package check

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
)

// Deps are what Run needs from its caller. The zero value works.
type Deps struct {
	// Version is rtbench's version, for the bench result thresholds read.
	Version string
	// Transport, when set, is the HTTP transport under every session
	// (tests); nil: transport.NewHTTPClient(Spec.HTTP)'s, closed after the
	// check.
	Transport http.RoundTripper
}

// errTimeout is the cause of a check's own deadline; it is a
// context.DeadlineExceeded, so that the clients classify it as a timeout.
var errTimeout = fmt.Errorf("the check's timeout: %w", context.DeadlineExceeded)

// Run runs one check: Concurrency sessions at once, each stopped as soon as
// every assertion is decided, all of them by the timeout. It returns an
// error only for a Spec that does not validate; a target that fails, or
// cannot be reached, is a Result. When ctx ends first (Ctrl-C), the Result
// says Interrupted and holds what was decided.
func Run(ctx context.Context, s Spec, deps Deps) (*Result, error) {
	p, err := compile(s)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Name: p.name, URL: transport.RedactURL(s.Request.URL), Sessions: p.sessions, Start: start}
	cctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errTimeout)
	defer cancel()

	client := transport.NewHTTPClient(p.headerWait())
	base := deps.Transport
	if base == nil {
		base = client.Transport
		defer client.CloseIdleConnections()
	}
	probes := make([]*probe, p.sessions)
	clients := make([]*http.Client, p.sessions)
	for i := range probes {
		probes[i] = newProbe(p)
		hc := *client
		hc.Transport = &roundTripper{base: base, pr: probes[i]}
		clients[i] = &hc
	}

	// The mode, detected with session 0's first request when not given.
	mode, opened, once := p.mode, (*transport.Opened)(nil), false
	res.Detected = mode == ""
	if mode == "" {
		mode, opened, once, err = detectMode(cctx, clients[0], p.spec.Request)
		if err != nil {
			p.setMode(ModeSSE)
			res.Mode = ModeSSE
			pr := probes[0]
			pr.origin, pr.ran = start, true
			pr.fatal = transport.AsError(err)
			return finish(ctx, res, p, probes[:1], nil, 0, start), nil
		}
	}
	p.setMode(mode)
	res.Mode = mode
	if res.Detected && opened != nil && (opened.Connect.Status < 200 || opened.Connect.Status > 299) {
		res.Mode = "" // an error answer does not tell the pattern
	}

	var handed atomic.Bool // opened went to session 0
	var left atomic.Int64
	left.Store(int64(p.sessions))
	allDone := make(chan struct{})
	engCtx, stopEngine := context.WithCancel(cctx)
	defer stopEngine()
	go func() {
		select {
		case <-allDone:
		case <-engCtx.Done():
		}
		stopEngine()
	}()
	e := &bench.Engine{
		Plan: bench.Plan{Connections: p.sessions, Duration: p.timeout, RestartDelay: -1},
		NewSession: func(i int) transport.Session {
			var first *transport.Opened
			origin := time.Time{}
			if i == 0 && opened != nil && handed.CompareAndSwap(false, true) {
				first, origin = opened, opened.Connect.Start
			}
			return &probeSession{
				inner:  newSession(p, i, clients[i], first, once),
				pr:     probes[i],
				origin: origin,
				done: func() {
					if left.Add(-1) == 0 {
						close(allDone)
					}
				},
			}
		},
	}
	pubDone := make(chan *bench.PublishStats, 1)
	if p.spec.PublishRate > 0 {
		o := p.spec.Session
		o.Request, o.HTTP = p.spec.Request, client
		pub, err := protocolOf(mode).Publish(o)
		if err != nil {
			return nil, &FieldError{Field: "publish_rate", Err: err}
		}
		go func() { pubDone <- bench.PublishLoop(engCtx, p.spec.PublishRate, pub) }()
	} else {
		pubDone <- nil
	}
	rec, err := e.Run(engCtx)
	stopEngine()
	published := <-pubDone
	if published != nil && rec != nil {
		rec.AddErrors(published.Errors)
	}
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", p.name, err)
	}
	if opened != nil && handed.CompareAndSwap(false, true) { // never handed to a session
		opened.Resp.Body.Close()
	}
	var br *bench.Result
	if len(p.thresholds) > 0 {
		params := bench.Params{Connections: p.sessions, DurationS: p.timeout.Seconds(),
			Defaults: map[string]string{"reconnect": p.spec.Reconnect.String()}}
		br, err = bench.NewResult(rec, bench.Meta{Version: deps.Version, URL: s.Request.URL, Pattern: mode, Params: params, Host: "check"})
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", p.name, err)
		}
	}
	res = finish(ctx, res, p, probes, br, rec.SelfCheck.Max(), start)
	if published != nil {
		res.Outcomes = append(res.Outcomes, publishOutcome(published, p.spec.PublishRate, time.Since(start)))
	}
	return res, nil
}

// publishOutcome judges the publisher of --publish-rate: every message it
// sent must have been accepted.
func publishOutcome(st *bench.PublishStats, rate float64, elapsed time.Duration) Outcome {
	o := Outcome{Kind: KindPublish, Name: KindPublish, Verdict: Pass, Elapsed: elapsed,
		Measured: fmt.Sprintf("%d published, %d refused", st.Published, st.Failed), Want: fmt.Sprintf("every message at %g/s accepted", rate)}
	if st.Failed > 0 || st.Published == 0 {
		o.Verdict = Fail
		o.Reason = "the service published nothing before the check ended: raise --publish-rate or --timeout"
		for _, c := range slices.Sorted(maps.Keys(st.Errors)) {
			o.Reason = string(c) + ": " + oneLine(st.Errors[c].Example)
			break
		}
	}
	return o
}

// headerWait is the HTTP options with the wait for response headers
// bounded by the check's tightest time bound (--within with --events,
// --first-event, --ttft): headers later than that cannot pass it, so the
// check is failed then and need not wait the full ttfb timeout.
func (p *plan) headerWait() transport.HTTPOptions {
	h := p.spec.HTTP
	for _, b := range []time.Duration{p.within, p.firstEvent, p.ttft} {
		if b > 0 && (h.TTFBTimeout <= 0 || b < h.TTFBTimeout) {
			h.TTFBTimeout = b
		}
	}
	return h
}

// finish judges the sessions into res. stall is rtbench's own longest
// stall in the run, from the engine's self-check (0: not known).
func finish(ctx context.Context, res *Result, p *plan, probes []*probe, br *bench.Result, stall time.Duration, start time.Time) *Result {
	for _, pr := range probes {
		pr.mu.Lock()
		pr.stall = stall
		pr.mu.Unlock()
	}
	now := time.Now()
	res.Duration = now.Sub(start)
	res.Interrupted = ctx.Err() != nil
	var ran []*probe
	for _, pr := range probes {
		pr.mu.Lock()
		if pr.ran {
			ran = append(ran, pr)
		}
		pr.mu.Unlock()
	}
	if len(ran) == 0 {
		ran = probes[:1]
	}
	for _, pr := range ran {
		pr.mu.Lock()
		if pr.head != nil && res.Protocol == "" {
			res.Protocol = pr.head.proto
		}
		pr.mu.Unlock()
	}
	// Unreachable: no session got any answer, each for a reason of reach.
	var reach *transport.Error
	for _, pr := range ran {
		if reach = pr.unreachable(); reach == nil {
			break
		}
	}
	if reach != nil {
		res.Unreachable = true
		cause := error(reach)
		if ue, ok := errors.AsType[*url.Error](cause); ok {
			cause = ue.Err // the URL is the check's
		}
		res.Outcomes = []Outcome{{Kind: KindReach, Name: KindReach, Verdict: Fail, Elapsed: res.Duration,
			Measured: fmt.Sprintf("%s (%s)", oneLine(cause.Error()), reach.Class),
			Reason:   "start the server, or fix the URL, port or TLS settings; nothing else was checked"}}
		return res
	}

	per := make([][]verdict, len(ran))
	for i, pr := range ran {
		per[i] = pr.judge(now)
	}
	var ends []time.Time
	for _, pr := range ran {
		pr.mu.Lock()
		ends = append(ends, pr.end)
		pr.mu.Unlock()
	}
	elapsed := res.Duration
	var outs []Outcome
	for j := range per[0] {
		vs := make([]verdict, len(per))
		for i := range per {
			vs[i] = per[i][j]
		}
		o := combine(vs)
		o.Elapsed = elapsed
		outs = append(outs, o)
	}
	// Thresholds go after the assertions, before the detectors.
	cut := len(outs)
	for i, o := range outs {
		if o.Detector {
			cut = i
			break
		}
	}
	var ths []Outcome
	for _, t := range p.thresholds {
		ths = append(ths, judgeThreshold(t, br, elapsed))
	}
	outs = append(outs[:cut], append(ths, outs[cut:]...)...)

	// A session that failed where no outcome failed must not pass.
	failed := false
	for _, o := range outs {
		failed = failed || o.Verdict == Fail
	}
	if !failed {
		for _, pr := range ran {
			pr.mu.Lock()
			f := pr.fatal
			pr.mu.Unlock()
			if f != nil {
				outs = append(outs, Outcome{Kind: KindSession, Name: KindSession, Verdict: Fail, Elapsed: elapsed,
					Measured: "the session failed: " + string(f.Class), Reason: oneLine(f.Error())})
				break
			}
		}
	}
	res.Outcomes = outs
	return res
}

// combine merges the sessions' verdicts on one outcome: the first failure
// (or warning) is shown, else the slowest pass; more than one session adds
// how many it concerns.
func combine(vs []verdict) Outcome {
	n := len(vs)
	pick, count := -1, 0
	for _, want := range []Verdict{Fail, Warn} {
		for i, v := range vs {
			if v.Verdict == want {
				if pick < 0 {
					pick = i
				}
				count++
			}
		}
		if pick >= 0 {
			break
		}
	}
	if pick < 0 {
		for i, v := range vs {
			if v.Verdict == Pass && (pick < 0 || v.score > vs[pick].score) {
				pick = i
			}
			if v.Verdict == Pass {
				count++
			}
		}
	}
	if pick < 0 {
		return vs[0].Outcome
	}
	o := vs[pick].Outcome
	switch {
	case n == 1:
	case o.Verdict != Pass:
		o.Measured += fmt.Sprintf(" [%d of %d sessions]", count, n)
	case vs[pick].score > 0 && count == n:
		o.Measured += fmt.Sprintf(" [slowest of %d sessions]", n)
	default:
		o.Measured += fmt.Sprintf(" [%d of %d sessions]", count, n)
	}
	return o
}

func judgeThreshold(t *bench.Threshold, br *bench.Result, elapsed time.Duration) Outcome {
	out := t.Check(br)
	if d, err := time.ParseDuration(out.Value); err == nil {
		out.Value = fmtDur(d)
	}
	o := Outcome{Kind: KindThreshold, Name: KindThreshold + " " + out.Threshold, Want: out.Threshold, Measured: out.Value, Verdict: Pass, Elapsed: elapsed}
	switch {
	case out.Missing:
		o.Verdict = Fail
		o.Reason = "nothing was recorded for it: the metric does not apply to this endpoint, or no session got that far"
	case !out.Pass:
		o.Verdict = Fail
		o.Reason = "the sessions measured beyond the threshold"
	}
	return o
}

// detectMode sends the first request and picks the mode from the answer.
func detectMode(ctx context.Context, c *http.Client, req transport.Request) (string, *transport.Opened, bool, error) {
	d, err := client.Detect(ctx, c, req)
	if err != nil {
		return "", nil, false, err
	}
	if d.Opened == nil || d.Protocol.ContentType != "" {
		return d.Protocol.Name, d.Opened, d.Once, nil
	}
	// Polling is for JSON answers; any other 2xx answer to a real-time
	// check is a stream gone wrong (a proxy's HTML page, a replaced content
	// type), judged as one so that its content type fails.
	if st := d.Opened.Connect.Status; st >= 200 && st <= 299 && !isJSON(d.Opened.Resp.Header.Get("Content-Type")) {
		if req.Body != nil {
			return ModeAI, d.Opened, false, nil
		}
		return ModeSSE, d.Opened, false, nil
	}
	return d.Protocol.Name, d.Opened, d.Once, nil
}

func isJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// newSession builds one session's client from the protocol table, as
// `rtbench listen` does.
func newSession(p *plan, i int, c *http.Client, first *transport.Opened, once bool) transport.Session {
	o := p.spec.Session
	o.Request, o.HTTP, o.First, o.Once = p.spec.Request, c, first, once
	o.Request.Send = o.Request.Send.ForSession(i) // its own {{session}} and {{seq}}
	o.Reconnect.Policy = p.spec.Reconnect
	if o.Interval == 0 {
		o.Interval = PollInterval
	}
	if p.echo {
		o.SendEvery = EchoInterval
	}
	// The utf8 detector judges WebSocket text that is not UTF-8 (and says
	// browsers close with 1007 there); the session reads on, so the other
	// assertions still measure the server.
	o.AllowInvalidUTF8 = true
	return client.Lookup(p.mode).New(o)
}

// probeSession runs one session under its probe, until the probe has
// decided every assertion.
type probeSession struct {
	inner  transport.Session
	pr     *probe
	origin time.Time
	done   func()
}

func (s *probeSession) Run(ctx context.Context, rec transport.Observer) error {
	defer s.done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	origin := s.origin
	if origin.IsZero() {
		origin = time.Now()
	}
	s.pr.start(origin, cancel)
	err := s.inner.Run(ctx, transport.Tee{rec, s.pr})
	s.pr.finish(err, ctx.Err() != nil)
	return err
}

// RunAll runs the checks at once under one total timeout (0: none beyond
// each check's own) and returns their results in order.
func RunAll(ctx context.Context, specs []Spec, total time.Duration, deps Deps) ([]*Result, error) {
	for i := range specs {
		if _, err := compile(specs[i]); err != nil {
			return nil, err
		}
	}
	if total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, total, errTimeout)
		defer cancel()
	}
	out := make([]*Result, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { out[i], errs[i] = Run(ctx, s, deps) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, r := range out {
		// The total timeout is not an interruption.
		if r.Interrupted && context.Cause(ctx) == errTimeout {
			r.Interrupted = false
		}
	}
	return out, nil
}
