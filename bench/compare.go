package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Compare defaults: each one shapes the workload of `rtbench compare`, so
// the report header prints them.
const (
	DefaultCompareSubscribers  = 100
	DefaultCompareUpdates      = 10.0 // updates published per second
	DefaultCompareDuration     = 5 * time.Second
	DefaultCompareSize         = 128 // bytes of each update's data
	DefaultComparePollInterval = time.Second
	DefaultCompareLongPoll     = 20 * time.Second // ?wait= of the long-poll run
	// DefaultCompareSettle is the longest wait for every subscriber to
	// connect before the first update is published.
	DefaultCompareSettle = 5 * time.Second
	// DefaultCompareDrain is how long after the last update (plus one poll
	// interval, for polling) a run waits for it to reach every subscriber.
	DefaultCompareDrain    = time.Second
	DefaultCompareAITokens = 64 // tokens per AI stream
	// CompareSchema is the schema of compare's JSON envelope; each pattern
	// in it holds a full rtbench.result/v2.
	CompareSchema = "rtbench.compare/v1"
)

// errRunDone is the cause with which a compare run stops its engine once
// the workload is over: it is not an interruption.
var errRunDone = errors.New("compare: workload done")

// Publisher publishes one update of data to channel and returns its
// per-channel sequence number (the hub's, or POST /api/publish's "seq").
type Publisher func(ctx context.Context, channel string, data []byte) (seq uint64, err error)

// Compare runs the same workload through several real-time patterns, one
// after another: Subscribers sessions subscribe to a channel of their own
// per pattern, a central publisher sends Updates per second of Size bytes
// for Duration, and each run measures delivery (receipt − the update's
// sched_ns, the publish time), loss and duplicates from seq, bytes on the
// wire in both directions (counted at the connection), requests,
// connections held and the process's CPU time. It knows no protocol: each
// CompareRun brings its sessions.
type Compare struct {
	Subscribers int           // default DefaultCompareSubscribers
	Updates     float64       // per second; default DefaultCompareUpdates
	Duration    time.Duration // of publishing, per pattern; default DefaultCompareDuration
	Size        int           // bytes of each update's data; default DefaultCompareSize (at least 8)
	Settle      time.Duration // default DefaultCompareSettle
	Drain       time.Duration // default DefaultCompareDrain
	Publish     Publisher
	// ChatMembers and ChatRate shape the chat workload (RunChat): members
	// of one room, each sending ChatRate messages per second for Duration.
	ChatMembers int     // default DefaultChatMembers
	ChatRate    float64 // default DefaultChatRate
	// JobRate and JobDrain shape the job-status workload (RunJobs): jobs
	// created per second for Duration per method, and how long after the
	// last was created the run waits for every job to be seen done.
	JobRate  float64       // default DefaultCompareJobRate
	JobDrain time.Duration // default DefaultCompareJobDrain
	// HTTP returns a new client for one run. Its Transport must be an
	// *http.Transport: the run wraps its DialContext to count bytes and
	// connections, and raises MaxIdleConnsPerHost to the subscribers. Nil:
	// transport.NewHTTPClient with the defaults.
	HTTP func() *http.Client
	// Version and Host go into each run's Result.
	Version, Host string
}

func (c Compare) withDefaults() Compare {
	c.Subscribers = or(c.Subscribers, DefaultCompareSubscribers)
	c.Updates = or(c.Updates, DefaultCompareUpdates)
	c.Duration = or(c.Duration, DefaultCompareDuration)
	c.Size = max(or(c.Size, DefaultCompareSize), 8)
	c.Settle = or(c.Settle, DefaultCompareSettle)
	c.Drain = or(c.Drain, DefaultCompareDrain)
	c.ChatMembers = or(c.ChatMembers, DefaultChatMembers)
	c.ChatRate = or(c.ChatRate, DefaultChatRate)
	c.JobRate = or(c.JobRate, DefaultCompareJobRate)
	c.JobDrain = or(c.JobDrain, DefaultCompareJobDrain)
	if c.HTTP == nil {
		c.HTTP = func() *http.Client { return transport.NewHTTPClient(transport.HTTPOptions{}) }
	}
	return c
}

// Updates returns how many updates one run publishes.
func (c Compare) UpdateCount() int {
	c = c.withDefaults()
	return max(int(math.Ceil(c.Updates*c.Duration.Seconds()-1e-9)), 1)
}

// CompareRun is one pattern of a comparison.
type CompareRun struct {
	Name    string // in the table: "sse", "ws", "poll 1s" …
	Pattern string // the Result's pattern (sse, ws, poll, long-poll)
	URL     string // the subscribers' URL, for the Result
	Channel string // the channel published to: a new one (updates are seq 1, 2 …)
	// Interval is the polling interval: the last update may take that long
	// to be seen, so the drain waits for it too. 0 for streams.
	Interval time.Duration
	// Warm is waited after every subscriber connected, before publishing:
	// a long-poll client's first request is a plain poll and its first
	// held request follows one interval later.
	Warm time.Duration
	// Defaults are the run's protocol knobs, for the Result's params.
	Defaults map[string]string
	// NewSession returns subscriber i's session, using hc.
	NewSession func(i int, hc *http.Client) transport.Session
}

// PatternResult is what one pattern's run measured. Per-update figures
// divide by Delivered: one update received by one subscriber.
type PatternResult struct {
	Name        string `json:"name"`
	Channel     string `json:"channel"`
	Subscribers int    `json:"subscribers"`
	// Connected is the subscribers that had connected when publishing
	// began (the run waits up to Settle for all of them).
	Connected int   `json:"connected"`
	Published int64 `json:"published"`
	// Expected is Published × Subscribers; Delivered the distinct
	// (subscriber, update) pairs received; Lost = Expected − Delivered (a
	// subscriber that never connected loses every update); Duplicates the
	// updates a subscriber received again.
	Expected   int64 `json:"expected"`
	Delivered  int64 `json:"delivered"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// CutOff, in an interrupted run only: the (subscriber, update) pairs
	// the interruption cut off, updates past the last one each subscriber
	// had received, which were still on their way (a poll not yet sent).
	// They are not Lost: Lost then counts only the gaps below each
	// subscriber's last update.
	CutOff int64 `json:"cut_off,omitempty"`
	// Bytes on the wire as counted at the subscribers' connections, headers
	// (and TLS) included; the publisher's are not counted.
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
	// Requests: HTTP exchanges of polling sessions; one per connection of
	// a stream.
	Requests          int64 `json:"requests"`
	ConnectionsPeak   int64 `json:"connections_peak"`
	ConnectionsDialed int64 `json:"connections_dialed"`
	// CPUMs is the process's user + system CPU time over the run (see
	// CompareResult.CPUScope); CPUMeasured is false where getrusage is not
	// available.
	CPUMs       float64 `json:"cpu_ms"`
	CPUMeasured bool    `json:"cpu_measured"`

	BytesPerUpdate    float64 `json:"bytes_per_update"`
	RequestsPerUpdate float64 `json:"requests_per_update"`
	CPUUsPerUpdate    float64 `json:"cpu_us_per_update"`

	PublishErrors int64  `json:"publish_errors"`
	PublishError  string `json:"publish_error,omitempty"`

	// Series is the delivery latency per second from the first publish.
	Series []SecondResult `json:"series"`
	// Result is the run as `rtbench load` would save it (its lost and
	// duplicates counters are compare's, above).
	Result *Result `json:"result"`
}

// SecondResult is one second of a run's delivery latency.
type SecondResult struct {
	TS     float64 `json:"t_s"`
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Delivery returns the run's delivery summary and false when it has none.
func (p *PatternResult) Delivery() (MetricResult, bool) {
	if p == nil || p.Result == nil {
		return MetricResult{}, false
	}
	m, ok := p.Result.Metrics[Delivery.String()]
	return m, ok && m.Count > 0
}

// RunPattern runs one pattern: it starts the subscribers, waits up to
// Settle for all of them to connect, publishes the workload, waits for the
// last update to arrive (up to Drain plus the run's Interval), stops the
// subscribers and measures. ctx ending interrupts the run; what was measured
// is still returned, marked Interrupted.
func (c Compare) RunPattern(ctx context.Context, run CompareRun) (*PatternResult, error) {
	c = c.withDefaults()
	if c.Publish == nil || run.NewSession == nil {
		return nil, errors.New("compare: a run needs a publisher and sessions")
	}
	n := c.UpdateCount()
	// One client per subscriber, as each real subscriber has its own
	// connections; one dialer counts them all.
	dialer := &transport.CountingDialer{}
	clients := make([]*http.Client, c.Subscribers)
	for i := range clients {
		clients[i] = c.countingClient(dialer, 1)
	}
	defer func() {
		for _, hc := range clients {
			hc.CloseIdleConnections()
		}
	}()

	st := &runState{trackers: make([]*subTracker, c.Subscribers)}
	secs := int((c.Duration+c.Drain+run.Interval)/time.Second) + 2
	for i := range st.trackers {
		st.trackers[i] = &subTracker{seen: make([]uint64, n/64+1), sec: make([]secAcc, secs), st: st}
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	e := &Engine{
		Plan: Plan{Connections: c.Subscribers, Duration: c.Settle + run.Warm + c.Duration + c.Drain + run.Interval + 10*time.Second},
		NewSession: func(i int) transport.Session {
			// Polling subscribers start spread over one interval, as a real
			// population's polls are, not in lockstep.
			delay := run.Interval * time.Duration(i) / time.Duration(c.Subscribers)
			return &trackedSession{s: run.NewSession(i, clients[i]), t: st.trackers[i], delay: delay}
		},
	}
	pr := &PatternResult{Name: run.Name, Channel: run.Channel, Subscribers: c.Subscribers}
	data := updateData(c.Size)
	cpu0, cpuOK := processCPU()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop(errRunDone)
		c.publish(runCtx, run, st, n, data, pr)
	}()
	rec, err := e.Run(runCtx)
	stop(errRunDone)
	wg.Wait()
	cpu1, _ := processCPU()
	if err != nil {
		return nil, err
	}
	if ctx.Err() == nil && errors.Is(context.Cause(runCtx), errRunDone) {
		rec.Interrupted, rec.Reason = false, ""
	}
	if cpuOK {
		pr.CPUMs, pr.CPUMeasured = float64(cpu1-cpu0)/float64(time.Millisecond), true
	}
	cnt := dialer.Counts()
	pr.BytesRead, pr.BytesWritten = cnt.Read, cnt.Written
	pr.ConnectionsPeak, pr.ConnectionsDialed = cnt.Peak, cnt.Dialed
	pr.Expected = pr.Published * int64(c.Subscribers)
	agg := make([]secAcc, secs)
	for _, t := range st.trackers {
		pr.Delivered += t.uniq
		pr.Duplicates += t.dup
		if t.exchanges > 0 {
			pr.Requests += t.exchanges
		} else {
			pr.Requests += t.connects
		}
		for i, s := range t.sec {
			agg[i].add(s)
		}
	}
	pr.Lost = max(pr.Expected-pr.Delivered, 0)
	if ctx.Err() != nil {
		// Interrupted: what was past each subscriber's last update had
		// not arrived yet, not been lost.
		pr.Lost, pr.CutOff = 0, 0
		for _, t := range st.trackers {
			last := min(int64(t.maxSeq.Load()), pr.Published)
			pr.Lost += max(last-t.uniq, 0)
			pr.CutOff += pr.Published - last
		}
	}
	if pr.Delivered > 0 {
		d := float64(pr.Delivered)
		pr.BytesPerUpdate = round6(float64(pr.BytesRead+pr.BytesWritten) / d)
		pr.RequestsPerUpdate = round6(float64(pr.Requests) / d)
		pr.CPUUsPerUpdate = round6(pr.CPUMs * 1000 / d)
	}
	last := 0
	for i, a := range agg {
		if a.n > 0 {
			last = i
		}
	}
	for i, a := range agg[:last+1] {
		s := SecondResult{TS: float64(i), Count: a.n}
		if a.n > 0 {
			s.MeanMs, s.MaxMs = round6(float64(a.sum)/float64(a.n)/1e6), round6(float64(a.max)/1e6)
		}
		pr.Series = append(pr.Series, s)
	}
	defaults := map[string]string{
		"updates_per_s": fmt.Sprint(c.Updates), "size_bytes": fmt.Sprint(c.Size),
		"settle": c.Settle.String(), "drain": c.Drain.String(),
	}
	for k, v := range run.Defaults {
		defaults[k] = v
	}
	res, err := NewResult(rec, Meta{Version: c.Version, Host: c.Host, URL: run.URL, Pattern: run.Pattern,
		Params: Params{Connections: c.Subscribers, DurationS: c.Duration.Seconds(), Defaults: defaults}})
	if err != nil {
		return nil, err
	}
	res.Counters[Lost.String()] = pr.Lost
	res.Counters[Duplicates.String()] = pr.Duplicates
	pr.Result = res
	if pr.PublishError != "" && (pr.Published == 0 || pr.Published < int64(n)/2) {
		return pr, fmt.Errorf("compare %s: publishing to channel %s failed: %s", run.Name, run.Channel, pr.PublishError)
	}
	return pr, nil
}

// countingClient returns a client from c.HTTP whose connections d counts,
// keeping up to idle connections per host.
func (c Compare) countingClient(d *transport.CountingDialer, idle int) *http.Client {
	hc := c.HTTP()
	if tr, ok := hc.Transport.(*http.Transport); ok {
		tr = tr.Clone()
		dial := tr.DialContext
		if d.Dial == nil && dial != nil {
			d.Dial = dial
		}
		tr.DialContext = d.DialContext
		tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, idle)
		tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
		cp := *hc
		cp.Transport = tr
		hc = &cp
	}
	return hc
}

// settle waits until connected reaches want, at most c.Settle, or until
// ctx ends, and returns how many had connected.
func (c Compare) settle(ctx context.Context, connected *atomic.Int64, want int) int {
	waitUntil(ctx, c.Settle, func() bool { return connected.Load() >= int64(want) })
	return int(connected.Load())
}

// waitUntil returns once done reports true (checked every 5 ms), after at
// most d, or when ctx ends: how a run waits for its members to connect and
// for the last update or message to reach them.
func waitUntil(ctx context.Context, d time.Duration, done func() bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// publish waits for the subscribers, publishes n updates at c.Updates per
// second from one goroutine (update k at a random moment of [k, k+1)/Updates after t0), then waits for
// the last one to reach every connected subscriber.
func (c Compare) publish(ctx context.Context, run CompareRun, st *runState, n int, data []byte, pr *PatternResult) {
	connected := c.settle(ctx, &st.connected, len(st.trackers))
	if ctx.Err() != nil {
		return
	}
	pr.Connected = connected
	if transport.Wait(ctx, run.Warm) != nil {
		return
	}
	t0 := time.Now()
	st.t0.Store(t0.UnixNano())
	var lastSeq uint64
	slot := float64(time.Second) / c.Updates
	for k := range n {
		// A random moment of slot k: against a polling grid every phase is
		// equally likely, so polling's cost is measured, not its alignment.
		at := t0.Add(time.Duration((float64(k) + rand.Float64()) * slot))
		if transport.Wait(ctx, time.Until(at)) != nil {
			return
		}
		seq, err := c.Publish(ctx, run.Channel, data)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			pr.PublishErrors++
			if pr.PublishError == "" {
				pr.PublishError = err.Error()
			}
			continue
		}
		if pr.Published == 0 && seq != 1 {
			// Subscribers may see an update before Publish returns, so
			// the numbering must be known in advance: 1, 2, 3 …
			pr.PublishErrors++
			pr.PublishError = fmt.Sprintf("channel %s is not new: its first update got seq %d; each run needs a fresh channel", run.Channel, seq)
			return
		}
		pr.Published++
		lastSeq = seq
	}
	if pr.Published == 0 {
		return
	}
	waitUntil(ctx, c.Drain+run.Interval, func() bool {
		for _, t := range st.trackers {
			if t.connected.Load() && t.maxSeq.Load() < lastSeq {
				return false
			}
		}
		return true
	})
}

// updateData is the JSON data of each update: {"p":"xxx…"}, size bytes.
func updateData(size int) []byte {
	return []byte(`{"p":"` + strings.Repeat("x", size-8) + `"}`)
}

// runState is one run's state shared by its subscribers and publisher.
type runState struct {
	trackers  []*subTracker
	connected atomic.Int64 // subscribers that connected at least once
	t0        atomic.Int64 // first publish, Unix ns; 0 before
}

// subTracker is one subscriber's view of the workload, kept across its
// session's restarts. Only its session's goroutine writes it; the
// publisher reads the atomics.
type subTracker struct {
	st        *runState
	seen      []uint64 // bit k: update k+1 received
	uniq, dup int64
	exchanges int64
	connects  int64
	started   bool
	sec       []secAcc
	maxSeq    atomic.Uint64
	connected atomic.Bool
}

// secAcc accumulates one second's delivery latencies, in ns.
type secAcc struct{ n, sum, max int64 }

func (a *secAcc) add(o secAcc) {
	a.n += o.n
	a.sum += o.sum
	a.max = max(a.max, o.max)
}

func (t *subTracker) event(e *transport.Event) {
	if e.Kind != transport.KindMessage || !e.Stamp.HasSeq {
		return
	}
	if t.maxSeq.Load() < e.Stamp.Seq {
		t.maxSeq.Store(e.Stamp.Seq)
	}
	if e.Stamp.Seq == 0 {
		return
	}
	k := e.Stamp.Seq - 1
	if k/64 >= uint64(len(t.seen)) {
		return
	}
	bit := uint64(1) << (k % 64)
	if t.seen[k/64]&bit != 0 {
		t.dup++
		return
	}
	t.seen[k/64] |= bit
	t.uniq++
	if t0 := t.st.t0.Load(); t0 > 0 && e.Stamp.HasSched {
		at := e.At.UnixNano()
		d := max(at-e.Stamp.SchedNS, 0)
		i := min(max(int((at-t0)/int64(time.Second)), 0), len(t.sec)-1)
		s := &t.sec[i]
		s.n++
		s.sum += d
		s.max = max(s.max, d)
	}
}

// trackedSession runs a session with an Observer that also feeds t.
type trackedSession struct {
	s     transport.Session
	t     *subTracker
	delay time.Duration // before the first start only
}

func (s *trackedSession) Run(ctx context.Context, obs transport.Observer) error {
	if !s.t.started {
		s.t.started = true
		if err := transport.Wait(ctx, s.delay); err != nil {
			return nil
		}
	}
	return s.s.Run(ctx, &trackObserver{Observer: obs, t: s.t})
}

type trackObserver struct {
	transport.Observer
	t *subTracker
}

// Connected marks the subscriber connected: its stream is open.
func (o *trackObserver) Connected(c *transport.Connect) {
	o.t.connects++
	o.t.markConnected()
	o.Observer.Connected(c)
}

func (t *subTracker) markConnected() {
	if !t.connected.Swap(true) {
		t.st.connected.Add(1)
	}
}

func (o *trackObserver) Event(e *transport.Event) {
	o.Observer.Event(e)
	o.t.event(e)
}

// Exchange marks a polling subscriber connected at its first answer: its
// polls may go over keep-alive connections other sessions opened, whose
// Connected it never sees.
func (o *trackObserver) Exchange(x *transport.Exchange) {
	o.t.exchanges++
	if x.Status != 0 {
		o.t.markConnected()
	}
	o.Observer.Exchange(x)
}
