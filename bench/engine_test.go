package bench

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// The engine is tested with fake sessions on synctest's fake clock: no
// network, no sleeps for synchronisation, exact times. A fake session's
// time.Sleep is the fake latency of a fake server.

// sessionLog remembers when each fake session ran, as offsets from the
// start of the run.
type sessionLog struct {
	mu    sync.Mutex
	start time.Time
	runs  []logged
}

type logged struct {
	I          int
	Start, End time.Duration
	Intended   time.Duration // open model
}

func (l *sessionLog) add(r logged) {
	l.mu.Lock()
	l.runs = append(l.runs, r)
	l.mu.Unlock()
}

func (l *sessionLog) snapshot() []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.runs)
}

// sessionFunc adapts a func to transport.Session.
type sessionFunc func(ctx context.Context, obs transport.Observer) error

func (f sessionFunc) Run(ctx context.Context, obs transport.Observer) error { return f(ctx, obs) }

// startOnly makes a session a transport.Starter that must be started: the
// engine runs it without a goroutine of its own (its done goes on with the
// restart loop), and never calls Run.
type startOnly struct{ s transport.Session }

func (s startOnly) Run(context.Context, transport.Observer) error {
	panic("the engine ran a transport.Starter with Run")
}

func (s startOnly) Start(ctx context.Context, obs transport.Observer, done func(error)) {
	go func() { done(s.s.Run(ctx, obs)) }()
}

// bothWays runs test with sessions run by the engine's goroutines (Run),
// and started (transport.Starter).
func bothWays(t *testing.T, test func(t *testing.T, wrap func(transport.Session) transport.Session)) {
	t.Run("run", func(t *testing.T) { test(t, func(s transport.Session) transport.Session { return s }) })
	t.Run("start", func(t *testing.T) { test(t, func(s transport.Session) transport.Session { return startOnly{s} }) })
}

// stream is a fake push session: it connects after handshake, then
// receives an event every period whose delivery latency is lat, until ctx
// ends or dies returns true (the target died).
type stream struct {
	log       *sessionLog
	handshake time.Duration
	period    time.Duration
	lat       time.Duration
	dies      func(now time.Time) bool
}

func (s stream) session(i int) transport.Session {
	return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
		start := time.Now()
		defer func() { s.log.add(logged{I: i, Start: start.Sub(s.log.start), End: time.Since(s.log.start)}) }()
		for attempt := 0; ; attempt++ {
			dialed := time.Now()
			if transport.Wait(ctx, s.handshake) != nil {
				return nil
			}
			if s.dies != nil && s.dies(time.Now()) {
				obs.Error(&transport.Error{Class: transport.ClassRefused, Err: errors.New("connect: connection refused"), At: time.Now()})
				if transport.Wait(ctx, 500*time.Millisecond) != nil {
					return nil
				}
				continue
			}
			obs.Connected(&transport.Connect{Attempt: attempt, Start: dialed, Headers: time.Now(), Status: 200})
			tick := time.NewTicker(s.period)
			var seq uint64
			for {
				select {
				case <-ctx.Done():
					tick.Stop()
					obs.Closed(&transport.Close{At: time.Now()})
					return nil
				case now := <-tick.C:
					if s.dies != nil && s.dies(now) {
						tick.Stop()
						obs.Error(&transport.Error{Class: transport.ClassReset, Err: errors.New("read: connection reset by peer"), At: now})
						obs.Closed(&transport.Close{At: now, Code: 1006, Reconnect: true})
						break
					}
					seq++
					obs.Event(&transport.Event{Kind: transport.KindMessage, At: now, FirstByte: now, Size: 100,
						Stamp: transport.Stamp{Seq: seq, HasSeq: true, SchedNS: now.Add(-s.lat).UnixNano(), HasSched: true}})
					continue
				}
				break
			}
		}
	})
}

// approx compares a value read back from a histogram, which is exact to
// 3 significant digits.
func approx(got, want time.Duration) bool {
	d := got - want
	return d >= -want/1000 && d <= want/1000
}

func runEngine(t *testing.T, e *Engine, ctx context.Context) *Recording {
	t.Helper()
	rec, err := e.Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec
}

func startsOf(runs []logged) []time.Duration {
	var s []time.Duration
	for _, r := range runs {
		s = append(s, r.Start)
	}
	slices.Sort(s)
	return s
}

func TestEngineRamp(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name       string
		plan       Plan
		wantStarts []time.Duration
	}{
		{"all at once", Plan{Connections: 3, Duration: 2 * time.Second}, []time.Duration{0, 0, 0}},
		{"at a rate of new sessions", Plan{Connections: 5, RampRate: 10, Duration: 2 * time.Second},
			[]time.Duration{0, ms(100), ms(200), ms(300), ms(400)}},
		{"a time to reach the connections", Plan{Connections: 4, RampTime: time.Second, Duration: 2 * time.Second},
			[]time.Duration{ms(250), ms(500), ms(750), ms(1000)}},
		{"a ramp longer than the run stops at its end", Plan{Connections: 10, RampRate: 2, Duration: 2 * time.Second},
			[]time.Duration{0, ms(500), ms(1000), ms(1500)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &sessionLog{start: time.Now()}
				s := stream{log: log, period: 70 * time.Millisecond}
				rec := runEngine(t, &Engine{Plan: tc.plan, NewSession: s.session}, t.Context())
				runs := log.snapshot()
				if got := startsOf(runs); !slices.Equal(got, tc.wantStarts) {
					t.Errorf("sessions started at %v, want %v", got, tc.wantStarts)
				}
				for _, r := range runs {
					if r.End != tc.plan.Duration {
						t.Errorf("session %d ended at %v, want at the end of the run %v", r.I, r.End, tc.plan.Duration)
					}
				}
				n := int64(len(tc.wantStarts))
				if rec.Counters[SessionsStarted] != n || rec.Counters[Connects] != n || rec.Counters[SessionsFailed] != 0 {
					t.Errorf("started %d, connects %d, failed %d; want %d, %d, 0", rec.Counters[SessionsStarted],
						rec.Counters[Connects], rec.Counters[SessionsFailed], n, n)
				}
				if rec.Interrupted || rec.End.Sub(rec.Start) != tc.plan.Duration {
					t.Errorf("interrupted %v, ran %v; want a whole run of %v", rec.Interrupted, rec.End.Sub(rec.Start), tc.plan.Duration)
				}
			})
		})
	}
}

// TestEngineStages: the number of held sessions follows the stages, the
// newest stopped first.
func TestEngineStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
		log := &sessionLog{start: time.Now()}
		s := stream{log: log, period: 70 * time.Millisecond}
		var seen []int64
		e := &Engine{
			// 0 → 3 in 0.6s, hold to 1.6s, 3 → 0 by 2.5s, 0 → 2 by 3.7s: no
			// change falls on a second, where the progress ticks are.
			Plan:       Plan{Stages: Stages{{600 * time.Millisecond, 3}, {time.Second, 3}, {900 * time.Millisecond, 0}, {1200 * time.Millisecond, 2}}},
			NewSession: s.session,
			Progress:   func(p Progress) { seen = append(seen, p.Target, p.Open) },
		}
		rec := runEngine(t, e, t.Context())
		got := log.snapshot()
		slices.SortFunc(got, func(a, b logged) int { return int(a.Start - b.Start) })
		want := []logged{
			{I: 0, Start: ms(200), End: ms(2500)},
			{I: 1, Start: ms(400), End: ms(2200)},
			{I: 2, Start: ms(600), End: ms(1900)},
			{I: 0, Start: ms(3100), End: ms(3700)}, // level 2 is due at 3.7s, the end
		}
		if !slices.Equal(got, want) {
			t.Errorf("sessions ran\n%v\nwant\n%v", got, want)
		}
		if rec.Counters[SessionsStarted] != 4 || rec.Counters[SessionsFailed] != 0 {
			t.Errorf("started %d failed %d, want 4 and 0", rec.Counters[SessionsStarted], rec.Counters[SessionsFailed])
		}
		// Progress at 1s, 2s, 3s: target and open.
		if !slices.Equal(seen, []int64{3, 3, 2, 2, 0, 0}) {
			t.Errorf("progress (target, open) = %v, want 3 3, 2 2, 0 0", seen)
		}
		if len(rec.Intervals) != 4 {
			t.Fatalf("%d intervals, want 4", len(rec.Intervals))
		}
		var opened, closed int64
		for _, iv := range rec.Intervals {
			opened += iv.Opened
			closed += iv.Closed
		}
		if opened != 4 || closed != 4 {
			t.Errorf("intervals opened %d closed %d, want 4 and 4", opened, closed)
		}
		if iv := rec.Intervals[1]; iv.Open != 2 || iv.Closed != 1 {
			t.Errorf("second 1: open %d closed %d, want 2 and 1", iv.Open, iv.Closed)
		}
	})
}

// TestEngineWarmup: nothing measured before MeasureFrom, every second in
// the intervals.
func TestEngineWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		// Events at 50ms + k·300ms: none on a second boundary.
		s := stream{log: log, handshake: 50 * time.Millisecond, period: 300 * time.Millisecond, lat: 5 * time.Millisecond}
		var progress []Progress
		e := &Engine{
			Plan:       Plan{Connections: 2, Duration: 5 * time.Second, Warmup: 2 * time.Second},
			NewSession: s.session,
			Progress:   func(p Progress) { progress = append(progress, p) },
		}
		rec := runEngine(t, e, t.Context())
		if got := rec.MeasureFrom.Sub(rec.Start); got != 2*time.Second {
			t.Errorf("MeasureFrom is %v after the start, want 2s", got)
		}
		// Per session 16 events at 0.35 … 4.85s, 10 of them from 2s on.
		if rec.Counters[Events] != 20 || rec.Hists[Delivery].Count() != 20 || rec.Counters[Bytes] != 2000 {
			t.Errorf("events %d, delivery values %d, bytes %d; want 20, 20, 2000",
				rec.Counters[Events], rec.Hists[Delivery].Count(), rec.Counters[Bytes])
		}
		if got := rec.Hists[Delivery].Max(); !approx(got, 5*time.Millisecond) {
			t.Errorf("delivery max %v, want 5ms", got)
		}
		if n := rec.Hists[Connect].Count(); n != 0 {
			t.Errorf("connect values %d, want 0: the connections were made in the warmup", n)
		}
		if rec.Counters[Connects] != 2 || rec.Counters[SessionsStarted] != 2 {
			t.Errorf("connects %d, sessions %d: lifecycle counts cover the whole run, want 2 and 2",
				rec.Counters[Connects], rec.Counters[SessionsStarted])
		}
		var events []int64
		for i, iv := range rec.Intervals {
			events = append(events, iv.Events)
			wantOpen := int64(2)
			if i == len(rec.Intervals)-1 {
				wantOpen = 0 // the end of the run
			}
			if iv.T != time.Duration(i)*time.Second || !approx(iv.HeadlineP99, 5*time.Millisecond) || iv.Open != wantOpen {
				t.Errorf("interval %d: T %v, headline p99 %v, open %d; want %ds, 5ms, %d", i, iv.T, iv.HeadlineP99, iv.Open, i, wantOpen)
			}
		}
		if !slices.Equal(events, []int64{6, 6, 6, 8, 6}) {
			t.Errorf("events per second %v, want [6 6 6 8 6]", events)
		}
		if rec.Intervals[0].Established != 2 || rec.Intervals[0].Opened != 2 {
			t.Errorf("first second: %+v, want 2 opened and established", rec.Intervals[0])
		}
		if len(progress) < 4 {
			t.Fatalf("%d progress calls, want one a second", len(progress))
		}
		if p := progress[0]; !p.Warmup || p.HeadlineOK || p.EventsPerSec != 6 || p.Open != 2 || p.Target != 2 {
			t.Errorf("progress at 1s: %+v", p)
		}
		if p := progress[3]; p.Warmup || !p.HeadlineOK || p.Headline != Delivery || !approx(p.HeadlineP99, 5*time.Millisecond) {
			t.Errorf("progress at 4s: %+v", p)
		}
	})
}

// request is a fake request session of the open model: a poll that takes
// serve(start) and reports its exchange the way a client would, with
// Intended equal to its own start, unaware of any schedule.
type request struct {
	log      *sessionLog
	serve    func(start time.Time) time.Duration
	measured *Hist // closed-loop latencies, End − Start, for comparison
	mu       sync.Mutex
}

func (q *request) session(n int, intended time.Time) transport.Session {
	return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
		start := time.Now()
		if transport.Wait(ctx, q.serve(start)) != nil {
			return nil
		}
		end := time.Now()
		obs.Exchange(&transport.Exchange{Intended: start, Start: start, Headers: end, End: end, Status: 200})
		q.log.add(logged{I: n, Start: start.Sub(q.log.start), End: end.Sub(q.log.start), Intended: intended.Sub(q.log.start)})
		q.mu.Lock()
		q.measured.Record(end.Sub(start))
		q.mu.Unlock()
		return nil
	})
}

// stall answers in 1 ms, except that a request arriving in [from, to)
// waits until to: the server stalls.
func stall(base time.Time, from, to time.Duration) func(time.Time) time.Duration {
	return func(start time.Time) time.Duration {
		if off := start.Sub(base); off >= from && off < to {
			return to - off
		}
		return time.Millisecond
	}
}

// TestEngineOpenModelCoordinatedOmission: one worker, 100 requests/s, a
// server that stalls for a second. Latency counted from the intended time
// shows the stall in every request that waited; the closed-loop numbers of
// the same run (End − Start) hide it.
func TestEngineOpenModelCoordinatedOmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		q := &request{log: log, serve: stall(log.start, time.Second, 2*time.Second), measured: NewHist()}
		e := &Engine{
			Plan:       Plan{Rate: 100, MaxInFlight: 1, MaxLate: 2 * time.Second, Duration: 3 * time.Second},
			NewRequest: q.session,
		}
		rec := runEngine(t, e, t.Context())
		runs := log.snapshot()
		if len(runs) != 300 || rec.Counters[Requests] != 300 || rec.Hists[Request].Count() != 300 {
			t.Fatalf("%d requests ran, %d recorded, %d request values; want 300", len(runs), rec.Counters[Requests], rec.Hists[Request].Count())
		}
		for _, r := range runs {
			if want := time.Duration(r.I) * 10 * time.Millisecond; r.Intended != want {
				t.Fatalf("request %d intended at %v, want %v", r.I, r.Intended, want)
			}
		}
		// Requests 101 … 210 waited for the worker: 2s + (k−101)ms vs k·10ms.
		if rec.Counters[LateStarts] != 110 || rec.Counters[Dropped] != 0 {
			t.Errorf("late starts %d, dropped %d; want 110 and 0", rec.Counters[LateStarts], rec.Counters[Dropped])
		}
		open, closed := rec.Hists[Request].Quantile(99), q.measured.Quantile(99)
		if open < 900*time.Millisecond || rec.Hists[Request].Max() < 990*time.Millisecond {
			t.Errorf("open-model p99 %v, max %v: the stall is not in the histogram", open, rec.Hists[Request].Max())
		}
		if closed != time.Millisecond {
			t.Errorf("closed-loop p99 %v, want 1ms (it hides the stall)", closed)
		}
		if Headline, _ := Headline(rec); Headline != Request {
			t.Errorf("headline %v, want request", Headline)
		}
	})
}

// TestEngineDrops: at MaxInFlight, a request that cannot start within
// MaxLate of its intended time is dropped and counted.
func TestEngineDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		q := &request{log: log, serve: stall(log.start, time.Second, 2005*time.Millisecond), measured: NewHist()}
		e := &Engine{
			Plan:       Plan{Rate: 100, MaxInFlight: 1, MaxLate: 100 * time.Millisecond, Duration: 3 * time.Second},
			NewRequest: q.session,
		}
		rec := runEngine(t, e, t.Context())
		// 101 … 190 give up at k·10ms + 100ms ≤ 2s; 191 starts at 2.005s;
		// 191 … 201 start late.
		if rec.Counters[Dropped] != 90 || rec.Counters[LateStarts] != 11 || rec.Counters[Requests] != 210 {
			t.Errorf("dropped %d, late %d, requests %d; want 90, 11, 210",
				rec.Counters[Dropped], rec.Counters[LateStarts], rec.Counters[Requests])
		}
		if rec.Counters[SessionsStarted] != 210 {
			t.Errorf("sessions started %d, want 210", rec.Counters[SessionsStarted])
		}
	})
}

// TestEngineOpenModelStages: a ramping arrival rate, each request started
// exactly at its intended time.
func TestEngineOpenModelStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		q := &request{log: log, serve: stall(log.start, 0, 0), measured: NewHist()}
		pacer := Stages{{2 * time.Second, 100}, {time.Second, 100}}
		rec := runEngine(t, &Engine{Plan: Plan{Pacer: pacer}, NewRequest: q.session}, t.Context())
		runs := log.snapshot()
		// ∫ = 100 over the ramp, 100 over the hold; hit 200 is due at the end.
		if len(runs) != 200 || rec.Counters[LateStarts] != 0 {
			t.Fatalf("%d requests, %d late; want 200, 0", len(runs), rec.Counters[LateStarts])
		}
		for _, r := range runs {
			want, _ := pacer.Hit(uint64(r.I))
			if r.Intended != want || r.Start != want {
				t.Fatalf("request %d intended %v started %v, want both %v", r.I, r.Intended, r.Start, want)
			}
		}
		if got := rec.Hists[Request].Max(); got != time.Millisecond {
			t.Errorf("request max %v, want 1ms", got)
		}
	})
}

// TestEngineOpenModelDrain: requests in flight at the planned end are let
// finish, so the slowest are not cut from the histogram.
func TestEngineOpenModelDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		q := &request{log: log, serve: stall(log.start, 900*time.Millisecond, 1500*time.Millisecond), measured: NewHist()}
		rec := runEngine(t, &Engine{Plan: Plan{Rate: 10, Duration: time.Second}, NewRequest: q.session}, t.Context())
		if rec.Counters[Requests] != 10 || !approx(rec.Hists[Request].Max(), 600*time.Millisecond) {
			t.Errorf("requests %d, max %v; want 10 and the last one's 600ms", rec.Counters[Requests], rec.Hists[Request].Max())
		}
		if got := rec.End.Sub(rec.Start); got != 1500*time.Millisecond {
			t.Errorf("run took %v, want 1.5s (drained)", got)
		}
	})
}

// TestEngineInterrupt: cancelling mid-ramp stops starting sessions,
// cancels the running ones and returns what was measured, marked.
func TestEngineInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		s := stream{log: log, period: 40 * time.Millisecond, lat: 2 * time.Millisecond}
		ctx, cancel := context.WithCancelCause(t.Context())
		go func() {
			time.Sleep(350 * time.Millisecond)
			cancel(errors.New("interrupted: SIGINT"))
		}()
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 10, RampRate: 10, Duration: 10 * time.Second}, NewSession: s.session}, ctx)
		if !rec.Interrupted || rec.Reason != "interrupted: SIGINT" {
			t.Errorf("Interrupted %v, Reason %q; want true, the cause", rec.Interrupted, rec.Reason)
		}
		if got := rec.End.Sub(rec.Start); got != 350*time.Millisecond {
			t.Errorf("Run returned %v after the start, want at the cancel (350ms)", got)
		}
		runs := log.snapshot()
		if len(runs) != 4 || rec.Counters[SessionsStarted] != 4 {
			t.Fatalf("%d sessions returned, %d started; want 4 and 4 (0, 100, 200, 300ms)", len(runs), rec.Counters[SessionsStarted])
		}
		for _, r := range runs {
			if r.End != 350*time.Millisecond {
				t.Errorf("session %d returned at %v, want 350ms", r.I, r.End)
			}
		}
		// Events every 40ms from each start until 350ms: 8 + 6 + 3 + 1.
		if rec.Counters[Events] != 18 || rec.Hists[Delivery].Count() != 18 {
			t.Errorf("events %d, delivery values %d; want 18", rec.Counters[Events], rec.Hists[Delivery].Count())
		}
		if len(rec.Intervals) != 1 || rec.Intervals[0].Events != 18 || rec.Intervals[0].Closed != 4 {
			t.Errorf("intervals %+v, want one with 18 events and 4 closes", rec.Intervals)
		}
		if len(rec.Errors) != 0 {
			t.Errorf("errors %v: the engine's own cancel is not an error", rec.Errors)
		}
	})
}

// TestEngineFatalSessions: sessions that fail at once are counted failed,
// their errors classed, and restarted after a backoff (or not at all).
func TestEngineFatalSessions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		restart     time.Duration
		minStarts   int64
		maxStarts   int64
		wantSeconds int
	}{
		{"restarted with backoff", time.Second, 2 * 4, 2 * 20, 10},
		{"never restarted", -1, 2, 2, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bothWays(t, func(t *testing.T, wrap func(transport.Session) transport.Session) {
				synctest.Test(t, func(t *testing.T) {
					deny := func(int) transport.Session {
						return wrap(sessionFunc(func(ctx context.Context, obs transport.Observer) error {
							if transport.Wait(ctx, 20*time.Millisecond) != nil {
								return nil
							}
							e := &transport.Error{Class: transport.ClassHTTP4xx, Code: 401, Err: errors.New("401 Unauthorized"), Fatal: true}
							obs.Error(e)
							return e
						}))
					}
					rec := runEngine(t, &Engine{Plan: Plan{Connections: 2, Duration: 10 * time.Second, RestartDelay: tc.restart}, NewSession: deny}, t.Context())
					started, failed := rec.Counters[SessionsStarted], rec.Counters[SessionsFailed]
					if started < tc.minStarts || started > tc.maxStarts || failed != started {
						t.Errorf("started %d, failed %d; want %d…%d, all failed", started, failed, tc.minStarts, tc.maxStarts)
					}
					if ec := rec.Errors[transport.ClassHTTP4xx]; ec == nil || ec.Count != failed || ec.Example != "401 Unauthorized" {
						t.Errorf("errors %v, want %d http_4xx with an example", rec.Errors, failed)
					}
					var ivFailed, ivErrors int64
					for _, iv := range rec.Intervals {
						ivFailed += iv.Failed
						ivErrors += iv.Errors
					}
					if ivFailed != failed || ivErrors != failed || len(rec.Intervals) != tc.wantSeconds {
						t.Errorf("intervals: %d failed, %d errors in %d seconds; want %d, %d in %d", ivFailed, ivErrors,
							len(rec.Intervals), failed, failed, tc.wantSeconds)
					}
				})
			})
		})
	}
}

// TestEngineMissedTicks: a generator too busy to close an interval on time
// (here its progress display blocks for 2.5 s, so the interval ticker drops
// a tick) still reports one interval per second of the run, with the
// counts of the late seconds spread over them and none lost.
func TestEngineMissedTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		// One session, an event every 100 ms from 50 ms on.
		s := stream{log: log, handshake: 50 * time.Millisecond, period: 100 * time.Millisecond}
		stalled := false
		e := &Engine{
			Plan:       Plan{Connections: 1, Duration: 6 * time.Second},
			NewSession: s.session,
			Progress: func(Progress) {
				if !stalled {
					stalled = true
					time.Sleep(2500 * time.Millisecond) // the 2 s tick comes late, the 3 s one never
				}
			},
		}
		rec := runEngine(t, e, t.Context())
		var sum int64
		var counts []int64
		for i, iv := range rec.Intervals {
			if iv.T != time.Duration(i)*time.Second {
				t.Errorf("interval %d starts at %v, want %ds", i, iv.T, i)
			}
			sum += iv.Events
			counts = append(counts, iv.Events)
		}
		if len(rec.Intervals) != 6 || sum != rec.Counters[Events] {
			t.Errorf("%d intervals with %d events in all (%v); want 6 holding all %d events", len(rec.Intervals), sum, counts, rec.Counters[Events])
		}
		// Seconds 1 and 2 were closed together at 3.5 s: 25 events, spread.
		if len(counts) == 6 && (counts[1] != 12 || counts[2] != 13) {
			t.Errorf("seconds 1 and 2 hold %d and %d events, want the 25 of 1 s…3.5 s spread as 12 and 13", counts[1], counts[2])
		}
	})
}

// TestEngineConnectingCutOff: held sessions whose connection is still being
// made when the run ends are counted in connecting_cut_off, not in connects
// and not as errors, so every started session is accounted for.
func TestEngineConnectingCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		session := func(i int) transport.Session {
			return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
				if i%2 == 0 {
					now := time.Now()
					obs.Connected(&transport.Connect{Start: now, Headers: now})
				}
				<-ctx.Done() // odd sessions: a dial that outlasts the run
				return ctx.Err()
			})
		}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 4, Duration: 2 * time.Second}, NewSession: session}, t.Context())
		got := [4]int64{rec.Counters[SessionsStarted], rec.Counters[Connects], rec.Counters[ConnectingCutOff], rec.Counters[SessionsFailed]}
		if want := [4]int64{4, 2, 2, 0}; got != want || len(rec.Errors) != 0 {
			t.Errorf("sessions_started, connects, connecting_cut_off, sessions_failed = %v, want %v; errors %v", got, want, rec.Errors)
		}
	})
}

// TestEngineTargetDies: the target stops answering mid-run; sessions report
// resets and refusals while they retry, and the run still returns all of it.
func TestEngineTargetDies(t *testing.T) {
	bothWays(t, testEngineTargetDies)
}

func testEngineTargetDies(t *testing.T, wrap func(transport.Session) transport.Session) {
	synctest.Test(t, func(t *testing.T) {
		log := &sessionLog{start: time.Now()}
		death := log.start.Add(2*time.Second + 10*time.Millisecond)
		s := stream{log: log, handshake: 5 * time.Millisecond, period: 100 * time.Millisecond, lat: 3 * time.Millisecond,
			dies: func(now time.Time) bool { return !now.Before(death) }}
		session := func(i int) transport.Session { return wrap(s.session(i)) }
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 3, Duration: 5 * time.Second}, NewSession: session}, t.Context())
		if rec.Interrupted {
			t.Error("a dead target is no interruption")
		}
		// Events at 105ms … 2005ms: 20 per session.
		if rec.Counters[Events] != 60 {
			t.Errorf("events %d, want 60", rec.Counters[Events])
		}
		if ec := rec.Errors[transport.ClassReset]; ec == nil || ec.Count != 3 {
			t.Errorf("resets %v, want 3", rec.Errors[transport.ClassReset])
		}
		// Each session retries every 505ms from 2.105s: 6 refusals by 5s.
		if ec := rec.Errors[transport.ClassRefused]; ec == nil || ec.Count != 18 {
			t.Errorf("refusals %v, want 18", rec.Errors[transport.ClassRefused])
		}
		if rec.Counters[SessionsFailed] != 0 || rec.Counters[Connects] != 3 {
			t.Errorf("failed %d, connects %d; want 0 and 3", rec.Counters[SessionsFailed], rec.Counters[Connects])
		}
		var errs []int64
		for _, iv := range rec.Intervals {
			errs = append(errs, iv.Errors)
		}
		if !slices.Equal(errs, []int64{0, 0, 9, 6, 6}) {
			t.Errorf("errors per second %v, want [0 0 9 6 6]", errs)
		}
	})
}

// TestEngineStopTimeout: a session that ignores its cancel does not hold the
// run: the Recording comes back after StopTimeout, saying so.
func TestEngineStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		returned := make(chan struct{})
		stubborn := func(int) transport.Session {
			return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
				defer close(returned)
				obs.Connected(&transport.Connect{Start: time.Now(), Headers: time.Now()})
				<-ctx.Done()
				time.Sleep(time.Minute) // ignores the cancel for a minute
				return nil
			})
		}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 1, Duration: time.Second, StopTimeout: 2 * time.Second}, NewSession: stubborn}, t.Context())
		if got := rec.End.Sub(rec.Start); got != 3*time.Second {
			t.Errorf("Run returned after %v, want 3s (1s run + 2s stop timeout)", got)
		}
		if !strings.Contains(rec.Reason, "1 sessions had not returned") || rec.Interrupted {
			t.Errorf("Reason %q, Interrupted %v", rec.Reason, rec.Interrupted)
		}
		if rec.Counters[Connects] != 1 {
			t.Errorf("connects %d, want 1: the stuck session's values are kept", rec.Counters[Connects])
		}
		<-returned
	})
}

func TestEngineSelfCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := stream{log: &sessionLog{start: time.Now()}, period: time.Second}
		rec := runEngine(t, &Engine{Plan: Plan{Connections: 1, Duration: 2 * time.Second}, NewSession: s.session}, t.Context())
		if n := rec.SelfCheck.Count(); n < 1990 || n > 2000 {
			t.Errorf("self-check values %d, want about 2000 (one a millisecond)", n)
		}
		if rec.SelfCheck.Max() != 0 || Saturated(rec) {
			t.Errorf("self-check max %v on a fake clock, want 0, not saturated", rec.SelfCheck.Max())
		}
	})
}

func TestPlanErrors(t *testing.T) {
	session := func(int) transport.Session { return nil }
	request := func(int, time.Time) transport.Session { return nil }
	for _, tc := range []struct {
		name string
		e    Engine
		want string
	}{
		{"no duration", Engine{Plan: Plan{Connections: 1}, NewSession: session}, "needs a duration"},
		{"no connections", Engine{Plan: Plan{Duration: time.Second}, NewSession: session}, "connections 0"},
		{"warmup too long", Engine{Plan: Plan{Connections: 1, Duration: time.Second, Warmup: time.Second}, NewSession: session}, "warmup"},
		{"two ramps", Engine{Plan: Plan{Connections: 1, Duration: time.Second, RampRate: 1, RampTime: time.Second}, NewSession: session}, "not both"},
		{"stages and ramp", Engine{Plan: Plan{Stages: Stages{{time.Second, 1}}, RampRate: 1}, NewSession: session}, "cannot be combined"},
		{"bad stage", Engine{Plan: Plan{Stages: Stages{{time.Second, -1}}}, NewSession: session}, "stage 1"},
		{"open without NewRequest", Engine{Plan: Plan{Rate: 10, Duration: time.Second}, NewSession: session}, "needs NewRequest"},
		{"closed without NewSession", Engine{Plan: Plan{Connections: 1, Duration: time.Second}, NewRequest: request}, "needs NewSession"},
		{"negative rate", Engine{Plan: Plan{Rate: -1, Connections: 1, Duration: time.Second}, NewSession: session}, "rate -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tc.e.Run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || rec != nil {
				t.Errorf("Run() = %v, %v; want an error containing %q", rec, err, tc.want)
			}
		})
	}
}

// goid is the calling goroutine's id, read from its stack header.
func goid() string {
	var b [64]byte
	s := string(b[:runtime.Stack(b[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	id, _, _ := strings.Cut(s, " ")
	return id
}

// TestEngineOpenModelReusesWorkers: a request that ends before the next one
// is due leaves its goroutine to run the next: 100 requests at 100/s, each
// 1 ms, run on one goroutine, not 100 (a goroutine per request, its stack
// grown anew each time, was what a high rate paid for). A request that
// finds no idle worker gets a new one: 10 requests in flight at once run on
// 10. Each worker records with one Recorder, reset between its requests.
func TestEngineOpenModelReusesWorkers(t *testing.T) {
	for _, tt := range []struct {
		name      string
		serve     time.Duration
		wantGoIDs int
	}{
		{"one-at-a-time", time.Millisecond, 1},
		{"ten-in-flight", 95 * time.Millisecond, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				ids := map[string]bool{}
				recs := map[transport.Observer]bool{}
				e := &Engine{
					Plan: Plan{Rate: 100, Duration: time.Second},
					NewRequest: func(n int, intended time.Time) transport.Session {
						return sessionFunc(func(ctx context.Context, obs transport.Observer) error {
							mu.Lock()
							ids[goid()] = true
							recs[obs] = true
							mu.Unlock()
							start := time.Now()
							transport.Wait(ctx, tt.serve)
							obs.Exchange(&transport.Exchange{Intended: intended, Start: start, End: time.Now(), Status: 200})
							return nil
						})
					},
				}
				rec := runEngine(t, e, t.Context())
				if got := rec.Counters[Requests]; got != 100 {
					t.Fatalf("%d requests, want 100", got)
				}
				if len(ids) != tt.wantGoIDs {
					t.Errorf("the requests ran on %d goroutines, want %d", len(ids), tt.wantGoIDs)
				}
				if len(recs) != tt.wantGoIDs {
					t.Errorf("the requests were recorded by %d recorders, want one per worker (%d)", len(recs), tt.wantGoIDs)
				}
			})
		})
	}
}
