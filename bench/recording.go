package bench

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Recording is everything a run measured, in memory: the engine produces it,
// result.go turns it into the saved Result. Histograms are complete (merged
// from every shard); nothing in it is a sample or an average of averages.
type Recording struct {
	Start, End time.Time
	// Measured excludes the warmup: values are recorded only from
	// MeasureFrom on.
	MeasureFrom time.Time

	Hists    [NumMetrics]*Hist
	Counters [NumCounters]int64
	Errors   map[transport.Class]*ErrorCount
	// TokensSources counts AI requests by the usage field their tokens
	// came from (transport.Exchange.TokensSource).
	TokensSources map[string]int64

	// Intervals has one entry per second of the run (from Start), including
	// the warmup, so connections over time can be drawn.
	Intervals []Interval

	// SelfCheck is the generator's own lateness: how late a 1 ms ticker in
	// rtbench fired. A high p99 means rtbench was saturated (CPU, GC) and
	// its latencies are suspect.
	SelfCheck *Hist

	// GoroutinesStart and GoroutinesEnd are the process's goroutines before
	// the run started its first session and after every session returned:
	// equal, give or take the caller's own, unless something leaked.
	// MaxRSS is the process's peak resident memory (bytes; 0 when the
	// platform does not say).
	GoroutinesStart, GoroutinesEnd int
	MaxRSS                         int64

	// Outages are the largest episodes of lost connections (MaxOutages at
	// most; Counters[Outages] counts them all).
	Outages []Outage

	// Clock is the payload clock delivery was measured from, when it was
	// not sched_ns, at the finest resolution seen.
	Clock ClockSource

	// Steps are a scenario's steps, in Engine.Steps order.
	Steps []StepRecording

	Interrupted bool   // stopped by a signal or a cancel before the plan ended
	Reason      string // why it stopped early, when it did
}

// ClockSource is a payload clock that delivery latency was measured from:
// its field, the unit it was read in and its resolution (zero: none).
type ClockSource struct {
	Field string
	Unit  string
	Res   time.Duration
}

// finer keeps the finer of c and o in c (o with a resolution at all). The
// finest value seen is the clock's resolution: a fraction written without
// its trailing zeros (Python's repr of time.time()) is not a coarser clock.
func (c *ClockSource) finer(o ClockSource) {
	if o.Res > 0 && (c.Res == 0 || o.Res < c.Res) {
		*c = o
	}
}

// ErrorCount is one error class's count and one example message. Codes
// counts the errors of the class by their code, where they have one (the
// HTTP status of http_4xx and http_5xx, the close code of ws_close, the
// status of a refused WebSocket handshake).
type ErrorCount struct {
	Count   int64
	Example string
	Codes   map[int]int64
}

func (ec *ErrorCount) addCodes(codes map[int]int64) {
	for c, n := range codes {
		if ec.Codes == nil {
			ec.Codes = make(map[int]int64, len(codes))
		}
		ec.Codes[c] += n
	}
}

// Interval is one second of a run.
type Interval struct {
	T           time.Duration // offset of the second's start from Recording.Start
	Open        int64         // sessions open at the end of the second
	Opened      int64         // sessions started
	Established int64         // connections established (headers or 101)
	Closed      int64         // connections that ended
	Failed      int64         // sessions that ended with a fatal error
	Events      int64
	Bytes       int64
	Errors      int64
	Requests    int64
	// DeliveryP99 is the p99 of the headline latency recorded in this second
	// (delivery for pushes, request for polling, ttft for AI); 0 when none.
	HeadlineP99 time.Duration
}

// NewRecording returns an empty recording with every histogram allocated.
func NewRecording() *Recording {
	r := &Recording{Errors: make(map[transport.Class]*ErrorCount), SelfCheck: NewHist()}
	for i := range r.Hists {
		r.Hists[i] = NewHist()
	}
	return r
}
