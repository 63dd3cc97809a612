package bench

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
)

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
		Schema:       SchemaV2,
		Tool:         ToolInfo{Name: ToolName, Version: meta.Version},
		Target:       TargetInfo{URL: transport.RedactURL(meta.URL), Pattern: meta.Pattern},
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
	if meta.Run != nil {
		run := *meta.Run
		run.Fingerprint.Headers = maps.Clone(meta.Run.Fingerprint.Headers)
		run.Agents = max(meta.Share.Count, 1)
		run.Parts = []AgentPart{{Index: meta.Share.Index, Host: host, StartedAt: start}}
		r.Run = &run
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
	for _, st := range rec.Steps {
		sr := StepResult{Name: st.Name, Completed: st.Completed, Failed: st.Failed, CutOff: st.CutOff, Requests: st.Requests, Bytes: st.Bytes}
		for _, h := range [...]struct {
			h   *Hist
			dst **MetricResult
		}{{st.Latency, &sr.Latency}, {st.Staleness, &sr.Staleness}, {st.Server, &sr.ServerDuration}} {
			if h.h == nil || h.h.Count() == 0 {
				continue
			}
			m, err := summarize(h.h)
			if err != nil {
				return nil, fmt.Errorf("new result: steps.%s: %w", st.Name, err)
			}
			*h.dst = &m
		}
		r.Steps = append(r.Steps, sr)
	}
	if len(rec.TokensSources) > 0 {
		r.TokensSources = maps.Clone(rec.TokensSources)
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
