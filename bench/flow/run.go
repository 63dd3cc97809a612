package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/match"
)

// Options are what a scenario's sessions share.
type Options struct {
	// HTTP sends the request and poll steps' requests; nil: a client with
	// transport's defaults.
	HTTP *http.Client
	// Session is the base of every subscribe step's session (HTTP client,
	// protocol knobs); its Request, One and Reconnect are the step's own.
	Session transport.SessionOptions
	// Once runs the flow one time (the open model's request, check,
	// listen); otherwise the session runs it again and again until its
	// context ends (the closed model).
	Once bool
	// Getenv resolves {{env "NAME"}} in send messages.
	Getenv func(string) string
	// Trace, when set, hears every step's end with its error: how listen
	// and check show a flow. It is called from the session's goroutine.
	Trace func(session int, st *Step, s bench.StepSample, err error)
}

// StepObserver is what a session's observer may also be (bench.Recorder
// is): it hears each step's sample and each pass's end.
type StepObserver interface {
	Step(i int, s bench.StepSample)
	Flow(start, end time.Time, o bench.StepOutcome)
}

// StepError is a step that failed: the step, and why.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return "step " + e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Session returns session n of the scenario: its variables start as the
// scenario's vars, with ${session} = n.
func (s *Scenario) Session(n int, o Options) transport.Session {
	return &session{sc: s, n: n, o: o}
}

type session struct {
	sc *Scenario
	n  int
	o  Options
}

// runner is one session's state while it runs.
type runner struct {
	sc    *Scenario
	n     int
	o     Options
	obs   transport.Observer
	steps StepObserver // nil when obs is not one
	vals  []string
	buf   bytes.Buffer
	hc    *http.Client
	rng   *rand.Rand
}

// Run implements transport.Session: it runs the flow (once, or until ctx
// ends) and reports every step. It returns nil: failures are reported as
// errors to obs and as failed steps.
func (s *session) Run(ctx context.Context, obs transport.Observer) error {
	r := &runner{sc: s.sc, n: s.n, o: s.o, obs: obs, vals: make([]string, len(s.sc.vars)), hc: s.o.HTTP,
		rng: rand.New(rand.NewPCG(uint64(s.n), uint64(time.Now().UnixNano())))}
	if r.hc == nil {
		r.hc = transport.NewHTTPClient(transport.HTTPOptions{})
	}
	r.steps, _ = obs.(StepObserver)
	for {
		copy(r.vals, s.sc.init)
		r.vals[0] = strconv.Itoa(s.n)
		start := time.Now()
		o := r.run(ctx, s.sc.Steps)
		if r.steps != nil {
			r.steps.Flow(start, time.Now(), o)
		}
		if s.o.Once || ctx.Err() != nil {
			return nil
		}
		if o == bench.StepFailed && transport.Wait(ctx, FailedPause) != nil {
			return nil
		}
	}
}

// run runs steps in order until one does not complete.
func (r *runner) run(ctx context.Context, steps []*Step) bench.StepOutcome {
	for _, st := range steps {
		if o := r.step(ctx, st); o != bench.StepOK {
			return o
		}
	}
	return bench.StepOK
}

func (r *runner) step(ctx context.Context, st *Step) bench.StepOutcome {
	s := bench.StepSample{Start: time.Now()}
	var err error
	switch st.Kind {
	case KindRequest:
		err = r.request(ctx, st, &s)
	case KindPoll:
		err = r.poll(ctx, st, &s)
	case KindSubscribe:
		err = r.subscribe(ctx, st, &s)
	case KindSleep, KindThink:
		d := st.Min
		if st.Max > st.Min {
			d += time.Duration(r.rng.Int64N(int64(st.Max - st.Min)))
		}
		err = transport.Wait(ctx, d)
	case KindRepeat:
		for range st.Times {
			if o := r.run(ctx, st.Steps); o != bench.StepOK {
				s.Outcome = o
				break
			}
		}
		if s.Outcome == bench.StepFailed {
			err = errors.New("a step it repeats failed")
		}
	}
	s.End = time.Now()
	switch {
	case ctx.Err() != nil:
		s.Outcome, err = bench.StepCutOff, nil
	case err != nil:
		s.Outcome = bench.StepFailed
		if st.Kind != KindRepeat { // the repeated step reported it
			te := transport.AsError(err)
			r.obs.Error(&transport.Error{Class: te.Class, Code: te.Code, Err: &StepError{Step: st.Name, Err: err}, At: s.End})
		}
	}
	if r.steps != nil {
		r.steps.Step(st.index, s)
	}
	if r.o.Trace != nil {
		var e error
		if err != nil {
			e = &StepError{Step: st.Name, Err: err}
		}
		r.o.Trace(r.n, st, s, e)
	}
	return s.Outcome
}

// answer is one HTTP answer: its status, headers and the start of its body.
type answer struct {
	status int
	header http.Header
	body   []byte // valid until the next request
	bytes  int64
	at     time.Time // the body was read
}

// do sends one request of st with extra headers.
func (r *runner) do(ctx context.Context, st *Step, url string, extra http.Header) (answer, error) {
	var body io.Reader
	b := st.Body.render(r.vals)
	if b != "" {
		body = strings.NewReader(b)
	}
	method := st.Method
	if method == "" {
		method = http.MethodGet
		if b != "" {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return answer{}, err
	}
	for _, h := range st.Header {
		req.Header.Set(h.name, h.val.render(r.vals))
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	if b != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	r.buf.Reset()
	n, err := r.buf.ReadFrom(io.LimitReader(resp.Body, MaxBody))
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, resp.Body)
		n += rest
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: r.buf.Bytes(), bytes: n, at: time.Now()}
	if err != nil {
		return a, err
	}
	return a, nil
}

func (r *runner) url(st *Step) (string, error) {
	u := st.URL.render(r.vals)
	out, err := resolve(r.sc.Base, u)
	if err != nil {
		return "", fmt.Errorf("url %s: %v", transport.RedactURL(u), err)
	}
	if st.Kind == KindSubscribe && st.proto.Name == "ws" {
		// A path resolved against an http(s) base is the same origin's
		// WebSocket.
		if rest, ok := strings.CutPrefix(out, "http"); ok {
			out = "ws" + rest
		}
	}
	return out, nil
}

// accept checks the answer's status against the step's (default 2xx).
func accept(st *Step, a answer) error {
	ok := a.status >= 200 && a.status <= 299
	if st.status != nil {
		ok = st.status.Has(a.status)
	}
	if ok {
		return nil
	}
	want := "2xx"
	if st.status != nil {
		want = st.status.String()
	}
	return &transport.Error{Class: transport.HTTPStatusClass(a.status), Code: a.status,
		Err: fmt.Errorf("HTTP %d, want %s: %s", a.status, want, excerpt(a.body))}
}

// excerpt is the start of a body for an error message, on one line and
// without control characters.
func excerpt(b []byte) string {
	const max = 120
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, string(b[:min(len(b), max)]))
	if len(b) > max {
		s += "…"
	}
	if strings.TrimSpace(s) == "" {
		return "(empty body)"
	}
	return s
}

// shape describes an answer a capture found nothing in without its values,
// which may be secrets (a login's token): an object's keys, else what it is.
func shape(body []byte) string {
	var obj map[string]json.RawMessage
	switch {
	case json.Unmarshal(body, &obj) == nil && obj != nil:
		keys := slices.Sorted(maps.Keys(obj))
		if len(keys) > 20 {
			keys = append(keys[:20], "…")
		}
		if len(keys) == 0 {
			return "it has no keys"
		}
		return "it has " + strings.Join(keys, ", ")
	case json.Valid(body):
		return "it is JSON, not an object"
	case len(bytes.TrimSpace(body)) == 0:
		return "it is empty"
	}
	return "it is not JSON: " + excerpt(body)
}

// ErrCapture is a capture that found nothing.
var ErrCapture = errors.New("capture found nothing")

// capture takes the step's captures from an answer (or a message's JSON).
func (r *runner) capture(st *Step, h http.Header, body []byte) error {
	for _, c := range st.capture {
		if c.header != "" {
			v := h.Get(c.header)
			if v == "" {
				return &transport.Error{Class: transport.ClassCapture, Err: fmt.Errorf("%w: capture %s: the answer has no %s header", ErrCapture, c.name, c.header)}
			}
			r.vals[c.slot] = v
			continue
		}
		v, ok := c.path.Value(body)
		if !ok {
			return &transport.Error{Class: transport.ClassCapture, Err: fmt.Errorf("%w: capture %s: the answer has no field %s (%s)", ErrCapture, c.name, c.path, shape(body))}
		}
		r.vals[c.slot] = v
	}
	return nil
}

func (r *runner) request(ctx context.Context, st *Step, s *bench.StepSample) error {
	u, err := r.url(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	a, err := r.do(ctx, st, u, nil)
	if a.status != 0 {
		s.Requests++
		s.Bytes += a.bytes
	}
	if err != nil {
		return timeoutErr(ctx, st, err)
	}
	if err := accept(st, a); err != nil {
		return err
	}
	return r.capture(st, a.header, a.body)
}

// timeoutErr names the step's timeout when its deadline ended err.
func timeoutErr(ctx context.Context, st *Step, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &transport.Error{Class: transport.ClassTimeout, Err: fmt.Errorf("not done within its timeout %v", st.Timeout)}
	}
	return err
}

func (r *runner) poll(ctx context.Context, st *Step, s *bench.StepSample) error {
	u, err := r.url(st)
	if err != nil {
		return err
	}
	until := st.until
	if st.untilT != nil {
		if until, err = match.Parse(st.untilT.render(r.vals)); err != nil {
			return fmt.Errorf("until: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	var extra http.Header
	var last []byte // the previous answer's body, for the long-poll floor
	next := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return timeoutErr(ctx, st, ctx.Err())
			case <-timer.C:
			}
		}
		sent := time.Now()
		a, err := r.do(ctx, st, u, extra)
		if a.status != 0 {
			s.Requests++
			s.Bytes += a.bytes
		}
		if err != nil {
			return timeoutErr(ctx, st, err)
		}
		if a.status != http.StatusNotModified {
			if err := accept(st, a); err != nil {
				return err
			}
			if until.Match(a.body) {
				stale(st, s, a.at, a.body)
				return r.capture(st, a.header, a.body)
			}
			if tag := a.header.Get("ETag"); tag != "" && (st.ETag || st.LongPoll) {
				extra = http.Header{"If-None-Match": {tag}}
			}
		}
		switch {
		case !st.LongPoll || st.Interval > 0:
			next = sent.Add(st.Interval)
		case unchanged(a, last) && time.Since(sent) < LongPollFloor:
			// Answered at once with nothing new: the server does not hold
			// the request (it ignores ?wait=). Without a floor this would
			// poll in a tight loop.
			next = sent.Add(LongPollFloor)
		default:
			next = time.Now()
		}
		if a.status != http.StatusNotModified {
			last = append(last[:0], a.body...)
		}
	}
}

// LongPollFloor is the least time between two long polls of one job whose
// answer brought nothing new: a server that answers at once instead of
// holding the request is polled at most this often, not in a tight loop.
// An answer that changed is followed by the next poll at once.
const LongPollFloor = time.Second

// unchanged reports whether a poll's answer brought nothing new: a 304, or
// the same body as the answer before it.
func unchanged(a answer, last []byte) bool {
	return a.status == http.StatusNotModified || (last != nil && bytes.Equal(a.body, last))
}

// stale records, for a step with done_at, the staleness of the answer or
// message that met its until (its arrival at − the time its state began)
// and, with started_at, the server's own duration.
func stale(st *Step, s *bench.StepSample, at time.Time, body []byte) {
	if st.doneAt == nil {
		return
	}
	done, ok := timeAt(st.doneAt, body)
	if !ok {
		return
	}
	s.Staleness, s.HasStaleness = at.Sub(done), true
	if st.startAt != nil {
		if begun, ok := timeAt(st.startAt, body); ok {
			s.Server, s.HasServer = done.Sub(begun), true
		}
	}
}

// timeAt reads a time at p in body: RFC 3339, or a number of seconds,
// milliseconds, microseconds or nanoseconds since the epoch (by its
// magnitude).
func timeAt(p *match.Path, body []byte) (time.Time, bool) {
	v, ok := p.Value(body)
	if !ok {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	switch {
	case f < 1e11: // seconds until the year 5138
		return time.Unix(0, int64(f*1e9)), true
	case f < 1e14:
		return time.Unix(0, int64(f*1e6)), true
	case f < 1e17:
		return time.Unix(0, int64(f*1e3)), true
	}
	return time.Unix(0, int64(f)), true
}
