package bench

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
)

var recT0 = time.Unix(1_700_000_000, 0)

func recAt(d time.Duration) time.Time { return recT0.Add(d) }

const msec = time.Millisecond

// stamped is a message event at arrival t with the given seq (0: none) and
// server stamps (zero: none).
func stamped(t time.Time, seq uint64, sched, sent time.Time) *transport.Event {
	e := &transport.Event{Kind: transport.KindMessage, At: t, FirstByte: t, Size: 40}
	if seq > 0 {
		e.Stamp.Seq, e.Stamp.HasSeq = seq, true
	}
	if !sched.IsZero() {
		e.Stamp.SchedNS, e.Stamp.HasSched = sched.UnixNano(), true
	}
	if !sent.IsZero() {
		e.Stamp.SentNS, e.Stamp.HasSent = sent.UnixNano(), true
	}
	return e
}

func seqEvent(seq uint64) *transport.Event {
	return stamped(recAt(time.Second), seq, time.Time{}, time.Time{})
}

func token(t time.Time, text string) *transport.Event {
	return &transport.Event{Kind: transport.KindToken, At: t, Data: []byte(text)}
}

type step func(r *Recorder)

func connect(c transport.Connect) step { return func(r *Recorder) { r.Connected(&c) } }
func event(e *transport.Event) step    { return func(r *Recorder) { r.Event(e) } }
func exchange(x transport.Exchange) step {
	return func(r *Recorder) { r.Exchange(&x) }
}
func closed() step                { return func(r *Recorder) { r.Closed(&transport.Close{}) } }
func fail(e transport.Error) step { return func(r *Recorder) { r.Error(&e) } }
func echo(d time.Duration) step {
	return func(r *Recorder) { r.Event(&transport.Event{Kind: transport.KindEcho, RTT: d, At: recAt(d)}) }
}
func seqs(ns ...uint64) (s []step) {
	for _, n := range ns {
		s = append(s, event(seqEvent(n)))
	}
	return s
}

func join(parts ...[]step) []step { return slices.Concat(parts...) }

// recordSteps runs steps through one recorder and returns what its shard
// holds, merged as the engine merges it.
func recordSteps(measureFrom, intended time.Time, steps []step) (*Recording, ivCounts) {
	s := &shard{}
	r := newRecorder(s, measureFrom, intended)
	for _, st := range steps {
		st(r)
	}
	r.flush()
	rec := NewRecording()
	(&shards{s: []*shard{s}}).mergeInto(rec)
	return rec, s.iv
}

func histOf(ds ...time.Duration) *Hist {
	h := NewHist()
	for _, d := range ds {
		h.Record(d)
	}
	return h
}

func TestRecorderObservations(t *testing.T) {
	for _, tc := range []struct {
		name        string
		measureFrom time.Time
		intended    time.Time
		steps       []step
		hists       map[Metric][]time.Duration // every other histogram must be empty
		counters    map[Counter]int64          // every other counter must be 0
		iv          ivCounts
	}{
		{
			name: "new connection: phases, handshake, connect (tcp + tls), ttfb",
			steps: []step{connect(transport.Connect{Start: recT0, Headers: recAt(30 * msec),
				DNS: 2 * msec, TCP: 3 * msec, TLS: 10 * msec})},
			hists: map[Metric][]time.Duration{Handshake: {30 * msec}, Connect: {13 * msec}, DNS: {2 * msec}, TCP: {3 * msec},
				TLS: {10 * msec}, TTFB: {30 * msec}},
			counters: map[Counter]int64{Connects: 1},
			iv:       ivCounts{established: 1},
		},
		{
			name:     "a reconnect",
			steps:    []step{connect(transport.Connect{Attempt: 2, Start: recT0, Headers: recAt(5 * msec)})},
			hists:    map[Metric][]time.Duration{Handshake: {5 * msec}, TTFB: {5 * msec}},
			counters: map[Counter]int64{Connects: 1, Reconnects: 1},
			iv:       ivCounts{established: 1},
		},
		{
			name:  "a reused keep-alive connection is no new connection",
			steps: []step{connect(transport.Connect{Reused: true, Start: recT0, Headers: recAt(7 * msec)})},
			hists: map[Metric][]time.Duration{TTFB: {7 * msec}},
		},
		{
			name: "an HTTP/2 stream on an open connection: a session's connect, no handshake",
			steps: []step{connect(transport.Connect{Reused: true, Proto: "HTTP/2.0", Start: recT0, Headers: recAt(2 * msec)}),
				closed(), connect(transport.Connect{Reused: true, Proto: "HTTP/2.0", Attempt: 1, Start: recAt(10 * msec), Headers: recAt(12 * msec)})},
			hists:    map[Metric][]time.Duration{TTFB: {2 * msec, 2 * msec}},
			counters: map[Counter]int64{Connects: 2, Reconnects: 1},
			iv:       ivCounts{established: 2, closed: 1},
		},
		{
			name: "a reconnect on a reused connection ends the wait",
			steps: []step{connect(transport.Connect{Start: recT0, Headers: recAt(msec)}),
				func(r *Recorder) { r.Closed(&transport.Close{At: recAt(10 * msec), Reconnect: true}) },
				connect(transport.Connect{Reused: true, Proto: "HTTP/2.0", Attempt: 1, Start: recAt(40 * msec), Headers: recAt(50 * msec)})},
			hists:    map[Metric][]time.Duration{Handshake: {msec}, TTFB: {msec, 10 * msec}, Reconnect: {40 * msec}},
			counters: map[Counter]int64{Connects: 2, Reconnects: 1},
			iv:       ivCounts{established: 2, closed: 1},
		},
		{
			name: "stamped events: first event, delivery, wire, gap, bytes",
			steps: []step{
				connect(transport.Connect{Start: recT0, Headers: recAt(10 * msec)}),
				event(stamped(recAt(100*msec), 0, recAt(95*msec), recAt(99*msec))),
				event(stamped(recAt(250*msec), 0, recAt(230*msec), recAt(248*msec))),
			},
			hists: map[Metric][]time.Duration{Handshake: {10 * msec}, TTFB: {10 * msec}, FirstEvent: {100 * msec},
				Delivery: {5 * msec, 20 * msec}, Wire: {msec, 2 * msec}, Gap: {150 * msec}},
			counters: map[Counter]int64{Connects: 1, Events: 2, Bytes: 80},
			iv:       ivCounts{established: 1, events: 2, bytes: 80},
		},
		{
			name: "first event and gap restart with each connection",
			steps: []step{
				connect(transport.Connect{Start: recT0, Headers: recAt(10 * msec)}),
				event(stamped(recAt(20*msec), 0, time.Time{}, time.Time{})),
				closed(),
				connect(transport.Connect{Attempt: 1, Start: recAt(500 * msec), Headers: recAt(510 * msec)}),
				event(stamped(recAt(540*msec), 0, time.Time{}, time.Time{})),
				event(stamped(recAt(560*msec), 0, time.Time{}, time.Time{})),
			},
			hists: map[Metric][]time.Duration{Handshake: {10 * msec, 10 * msec}, TTFB: {10 * msec, 10 * msec},
				FirstEvent: {20 * msec, 40 * msec}, Gap: {20 * msec}},
			counters: map[Counter]int64{Connects: 2, Reconnects: 1, Events: 3, Bytes: 120},
			iv:       ivCounts{established: 2, closed: 1, events: 3, bytes: 120},
		},
		{
			name:     "size falls back to the data length",
			steps:    []step{event(&transport.Event{At: recT0, Data: []byte("hello")})},
			counters: map[Counter]int64{Events: 1, Bytes: 5},
			iv:       ivCounts{events: 1, bytes: 5},
		},
		{
			name:     "negative delivery: clock skew counted, recorded as 0",
			steps:    []step{event(stamped(recAt(100*msec), 0, recAt(103*msec), recAt(101*msec)))},
			hists:    map[Metric][]time.Duration{Delivery: {-3 * msec}, Wire: {-msec}},
			counters: map[Counter]int64{Events: 1, Bytes: 40, ClockSkewNegative: 1},
			iv:       ivCounts{events: 1, bytes: 40},
		},
		{
			name:     "ts field when there is no sched_ns",
			steps:    []step{event(&transport.Event{At: recAt(100 * msec), Size: 1, Stamp: transport.Stamp{Clock: recAt(90 * msec).UnixNano(), HasClock: true}})},
			hists:    map[Metric][]time.Duration{Delivery: {10 * msec}},
			counters: map[Counter]int64{Events: 1, Bytes: 1},
			iv:       ivCounts{events: 1, bytes: 1},
		},
		{
			name:     "pong: ping rtt only",
			steps:    []step{event(&transport.Event{Kind: transport.KindPong, At: recT0, RTT: 4 * msec})},
			hists:    map[Metric][]time.Duration{PingRTT: {4 * msec}},
			counters: map[Counter]int64{},
		},
		{
			name:     "seq: a gap is lost",
			steps:    seqs(1, 2, 3, 6, 7),
			hists:    map[Metric][]time.Duration{Gap: {0, 0, 0, 0}},
			counters: map[Counter]int64{Events: 5, Bytes: 200, Lost: 2},
			iv:       ivCounts{events: 5, bytes: 200},
		},
		{
			name:     "seq: a late arrival is out of order and no longer lost; a repeat is a duplicate",
			steps:    seqs(1, 2, 4, 5, 3, 3, 5, 1),
			hists:    map[Metric][]time.Duration{Gap: {0, 0, 0, 0, 0, 0, 0}},
			counters: map[Counter]int64{Events: 8, Bytes: 320, OutOfOrder: 1, Duplicates: 3},
			iv:       ivCounts{events: 8, bytes: 320},
		},
		{
			name:     "seq: far behind the window is out of order",
			steps:    seqs(1, 200, 100),
			hists:    map[Metric][]time.Duration{Gap: {0, 0}},
			counters: map[Counter]int64{Events: 3, Bytes: 120, Lost: 198, OutOfOrder: 1},
			iv:       ivCounts{events: 3, bytes: 120},
		},
		{
			name:     "seq: a resumed stream continues across the reconnect",
			steps:    join(seqs(1, 2, 3), []step{closed(), connect(transport.Connect{Attempt: 1})}, seqs(4, 5)),
			hists:    map[Metric][]time.Duration{Gap: {0, 0, 0}},
			counters: map[Counter]int64{Events: 5, Bytes: 200, Connects: 1, Reconnects: 1},
			iv:       ivCounts{events: 5, bytes: 200, closed: 1, established: 1},
		},
		{
			name:     "seq: events missed while disconnected are lost",
			steps:    join(seqs(1, 2), []step{closed(), connect(transport.Connect{Attempt: 1})}, seqs(6)),
			hists:    map[Metric][]time.Duration{Gap: {0}},
			counters: map[Counter]int64{Events: 3, Bytes: 120, Connects: 1, Reconnects: 1, Lost: 3},
			iv:       ivCounts{events: 3, bytes: 120, closed: 1, established: 1},
		},
		{
			name:     "seq: the last event replayed after a resume is a duplicate",
			steps:    join(seqs(1, 2), []step{closed()}, seqs(2, 3)),
			hists:    map[Metric][]time.Duration{Gap: {0, 0}},
			counters: map[Counter]int64{Events: 4, Bytes: 160, Duplicates: 1},
			iv:       ivCounts{events: 4, bytes: 160, closed: 1},
		},
		{
			name:     "seq: a new connection numbering from 1 starts a new sequence",
			steps:    join(seqs(10, 11), []step{closed()}, seqs(1, 2, 4)),
			hists:    map[Metric][]time.Duration{Gap: {0, 0, 0}},
			counters: map[Counter]int64{Events: 5, Bytes: 200, Lost: 1},
			iv:       ivCounts{events: 5, bytes: 200, closed: 1},
		},
		{
			name: "polls: skipped states are not lost, going back is out of order",
			steps: join(seqs(5), []step{exchange(transport.Exchange{Start: recT0, End: recAt(msec), Changed: true})},
				seqs(9), []step{exchange(transport.Exchange{Start: recT0, End: recAt(msec), Changed: true})},
				seqs(8), []step{exchange(transport.Exchange{Start: recT0, End: recAt(msec), Changed: true})},
				seqs(10)),
			hists:    map[Metric][]time.Duration{Gap: {0, 0, 0}, Request: {msec, msec, msec}},
			counters: map[Counter]int64{Events: 4, Bytes: 160, Requests: 3, OutOfOrder: 1},
			iv:       ivCounts{events: 4, bytes: 160, requests: 3},
		},
		{
			name: "poll: request from the intended time, staleness from the state's sched",
			steps: []step{
				event(stamped(recAt(5*msec), 7, recAt(-500*msec), recAt(4*msec))),
				exchange(transport.Exchange{Intended: recAt(-2 * msec), Start: recT0, Headers: recAt(3 * msec), End: recAt(10 * msec), Changed: true}),
				exchange(transport.Exchange{Start: recAt(time.Second), End: recAt(time.Second + 4*msec)}),
			},
			hists: map[Metric][]time.Duration{Delivery: {505 * msec}, Wire: {msec},
				Request: {12 * msec, 4 * msec}, Staleness: {510 * msec}, StartLag: {2 * msec}},
			counters: map[Counter]int64{Events: 1, Bytes: 40, Requests: 2},
			iv:       ivCounts{events: 1, bytes: 40, requests: 2},
		},
		{
			name:     "open model: the engine's intended time wins over the exchange's",
			intended: recAt(-50 * msec),
			steps:    []step{exchange(transport.Exchange{Intended: recT0, Start: recT0, End: recAt(10 * msec)})},
			hists:    map[Metric][]time.Duration{Request: {60 * msec}, StartLag: {50 * msec}},
			counters: map[Counter]int64{Requests: 1},
			iv:       ivCounts{requests: 1},
		},
		{
			name:     "AI stream: ttft, itl per chunk, tpot, e2e, tokens from the exchange",
			intended: recAt(-10 * msec),
			steps: []step{
				connect(transport.Connect{Start: recT0, Headers: recAt(40 * msec)}),
				event(token(recAt(100*msec), "Hel")),
				event(token(recAt(120*msec), "lo")),
				event(token(recAt(150*msec), " world")),
				exchange(transport.Exchange{Format: "openai", Start: recT0, Headers: recAt(40 * msec), First: recAt(100 * msec),
					End: recAt(210 * msec), Chunks: 3, Tokens: 5, TokensFromUsage: true, Complete: true}),
			},
			hists: map[Metric][]time.Duration{Handshake: {40 * msec}, TTFB: {40 * msec}, FirstEvent: {100 * msec},
				Gap: {20 * msec, 30 * msec}, ITLChunk: {20 * msec, 30 * msec},
				TTFT: {110 * msec}, E2E: {220 * msec}, TPOT: {110 * msec / 4}, StartLag: {10 * msec}},
			counters: map[Counter]int64{Connects: 1, Events: 3, Bytes: 11, Requests: 1, Tokens: 5},
			iv:       ivCounts{established: 1, events: 3, bytes: 11, requests: 1},
		},
		{
			name: "AI stream without usage: tpot is per chunk (tpot_chunk), not per token",
			steps: []step{exchange(transport.Exchange{Format: "openai", Start: recT0, First: recAt(100 * msec),
				End: recAt(200 * msec), Chunks: 5, Tokens: 5, Complete: true})},
			hists:    map[Metric][]time.Duration{TTFT: {100 * msec}, E2E: {200 * msec}, TPOTChunk: {25 * msec}},
			counters: map[Counter]int64{Requests: 1, Tokens: 5, TokensFromDeltas: 1},
			iv:       ivCounts{requests: 1},
		},
		{
			name: "AI stream cut off by the run's end: cut_off only, its ttft kept, no e2e, tpot, tokens or request",
			steps: []step{
				event(token(recAt(300*msec), "Hel")),
				event(token(recAt(320*msec), "lo")),
				exchange(transport.Exchange{Format: "openai", Start: recT0, First: recAt(300 * msec),
					End: recAt(350 * msec), Chunks: 2, Tokens: 2, CutOff: true}),
			},
			hists:    map[Metric][]time.Duration{TTFT: {300 * msec}, Gap: {20 * msec}, ITLChunk: {20 * msec}},
			counters: map[Counter]int64{CutOff: 1, Events: 2, Bytes: 5},
			iv:       ivCounts{events: 2, bytes: 5},
		},
		{
			name:     "a poll cut off in flight: cut_off only",
			steps:    []step{exchange(transport.Exchange{Intended: recT0, Start: recT0, End: recAt(40 * msec), CutOff: true, Lean: true})},
			counters: map[Counter]int64{CutOff: 1},
		},
		{
			name: "polls over the lean client and net/http: lean_requests counts the lean ones",
			steps: []step{
				exchange(transport.Exchange{Intended: recT0, Start: recT0, End: recAt(10 * msec), Status: 200, Lean: true}),
				exchange(transport.Exchange{Intended: recT0, Start: recT0, End: recAt(20 * msec), Status: 200}),
			},
			hists:    map[Metric][]time.Duration{Request: {10 * msec, 20 * msec}, StartLag: {0, 0}},
			counters: map[Counter]int64{Requests: 2, LeanRequests: 1},
			iv:       ivCounts{requests: 2},
		},
		{
			name:     "AI stream of one token: no tpot",
			steps:    []step{exchange(transport.Exchange{Format: "anthropic", Start: recT0, First: recAt(50 * msec), End: recAt(60 * msec), Tokens: 1})},
			hists:    map[Metric][]time.Duration{TTFT: {50 * msec}, E2E: {60 * msec}},
			counters: map[Counter]int64{Requests: 1, Tokens: 1, TokensFromDeltas: 1},
			iv:       ivCounts{requests: 1},
		},
		{
			name:     "echo round trips",
			steps:    []step{echo(3 * msec), echo(5 * msec)},
			hists:    map[Metric][]time.Duration{EchoRTT: {3 * msec, 5 * msec}},
			counters: map[Counter]int64{},
		},
		{
			name:        "warmup: values before MeasureFrom go to the intervals only",
			measureFrom: recAt(time.Second),
			steps: []step{
				connect(transport.Connect{Start: recT0, Headers: recAt(10 * msec)}),
				event(stamped(recAt(500*msec), 1, recAt(490*msec), time.Time{})),
				event(stamped(recAt(1500*msec), 3, recAt(1480*msec), time.Time{})),
				exchange(transport.Exchange{Start: recAt(1600 * msec), End: recAt(1610 * msec)}),
			},
			hists:    map[Metric][]time.Duration{Delivery: {20 * msec}, Gap: {time.Second}, Request: {10 * msec}, Staleness: {130 * msec}},
			counters: map[Counter]int64{Connects: 1, Events: 1, Bytes: 40, Lost: 1, Requests: 1},
			iv:       ivCounts{established: 1, events: 2, bytes: 80, requests: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, iv := recordSteps(tc.measureFrom, tc.intended, tc.steps)
			for m := range NumMetrics {
				want := histOf(tc.hists[m]...)
				if got := rec.Hists[m]; !got.Equal(want) {
					t.Errorf("%v: %d values, min %v max %v; want %d values %v", m, got.Count(), got.Min(), got.Max(), want.Count(), tc.hists[m])
				}
			}
			for c := range NumCounters {
				if got, want := rec.Counters[c], tc.counters[c]; got != want {
					t.Errorf("%v = %d, want %d", c, got, want)
				}
			}
			if iv != tc.iv {
				t.Errorf("interval counts %+v, want %+v", iv, tc.iv)
			}
			if len(rec.Errors) != 0 {
				t.Errorf("errors %v, want none", rec.Errors)
			}
		})
	}
}

func TestRecorderWarmupKeepsIntervalHeadline(t *testing.T) {
	s := &shard{}
	r := newRecorder(s, recAt(time.Second), time.Time{})
	r.Event(stamped(recAt(100*msec), 0, recAt(70*msec), time.Time{}))    // warmup
	r.Event(stamped(recAt(200*msec), 0, recAt(190*msec), time.Time{}))   // warmup
	r.Event(stamped(recAt(1100*msec), 0, recAt(1095*msec), time.Time{})) // measured
	r.flush()
	if got := s.hists[Delivery].Count(); got != 1 {
		t.Errorf("measured delivery values: %d, want 1", got)
	}
	if got := s.ivHists[headlineIndex[Delivery]]; got == nil || !got.Equal(histOf(30*msec, 10*msec, 5*msec)) {
		t.Errorf("interval delivery histogram does not hold the three values")
	}
	if s.hists[Gap] == nil || s.hists[Gap].Count() != 1 {
		t.Errorf("gap: want only the measured one")
	}
}

func TestRecorderErrors(t *testing.T) {
	reset := &transport.Error{Class: transport.ClassReset, Err: errors.New("read: connection reset by peer")}
	denied := &transport.Error{Class: transport.ClassHTTP4xx, Code: 401, Err: errors.New("401 Unauthorized"), Fatal: true}
	for _, tc := range []struct {
		name       string
		reported   []*transport.Error
		runErr     error
		stopped    bool
		wantFailed bool
		want       map[transport.Class]ErrorCount
	}{
		{name: "no errors, clean end"},
		{
			name:     "errors counted per class with the first example",
			reported: []*transport.Error{reset, {Class: transport.ClassReset, Err: errors.New("another reset")}},
			want:     map[transport.Class]ErrorCount{transport.ClassReset: {Count: 2, Example: "read: connection reset by peer"}},
		},
		{
			name:     "canceled is the engine stopping, not an error",
			reported: []*transport.Error{{Class: transport.ClassCanceled, Err: errors.New("context canceled")}},
		},
		{
			name:       "a fatal error reported and returned counts once",
			reported:   []*transport.Error{denied},
			runErr:     denied,
			wantFailed: true,
			want:       map[transport.Class]ErrorCount{transport.ClassHTTP4xx: {Count: 1, Example: "401 Unauthorized", Codes: map[int]int64{401: 1}}},
		},
		{
			name:       "a fatal error only returned is recorded",
			runErr:     denied,
			wantFailed: true,
			want:       map[transport.Class]ErrorCount{transport.ClassHTTP4xx: {Count: 1, Example: "401 Unauthorized", Codes: map[int]int64{401: 1}}},
		},
		{
			name:       "a plain error returned is classified",
			runErr:     fmt.Errorf("dial: %w", errors.New("boom")),
			wantFailed: true,
			want:       map[transport.Class]ErrorCount{transport.ClassOther: {Count: 1, Example: "dial: boom"}},
		},
		{
			name:    "an error returned after the engine cancelled is no failure",
			runErr:  errors.New("read: use of closed connection"),
			stopped: true,
		},
		{
			name:       "a fatal error reported before the stop still fails the session",
			reported:   []*transport.Error{denied},
			stopped:    true,
			wantFailed: true,
			want:       map[transport.Class]ErrorCount{transport.ClassHTTP4xx: {Count: 1, Example: "401 Unauthorized", Codes: map[int]int64{401: 1}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{}
			r := newRecorder(s, time.Time{}, time.Time{})
			r.begin()
			for _, e := range tc.reported {
				r.Error(e)
			}
			failed, _ := r.end(tc.runErr, tc.stopped)
			if failed != tc.wantFailed {
				t.Errorf("failed = %v, want %v", failed, tc.wantFailed)
			}
			rec := NewRecording()
			(&shards{s: []*shard{s}}).mergeInto(rec)
			if rec.Counters[SessionsStarted] != 1 {
				t.Errorf("sessions started %d, want 1", rec.Counters[SessionsStarted])
			}
			wantFailed := int64(0)
			if tc.wantFailed {
				wantFailed = 1
			}
			if rec.Counters[SessionsFailed] != wantFailed || s.iv.failed != wantFailed {
				t.Errorf("sessions failed %d (interval %d), want %d", rec.Counters[SessionsFailed], s.iv.failed, wantFailed)
			}
			got := map[transport.Class]ErrorCount{}
			var n int64
			for c, ec := range rec.Errors {
				got[c] = *ec
				n += ec.Count
			}
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("errors %v, want %v", got, tc.want)
			}
			if s.iv.errors != n {
				t.Errorf("interval errors %d, want %d", s.iv.errors, n)
			}
		})
	}
}

func equalMaps[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestShardsUnderConcurrency runs many sessions' recorders at once while the
// engine's tick (shards.flushDirty) flushes the ones that recorded something,
// and checks that the merged recording holds exactly the sum of what they
// observed: a recorder that buffers while the tick takes its shard's list
// is flushed then or at the next tick, never lost.
func TestShardsUnderConcurrency(t *testing.T) {
	defer goleak.VerifyNone(t)
	const sessions, events = 64, 3000
	ss := newShards(8)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() { // the tick
		defer close(ticked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ss.flushDirty()
			for _, s := range ss.s {
				s.mu.Lock()
				s.iv = ivCounts{} // taken by the interval
				s.mu.Unlock()
			}
		}
	}()
	for i := range sessions {
		r := newRecorder(ss.pick(), time.Time{}, time.Time{})
		wg.Go(func() {
			r.begin()
			r.Connected(&transport.Connect{Start: recT0, Headers: recAt(msec)})
			for n := range events {
				e := stamped(recAt(time.Duration(n)*msec), uint64(n+1), recAt(time.Duration(n)*msec-time.Duration(i)*time.Microsecond), time.Time{})
				r.Event(e)
			}
			r.Exchange(&transport.Exchange{Start: recT0, End: recAt(events * msec)})
			r.Error(&transport.Error{Class: transport.ClassReset, Err: errors.New("reset")})
			r.end(nil, false)
		})
	}
	wg.Wait()
	close(stop)
	<-ticked
	rec := NewRecording()
	ss.mergeInto(rec)
	want := map[Counter]int64{Events: sessions * events, Bytes: sessions * events * 40, Connects: sessions,
		SessionsStarted: sessions, Requests: sessions}
	for c := range NumCounters {
		if rec.Counters[c] != want[c] {
			t.Errorf("%v = %d, want %d", c, rec.Counters[c], want[c])
		}
	}
	for m, n := range map[Metric]int64{Delivery: sessions * events, Gap: sessions * (events - 1), FirstEvent: sessions,
		Handshake: sessions, TTFB: sessions, Request: sessions} {
		if got := rec.Hists[m].Count(); got != n {
			t.Errorf("%v: %d values, want %d", m, got, n)
		}
	}
	if got := rec.Hists[Delivery].Max(); got != (sessions-1)*time.Microsecond {
		t.Errorf("delivery max %v, want %v", got, (sessions-1)*time.Microsecond)
	}
	if ec := rec.Errors[transport.ClassReset]; ec == nil || ec.Count != sessions {
		t.Errorf("errors %v, want %d resets", rec.Errors, sessions)
	}
}

// BenchmarkRecorderEvent is the hot path: one stamped event into a warm
// recorder. It must not allocate.
func BenchmarkRecorderEvent(b *testing.B) {
	s := &shard{}
	r := newRecorder(s, time.Time{}, time.Time{})
	r.Connected(&transport.Connect{Start: recT0, Headers: recAt(msec)})
	e := stamped(recAt(2*msec), 1, recAt(msec), recAt(2*msec-100*time.Microsecond))
	for range 2 * SampleBuffer { // warm: every histogram allocated
		r.Event(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.At = e.At.Add(msec)
		e.Stamp.Seq++
		r.Event(e)
	}
}

func TestRecorderEventDoesNotAllocate(t *testing.T) {
	s := &shard{}
	r := newRecorder(s, time.Time{}, time.Time{})
	r.Connected(&transport.Connect{Start: recT0, Headers: recAt(msec)})
	e := stamped(recAt(2*msec), 1, recAt(msec), recAt(2*msec-100*time.Microsecond))
	for range 2 * SampleBuffer {
		r.Event(e)
	}
	if n := testing.AllocsPerRun(10*SampleBuffer, func() {
		e.At = e.At.Add(msec)
		e.Stamp.Seq++
		r.Event(e)
	}); n != 0 {
		t.Fatalf("Event allocates %v times per call once warm", n)
	}
}

// BenchmarkRecorderEventParallel: many sessions, each with its own
// recorder, sharing the shards as in a run.
func BenchmarkRecorderEventParallel(b *testing.B) {
	ss := newShards(0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := newRecorder(ss.pick(), time.Time{}, time.Time{})
		r.Connected(&transport.Connect{Start: recT0, Headers: recAt(msec)})
		e := stamped(recAt(2*msec), 1, recAt(msec), recAt(2*msec-100*time.Microsecond))
		for pb.Next() {
			e.At = e.At.Add(msec)
			e.Stamp.Seq++
			r.Event(e)
		}
		r.flush()
	})
}

// TestRecorderSampleBufferGrows: a recorder starts with InitialSampleBuffer
// samples of room and flushes it whenever it fills; it doubles it (up to
// SampleBuffer, where it keeps flushing) only when it filled more than
// GrowAfterFills times between two ticks; no sample is lost on the way.
func TestRecorderSampleBufferGrows(t *testing.T) {
	const busy = 3*SampleBuffer + 5
	tests := []struct {
		name      string
		perTick   int // samples added between two ticks
		ticks     int
		wantCap   int
		wantInBuf int // samples still buffered at the end
	}{
		{"idle", 0, 3, 0, 0},
		{"held session", 3, 5, InitialSampleBuffer, 3},
		{"fills once", InitialSampleBuffer + 1, 1, InitialSampleBuffer, 1},
		{"held session at 10/s, 3 samples an event", 30, 5, InitialSampleBuffer, 30 - 3*InitialSampleBuffer},
		{"fills as often as it may", GrowAfterFills*InitialSampleBuffer + 1, 3, InitialSampleBuffer, 1},
		{"fills once more", GrowAfterFills*InitialSampleBuffer + InitialSampleBuffer + 1, 1, 2 * InitialSampleBuffer, InitialSampleBuffer + 1},
		// 64 flushed at 8, then 8 → 128 without a flush, then one per 128
		{"busy", busy, 1, SampleBuffer, (busy - GrowAfterFills*InitialSampleBuffer) % SampleBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &shard{}
			r := newRecorder(s, time.Time{}, time.Time{})
			for tick := range tt.ticks {
				for range tt.perTick {
					r.add(Delivery, msec, true)
				}
				if tick < tt.ticks-1 {
					r.tickFlush()
				}
			}
			if got := cap(r.vals); got != tt.wantCap || cap(r.tags) != got {
				t.Errorf("capacity %d (tags %d), want %d", got, cap(r.tags), tt.wantCap)
			}
			if got := len(r.vals); got != tt.wantInBuf {
				t.Errorf("%d samples buffered, want %d", got, tt.wantInBuf)
			}
			r.flush()
			want := int64(tt.perTick * tt.ticks)
			if got := s.hist(Delivery).Count(); got != want {
				t.Errorf("shard histogram has %d values, want %d", got, want)
			}
		})
	}
}

// TestRecorderReasoningAndSources: an AI exchange's reasoning, tool chunks,
// server timings and the usage field its tokens came from reach the
// recording, and the result names the source.
func TestRecorderReasoningAndSources(t *testing.T) {
	s := &shard{}
	r := newRecorder(s, time.Time{}, time.Time{})
	r.begin()
	t0 := time.Now()
	ms := time.Millisecond
	for _, src := range []string{"eval_count", "eval_count", ""} {
		x := &transport.Exchange{Start: t0, First: t0.Add(300 * ms), End: t0.Add(600 * ms), Format: "ollama", Chunks: 10,
			Tokens: 10, TokensFromUsage: src != "", TokensSource: src, ReasoningFirst: t0.Add(100 * ms), ReasoningLast: t0.Add(250 * ms),
			ReasoningChunks: 4, ToolChunks: 1, Server: transport.ServerTiming{Load: ms, PromptEval: 9 * ms, Eval: 50 * ms, EvalCount: 10}, Complete: true}
		r.Exchange(x)
	}
	r.end(nil, false)
	rec := NewRecording()
	(&shards{s: []*shard{s}}).mergeInto(rec)
	if !equalMaps(rec.TokensSources, map[string]int64{"eval_count": 2}) {
		t.Errorf("tokens sources %v, want eval_count: 2", rec.TokensSources)
	}
	if rec.Counters[ReasoningChunks] != 12 || rec.Counters[ToolChunks] != 3 || rec.Counters[TokensFromDeltas] != 1 {
		t.Errorf("reasoning chunks %d, tool chunks %d, from deltas %d; want 12, 3, 1", rec.Counters[ReasoningChunks], rec.Counters[ToolChunks], rec.Counters[TokensFromDeltas])
	}
	for m, want := range map[Metric]time.Duration{TTFR: 100 * ms, Reasoning: 200 * ms, TTFT: 300 * ms, ServerPrefill: 10 * ms, ServerTPOT: 5 * ms} {
		h := rec.Hists[m]
		if h == nil || h.Count() != 3 {
			t.Fatalf("%s: %v, want 3 values", m, h)
		}
		if got := h.Quantile(50); got < want*99/100 || got > want*101/100 {
			t.Errorf("%s p50 %v, want %v", m, got, want)
		}
	}
}

// TestRecorderResetCarriesNothing: the open model's workers reuse one
// Recorder for request after request. Whatever the first request left in it
// (a seq, a lost connection, a fatal error, a polled state, a payload
// clock, an intended start), the second records exactly what it would
// record on a fresh Recorder.
func TestRecorderResetCarriesNothing(t *testing.T) {
	clocked := stamped(recAt(20*msec), 100, time.Time{}, recAt(15*msec))
	clocked.Stamp.HasClock, clocked.Stamp.Clock, clocked.Stamp.ClockField, clocked.Stamp.ClockRes = true, recAt(12*msec).UnixNano(), "ts", time.Millisecond
	first := join(
		[]step{connect(transport.Connect{Start: recAt(0), Headers: recAt(5 * msec), TCP: msec})},
		[]step{event(clocked), event(seqEvent(101))},
		[]step{exchange(transport.Exchange{Start: recAt(0), End: recAt(30 * msec), Status: 200})},
		[]step{func(r *Recorder) { r.Closed(&transport.Close{At: recAt(40 * msec), Reconnect: true}) }},
		[]step{fail(transport.Error{Class: transport.ClassHTTP5xx, Code: 503, Fatal: true, At: recAt(40 * msec)})},
	)
	second := join(
		[]step{connect(transport.Connect{Start: recAt(time.Second), Headers: recAt(time.Second + 2*msec), Reused: true})},
		seqs(3, 4),
		[]step{exchange(transport.Exchange{Start: recAt(time.Second), End: recAt(time.Second + 3*msec), Status: 200})},
	)
	intended1, intended2 := recAt(-msec), recAt(time.Second-msec)
	run := func(r *Recorder, steps []step) {
		r.begin()
		for _, st := range steps {
			st(r)
		}
		r.end(nil, false)
	}
	merged := func(s *shard) *Recording {
		rec := NewRecording()
		(&shards{s: []*shard{s}}).mergeInto(rec)
		return rec
	}

	reused := &shard{}
	r := newRecorder(reused, recT0, intended1)
	run(r, first)
	r.reset(intended2)
	run(r, second)

	fresh := &shard{}
	run(newRecorder(fresh, recT0, intended1), first)
	run(newRecorder(fresh, recT0, intended2), second)

	got, want := merged(reused), merged(fresh)
	if !reflect.DeepEqual(got.Counters, want.Counters) {
		t.Errorf("counters after a reset\n%v\nwant (fresh recorder)\n%v", got.Counters, want.Counters)
	}
	for m := range NumMetrics {
		g, w := got.Hists[m], want.Hists[m]
		if g.Count() != w.Count() || g.Count() > 0 && (g.Quantile(0) != w.Quantile(0) || g.Quantile(100) != w.Quantile(100)) {
			t.Errorf("%v after a reset: %d values %v–%v, want %d values %v–%v", Metric(m), g.Count(), g.Quantile(0), g.Quantile(100), w.Count(), w.Quantile(0), w.Quantile(100))
		}
	}
	if got.Clock != want.Clock || reused.iv != fresh.iv || !reflect.DeepEqual(got.Errors, want.Errors) {
		t.Errorf("clock %+v, intervals %+v, errors %v; want %+v, %+v, %v", got.Clock, reused.iv, got.Errors, want.Clock, fresh.iv, want.Errors)
	}
	// What the second request would have shown with the first's state:
	// its seq 3 out of order after 101, a reconnect after the lost
	// connection, a failed session for the first's fatal error.
	if c := got.Counters; c[OutOfOrder] != 0 || c[SessionsFailed] != 1 || got.Hists[Reconnect].Count() != 0 {
		t.Errorf("out of order %d, sessions failed %d, reconnect values %d; want 0, 1 (the first request's), 0",
			c[OutOfOrder], c[SessionsFailed], got.Hists[Reconnect].Count())
	}
}

// TestRecorderSessionStateIsReset: every field of Recorder that is not its
// plumbing (shard, buffers, outages) is in recSession, which reset clears:
// a field added elsewhere would survive from one request to the next.
func TestRecorderSessionStateIsReset(t *testing.T) {
	plumbing := map[string]bool{"mu": true, "shard": true, "measureFrom": true, "vals": true, "tags": true,
		"counters": true, "iv": true, "sources": true, "listed": true, "fills": true, "out": true, "recSession": true}
	rt := reflect.TypeFor[Recorder]()
	for i := range rt.NumField() {
		if f := rt.Field(i); !plumbing[f.Name] {
			t.Errorf("Recorder.%s is per-session state outside recSession: reset would not clear it", f.Name)
		}
	}
	// The plumbing that holds values is empty once end has flushed.
	r := newRecorder(&shard{}, recT0, recAt(0))
	r.begin()
	r.Exchange(&transport.Exchange{Start: recAt(0), End: recAt(msec), TokensFromUsage: true, TokensSource: "usage.x", Format: "openai"})
	r.end(nil, false)
	r.reset(recAt(time.Second))
	if len(r.vals) != 0 || len(r.tags) != 0 || r.counters != ([NumCounters]int64{}) || r.iv != (ivCounts{}) || len(r.sources) != 0 {
		t.Errorf("after end and reset: %d values, counters %v, interval %+v, sources %v; want none", len(r.vals), r.counters, r.iv, r.sources)
	}
	if r.recSession != (recSession{intended: recAt(time.Second)}) {
		t.Errorf("session state after reset %+v, want only the new intended start", r.recSession)
	}
}

// openModelRequest is what one open-model request does to its worker's
// Recorder: reset for the request, begin, a reused keep-alive connection,
// the answer, the connection's close, end (which flushes into the shard).
func openModelRequest(r *Recorder, n int) {
	at := recAt(time.Duration(n) * msec)
	r.reset(at)
	r.begin()
	r.Connected(&transport.Connect{Start: at, Headers: at.Add(msec / 2), Reused: true, Status: 200, Proto: "HTTP/1.1"})
	r.Exchange(&transport.Exchange{Intended: at, Start: at, Headers: at.Add(msec / 2), End: at.Add(msec), Status: 200, Changed: true, Lean: true})
	r.Closed(&transport.Close{At: at.Add(msec), Clean: true})
	r.end(nil, false)
}

// BenchmarkRecorderOpenModelRequest: the recording side of one open-model
// request on a worker's reused Recorder. It must not allocate.
func BenchmarkRecorderOpenModelRequest(b *testing.B) {
	r := newRecorder(&shard{}, recT0, recT0)
	for n := range 2 * SampleBuffer { // warm: every histogram allocated
		openModelRequest(r, n)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		openModelRequest(r, n)
	}
}

func TestRecorderOpenModelRequestDoesNotAllocate(t *testing.T) {
	r := newRecorder(&shard{}, recT0, recT0)
	for n := range 2 * SampleBuffer {
		openModelRequest(r, n)
	}
	n := 0
	if allocs := testing.AllocsPerRun(1000, func() { n++; openModelRequest(r, n) }); allocs != 0 {
		t.Errorf("%v allocations per open-model request on a reused recorder, want 0", allocs)
	}
	rec := NewRecording()
	(&shards{s: []*shard{r.shard}}).mergeInto(rec)
	if got, want := rec.Counters[Requests], int64(2*SampleBuffer+n); got != want || rec.Counters[LeanRequests] != want {
		t.Errorf("%d requests (%d lean) recorded, want %d", got, rec.Counters[LeanRequests], want)
	}
}

// dirtyLen is how many recorders wait in the shards' dirty lists.
func dirtyLen(ss *shards) (n int) {
	for _, s := range ss.s {
		s.mu.Lock()
		n += len(s.dirty)
		s.mu.Unlock()
	}
	return n
}

// TestTickFlushesOnlyActiveRecorders: the interval tick flushes the
// recorders that buffered something since the previous tick, each once, and
// nothing else; a heartbeat comment lists none; what a recorder buffers after
// a tick is flushed by the next one; a recorder listed once per interval
// however much it records.
func TestTickFlushesOnlyActiveRecorders(t *testing.T) {
	tests := []struct {
		name       string
		held       int                 // recorders created and begun
		act        func(r []*Recorder) // between two ticks
		wantListed int
		wantEvents int64
	}{
		{"idle", 1000, func([]*Recorder) {}, 0, 0},
		{"heartbeats only", 1000, func(rs []*Recorder) {
			for _, r := range rs {
				r.Event(&transport.Event{Kind: transport.KindComment, At: recAt(msec)})
			}
		}, 0, 0},
		{"three of a thousand", 1000, func(rs []*Recorder) {
			for _, r := range rs[:3] {
				r.Event(stamped(recAt(2*msec), 1, recAt(msec), time.Time{}))
			}
		}, 3, 3},
		{"one busy", 10, func(rs []*Recorder) {
			for n := range 3 * SampleBuffer {
				rs[0].Event(stamped(recAt(time.Duration(n+2)*msec), uint64(n+1), recAt(msec), time.Time{}))
			}
		}, 1, 3 * SampleBuffer},
		{"an error", 10, func(rs []*Recorder) {
			rs[9].Error(&transport.Error{Class: transport.ClassReset, Err: errors.New("reset")})
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := newShards(4)
			rs := make([]*Recorder, tt.held)
			for i := range rs {
				rs[i] = newRecorder(ss.pick(), time.Time{}, time.Time{})
				rs[i].begin()
				rs[i].Connected(&transport.Connect{Start: recT0, Headers: recAt(msec)})
			}
			if got := dirtyLen(ss); got != tt.held {
				t.Fatalf("%d recorders listed after they began, want %d", got, tt.held)
			}
			ss.flushDirty()
			if got := dirtyLen(ss); got != 0 {
				t.Fatalf("%d recorders listed after a tick, want 0", got)
			}
			tt.act(rs)
			if got := dirtyLen(ss); got != tt.wantListed {
				t.Errorf("%d recorders listed, want %d", got, tt.wantListed)
			}
			ss.flushDirty()
			for _, r := range rs {
				if len(r.vals) != 0 || r.counters != ([NumCounters]int64{}) || r.iv != (ivCounts{}) {
					t.Fatalf("a recorder kept buffered values after the tick")
				}
			}
			rec := NewRecording()
			ss.mergeInto(rec)
			if got := rec.Counters[Events]; got != tt.wantEvents {
				t.Errorf("%d events recorded, want %d", got, tt.wantEvents)
			}
			if got := rec.Counters[SessionsStarted]; got != int64(tt.held) {
				t.Errorf("%d sessions started recorded, want %d", got, tt.held)
			}
		})
	}
}

// BenchmarkIntervalTick is the engine's once-a-second flush with 100,000
// held sessions of which the given number recorded an event in the second:
// its cost follows the active sessions, not the held ones.
//
//	go test -run '^$' -bench BenchmarkIntervalTick -benchmem ./bench/
func BenchmarkIntervalTick(b *testing.B) {
	const held = 100_000
	for _, active := range []int{0, 1000, held} {
		b.Run(fmt.Sprintf("active=%d", active), func(b *testing.B) {
			ss := newShards(0)
			rs := make([]*Recorder, held)
			for i := range rs {
				rs[i] = newRecorder(ss.pick(), time.Time{}, time.Time{})
				rs[i].begin()
			}
			ss.flushDirty()
			e := stamped(recAt(2*msec), 1, recAt(msec), time.Time{})
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, r := range rs[:active] {
					r.Event(e)
				}
				b.StartTimer()
				ss.flushDirty()
			}
		})
	}
}
