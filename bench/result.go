package bench

import "time"

// SchemaV2 is the schema string of the saved result this package writes
// and reads. docs/result-schema.md documents it field by field.
const SchemaV2 = "rtbench.result/v2"

// SchemaV1 is the previous schema, which Decode still reads and upgrades
// to v2 (see upgradeV1): v2 renamed v1's connect (dial start → response
// headers) to handshake and gave connect to TCP + TLS.
const SchemaV1 = "rtbench.result/v1"

// ToolName is the tool name a result carries.
const ToolName = "rtbench"

// MaxResultBytes bounds what Decode reads: a day-long run with per-second
// intervals is a few MiB, so anything larger is not an rtbench result.
const MaxResultBytes = 256 << 20

// maxSpanS bounds the seconds a result, or the results of one merge, can
// span (7 days): intervals are one per second.
const maxSpanS = 7 * 24 * 3600

// Result is the saved outcome of one run, or of several merged: the JSON
// contract rtbench.result/v2. Durations are milliseconds (_ms) or seconds
// (_s); every latency summary can be re-derived from its histogram (hdr).
type Result struct {
	Schema string     `json:"schema"`
	Tool   ToolInfo   `json:"tool"`
	Target TargetInfo `json:"target"`
	Params Params     `json:"params"`
	// Run names the run the result belongs to and fingerprints it; absent
	// in results written before rtbench fingerprinted runs.
	Run *RunInfo `json:"run,omitempty"`
	// Hosts are the machines the result comes from: one for a single run,
	// one per merged result after Merge (sorted).
	Hosts []string `json:"hosts"`

	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// MeasuredFrom is the end of the warmup: histograms and counters hold
	// only what happened from then on.
	MeasuredFrom time.Time `json:"measured_from"`
	// DurationS is the measured window, EndedAt − MeasuredFrom, in seconds:
	// what rates (events/s) divide by.
	DurationS float64 `json:"duration_s"`

	Interrupted bool   `json:"interrupted"`
	Reason      string `json:"reason,omitempty"`

	// Saturated is true when the generator's self-check p99 exceeded
	// SaturationP99 (on any host, after a merge): its latencies are suspect.
	Saturated bool          `json:"saturated"`
	SelfCheck *MetricResult `json:"self_check,omitempty"`
	// Process is rtbench's own footprint during the run.
	Process *ProcessResult `json:"process,omitempty"`

	// Metrics holds only the metrics that have values, by Metric name.
	Metrics map[string]MetricResult `json:"metrics"`
	// Counters holds every counter, by Counter name, zeros included.
	Counters map[string]int64 `json:"counters"`
	// Errors holds one entry per error class (transport.Class names).
	Errors map[string]ErrorResult `json:"errors"`
	// TokensSources counts AI requests by the field of the stream's usage
	// their tokens came from ("usage.output_tokens", "eval_count" …); the
	// others were counted from deltas (counters.tokens_from_deltas).
	TokensSources map[string]int64 `json:"tokens_sources,omitempty"`
	Intervals     []IntervalResult `json:"intervals"`
	// Outages are the largest episodes of lost connections (MaxOutages at
	// most, largest first; counters.outages counts them all). After a
	// merge, each machine's view of one server restart is its own entry.
	Outages []OutageResult `json:"outages,omitempty"`
	// Steps are a scenario's steps (rtbench load -f, --job), in the
	// scenario's order; absent for a run of one URL.
	Steps []StepResult `json:"steps,omitempty"`
	// Thresholds are the outcomes of the thresholds the command that wrote
	// the result checked (load, report), in order; absent when none.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Clock names the payload clock delivery latency was measured from when
	// it was not rtbench's sched_ns (a third-party server's time, ts …).
	Clock *ClockResult `json:"clock,omitempty"`
	// HTTP2 is how the run multiplexed its sessions when it spoke HTTP/2;
	// absent otherwise.
	HTTP2 *HTTP2Result `json:"http2,omitempty"`
}

// StepResult is one step of a scenario: how many sessions completed it,
// failed it or were cut off in it, the requests it sent and the bytes it
// read, and its latency (completed steps only). Staleness (a poll's answer
// arrival − the time its state began) and ServerDuration (the work's own
// duration, as the answer says) are there for poll steps that read them.
type StepResult struct {
	Name           string        `json:"name"`
	Completed      int64         `json:"completed"`
	Failed         int64         `json:"failed"`
	CutOff         int64         `json:"cut_off"`
	Requests       int64         `json:"requests"`
	Bytes          int64         `json:"bytes"`
	Latency        *MetricResult `json:"latency,omitempty"`
	Staleness      *MetricResult `json:"staleness,omitempty"`
	ServerDuration *MetricResult `json:"server_duration,omitempty"`
}

// ClockResult is the payload clock delivery came from: the field and the
// unit it was read in, its resolution, and Coarse when that resolution is
// coarser than the median delivery latency it measured (a millisecond clock
// on a sub-millisecond loopback): the delivery figures are then quantised
// to the clock's ticks. The resolution is the finest seen (a value written
// without its trailing zeros does not make a clock coarser). After a merge,
// the finest, coarse when any result was.
type ClockResult struct {
	Field        string  `json:"field"`
	Unit         string  `json:"unit"`
	ResolutionMs float64 `json:"resolution_ms"`
	Coarse       bool    `json:"coarse"`
}

// ProcessResult is the load generator's own footprint: a leak check
// (goroutines before the first session and after the last returned) and its
// peak memory. After a merge, goroutines are summed over the hosts and
// max_rss_bytes is the largest.
type ProcessResult struct {
	GoroutinesStart int   `json:"goroutines_start"`
	GoroutinesEnd   int   `json:"goroutines_end"`
	MaxRSSBytes     int64 `json:"max_rss_bytes"`
}

// OutageResult is one Outage: times are wall-clock (UTC), so the outages of
// merged results line up.
type OutageResult struct {
	Start time.Time `json:"start"`
	// FirstBack: the first session connected again; absent when none did
	// before the run ended. End: the last one did (or stopped trying);
	// absent when sessions were still waiting at the end.
	FirstBack *time.Time `json:"first_back,omitempty"`
	End       *time.Time `json:"end,omitempty"`
	Sessions  int64      `json:"sessions"`  // connections lost in the episode
	Recovered int64      `json:"recovered"` // of those, connected again
	// DowntimeMs is first_back − start, or the result's ended_at − start
	// when no session came back: how long the target was out of reach as
	// the sessions saw it. RecoveryMs is end − start: the time until every
	// session was back; absent when the outage did not end.
	DowntimeMs float64  `json:"downtime_ms"`
	RecoveryMs *float64 `json:"recovery_ms,omitempty"`
}

// ToolInfo names the program that wrote the result.
type ToolInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// TargetInfo is what was measured.
type TargetInfo struct {
	URL     string `json:"url"`
	Pattern string `json:"pattern"` // sse, ai-sse, poll, long-poll, ws …
}

// Params is every parameter that shaped the load, as the command resolved
// it (defaults included), so a result says how it was produced.
type Params struct {
	Connections int           `json:"connections"` // closed model: sessions held
	DurationS   float64       `json:"duration_s"`  // planned duration, warmup included
	WarmupS     float64       `json:"warmup_s"`
	Ramp        RampParams    `json:"ramp"`
	Stages      []StageParams `json:"stages,omitempty"`
	RatePerS    float64       `json:"rate_per_s"`    // open model: intended starts per second; 0 = closed model
	MaxInFlight int           `json:"max_in_flight"` // open model: worker cap, past it starts are dropped
	// Model names how requests were timed (one of the Model constants);
	// empty in results written before it existed.
	Model string `json:"model,omitempty"`
	// Defaults holds the protocol knobs the command filled (timeouts, read
	// limits, reconnect policy, buffer sizes), by flag name, as text with
	// units ("ttfb_timeout": "10s").
	Defaults map[string]string `json:"defaults,omitempty"`
}

// The load models a Result names in Params.Model.
const (
	// ModelOpen: one central pacer starts each request at its intended
	// time (--rate); latency counts from that time.
	ModelOpen = "open"
	// ModelHeld: streams held open (SSE, WebSocket); latency is delivery.
	ModelHeld = "held"
	// ModelScheduled: each held polling session sends a request every
	// interval on its own fixed schedule; latency counts from the intended
	// time, so a slow server shows as lateness, not as fewer requests.
	ModelScheduled = "scheduled"
	// ModelClosedLoop: each held session sends its next request as soon as
	// the previous one is answered (polling --interval 0, AI streams);
	// latency counts from the actual send: the response time.
	ModelClosedLoop = "closed-loop"
)

// RampParams is how sessions were started: at a rate, or spread over a time
// to reach Connections; both zero means all at once.
type RampParams struct {
	SessionsPerS float64 `json:"sessions_per_s"`
	TimeS        float64 `json:"time_s"`
}

// StageParams is one stage: ramp linearly from the previous target to
// Target (sessions held, or a rate in the open model) over DurationS.
type StageParams struct {
	DurationS float64 `json:"duration_s"`
	Target    float64 `json:"target"`
}

// MetricResult summarises one latency histogram. The summary fields are
// computed from HDR, in milliseconds (resolution 1 µs, 3 significant
// digits).
type MetricResult struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
	// Overflow values were above one hour and are counted at one hour;
	// Negative values (clock skew) are counted at 0.
	Overflow int64 `json:"overflow"`
	Negative int64 `json:"negative"`
	// HDR is the histogram in HdrHistogram's standard V2 compressed
	// encoding, base64 ("HISTFAAA…"): µs, 1 µs … 1 h, 3 digits.
	HDR string `json:"hdr"`
}

// ErrorResult is one error class: how many, and one example message.
type ErrorResult struct {
	Count   int64  `json:"count"`
	Example string `json:"example"`
	// Codes counts the class's errors by code where they carry one: the
	// HTTP status of http_4xx/http_5xx and of a refused WebSocket
	// handshake, the close code of ws_close ({"404": 12, "401": 3}).
	Codes map[string]int64 `json:"codes,omitempty"`
}

// IntervalResult is one second of the run.
type IntervalResult struct {
	// TS is the second's start, in seconds from StartedAt (0, 1, 2 … for one
	// run; wall-clock seconds relative to the earliest start after Merge).
	TS            float64 `json:"t_s"`
	Open          int64   `json:"open"`
	Opened        int64   `json:"opened"`
	Established   int64   `json:"established"`
	Closed        int64   `json:"closed"`
	Failed        int64   `json:"failed"`
	Events        int64   `json:"events"`
	Bytes         int64   `json:"bytes"`
	Errors        int64   `json:"errors"`
	Requests      int64   `json:"requests"`
	HeadlineP99Ms float64 `json:"headline_p99_ms"`
}

// Meta is what a Recording does not know about its run.
type Meta struct {
	Version string // rtbench's version
	URL     string // the target
	Pattern string // the protocol pattern (sse, ws, poll …)
	Params  Params
	Host    string // this machine; os.Hostname() when empty
	// Run, when set, is the run's id, agents, start and fingerprint; the
	// result's one part (this agent) is filled from Share and the start.
	Run   *RunInfo
	Share Share
}

// Silent reports whether r is a WebSocket run whose connections opened but
// received no message at all (no event, no echo) and saw no error: it
// measured nothing, and most often the server waited for a subscribe or
// auth message (--send).
func (r *Result) Silent() bool {
	if errs, _ := r.ErrorTotals(); errs > 0 {
		return false // the errors say why
	}
	c := r.Counters
	echo := r.Metrics[EchoRTT.String()] // zero when absent
	return r.Target.Pattern == "ws" && c[Events.String()] == 0 && c[Connects.String()] > 0 && echo.Count == 0
}
