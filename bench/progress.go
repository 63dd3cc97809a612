package bench

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// ProgressQuantiles are the quantiles (0–100) a LatencySummary holds.
var ProgressQuantiles = [...]float64{50, 90, 95, 99, 99.9}

// ProgressDetail is the run so far, for live exporters (Prometheus): what
// the Recording will hold, counted the same way, without the histograms'
// full shape.
type ProgressDetail struct {
	// Counters as the Recording counts them: values from the measured part
	// of the run; the lifecycle counts (connects, reconnects, sessions
	// started and failed) for all of it. They only grow, except Lost, which
	// a late arrival takes back.
	Counters [NumCounters]int64
	// Errors by class, the whole run.
	Errors map[transport.Class]int64
	// Latency has every metric that has values, in Metric order.
	Latency []LatencySummary
}

// LatencySummary is one metric's histogram so far, reduced.
type LatencySummary struct {
	Metric    Metric
	Count     int64
	Sum       time.Duration // Mean × Count: exact to the histogram's precision
	Max       time.Duration
	Quantiles [len(ProgressQuantiles)]time.Duration // at ProgressQuantiles
}

// detail merges the shards into a ProgressDetail. It runs on the tick
// goroutine; its scratch histograms are allocated on first use and kept.
func (r *run) detail() *ProgressDetail {
	d := &ProgressDetail{Errors: make(map[transport.Class]int64)}
	for _, s := range r.shards.s {
		s.mu.Lock()
		for c, n := range s.counters {
			d.Counters[c] += n
		}
		for class, ec := range s.errors {
			d.Errors[class] += ec.Count
		}
		for m, h := range s.hists {
			if h == nil || h.Count() == 0 {
				continue
			}
			if r.detailHists[m] == nil {
				r.detailHists[m] = NewHist()
			}
			r.detailHists[m].Merge(h)
		}
		s.mu.Unlock()
	}
	d.Counters[Dropped] += r.dropped.Load()
	d.Counters[Lost] = max(d.Counters[Lost], 0)
	// Kept outside the shards, as finish reads them: live too, so that
	// --prometheus and the agents' progress see an outage as it begins.
	d.Counters[Outages] = r.out.started()
	if r.plan.Gate != nil {
		d.Counters[ReconnectsDelayed] = r.plan.Gate.Delayed()
	}
	for m, h := range r.detailHists {
		if h == nil || h.Count() == 0 {
			continue
		}
		ls := LatencySummary{Metric: Metric(m), Count: h.Count(), Max: h.Max(),
			Sum: time.Duration(float64(h.Mean()) * float64(h.Count()))}
		for i, q := range ProgressQuantiles {
			ls.Quantiles[i] = h.Quantile(q)
		}
		d.Latency = append(d.Latency, ls)
		h.Reset()
	}
	return d
}
