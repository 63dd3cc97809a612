package bench

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaV1 is the schema string of the saved result this package writes and
// reads. docs/result-schema.md documents it field by field.
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
// contract rtbench.result/v1. Durations are milliseconds (_ms) or seconds
// (_s); every latency summary can be re-derived from its histogram (hdr).
type Result struct {
	Schema string     `json:"schema"`
	Tool   ToolInfo   `json:"tool"`
	Target TargetInfo `json:"target"`
	Params Params     `json:"params"`
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
	Errors    map[string]ErrorResult `json:"errors"`
	Intervals []IntervalResult       `json:"intervals"`
	// Outages are the largest episodes of lost connections (MaxOutages at
	// most, largest first; counters.outages counts them all). After a
	// merge, each machine's view of one server restart is its own entry.
	Outages []OutageResult `json:"outages,omitempty"`
	// Clock names the payload clock delivery latency was measured from when
	// it was not rtbench's sched_ns (a third-party server's time, ts …).
	Clock *ClockResult `json:"clock,omitempty"`
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
}

// NewResult turns a Recording into a Result.
func NewResult(rec *Recording, meta Meta) (*Result, error) {
	if rec == nil {
		return nil, errors.New("new result: no recording")
	}
	if meta.URL == "" || meta.Pattern == "" {
		return nil, errors.New("new result: meta needs the target URL and pattern")
	}
	host := meta.Host
	if host == "" {
		host, _ = os.Hostname()
		if host == "" {
			host = "unknown"
		}
	}
	start, end, from := utc(rec.Start), utc(rec.End), utc(rec.MeasureFrom)
	if from.IsZero() {
		from = start
	}
	r := &Result{
		Schema:       SchemaV1,
		Tool:         ToolInfo{Name: ToolName, Version: meta.Version},
		Target:       TargetInfo{URL: meta.URL, Pattern: meta.Pattern},
		Params:       meta.Params,
		Hosts:        []string{host},
		StartedAt:    start,
		EndedAt:      end,
		MeasuredFrom: from,
		DurationS:    end.Sub(from).Seconds(),
		Interrupted:  rec.Interrupted,
		Reason:       rec.Reason,
		Metrics:      make(map[string]MetricResult),
		Counters:     make(map[string]int64, NumCounters),
		Errors:       make(map[string]ErrorResult, len(rec.Errors)),
		Intervals:    make([]IntervalResult, 0, len(rec.Intervals)),
	}
	r.Params.Defaults = maps.Clone(meta.Params.Defaults)
	r.Params.Stages = slices.Clone(meta.Params.Stages)
	if rec.SelfCheck != nil && rec.SelfCheck.Count() > 0 {
		s, err := summarize(rec.SelfCheck)
		if err != nil {
			return nil, fmt.Errorf("new result: self_check: %w", err)
		}
		r.SelfCheck = &s
		r.Saturated = Saturated(rec)
	}
	for m, h := range rec.Hists {
		if h == nil || h.Count() == 0 {
			continue
		}
		s, err := summarize(h)
		if err != nil {
			return nil, fmt.Errorf("new result: metrics.%s: %w", Metric(m), err)
		}
		r.Metrics[Metric(m).String()] = s
	}
	for c, n := range rec.Counters {
		r.Counters[Counter(c).String()] = n
	}
	for class, e := range rec.Errors {
		if e != nil {
			er := ErrorResult{Count: e.Count, Example: e.Example}
			for c, n := range e.Codes {
				if er.Codes == nil {
					er.Codes = make(map[string]int64, len(e.Codes))
				}
				er.Codes[strconv.Itoa(c)] = n
			}
			r.Errors[string(class)] = er
		}
	}
	if c := rec.Clock; c.Res > 0 {
		r.Clock = &ClockResult{Field: c.Field, Unit: c.Unit, ResolutionMs: ms(c.Res)}
		if d, ok := r.Metrics[Delivery.String()]; ok && d.P50Ms < r.Clock.ResolutionMs {
			r.Clock.Coarse = true
		}
	}
	if rec.GoroutinesStart > 0 {
		r.Process = &ProcessResult{GoroutinesStart: rec.GoroutinesStart, GoroutinesEnd: rec.GoroutinesEnd, MaxRSSBytes: rec.MaxRSS}
	}
	for _, o := range rec.Outages {
		res := OutageResult{Start: utc(o.Start), Sessions: o.Sessions, Recovered: o.Recovered}
		if !o.FirstBack.IsZero() {
			t := utc(o.FirstBack)
			res.FirstBack = &t
		}
		if !o.End.IsZero() {
			t := utc(o.End)
			res.End = &t
		}
		r.Outages = append(r.Outages, res.derive(end))
	}
	for _, iv := range rec.Intervals {
		r.Intervals = append(r.Intervals, IntervalResult{
			TS: iv.T.Seconds(), Open: iv.Open, Opened: iv.Opened, Established: iv.Established,
			Closed: iv.Closed, Failed: iv.Failed, Events: iv.Events, Bytes: iv.Bytes,
			Errors: iv.Errors, Requests: iv.Requests, HeadlineP99Ms: ms(iv.HeadlineP99),
		})
	}
	return r, nil
}

// derive fills the outage's downtime and recovery from its times; ended is
// the result's end.
func (o OutageResult) derive(ended time.Time) OutageResult {
	switch {
	case o.FirstBack != nil:
		o.DowntimeMs = ms(o.FirstBack.Sub(o.Start))
	case ended.After(o.Start):
		o.DowntimeMs = ms(ended.Sub(o.Start))
	default:
		o.DowntimeMs = 0
	}
	o.RecoveryMs = nil
	if o.End != nil {
		v := ms(o.End.Sub(o.Start))
		o.RecoveryMs = &v
	}
	return o
}

// outageResultOrder is outageOrder for saved outages.
func outageResultOrder(a, b OutageResult) int {
	t := func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return *p
	}
	return outageOrder(
		Outage{Start: a.Start, FirstBack: t(a.FirstBack), End: t(a.End), Sessions: a.Sessions, Recovered: a.Recovered},
		Outage{Start: b.Start, FirstBack: t(b.FirstBack), End: t(b.End), Sessions: b.Sessions, Recovered: b.Recovered})
}

// Histogram decodes the metric's histogram.
func (m MetricResult) Histogram() (*Hist, error) {
	return decodeHDR(m.HDR, m.Overflow, m.Negative)
}

// summarize computes a MetricResult from a histogram.
func summarize(h *Hist) (MetricResult, error) {
	hdr, err := encodeHDR(h)
	if err != nil {
		return MetricResult{}, err
	}
	return MetricResult{
		Count: h.Count(), MinMs: ms(h.Min()), MeanMs: ms(h.Mean()),
		P50Ms: ms(h.Quantile(50)), P90Ms: ms(h.Quantile(90)), P95Ms: ms(h.Quantile(95)),
		P99Ms: ms(h.Quantile(99)), P999Ms: ms(h.Quantile(99.9)), MaxMs: ms(h.Max()),
		Overflow: h.Overflow, Negative: h.Negative, HDR: hdr,
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func utc(t time.Time) time.Time { return t.Round(0).UTC() }

// encodeHDR returns HdrHistogram's standard V2 compressed encoding, which
// hdrhistogram-go already returns base64-encoded ("HISTFAAA…"): the form
// every HdrHistogram implementation reads. (Hist.Encode wraps it in a
// second base64 layer, so the file does not use it.)
func encodeHDR(h *Hist) (string, error) {
	b, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeHDR reverses encodeHDR. It reads the geometry from the header
// first, so a histogram of another geometry is refused before its counts
// are allocated.
func decodeHDR(s string, overflow, negative int64) (*Hist, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	lowest, highest, digits, err := hdrGeometry(s)
	if err != nil {
		return nil, err
	}
	if lowest != HistLowest || highest != HistHighest || digits != HistDigits {
		return nil, fmt.Errorf("histogram has range %d..%d µs with %d digits; rtbench writes %d..%d with %d",
			lowest, highest, digits, HistLowest, HistHighest, HistDigits)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("histogram does not decode: %w", err)
	}
	return &Hist{h: h, Overflow: overflow, Negative: negative}, nil
}

// hdrGeometry reads lowest, highest and significant digits from an encoded
// histogram's header (V2 compressed: cookie, length, then a zlib stream
// whose first 40 bytes are the header).
func hdrGeometry(s string) (lowest, highest int64, digits int32, err error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("histogram is not base64: %w", err)
	}
	if len(b) < 8 {
		return 0, 0, 0, errors.New("histogram is too short")
	}
	cookie := int32(binary.BigEndian.Uint32(b[0:4])) &^ 0xf0
	if cookie != hdrhistogram.V2CompressedEncodingCookieBase {
		return 0, 0, 0, errors.New("histogram is not in HdrHistogram's V2 compressed encoding")
	}
	n := int64(int32(binary.BigEndian.Uint32(b[4:8])))
	if n < 0 || n > int64(len(b)-8) {
		return 0, 0, 0, errors.New("histogram is truncated")
	}
	z, err := zlib.NewReader(bytes.NewReader(b[8 : 8+n]))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("histogram does not decompress: %w", err)
	}
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return 0, 0, 0, fmt.Errorf("histogram header does not decompress: %w", err)
	}
	digits = int32(binary.BigEndian.Uint32(hdr[12:16]))
	lowest = int64(binary.BigEndian.Uint64(hdr[16:24]))
	highest = int64(binary.BigEndian.Uint64(hdr[24:32]))
	return lowest, highest, digits, nil
}

// WriteFile saves r as indented JSON. It writes a temporary file in the same
// directory, syncs it and renames it over path, so path never holds a
// half-written result, even if rtbench is killed while saving.
func WriteFile(path string, r *Result) (err error) {
	if r == nil || r.Schema != SchemaV1 {
		return fmt.Errorf("write result %s: not a %s result", path, SchemaV1)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	b = append(b, '\n')
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			err = fmt.Errorf("write result %s: %w", path, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// ReadFile reads a result saved by WriteFile.
func ReadFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read result %s: %w", path, err)
	}
	return r, nil
}

// Decode reads a result: it checks the schema string first (another
// version, or a file that is not an rtbench result, gets an error saying
// so), then decodes every histogram and checks it against its summary count.
// Errors name the field at fault.
func Decode(rd io.Reader) (*Result, error) {
	b, err := io.ReadAll(io.LimitReader(rd, MaxResultBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResultBytes {
		return nil, fmt.Errorf("larger than %d MiB: not an rtbench result", MaxResultBytes>>20)
	}
	var probe struct {
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("not an rtbench result: not JSON (at byte %d: %v)", syn.Offset, syn)
		}
		return nil, errors.New("not an rtbench result: not a JSON object")
	}
	var schema string
	if probe.Schema == nil {
		return nil, errors.New(`not an rtbench result: no "schema" field`)
	}
	if err := json.Unmarshal(probe.Schema, &schema); err != nil {
		return nil, errors.New(`not an rtbench result: "schema" is not a string`)
	}
	switch {
	case schema == SchemaV1:
	case strings.HasPrefix(schema, "rtbench.result/"):
		return nil, fmt.Errorf("schema %q is not supported: this rtbench reads %q", schema, SchemaV1)
	default:
		return nil, fmt.Errorf("not an rtbench result: schema %q (want %q)", schema, SchemaV1)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("field %s: %s where %s was expected", typ.Field, typ.Value, typ.Type)
		}
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// validate checks what JSON cannot: every histogram decodes, has rtbench's
// geometry and holds as many values as its summary says.
func (r *Result) validate() error {
	if r.SelfCheck != nil {
		if _, err := checkMetric(*r.SelfCheck); err != nil {
			return fmt.Errorf("field self_check.%w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Metrics)) {
		if _, err := checkMetric(r.Metrics[name]); err != nil {
			return fmt.Errorf("field metrics.%s.%w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Errors)) {
		if r.Errors[name].Count < 0 {
			return fmt.Errorf("field errors.%s.count: negative", name)
		}
		for code, n := range r.Errors[name].Codes {
			if c, err := strconv.Atoi(code); err != nil || c < 0 || c > 99999 || n < 0 {
				return fmt.Errorf("field errors.%s.codes: %q: %d is not a code and a count", name, code, n)
			}
		}
	}
	for i, iv := range r.Intervals {
		// Not before the second the run started in, so that a merge (which
		// aligns intervals on those seconds) stays within this range.
		early := intervalSecond(r.StartedAt, iv.TS) < intervalSecond(r.StartedAt, 0)
		if iv.TS <= -1 || early || iv.TS > maxSpanS || (i > 0 && iv.TS <= r.Intervals[i-1].TS) {
			return fmt.Errorf("field intervals[%d].t_s: %v is out of order or out of range", i, iv.TS)
		}
	}
	if p := r.Process; p != nil && (p.GoroutinesStart < 0 || p.GoroutinesEnd < 0 || p.MaxRSSBytes < 0) {
		return errors.New("field process: negative")
	}
	if len(r.Outages) > MaxOutages {
		return fmt.Errorf("field outages: %d entries, at most %d are kept", len(r.Outages), MaxOutages)
	}
	for i, o := range r.Outages {
		switch {
		case o.Sessions < 1 || o.Recovered < 0 || o.Recovered > o.Sessions:
			return fmt.Errorf("field outages[%d]: %d of %d sessions recovered", i, o.Recovered, o.Sessions)
		case o.FirstBack != nil && o.FirstBack.Before(o.Start), o.End != nil && o.End.Before(o.Start):
			return fmt.Errorf("field outages[%d]: first_back or end before start", i)
		}
	}
	return nil
}

// checkMetric decodes m's histogram and checks it against the summary. Its
// errors start with the sub-field's name.
func checkMetric(m MetricResult) (*Hist, error) {
	if m.Overflow < 0 || m.Negative < 0 || m.Overflow > m.Count || m.Negative > m.Count {
		return nil, fmt.Errorf("overflow/negative: %d and %d out of %d values", m.Overflow, m.Negative, m.Count)
	}
	h, err := m.Histogram()
	if err != nil {
		return nil, fmt.Errorf("hdr: %w", err)
	}
	if h.Count() != m.Count {
		return nil, fmt.Errorf("hdr: holds %d values but count is %d", h.Count(), m.Count)
	}
	return h, nil
}

// Merge combines results from several machines (or runs) of the same test
// into one, exactly: histograms are merged from their hdr, so the merged
// p99 is the p99 of every sample, not an average of p99s; counters and
// errors are summed; intervals are aligned on wall-clock seconds.
//
// The results must have the same target, pattern and plan shape (duration,
// warmup, ramp time, stage durations, protocol defaults); the load amounts
// (connections, rates, max in flight, stage targets) are summed. Merge is
// associative and commutative: hosts are sorted; the error example kept is
// the shortest (then alphabetically first); Interrupted and Saturated are
// true if any is; a merged interval's headline p99 is the highest of its
// parts (an upper bound: intervals carry no histogram).
func Merge(rs ...*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("merge: result %d is nil", i+1)
		}
		if r.Schema != SchemaV1 {
			return nil, fmt.Errorf("merge: result %d has schema %q, want %q", i+1, r.Schema, SchemaV1)
		}
	}
	for i, r := range rs[1:] {
		if err := sameTest(rs[0], r); err != nil {
			return nil, fmt.Errorf("merge: results 1 (%s) and %d (%s) are not the same test: %w",
				strings.Join(rs[0].Hosts, ","), i+2, strings.Join(r.Hosts, ","), err)
		}
	}
	out := &Result{
		Schema:    SchemaV1,
		Tool:      ToolInfo{Name: ToolName},
		Target:    rs[0].Target,
		Params:    rs[0].Params,
		Metrics:   make(map[string]MetricResult),
		Counters:  make(map[string]int64),
		Errors:    make(map[string]ErrorResult),
		Intervals: []IntervalResult{},
	}
	out.Params.Defaults = maps.Clone(rs[0].Params.Defaults)
	out.Params.Stages = slices.Clone(rs[0].Params.Stages)
	out.Params.Connections, out.Params.MaxInFlight = 0, 0
	out.Params.RatePerS, out.Params.Ramp.SessionsPerS = 0, 0
	for i := range out.Params.Stages {
		out.Params.Stages[i].Target = 0
	}
	var versions, reasons []string
	hists := make(map[string]*Hist)
	var self *Hist
	over := false // a sum overflowed: no real runs hold such counts
	for i, r := range rs {
		p := &out.Params
		addChecked(&over, &p.Connections, r.Params.Connections)
		addChecked(&over, &p.MaxInFlight, r.Params.MaxInFlight)
		p.RatePerS += r.Params.RatePerS
		p.Ramp.SessionsPerS += r.Params.Ramp.SessionsPerS
		for j := range p.Stages {
			p.Stages[j].Target += r.Params.Stages[j].Target
		}
		versions = append(versions, splitList(r.Tool.Version, ", ")...)
		reasons = append(reasons, splitList(r.Reason, "; ")...)
		out.Hosts = append(out.Hosts, r.Hosts...)
		if i == 0 || r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		if i == 0 || r.MeasuredFrom.Before(out.MeasuredFrom) {
			out.MeasuredFrom = r.MeasuredFrom
		}
		if i == 0 || r.EndedAt.After(out.EndedAt) {
			out.EndedAt = r.EndedAt
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.Saturated = out.Saturated || r.Saturated
		if c := r.Clock; c != nil && (out.Clock == nil || c.ResolutionMs < out.Clock.ResolutionMs) {
			coarse := out.Clock != nil && out.Clock.Coarse
			cp := *c
			out.Clock = &cp
			out.Clock.Coarse = out.Clock.Coarse || coarse
		} else if c != nil && c.Coarse {
			out.Clock.Coarse = true
		}
		if r.SelfCheck != nil {
			h, err := checkMetric(*r.SelfCheck)
			if err != nil {
				return nil, fmt.Errorf("merge: result %d: self_check.%w", i+1, err)
			}
			if self == nil {
				self = NewHist()
			}
			over = over || self.Count() > math.MaxInt64-h.Count()
			self.Merge(h)
		}
		for _, name := range slices.Sorted(maps.Keys(r.Metrics)) {
			h, err := checkMetric(r.Metrics[name])
			if err != nil {
				return nil, fmt.Errorf("merge: result %d: metrics.%s.%w", i+1, name, err)
			}
			if hists[name] == nil {
				hists[name] = NewHist()
			}
			over = over || hists[name].Count() > math.MaxInt64-h.Count()
			hists[name].Merge(h)
		}
		for name, n := range r.Counters {
			v := out.Counters[name]
			addChecked(&over, &v, n)
			out.Counters[name] = v
		}
		for class, e := range r.Errors {
			m := out.Errors[class]
			addChecked(&over, &m.Count, e.Count)
			m.Example = pickExample(m.Example, e.Example)
			for code, n := range e.Codes {
				if m.Codes == nil {
					m.Codes = make(map[string]int64)
				}
				v := m.Codes[code]
				addChecked(&over, &v, n)
				m.Codes[code] = v
			}
			out.Errors[class] = m
		}
		out.Outages = append(out.Outages, r.Outages...)
		if p := r.Process; p != nil {
			if out.Process == nil {
				out.Process = &ProcessResult{}
			}
			addChecked(&over, &out.Process.GoroutinesStart, p.GoroutinesStart)
			addChecked(&over, &out.Process.GoroutinesEnd, p.GoroutinesEnd)
			out.Process.MaxRSSBytes = max(out.Process.MaxRSSBytes, p.MaxRSSBytes)
		}
	}
	p := &out.Params
	p.RatePerS, p.Ramp.SessionsPerS = round6(p.RatePerS), round6(p.Ramp.SessionsPerS)
	for j := range p.Stages {
		p.Stages[j].Target = round6(p.Stages[j].Target)
		over = over || math.IsInf(p.Stages[j].Target, 0)
	}
	if over || math.IsInf(p.RatePerS, 0) || math.IsInf(p.Ramp.SessionsPerS, 0) {
		return nil, errors.New("merge: a sum of counts or rates overflows: these are not results of real runs")
	}
	out.Tool.Version = joinSet(versions, ", ")
	out.Reason = joinSet(reasons, "; ")
	slices.Sort(out.Hosts)
	out.StartedAt, out.EndedAt, out.MeasuredFrom = utc(out.StartedAt), utc(out.EndedAt), utc(out.MeasuredFrom)
	out.DurationS = out.EndedAt.Sub(out.MeasuredFrom).Seconds()
	slices.SortFunc(out.Outages, outageResultOrder)
	if len(out.Outages) > MaxOutages {
		out.Outages = out.Outages[:MaxOutages]
	}
	if len(out.Outages) == 0 {
		out.Outages = nil
	}
	for i, o := range out.Outages {
		out.Outages[i] = o.derive(out.EndedAt)
	}
	if self != nil {
		s, err := summarize(self)
		if err != nil {
			return nil, fmt.Errorf("merge: self_check: %w", err)
		}
		out.SelfCheck = &s
	}
	for name, h := range hists {
		s, err := summarize(h)
		if err != nil {
			return nil, fmt.Errorf("merge: metrics.%s: %w", name, err)
		}
		out.Metrics[name] = s
	}
	ivs, err := mergeIntervals(out.StartedAt, rs)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	out.Intervals = ivs
	return out, nil
}

// sameTest reports how b's test differs from a's, or nil.
func sameTest(a, b *Result) error {
	differ := func(field string, x, y any) error {
		return fmt.Errorf("%s differs: %v vs %v", field, x, y)
	}
	pa, pb := a.Params, b.Params
	switch {
	case a.Target.URL != b.Target.URL:
		return differ("target.url", fmt.Sprintf("%q", a.Target.URL), fmt.Sprintf("%q", b.Target.URL))
	case a.Target.Pattern != b.Target.Pattern:
		return differ("target.pattern", fmt.Sprintf("%q", a.Target.Pattern), fmt.Sprintf("%q", b.Target.Pattern))
	case pa.DurationS != pb.DurationS:
		return differ("params.duration_s", pa.DurationS, pb.DurationS)
	case pa.WarmupS != pb.WarmupS:
		return differ("params.warmup_s", pa.WarmupS, pb.WarmupS)
	case pa.Ramp.TimeS != pb.Ramp.TimeS:
		return differ("params.ramp.time_s", pa.Ramp.TimeS, pb.Ramp.TimeS)
	case len(pa.Stages) != len(pb.Stages):
		return differ("the number of params.stages", len(pa.Stages), len(pb.Stages))
	}
	for i := range pa.Stages {
		if pa.Stages[i].DurationS != pb.Stages[i].DurationS {
			return differ(fmt.Sprintf("params.stages[%d].duration_s", i), pa.Stages[i].DurationS, pb.Stages[i].DurationS)
		}
	}
	keys := slices.Sorted(maps.Keys(pa.Defaults))
	keys = append(keys, slices.Sorted(maps.Keys(pb.Defaults))...)
	for _, k := range keys {
		va, oka := pa.Defaults[k]
		vb, okb := pb.Defaults[k]
		if oka != okb || va != vb {
			show := func(v string, ok bool) string {
				if !ok {
					return "(unset)"
				}
				return fmt.Sprintf("%q", v)
			}
			return differ("params.defaults."+k, show(va, oka), show(vb, okb))
		}
	}
	return nil
}

// mergeIntervals sums the intervals of rs by the wall-clock second they
// start in, and returns one interval per second from the first to the last,
// with TS relative to start. An interval already on a second boundary stays
// in its second, so merging merged results lands every interval where a
// single merge would: the alignment is associative.
func mergeIntervals(start time.Time, rs []*Result) ([]IntervalResult, error) {
	sums := make(map[int64]*IntervalResult)
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	over := false
	for _, r := range rs {
		for _, iv := range r.Intervals {
			sec := intervalSecond(r.StartedAt, iv.TS)
			first, last = min(first, sec), max(last, sec)
			s := sums[sec]
			if s == nil {
				s = &IntervalResult{}
				sums[sec] = s
			}
			addChecked(&over, &s.Open, iv.Open)
			addChecked(&over, &s.Opened, iv.Opened)
			addChecked(&over, &s.Established, iv.Established)
			addChecked(&over, &s.Closed, iv.Closed)
			addChecked(&over, &s.Failed, iv.Failed)
			addChecked(&over, &s.Events, iv.Events)
			addChecked(&over, &s.Bytes, iv.Bytes)
			addChecked(&over, &s.Errors, iv.Errors)
			addChecked(&over, &s.Requests, iv.Requests)
			s.HeadlineP99Ms = max(s.HeadlineP99Ms, iv.HeadlineP99Ms)
		}
	}
	if over {
		return nil, errors.New("a sum of interval counts overflows: these are not results of real runs")
	}
	out := []IntervalResult{}
	if len(sums) == 0 {
		return out, nil
	}
	if last-first > maxSpanS {
		return nil, fmt.Errorf("the results' intervals span %d days: not one test", (last-first)/86400)
	}
	for sec := first; sec <= last; sec++ {
		iv := IntervalResult{}
		if s := sums[sec]; s != nil {
			iv = *s
		}
		iv.TS = time.Unix(sec, 0).Sub(start).Seconds()
		out = append(out, iv)
	}
	return out, nil
}

// intervalSecond is the wall-clock second (Unix time) an interval starting
// ts seconds after start falls in. A microsecond of slack absorbs float
// rounding of ts, so an interval already on a boundary is never pushed a
// second back.
func intervalSecond(start time.Time, ts float64) int64 {
	wall := start.Add(time.Duration(math.Round(ts * 1e9)))
	return wall.Add(time.Microsecond).Truncate(time.Second).Unix()
}

// pickExample keeps one example message whatever the merge order: the
// shortest non-empty one, then the alphabetically first.
func pickExample(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case len(a) != len(b):
		if len(a) < len(b) {
			return a
		}
		return b
	}
	return min(a, b)
}

func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// joinSet joins the distinct non-empty values, sorted.
func joinSet(vs []string, sep string) string {
	vs = slices.DeleteFunc(vs, func(v string) bool { return v == "" })
	slices.Sort(vs)
	return strings.Join(slices.Compact(vs), sep)
}

// round6 rounds a sum of rates to a millionth, so float rounding does not
// make the sum depend on the order of the merge. A number too big to have
// millionths is kept as it is.
func round6(x float64) float64 {
	if math.Abs(x) >= 1<<52/1e6 {
		return x
	}
	return math.Round(x*1e6) / 1e6
}

// addChecked adds b to *a, and sets *over when the sum overflows.
func addChecked[T int | int64](over *bool, a *T, b T) {
	s := *a + b
	if b > 0 && s < *a || b < 0 && s > *a {
		*over = true
	}
	*a = s
}
