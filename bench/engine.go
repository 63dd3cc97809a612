package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Engine defaults. Each one shapes the load or what is kept of it, so the
// report header prints them.
const (
	// DefaultMaxInFlight caps the open model's concurrent requests.
	DefaultMaxInFlight = 10_000
	// DefaultMaxLate is how long an open-model request may wait for a free
	// worker past its intended time before it is dropped. A request that
	// waits still counts its latency from the intended time.
	DefaultMaxLate = time.Second
	// DefaultDrain is how long the open model lets the requests in flight
	// at the planned end finish, so the slowest are not cut from the
	// histogram.
	DefaultDrain = 10 * time.Second
	// DefaultRestartDelay is the base of the closed model's backoff before
	// it restarts a session that ended (full-jitter exponential, doubling
	// for each consecutive session that never connected, up to
	// DefaultRestartCap).
	DefaultRestartDelay = time.Second
	DefaultRestartCap   = 30 * time.Second
	// DefaultStopTimeout bounds the wait for sessions to return once they
	// are cancelled; the Recording is returned after it regardless.
	DefaultStopTimeout = 10 * time.Second
	// IntervalLength is the length of one Interval.
	IntervalLength = time.Second
	// MaxPlanSessions bounds Connections and the stages' session targets.
	MaxPlanSessions = 10_000_000
)

// Plan is what a run does. Durations are from the start of the run.
type Plan struct {
	// Connections is the closed model's number of sessions held.
	Connections int
	// Duration is the whole run, ramp and Warmup included. 0 means the
	// length of Stages (or of Pacer, when it is Stages).
	Duration time.Duration
	// Warmup is the first part of the run, whose values are not recorded
	// (the intervals still are); it must be shorter than Duration.
	Warmup time.Duration

	// Closed model ramp: RampRate starts sessions at that rate (session i
	// at i/RampRate); RampTime reaches Connections linearly at RampTime
	// (as Stages{{RampTime, Connections}}); neither starts all at once.
	RampRate float64
	RampTime time.Duration
	// Stages, instead of Connections and the ramp, make the number of held
	// sessions follow a piecewise-linear schedule (see Stages.Levels); it
	// is held at its last target until Duration.
	Stages Stages

	// Rate, in requests per second, selects the open model: one request
	// session per intended start. Pacer, when set, replaces Rate (for
	// example Stages, as a ramping arrival rate).
	Rate  float64
	Pacer Pacer
	// MaxInFlight caps the concurrent requests; default DefaultMaxInFlight.
	MaxInFlight int
	// MaxLate is how long past its intended start a request may wait for a
	// free worker before it is Dropped; default DefaultMaxLate.
	MaxLate time.Duration
	// Drain is how long requests in flight at the planned end may take to
	// finish; default DefaultDrain, negative cancels them at once.
	Drain time.Duration

	// RestartDelay is the closed model's restart backoff base; default
	// DefaultRestartDelay, negative never restarts a session.
	RestartDelay time.Duration
	// StopTimeout bounds the wait for cancelled sessions to return; default
	// DefaultStopTimeout.
	StopTimeout time.Duration

	// Gate, when set, caps the run's reconnects: the closed model's session
	// restarts take a token from it, and the caller gives the same Gate's
	// Wait to the sessions as their transport.Reconnect.Gate. Its Delayed
	// count is saved as the reconnects_delayed counter.
	Gate *Gate

	// Share, for an agent of a run of several, is this agent's part: the
	// plan's sessions, ramp, stages and rate are the whole run's, and the
	// engine runs only the agent's interleaved part of them (see Share).
	// NewSession and NewRequest are given the run-wide session and hit
	// numbers.
	Share Share
	// StartAt, when set, is the run's start shared by its agents (--start-at):
	// the schedule counts from it, so agents that started within their
	// tolerance of it follow one schedule. The caller waits for it
	// (WaitStart); Run does not.
	StartAt time.Time
}

// Open reports whether the plan is an open-model (arrival rate) run.
func (p Plan) Open() bool { return p.Rate > 0 || p.Pacer != nil }

// normalize checks p and fills its defaults.
func (p Plan) normalize() (Plan, error) {
	if p.Open() {
		if p.Pacer == nil {
			if math.IsInf(p.Rate, 0) {
				return p, fmt.Errorf("rate %v is not a number of requests per second", p.Rate)
			}
			p.Pacer = ConstantRate{PerSecond: p.Rate}
		}
		if s, ok := p.Pacer.(Stages); ok {
			if err := s.Validate(); err != nil {
				return p, err
			}
			if p.Duration == 0 {
				p.Duration = s.Duration()
			}
		}
		if p.MaxInFlight < 0 || p.MaxLate < 0 {
			return p, errors.New("max in-flight and max late must not be negative")
		}
		p.MaxInFlight = or(p.MaxInFlight, DefaultMaxInFlight)
		p.MaxLate = or(p.MaxLate, DefaultMaxLate)
		p.Drain = or(p.Drain, DefaultDrain)
	} else {
		if p.Rate < 0 || math.IsNaN(p.Rate) {
			return p, fmt.Errorf("rate %v: want requests per second above 0, or 0 for the closed model", p.Rate)
		}
		if err := p.Stages.Validate(); err != nil {
			return p, err
		}
		switch {
		case len(p.Stages) > 0 && (p.RampRate != 0 || p.RampTime != 0):
			return p, errors.New("stages and a ramp cannot be combined: the stages are the ramp")
		case p.RampRate != 0 && p.RampTime != 0:
			return p, errors.New("give the ramp as a rate of new sessions or as a time to reach the connections, not both")
		case !(p.RampRate >= 0) || math.IsInf(p.RampRate, 0) || p.RampTime < 0:
			return p, fmt.Errorf("ramp %v/s, %v: must not be negative", p.RampRate, p.RampTime)
		case len(p.Stages) == 0 && (p.Connections <= 0 || p.Connections > MaxPlanSessions):
			return p, fmt.Errorf("connections %d: want 1 to %d", p.Connections, MaxPlanSessions)
		}
		for _, st := range p.Stages {
			if st.Target > MaxPlanSessions {
				return p, fmt.Errorf("stage target %v: at most %d sessions", st.Target, MaxPlanSessions)
			}
		}
		if p.Duration == 0 {
			p.Duration = p.Stages.Duration()
		}
		p.RestartDelay = or(p.RestartDelay, DefaultRestartDelay)
	}
	switch {
	case p.Duration <= 0:
		return p, errors.New("the run needs a duration")
	case p.Warmup < 0 || p.Warmup >= p.Duration:
		return p, fmt.Errorf("warmup %v must be at least 0 and shorter than the run (%v)", p.Warmup, p.Duration)
	}
	if err := p.Share.Validate(); err != nil {
		return p, err
	}
	if p.Open() {
		p.Pacer = p.Share.Pacer(p.Pacer)
	}
	p.StopTimeout = or(p.StopTimeout, DefaultStopTimeout)
	return p, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Engine runs a Plan: it holds sessions (closed model) or starts request
// sessions on a schedule (open model), records what they observe, and
// returns a Recording. It knows nothing of protocols.
type Engine struct {
	Plan Plan
	// NewSession returns session i (0 ≤ i < Connections, or the stages'
	// highest target) of the closed model. It is called again for a
	// session restarted after it ended.
	NewSession func(i int) transport.Session
	// NewRequest returns the session for hit n of the open model, meant to
	// start at intended. Its latencies are measured from intended.
	NewRequest func(n int, intended time.Time) transport.Session
	// Progress, when set, is called about once a second, from one
	// goroutine, with a snapshot of the run.
	Progress func(Progress)
	// Steps names the steps of a scenario's flow (bench/flow), whose
	// sessions record each one through Recorder.Step by its index here.
	Steps []string
	// ProgressDetail adds a ProgressDetail to each Progress: counters,
	// errors by class and every metric's quantiles so far. It merges every
	// shard's histograms once a second, so it is off unless asked for.
	ProgressDetail bool
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	Elapsed time.Duration
	Warmup  bool  // still in the warmup
	Open    int64 // sessions (or requests) open now
	Target  int64 // closed model: the sessions the plan holds now
	Rate    float64
	// The last interval's events and requests.
	EventsPerSec   float64
	RequestsPerSec float64
	Errors         int64 // so far, warmup included
	Dropped        int64 // so far (open model)
	// Headline is the measured metric that summarises the run (see
	// Headline), with its p99 so far; HeadlineOK is false when none has
	// values yet.
	Headline    Metric
	HeadlineP99 time.Duration
	HeadlineOK  bool
	// Detail is set when Engine.ProgressDetail is.
	Detail *ProgressDetail
}

// Run runs the plan until its Duration or until ctx ends. It returns an
// error only for a plan it cannot run. When ctx ends first (Ctrl-C), Run
// stops starting sessions, cancels the running ones, waits for them (at most
// StopTimeout) and returns what was measured, marked Interrupted with the
// context's cause as Reason: results are never lost. A target that fails
// shows up in the Recording's errors and counters, not as an error of Run.
func (e *Engine) Run(ctx context.Context) (*Recording, error) {
	p, err := e.Plan.normalize()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	switch {
	case p.Open() && e.NewRequest == nil:
		return nil, errors.New("bench: an open-model plan needs NewRequest")
	case !p.Open() && e.NewSession == nil:
		return nil, errors.New("bench: a closed-model plan needs NewSession")
	}
	rec := NewRecording()
	rec.GoroutinesStart = runtime.NumGoroutine()
	r := &run{e: e, plan: p, shards: newShards(0), out: &outages{}}
	for _, s := range r.shards.s {
		s.nSteps = len(e.Steps)
	}
	r.start = time.Now()
	if !p.StartAt.IsZero() && p.StartAt.Before(r.start) {
		r.start = p.StartAt
	}
	r.measureFrom = r.start.Add(p.Warmup)
	rec.Start, rec.MeasureFrom = r.start, r.measureFrom

	sessCtx, stopSessions := context.WithCancel(ctx)
	defer stopSessions()
	planCtx, endPlan := context.WithDeadline(ctx, r.start.Add(p.Duration))
	defer endPlan()
	r.timer = time.NewTimer(time.Hour)
	defer r.timer.Stop()

	stopCheck := startSelfCheck(rec.SelfCheck)
	stopTicks := r.startTicks()

	if p.Open() {
		r.dispatch(planCtx, sessCtx)
	} else {
		r.hold(planCtx, sessCtx)
	}
	<-planCtx.Done()

	done := r.sessionsDone()
	if p.Open() && ctx.Err() == nil && p.Drain > 0 {
		r.timer.Reset(p.Drain)
		select {
		case <-done:
		case <-r.timer.C:
		case <-ctx.Done():
		}
	}
	stopSessions()
	stuck := int64(0)
	r.timer.Reset(p.StopTimeout)
	select {
	case <-done:
	case <-r.timer.C:
		stuck = r.open.Load()
	}
	stopTicks()
	stopCheck()
	rec.End = time.Now()
	if stuck == 0 {
		rec.GoroutinesEnd = settledGoroutines(rec.GoroutinesStart)
	} else {
		rec.GoroutinesEnd = runtime.NumGoroutine()
	}
	rec.MaxRSS, _ = maxRSS()
	r.finish(rec)
	if ctx.Err() != nil {
		rec.Interrupted = true
		rec.Reason = context.Cause(ctx).Error()
	}
	if stuck > 0 {
		note := fmt.Sprintf("%d sessions had not returned %v after they were cancelled; their last values may be missing", stuck, p.StopTimeout)
		if rec.Reason != "" {
			note = rec.Reason + "; " + note
		}
		rec.Reason = note
	}
	return rec, nil
}

// settledGoroutines is the process's goroutine count once it stops
// falling: a session's Run has returned, but goroutines it woke to exit
// (a reader unblocked by a close) may not have run their last line yet.
// It waits at most 100 ms for the count to reach want.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > want; i++ {
		time.Sleep(time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// run is one Run's state.
type run struct {
	e           *Engine
	plan        Plan
	start       time.Time
	measureFrom time.Time
	shards      *shards
	timer       *time.Timer // the scheduler's; Run's once the scheduler returned

	wg sync.WaitGroup

	out *outages

	open    atomic.Int64
	target  atomic.Int64
	dropped atomic.Int64 // measured drops
	errors  atomic.Int64 // every error, for Progress

	// Written by the tick goroutine, then by finish once it has stopped.
	intervals []Interval
	ivP99     [][numHeadline]time.Duration
	scratch   [numHeadline]*Hist
	// detailHists are detail's scratch histograms (tick goroutine).
	detailHists [NumMetrics]*Hist
}

// sleepUntil waits until offset at of the run; false when ctx ended first.
func (r *run) sleepUntil(ctx context.Context, at time.Duration) bool {
	d := time.Until(r.start.Add(at))
	if d <= 0 {
		return ctx.Err() == nil
	}
	r.timer.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-r.timer.C:
		return true
	}
}

func (r *run) newRecorder(intended time.Time) *Recorder {
	rec := newRecorder(r.shards.pick(), r.measureFrom, intended)
	rec.out = r.out
	return rec
}

// retire accounts for a session's return (its recorder flushes itself).
func (r *run) retire(rec *Recorder, err error, stopped bool) (connected bool) {
	_, connected = rec.end(err, stopped)
	return connected
}

// sessionsDone is closed when every session has returned.
func (r *run) sessionsDone() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	return done
}

// levels is the closed model's schedule of held sessions.
func (r *run) levels() iter.Seq2[time.Duration, int] {
	return r.plan.Share.Levels(r.allLevels())
}

// allLevels is the whole run's schedule of held sessions, of every agent.
func (r *run) allLevels() iter.Seq2[time.Duration, int] {
	p := r.plan
	switch {
	case len(p.Stages) > 0:
		return p.Stages.Levels()
	case p.RampTime > 0:
		return Stages{{Duration: p.RampTime, Target: float64(p.Connections)}}.Levels()
	case p.RampRate > 0:
		return func(yield func(time.Duration, int) bool) {
			for i := range p.Connections {
				at, ok := ConstantRate{PerSecond: p.RampRate}.Hit(uint64(i))
				if !ok || !yield(at, i+1) {
					return
				}
			}
		}
	}
	return func(yield func(time.Duration, int) bool) { yield(0, p.Connections) }
}

// hold is the closed model: it starts and stops sessions to follow the
// plan's levels until planCtx ends. Sessions above the level are stopped
// newest first.
func (r *run) hold(planCtx, sessCtx context.Context) {
	var cancels []context.CancelFunc
	cur := 0
	for at, level := range r.levels() {
		if at >= r.plan.Duration || !r.sleepUntil(planCtx, at) {
			break
		}
		r.target.Store(int64(level))
		for ; cur < level; cur++ {
			ctx, cancel := context.WithCancel(sessCtx)
			if cur < len(cancels) {
				cancels[cur] = cancel
			} else {
				cancels = append(cancels, cancel)
			}
			r.wg.Add(1)
			go r.hold1(ctx, cancel, cur)
		}
		for cur > level {
			cur--
			cancels[cur]()
		}
	}
}

// hold1 runs closed-model session i, restarting it after a backoff whenever
// it ends, as k6's constant-vus restarts an iteration, until ctx ends. A
// session that can start without this goroutine (transport.Starter) is
// started so, and this goroutine ends: the session's done goes on with the
// loop, so a held session keeps no goroutine here while it waits.
func (r *run) hold1(ctx context.Context, cancel context.CancelFunc, i int) {
	h := &held{r: r, ctx: ctx, cancel: cancel, i: i,
		backoff: transport.Reconnect{Initial: r.plan.RestartDelay, Floor: r.plan.RestartDelay / 2, Cap: max(DefaultRestartCap, r.plan.RestartDelay)}}
	h.loop()
}

// held is the state of one closed-model session's restart loop.
type held struct {
	r       *run
	ctx     context.Context
	cancel  context.CancelFunc
	i       int
	backoff transport.Reconnect
	attempt int
	down    time.Time // the session lost its connection then, and waits to be back
	rec     *Recorder // of the session started
}

// loop starts the session, again after each end, until ctx ends; it
// returns early when a session has started on its own (Start), whose done
// goes on with the loop.
func (h *held) loop() {
	r := h.r
	for {
		rec := r.newRecorder(time.Time{})
		if !h.down.IsZero() {
			rec.waitFrom(h.down)
		}
		rec.begin()
		r.open.Add(1)
		s := r.e.NewSession(r.plan.Share.global(h.i))
		if st, ok := s.(transport.Starter); ok {
			h.rec = rec
			st.Start(h.ctx, rec, h.ended)
			return
		}
		if !h.after(rec, s.Run(h.ctx, rec)) {
			return
		}
	}
}

// ended is a started session's done: the loop goes on on its goroutine.
func (h *held) ended(err error) {
	rec := h.rec
	h.rec = nil
	if h.after(rec, err) {
		h.loop()
	}
}

// after retires a session that ended and waits to restart it: false when
// the loop is over (ctx ended, or sessions are not restarted).
func (h *held) after(rec *Recorder, err error) (again bool) {
	r, ctx := h.r, h.ctx
	defer func() {
		if !again {
			h.cancel()
			r.wg.Done()
		}
	}()
	r.open.Add(-1)
	connected := r.retire(rec, err, ctx.Err() != nil)
	if ctx.Err() != nil {
		return false // still waiting, if it was: the outage is open at the end
	}
	since, fresh := rec.loss()
	if r.plan.RestartDelay < 0 {
		if !since.IsZero() && !fresh {
			r.out.back(time.Now(), false)
		}
		return false
	}
	if fresh {
		r.out.lost(since)
	}
	h.down = since
	if connected {
		h.attempt = 0
	}
	h.attempt++
	if transport.Wait(ctx, h.backoff.Delay(h.attempt, 0, nil)) != nil {
		return false
	}
	if r.plan.Gate != nil && r.plan.Gate.Wait(ctx) != nil {
		return false
	}
	return true
}

// dispatch is the open model: one central pacer hands each request its
// intended start; a request that finds MaxInFlight requests running waits
// for one to end until MaxLate past its intended time, then is dropped.
// Requests run on worker goroutines that stay for the next request once
// theirs is done (an idle worker takes each new request; one is started
// only when none is idle), so a steady rate costs no goroutine start or
// stack growth per request, and the workers never outnumber the peak of
// requests in flight. Each worker records its requests with a Recorder of
// its own, reset between them.
func (r *run) dispatch(planCtx, sessCtx context.Context) {
	p := r.plan
	sem := make(chan struct{}, p.MaxInFlight)
	work := make(chan hit)
	defer close(work) // idle workers return
	for n := uint64(0); ; n++ {
		at, ok := p.Pacer.Hit(n)
		if !ok || at >= p.Duration || !r.sleepUntil(planCtx, at) {
			return
		}
		intended := r.start.Add(at)
		select {
		case sem <- struct{}{}:
		default:
			d := time.Until(intended.Add(p.MaxLate))
			if d <= 0 {
				r.drop(intended)
				continue
			}
			r.timer.Reset(d)
			select {
			case sem <- struct{}{}:
			case <-r.timer.C:
				r.drop(intended)
				continue
			case <-planCtx.Done():
				return
			}
		}
		r.open.Add(1)
		h := hit{n: r.plan.Share.global(int(n)), intended: intended}
		select {
		case work <- h:
		default:
			r.wg.Add(1)
			go r.worker(sessCtx, h, work, sem)
		}
	}
}

// hit is one open-model request handed to a worker.
type hit struct {
	n        int
	intended time.Time
}

// worker runs h, then each request work hands it, until work is closed. It
// records them all with one Recorder of its own, reset between requests:
// a request costs no recorder allocation or registration, and a Recorder
// is never shared by two goroutines' sessions.
func (r *run) worker(sessCtx context.Context, h hit, work <-chan hit, sem <-chan struct{}) {
	defer r.wg.Done()
	rec := r.newRecorder(h.intended)
	for {
		if time.Since(h.intended) > LateStartThreshold {
			rec.lateStart()
		}
		rec.begin()
		err := r.e.NewRequest(h.n, h.intended).Run(sessCtx, rec)
		r.open.Add(-1)
		rec.end(err, sessCtx.Err() != nil)
		<-sem
		var ok bool
		if h, ok = <-work; !ok {
			return
		}
		rec.reset(h.intended)
	}
}

func (r *run) drop(intended time.Time) {
	if !intended.Before(r.measureFrom) {
		r.dropped.Add(1)
	}
}

// startTicks closes an interval every IntervalLength until the returned
// func is called; that func returns once the tick goroutine has stopped.
func (r *run) startTicks() (stop func()) {
	for i := range r.scratch {
		r.scratch[i] = NewHist()
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(IntervalLength)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				r.closeInterval(time.Time{})
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// closeInterval flushes every recorder that buffered something since the
// last tick and collects the shards' interval counts into the next
// Interval. end is zero at a tick; at the end
// of the run it is the end, and a remainder that starts at or after it is
// added to the last interval instead.
func (r *run) closeInterval(end time.Time) {
	r.shards.flushDirty()
	var c ivCounts
	for _, s := range r.shards.s {
		s.mu.Lock()
		c.add(&s.iv)
		s.iv = ivCounts{}
		for i, h := range s.ivHists {
			if h != nil && h.Count() > 0 {
				r.scratch[i].Merge(h)
				h.Reset()
			}
		}
		s.mu.Unlock()
	}
	var p99 [numHeadline]time.Duration
	for i, h := range r.scratch {
		if h.Count() > 0 {
			p99[i] = h.Quantile(99)
			h.Reset()
		}
	}
	r.errors.Add(c.errors)
	// The seconds these counts cover: one at an on-time tick. A generator
	// short of CPU can miss ticks (a Ticker drops them while its reader is
	// busy); the counts then span several seconds and are spread evenly
	// over them, so the per-second table keeps its time axis and its sums.
	n := len(r.intervals)
	due := n + 1
	if end.IsZero() {
		due = max(due, int(time.Since(r.start)/IntervalLength))
	} else {
		due = int((end.Sub(r.start) + IntervalLength - 1) / IntervalLength)
		if due <= n && n > 0 {
			last := &r.intervals[n-1]
			last.Open = r.open.Load()
			last.addCounts(c)
			return
		}
		due = max(due, n+1)
	}
	k := int64(due - n)
	for i := range k {
		share := c.share(i, k)
		iv := Interval{
			T: time.Duration(len(r.intervals)) * IntervalLength, Open: r.open.Load(),
			Opened: share.opened, Established: share.established, Closed: share.closed, Failed: share.failed,
			Events: share.events, Bytes: share.bytes, Errors: share.errors, Requests: share.requests,
		}
		r.intervals = append(r.intervals, iv)
		r.ivP99 = append(r.ivP99, p99)
		if i == k-1 && end.IsZero() && r.e.Progress != nil {
			r.e.Progress(r.progress(iv))
		}
	}
}

// addCounts adds an interval's worth of counts to iv.
func (iv *Interval) addCounts(c ivCounts) {
	iv.Opened += c.opened
	iv.Established += c.established
	iv.Closed += c.closed
	iv.Failed += c.failed
	iv.Events += c.events
	iv.Bytes += c.bytes
	iv.Errors += c.errors
	iv.Requests += c.requests
}

func (r *run) progress(iv Interval) Progress {
	elapsed := time.Since(r.start)
	pr := Progress{
		Elapsed: elapsed, Warmup: elapsed < r.plan.Warmup,
		Open: iv.Open, Target: r.target.Load(),
		EventsPerSec:   float64(iv.Events) / IntervalLength.Seconds(),
		RequestsPerSec: float64(iv.Requests) / IntervalLength.Seconds(),
		Errors:         r.errors.Load(), Dropped: r.dropped.Load(),
	}
	if r.plan.Pacer != nil {
		pr.Rate = r.plan.Pacer.Rate(elapsed)
	}
	if r.e.ProgressDetail {
		pr.Detail = r.detail()
	}
	for i, m := range headline {
		h := r.scratch[i]
		for _, s := range r.shards.s {
			s.mu.Lock()
			if sh := s.hists[m]; sh != nil {
				h.Merge(sh)
			}
			s.mu.Unlock()
		}
		if h.Count() > 0 {
			pr.Headline, pr.HeadlineP99, pr.HeadlineOK = m, h.Quantile(99), true
			h.Reset()
			break
		}
	}
	return pr
}

// finish closes the last interval and merges the shards into rec.
func (r *run) finish(rec *Recording) {
	r.closeInterval(rec.End)
	r.shards.mergeInto(rec)
	r.shards.mergeSteps(rec, r.e.Steps)
	rec.Counters[Dropped] += r.dropped.Load()
	rec.Outages, rec.Counters[Outages] = r.out.finish()
	if r.plan.Gate != nil {
		rec.Counters[ReconnectsDelayed] = r.plan.Gate.Delayed()
	}
	rec.Intervals = r.intervals
	// The intervals' headline is the run's; a run measured nothing (all of
	// it warmup) takes the first metric the intervals have.
	m, ok := Headline(rec)
	hi := -1
	if ok {
		hi = int(headlineIndex[m])
	} else {
		for _, p := range r.ivP99 {
			for i, v := range p {
				if v > 0 && (hi < 0 || i < hi) {
					hi = i
				}
			}
		}
	}
	if hi >= 0 {
		for k := range rec.Intervals {
			rec.Intervals[k].HeadlineP99 = r.ivP99[k][hi]
		}
	}
}
