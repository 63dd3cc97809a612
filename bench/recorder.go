package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Recording layout. These shape the engine's memory and its lock traffic,
// not the load it offers.
const (
	// SampleBuffer is the most latency samples a session's Recorder holds
	// before it flushes them into its shard: a busy session takes the
	// shard's mutex about once per SampleBuffer/3 events.
	SampleBuffer = 128
	// InitialSampleBuffer is the sample buffer a Recorder starts with.
	// When it fills, the Recorder flushes it into its shard; only a
	// recorder that fills it more than GrowAfterFills times between two
	// interval ticks (a busy session: at the initial size, more than 64
	// samples a second) doubles it, up to SampleBuffer. A held session
	// at 10 events a second (~30 samples) so keeps 8 samples of buffer
	// (memory per held session: 72 bytes, where growing to 64 cost 576 and
	// the garbage of each doubling), and a busy one still flushes once per
	// SampleBuffer samples.
	InitialSampleBuffer = 8
	GrowAfterFills      = 8
	// ShardsPerProc shards per GOMAXPROCS, up to MaxShards, hold the run's
	// histograms; sessions are assigned to them round-robin. Each shard
	// holds its own HdrHistogram (~184 KB) per metric in use, so shards
	// cost fixed memory, and, as live heap, as much again in the
	// collector's headroom; recorders flush in batches, so one per
	// processor is enough to keep the lock cold.
	ShardsPerProc = 1
	MaxShards     = 64
	// LateStartThreshold: an open-model request that starts later than this
	// after its intended time is counted in LateStarts.
	LateStartThreshold = time.Millisecond
)

// headline lists the metrics that can headline a run, best first: the
// per-second p99 of each is kept so that the report can draw the one that
// applies (ttft for AI streams, request for polling, delivery for pushes,
// echo round trips for WebSocket echo runs).
var headline = [...]Metric{Flow, TTFT, Request, Delivery, EchoRTT}

const numHeadline = len(headline)

// headlineIndex maps a metric to its index in headline, or -1.
var headlineIndex = func() (ix [NumMetrics]int8) {
	for i := range ix {
		ix[i] = -1
	}
	for i, m := range headline {
		ix[m] = int8(i)
	}
	return ix
}()

// Headline returns the metric that best summarises r (the first of flow,
// ttft, request, delivery and echo_rtt that has values) and false when none has.
func Headline(r *Recording) (Metric, bool) {
	for _, m := range headline {
		if h := r.Hists[m]; h != nil && h.Count() > 0 {
			return m, true
		}
	}
	return 0, false
}

// ivCounts are one interval's counts, in a recorder or a shard.
type ivCounts struct {
	opened, established, closed, failed, events, bytes, errors, requests int64
}

// share is the i-th of k even parts of c (0 ≤ i < k): the parts sum to c,
// the last one carrying the remainders.
func (c ivCounts) share(i, k int64) ivCounts {
	part := func(v int64) int64 {
		if i == k-1 {
			return v - (k-1)*(v/k)
		}
		return v / k
	}
	return ivCounts{
		opened: part(c.opened), established: part(c.established), closed: part(c.closed), failed: part(c.failed),
		events: part(c.events), bytes: part(c.bytes), errors: part(c.errors), requests: part(c.requests),
	}
}

func (c *ivCounts) add(o *ivCounts) {
	c.opened += o.opened
	c.established += o.established
	c.closed += o.closed
	c.failed += o.failed
	c.events += o.events
	c.bytes += o.bytes
	c.errors += o.errors
	c.requests += o.requests
}

// shard is one slice of the run's recording. Recorders flush into it in
// batches under its mutex; the engine merges the shards at each interval
// and at the end.
type shard struct {
	mu       sync.Mutex
	hists    [NumMetrics]*Hist // allocated on first use
	counters [NumCounters]int64
	errors   map[transport.Class]*ErrorCount
	sources  map[string]int64
	iv       ivCounts           // since the last interval tick
	ivHists  [numHeadline]*Hist // headline values since the last tick
	clock    ClockSource
	// The flow's steps (Engine.Steps): nSteps of them, allocated on the
	// first step recorded.
	nSteps int
	steps  []stepAgg
	// dirty are the recorders that buffered something since the last
	// interval tick, each listed once (Recorder.listed): the tick flushes
	// these rather than every live recorder, so 100,000 held sessions that
	// received nothing in a second cost the tick nothing.
	dirty []*Recorder
	spare []*Recorder // the previous tick's list, emptied, for reuse
	_     [64]byte    // keep neighbouring shards' mutexes apart
}

func (s *shard) hist(m Metric) *Hist {
	if s.hists[m] == nil {
		s.hists[m] = NewHist()
	}
	return s.hists[m]
}

func (s *shard) ivHist(i int8) *Hist {
	if s.ivHists[i] == nil {
		s.ivHists[i] = NewHist()
	}
	return s.ivHists[i]
}

func (s *shard) addError(e *transport.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.errors == nil {
		s.errors = make(map[transport.Class]*ErrorCount)
	}
	ec := s.errors[e.Class]
	if ec == nil {
		ec = &ErrorCount{Example: e.Error()}
		s.errors[e.Class] = ec
	}
	ec.Count++
	if e.Code != 0 {
		ec.addCodes(map[int]int64{e.Code: 1})
	}
}

// shards are the run's shards and the round-robin assignment.
type shards struct {
	s    []*shard
	next atomic.Uint64
}

func newShards(n int) *shards {
	if n <= 0 {
		n = min(ShardsPerProc*runtime.GOMAXPROCS(0), MaxShards)
	}
	ss := &shards{s: make([]*shard, n)}
	for i := range ss.s {
		ss.s[i] = &shard{}
	}
	return ss
}

func (ss *shards) pick() *shard {
	return ss.s[(ss.next.Add(1)-1)%uint64(len(ss.s))]
}

// flushDirty flushes every recorder that buffered something since the last
// call into its shard: the interval tick. Its cost is that of the recorders
// that were active, not of the sessions held.
func (ss *shards) flushDirty() {
	for _, s := range ss.s {
		s.mu.Lock()
		list := s.dirty
		s.dirty, s.spare = s.spare, nil
		s.mu.Unlock()
		for _, r := range list {
			r.tickFlush()
		}
		clear(list) // let retired recorders be collected
		s.mu.Lock()
		if s.spare == nil {
			s.spare = list[:0]
		}
		s.mu.Unlock()
	}
}

// mergeInto adds every shard's histograms, counters and errors to rec.
func (ss *shards) mergeInto(rec *Recording) {
	for _, s := range ss.s {
		s.mu.Lock()
		for m, h := range s.hists {
			if h != nil {
				rec.Hists[m].Merge(h)
			}
		}
		for c, n := range s.counters {
			rec.Counters[c] += n
		}
		for src, n := range s.sources {
			if rec.TokensSources == nil {
				rec.TokensSources = make(map[string]int64)
			}
			rec.TokensSources[src] += n
		}
		for class, ec := range s.errors {
			have := rec.Errors[class]
			if have == nil {
				have = &ErrorCount{Example: ec.Example}
				rec.Errors[class] = have
			}
			have.Count += ec.Count
			have.addCodes(ec.Codes)
		}
		s.mu.Unlock()
	}
	for _, s := range ss.s {
		rec.Clock.finer(s.clock)
	}
	// A late arrival of an event counted lost takes it back; one counted
	// lost during the warmup can take it below zero.
	rec.Counters[Lost] = max(rec.Counters[Lost], 0)
}

// Sample tags: the low bits are the Metric; tagMeasured records into the
// run's histogram, tagInterval into the per-second headline histogram.
const (
	tagMetric   = 0x1f
	tagMeasured = 0x40
	tagInterval = 0x80
)

// Recorder is the Observer the engine gives one session: it turns the
// session's observations into metrics and counters (see the Observer
// methods). It buffers them and flushes them into its shard when its buffer
// is full, at each interval tick and when the session ends, so the hot path
// neither allocates nor takes a lock shared with other sessions. Its own
// mutex is uncontended except once a second, when the engine's tick flushes
// it.
//
// Values observed before the run's MeasureFrom (the warmup) go only into the
// per-second intervals, except the lifecycle counts (connects, reconnects,
// sessions started and failed) and errors, which count for the whole run: a
// connection that failed during the ramp is a result, not noise.
type Recorder struct {
	mu          sync.Mutex
	shard       *shard
	measureFrom time.Time

	// The buffered samples: len(vals) == len(tags) is the count, the
	// capacity grows from InitialSampleBuffer to SampleBuffer.
	vals     []time.Duration
	tags     []uint8
	counters [NumCounters]int64
	iv       ivCounts
	sources  map[string]int64 // AI requests by the usage field their tokens came from
	// listed: in the shard's dirty list until the next interval tick. It
	// outlives a reset: a reused recorder is listed once.
	listed bool
	// fills counts the buffer's flushes since the last tick (up to
	// GrowAfterFills): the buffer grows after that many.
	fills uint8

	// Outages: out follows the run's sessions in and out of waiting to
	// reconnect (nil: not followed).
	out *outages

	// recSession is what the Recorder knows of its session; reset clears
	// it (and only it) for the next one. Every field of the Recorder that
	// is not plumbing (above) belongs in it.
	recSession
}

// recSession is the state of the one session a Recorder observes: the open
// model's workers reuse their Recorder from request to request, and reset
// zeroes this so that nothing of one request reaches the next.
type recSession struct {
	intended time.Time // open model: the request's intended start

	// The current connection.
	connStart   time.Time
	sawEvent    bool
	lastAt      time.Time
	lastTokenAt time.Time

	// Sequence tracking for the whole session: a stream resumed with
	// Last-Event-ID continues its seq across reconnects.
	hasSeq        bool
	seqMax        uint64
	seqWin        uint64 // bit i set: seqMax-1-i was seen
	newConn       bool   // the next event is the first of a new connection
	afterExchange bool   // the next event is the first of a new exchange
	exchanges     int

	// The newest polled state's sched_ns, until the exchange that read it.
	stateSched int64
	hasState   bool

	clock ClockSource // the payload clock delivery came from, its finest resolution

	connected bool // some connection was established
	fatal     bool // a fatal error was reported

	// up says a connection is established now; downSince is when the
	// session's connection was lost, while it waits to connect again.
	up        bool
	downSince time.Time
	lastClose time.Time // the last established connection ended
}

func newRecorder(s *shard, measureFrom, intended time.Time) *Recorder {
	return &Recorder{shard: s, measureFrom: measureFrom, recSession: recSession{intended: intended}}
}

// reset makes r a fresh recorder for the next session, the open model's
// request intended at intended, keeping its shard and its buffers. r must
// have ended (end flushed what it held).
func (r *Recorder) reset(intended time.Time) {
	r.mu.Lock()
	r.recSession = recSession{intended: intended}
	r.mu.Unlock()
}

// waitFrom starts a restarted session as waiting since the time its
// predecessor lost its connection, so its first connection records the
// time to reconnect.
func (r *Recorder) waitFrom(since time.Time) {
	r.mu.Lock()
	r.downSince = since
	r.mu.Unlock()
}

// loss reports, once the session has returned, since when it has been
// without a connection it had: the wait in progress, or the end of its last
// connection when that ended the session (a closed-model restart will
// reconnect it). fresh says the loss was not reported to the outages yet.
func (r *Recorder) loss() (since time.Time, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.downSince.IsZero() {
		return r.downSince, false
	}
	return r.lastClose, !r.lastClose.IsZero()
}

func (r *Recorder) measured(t time.Time) bool {
	if t.IsZero() {
		t = time.Now()
	}
	return !t.Before(r.measureFrom)
}

// add buffers one sample of m.
func (r *Recorder) add(m Metric, d time.Duration, measured bool) {
	tag := uint8(m)
	if measured {
		tag |= tagMeasured
	}
	if headlineIndex[m] >= 0 {
		tag |= tagInterval
	}
	if tag&(tagMeasured|tagInterval) == 0 {
		return
	}
	if c := cap(r.vals); len(r.vals) == c {
		switch {
		case c == 0:
			r.vals = make([]time.Duration, 0, InitialSampleBuffer)
			r.tags = make([]uint8, 0, InitialSampleBuffer)
		case c < SampleBuffer && r.fills >= GrowAfterFills:
			c = min(2*c, SampleBuffer)
			r.vals = append(make([]time.Duration, 0, c), r.vals...)
			r.tags = append(make([]uint8, 0, c), r.tags...)
		default:
			r.fills = min(r.fills+1, GrowAfterFills)
			r.flushLocked()
		}
	}
	r.vals = append(r.vals, d)
	r.tags = append(r.tags, tag)
}

func (r *Recorder) count(c Counter, n int64, measured bool) {
	if measured {
		r.counters[c] += n
	}
}

// flushLocked moves the buffered samples and counts into the shard. r.mu is
// held.
func (r *Recorder) flushLocked() {
	s := r.shard
	s.mu.Lock()
	for i, v := range r.vals {
		tag := r.tags[i]
		m := Metric(tag & tagMetric)
		if tag&tagMeasured != 0 {
			s.hist(m).Record(v)
		}
		if tag&tagInterval != 0 {
			s.ivHist(headlineIndex[m]).Record(v)
		}
	}
	for c, n := range r.counters {
		s.counters[c] += n
	}
	for src, n := range r.sources {
		if s.sources == nil {
			s.sources = make(map[string]int64)
		}
		s.sources[src] += n
	}
	clear(r.sources)
	s.iv.add(&r.iv)
	s.clock.finer(r.clock)
	s.mu.Unlock()
	r.vals, r.tags = r.vals[:0], r.tags[:0]
	r.counters = [NumCounters]int64{}
	r.iv = ivCounts{}
}

// flush moves everything buffered into the shard.
func (r *Recorder) flush() {
	r.mu.Lock()
	r.flushLocked()
	r.mu.Unlock()
}

// tickFlush is the interval tick's flush (shards.flushDirty): the recorder
// leaves its shard's dirty list, and the next thing it buffers lists it
// again.
func (r *Recorder) tickFlush() {
	r.mu.Lock()
	r.listed, r.fills = false, 0
	r.flushLocked()
	r.mu.Unlock()
}

// lock takes r.mu for a change that the next interval tick must flush: the
// recorder is put on its shard's dirty list unless it is there already.
// Lock order: r.mu, then the shard's.
func (r *Recorder) lock() {
	r.mu.Lock()
	if !r.listed {
		r.listed = true
		s := r.shard
		s.mu.Lock()
		s.dirty = append(s.dirty, r)
		s.mu.Unlock()
	}
}

// begin counts the session's start.
func (r *Recorder) begin() {
	r.lock()
	r.counters[SessionsStarted]++
	r.iv.opened++
	r.mu.Unlock()
}

// lateStart counts an open-model request that started late.
func (r *Recorder) lateStart() {
	r.lock()
	r.count(LateStarts, 1, r.measured(r.intended))
	r.mu.Unlock()
}

// end accounts for the session's return: err is what Run returned and
// stopped says that the engine had cancelled the session. A session failed
// when it reported a fatal error or returned one unasked; a fatal error it
// returned without reporting is recorded here. end flushes the recorder and
// says whether the session failed and whether it ever connected.
func (r *Recorder) end(err error, stopped bool) (failed, connected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	failed = r.fatal
	if err != nil && !stopped {
		if te := transport.AsError(err); te.Class != transport.ClassCanceled {
			if !r.fatal {
				r.iv.errors++
				r.shard.addError(te)
			}
			failed = true
		}
	}
	if failed {
		r.counters[SessionsFailed]++
		r.iv.failed++
	}
	if stopped && !failed && !r.connected && r.intended.IsZero() {
		// A held session still dialling (or waiting for its handshake) at
		// the end: on a saturated generator the end can come first.
		r.counters[ConnectingCutOff]++
	}
	r.flushLocked()
	return failed, r.connected
}

// Connected records a connection: Handshake (headers − start), Connect
// (TCP + TLS), DNS, TCP and TLS when done, for a new connection; Connects
// and Reconnects for a new connection and for every HTTP/2 stream (a
// session's connection over HTTP/2 is a stream, most often on a connection
// open already); TTFB for every one, a reused keep-alive connection
// included. Any of them ends the session's wait to be back (Reconnect).
func (r *Recorder) Connected(c *transport.Connect) {
	r.lock()
	defer r.mu.Unlock()
	measured := r.measured(c.Headers)
	haveTimes := !c.Start.IsZero() && !c.Headers.IsZero()
	if !c.Reused || c.Proto == "HTTP/2.0" {
		r.counters[Connects]++
		if c.Attempt > 0 {
			r.counters[Reconnects]++
		}
		r.iv.established++
	}
	if !c.Reused {
		if haveTimes {
			r.add(Handshake, c.Headers.Sub(c.Start), measured)
		}
		if c.TCP > 0 || c.TLS > 0 {
			r.add(Connect, c.TCP+c.TLS, measured)
		}
		if c.DNS > 0 {
			r.add(DNS, c.DNS, measured)
		}
		if c.TCP > 0 {
			r.add(TCP, c.TCP, measured)
		}
		if c.TLS > 0 {
			r.add(TLS, c.TLS, measured)
		}
	}
	if haveTimes {
		r.add(TTFB, c.Headers.Sub(c.Start), measured)
	}
	if !c.Start.IsZero() && !c.Attached.IsZero() {
		r.add(Attach, c.Attached.Sub(c.Start), measured)
	}
	if !r.downSince.IsZero() {
		at := c.Headers
		if at.IsZero() {
			at = time.Now()
		}
		r.add(Reconnect, at.Sub(r.downSince), r.measured(at))
		r.downSince = time.Time{}
		if r.out != nil {
			r.out.back(at, true)
		}
	}
	r.connected, r.up = true, true
	r.lastClose = time.Time{}
	r.newConnection(c.Start)
}

func (r *Recorder) newConnection(start time.Time) {
	r.connStart = start
	r.sawEvent = false
	r.lastAt, r.lastTokenAt = time.Time{}, time.Time{}
	r.newConn = r.hasSeq
}

// Event records one received message or token: Events, Bytes, FirstEvent
// (the connection's first), Delivery and Wire (from the payload's stamp;
// negative values are counted in ClockSkewNegative and recorded as 0), Gap
// (since the connection's previous event), ITLChunk (between tokens) and the
// seq checks (Lost, Duplicates, OutOfOrder). A pong records PingRTT only,
// an echo of a stamped message EchoRTT only.
func (r *Recorder) Event(e *transport.Event) {
	if e.Kind == transport.KindComment {
		return // traffic, not a message: a held stream's heartbeat costs nothing
	}
	r.lock()
	defer r.mu.Unlock()
	measured := r.measured(e.At)
	switch e.Kind {
	case transport.KindPong:
		if e.RTT > 0 {
			r.add(PingRTT, e.RTT, measured)
		}
		return
	case transport.KindEcho:
		r.add(EchoRTT, e.RTT, measured)
		return
	}
	size := int64(e.Size)
	if size <= 0 {
		size = int64(len(e.Data))
	}
	r.count(Events, 1, measured)
	r.count(Bytes, size, measured)
	r.iv.events++
	r.iv.bytes += size

	if !r.sawEvent {
		r.sawEvent = true
		if !r.connStart.IsZero() {
			r.add(FirstEvent, e.At.Sub(r.connStart), measured)
		}
	}
	skew := false
	if d, ok := e.Delivery(); ok {
		skew = d < 0
		r.add(Delivery, d, measured)
		if st := &e.Stamp; st.HasClock && (st.ClockFirst || !st.HasSched) && (r.clock.Res == 0 || st.ClockRes < r.clock.Res) {
			r.clock = ClockSource{Field: st.ClockField, Unit: st.ClockUnit.String(), Res: st.ClockRes}
		}
	}
	if d, ok := e.Wire(); ok {
		skew = skew || d < 0
		r.add(Wire, d, measured)
	}
	if skew {
		r.count(ClockSkewNegative, 1, measured)
	}
	if !r.lastAt.IsZero() {
		r.add(Gap, e.At.Sub(r.lastAt), measured)
	}
	r.lastAt = e.At
	if e.Kind == transport.KindToken {
		if !r.lastTokenAt.IsZero() {
			r.add(ITLChunk, e.At.Sub(r.lastTokenAt), measured)
		}
		r.lastTokenAt = e.At
	}
	if e.Kind == transport.KindMessage && e.Stamp.HasSched {
		r.stateSched, r.hasState = e.Stamp.SchedNS, true
	}
	if e.Stamp.HasSeq {
		r.seq(e.Stamp.Seq, measured)
	}
}

// seq checks one sequence number against the session's.
//
// Within a connection: a jump forward counts the skipped numbers as Lost; a
// number seen already is a Duplicate; an older number not seen yet (within
// the last 64) arrives OutOfOrder and is taken back from Lost.
//
// The first event of a new connection continues the session's sequence
// when its number is higher (a resumed stream: a gap is Lost, as events sent
// while disconnected were) or equal (the last event replayed: a Duplicate);
// a lower number starts a new sequence, as from a server that numbers each
// connection from 1.
//
// Request-response sessions (polls) read the latest state, so the first
// event of a new exchange skipping numbers is not loss; going back is
// OutOfOrder and the same number a Duplicate.
func (r *Recorder) seq(s uint64, measured bool) {
	if !r.hasSeq {
		r.hasSeq, r.seqMax, r.seqWin = true, s, 0
		r.newConn, r.afterExchange = false, false
		return
	}
	if r.afterExchange {
		r.afterExchange, r.newConn = false, false
		switch {
		case s > r.seqMax:
			r.advance(s, true)
		case s == r.seqMax:
			r.count(Duplicates, 1, measured)
		default:
			r.count(OutOfOrder, 1, measured)
		}
		return
	}
	if r.newConn {
		r.newConn = false
		if s < r.seqMax {
			r.seqMax, r.seqWin = s, 0
			return
		}
	}
	switch {
	case s > r.seqMax:
		r.count(Lost, int64(s-r.seqMax-1), measured)
		r.advance(s, false)
	case s == r.seqMax:
		r.count(Duplicates, 1, measured)
	default:
		back := r.seqMax - s // ≥ 1
		if back > 64 {
			r.count(OutOfOrder, 1, measured)
			return
		}
		bit := uint64(1) << (back - 1)
		if r.seqWin&bit != 0 {
			r.count(Duplicates, 1, measured)
			return
		}
		r.seqWin |= bit
		r.count(OutOfOrder, 1, measured)
		r.count(Lost, -1, measured)
	}
}

// advance moves seqMax up to s, marking the old maximum seen and, when
// skipped is true, the numbers in between too.
func (r *Recorder) advance(s uint64, skipped bool) {
	delta := s - r.seqMax
	win := r.seqWin << delta // 0 once delta ≥ 64
	if delta <= 64 {
		win |= 1 << (delta - 1)
		if skipped {
			win |= 1<<(delta-1) - 1
		}
	} else if skipped {
		win = ^uint64(0)
	}
	r.seqMax, r.seqWin = s, win
}

// Exchange records one request-response exchange: Requests (and
// LeanRequests when the lean HTTP/1.1 client carried it) and StartLag
// (actual start − intended, when there is a schedule), then for an AI
// stream TTFT (first content − intended start), E2E (end − intended), TPOT
// or, without usage in the stream, TPOTChunk (see ComputeAI) and Tokens,
// and for a poll Request (end − intended) and Staleness (end − the sched_ns
// of the state its events carried). The intended start is the engine's
// (open model), else the exchange's Intended, else its Start.
//
// A cut-off exchange (the run's end or its drain cut it) counts only in
// CutOff, and an AI stream's TTFT when its first token had arrived: it is
// not completed work, so it stays out of Requests, Tokens, E2E, TPOT and
// Request.
//
// A session reports an exchange's events before the Exchange itself.
func (r *Recorder) Exchange(x *transport.Exchange) {
	r.lock()
	defer r.mu.Unlock()
	measured := r.measured(x.End)
	intended, scheduled := r.intended, true
	if intended.IsZero() {
		intended = x.Intended
	}
	if intended.IsZero() {
		intended, scheduled = x.Start, false
	}
	ai := x.Format != "" || x.Chunks > 0 || x.Tokens > 0 || !x.First.IsZero()
	m := ComputeAI(x, intended)
	if ai && !x.First.IsZero() {
		r.add(TTFT, m.TTFT, measured)
	}
	if !x.ReasoningFirst.IsZero() {
		r.add(TTFR, m.TTFR, measured)
	}
	r.exchanges++
	r.afterExchange = true
	if x.CutOff {
		r.count(CutOff, 1, measured)
		r.hasState = false
		return
	}
	r.count(Requests, 1, measured)
	if x.Lean {
		r.count(LeanRequests, 1, measured)
	}
	r.iv.requests++
	if scheduled && !x.Start.IsZero() {
		r.add(StartLag, x.Start.Sub(intended), measured)
	}
	ended := !x.End.IsZero()
	if ai {
		r.count(Tokens, int64(x.Tokens), measured)
		if x.Tokens > 0 && !x.TokensFromUsage {
			r.count(TokensFromDeltas, 1, measured)
		}
		if x.TokensFromUsage && x.TokensSource != "" && measured {
			if r.sources == nil {
				r.sources = make(map[string]int64)
			}
			r.sources[x.TokensSource]++
		}
		r.count(ReasoningChunks, int64(x.ReasoningChunks), measured)
		r.count(ToolChunks, int64(x.ToolChunks), measured)
		r.count(ReasoningTokens, int64(x.ReasoningTokens), measured)
		if m.Reasoning > 0 {
			r.add(Reasoning, m.Reasoning, measured)
		}
		if m.ServerPrefill > 0 {
			r.add(ServerPrefill, m.ServerPrefill, measured)
		}
		if m.ServerTPOT > 0 {
			r.add(ServerTPOT, m.ServerTPOT, measured)
		}
		if ended {
			r.add(E2E, m.E2E, measured)
		}
		switch {
		case m.TPOT > 0:
			r.add(TPOT, m.TPOT, measured)
		case m.TPOTChunk > 0:
			r.add(TPOTChunk, m.TPOTChunk, measured)
		}
		return
	}
	if ended {
		r.add(Request, x.End.Sub(intended), measured)
		if r.hasState {
			d := time.Duration(x.End.UnixNano() - r.stateSched)
			if d < 0 {
				r.count(ClockSkewNegative, 1, measured)
			}
			r.add(Staleness, d, measured)
		}
	}
	r.hasState = false
}

// Error counts e under its class (one example message per class). Errors of
// class canceled are the engine stopping the session, not the target's
// doing, and are not counted.
func (r *Recorder) Error(e *transport.Error) {
	if e.Class == transport.ClassCanceled {
		return
	}
	r.lock()
	defer r.mu.Unlock()
	if e.Fatal {
		r.fatal = true
	}
	r.iv.errors++
	r.shard.addError(e)
}

// Closed counts the end of a connection. An established connection lost
// while the session will reconnect starts its wait (see Outage), unless it
// ended idle between two requests (Close.Idle): a poll's keep-alive
// connection replaced at the next request is no outage.
func (r *Recorder) Closed(c *transport.Close) {
	r.lock()
	defer r.mu.Unlock()
	r.iv.closed++
	r.newConnection(time.Time{})
	if !r.up {
		return
	}
	r.up = false
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	if c.Reconnect && !c.Idle {
		r.downSince = at
		if r.out != nil {
			r.out.lost(at)
		}
	} else {
		r.lastClose = at
	}
}
