package bench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

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
		if r.Schema != SchemaV2 {
			return nil, fmt.Errorf("merge: result %d has schema %q, want %q", i+1, r.Schema, SchemaV2)
		}
	}
	if err := checkRuns(rs); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	for i, r := range rs[1:] {
		if err := sameTest(rs[0], r); err != nil {
			return nil, fmt.Errorf("merge: results 1 (%s) and %d (%s) are not the same test: %w",
				strings.Join(rs[0].Hosts, ","), i+2, strings.Join(r.Hosts, ","), err)
		}
	}
	out := &Result{
		Schema:    SchemaV2,
		Tool:      ToolInfo{Name: ToolName},
		Target:    rs[0].Target,
		Params:    rs[0].Params,
		Metrics:   make(map[string]MetricResult),
		Counters:  make(map[string]int64),
		Errors:    make(map[string]ErrorResult),
		Intervals: []IntervalResult{},
	}
	if rs[0].Run != nil {
		out.Run = mergeRuns(rs)
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
		for src, n := range r.TokensSources {
			if out.TokensSources == nil {
				out.TokensSources = make(map[string]int64)
			}
			addChecked(&over, &n, out.TokensSources[src])
			out.TokensSources[src] = n
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.HTTP2 = mergeHTTP2(out.HTTP2, r.HTTP2)
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
	if out.Run != nil {
		out.Run.partRates(p)
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
	steps, err := mergeSteps(rs)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	out.Steps = steps
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
