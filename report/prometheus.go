package report

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rtbench/rtbench/bench"
)

// LiveInfo labels the rtbench_load_info series of a run.
type LiveInfo struct {
	Version string // rtbench's version
	Pattern string // sse, ws, poll, ai-sse …
	// RunID and Agent label every series (run_id, agent), so a Prometheus
	// that scrapes every agent of a run can sum them: sum by (run_id) (…).
	RunID string
	Agent int
}

// LiveMetrics exposes a running `rtbench load` in the Prometheus format
// (`load --prometheus`). Its Update has the signature of
// bench.Engine.Progress and keeps the latest snapshot; a scrape renders
// that snapshot. The Engine must run with ProgressDetail for the counters,
// errors and latencies; without it only the gauges are exported.
//
// The series, all prefixed rtbench_load_ and with low-cardinality labels
// (metric: one of bench's metric names; class: one of transport's error
// classes):
//
// Every series carries the labels run_id and agent (the agent's index, 0
// for a run of one).
//
//	info{version,pattern}            1
//	elapsed_seconds, warmup          time since the start; 1 during the warmup
//	sessions_open                    sessions (open model: requests) open now
//	sessions_target                  closed model: the sessions the plan holds now
//	rate_target_requests_per_second  open model: the plan's arrival rate now
//	<counter>_total                  bench's counters (events, bytes, requests,
//	                                 reconnects, dropped …), as the result counts them
//	lost_events                      events missing from a sequence (can go down)
//	errors_total{class}              errors by class, the whole run
//	latency_seconds{metric}          a summary: quantiles 0.5 … 0.999, _sum, _count,
//	                                 of the measured part of the run so far
//	latency_max_seconds{metric}      the largest value so far
//
// A LiveMetrics is safe for concurrent use; a nil one ignores Update.
type LiveMetrics struct {
	info LiveInfo

	mu   sync.Mutex
	last bench.Progress
	have bool

	infoDesc, elapsed, warmup, open, target, rate *prometheus.Desc
	counters                                      [bench.NumCounters]*prometheus.Desc
	errors, latency, latencyMax                   *prometheus.Desc
}

const livePrefix = "rtbench_load_"

// counterHelp describes bench's counters for the exposition.
var counterHelp = [bench.NumCounters]string{
	bench.Events:            "Messages, events and changed polls received (measured part).",
	bench.Tokens:            "AI output tokens received (measured part).",
	bench.Bytes:             "Bytes of events received (measured part).",
	bench.Connects:          "Connections established.",
	bench.Reconnects:        "Connections after a session's first.",
	bench.Lost:              "Events missing from a seq sequence; a late arrival takes one back, so this can go down.",
	bench.Duplicates:        "Events whose seq was seen already (measured part).",
	bench.OutOfOrder:        "Events whose seq went backwards (measured part).",
	bench.Requests:          "Requests sent: polling and AI (measured part).",
	bench.LateStarts:        "Open model: requests started over 1 ms after their intended time.",
	bench.Dropped:           "Open model: intended starts skipped because no worker was free.",
	bench.CutOff:            "Requests in flight that the run's end cut off (not completed work).",
	bench.SessionsStarted:   "Sessions started.",
	bench.SessionsFailed:    "Sessions that ended with a fatal error.",
	bench.ConnectingCutOff:  "Held sessions still connecting when the run ended (not errors, not in connects).",
	bench.ClockSkewNegative: "Latencies that came out negative (clock skew) and were clamped to 0.",
	bench.LeanRequests:      "Requests (of requests) sent by rtbench's lean HTTP/1.1 client; the others went through net/http.",
}

// NewLiveMetrics returns the exporter of one run.
func NewLiveMetrics(info LiveInfo) *LiveMetrics {
	run := prometheus.Labels{"run_id": info.RunID, "agent": strconv.Itoa(info.Agent)}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(livePrefix+name, help, labels, run)
	}
	m := &LiveMetrics{
		info:       info,
		infoDesc:   d("info", "The running rtbench load: its version and the pattern it loads.", "version", "pattern"),
		elapsed:    d("elapsed_seconds", "Time since the start of the run, warmup included."),
		warmup:     d("warmup", "1 while the run is in its warmup (values not recorded), else 0."),
		open:       d("sessions_open", "Sessions open now (open model: requests in flight)."),
		target:     d("sessions_target", "Closed model: the sessions the plan holds now."),
		rate:       d("rate_target_requests_per_second", "Open model: the plan's arrival rate now."),
		errors:     d("errors_total", "Errors by class, the whole run (warmup included).", "class"),
		latency:    d("latency_seconds", "Latency of each metric over the measured part of the run so far, from HdrHistograms (3 significant digits).", "metric"),
		latencyMax: d("latency_max_seconds", "The largest latency of each metric so far.", "metric"),
	}
	for c := range bench.NumCounters {
		help := counterHelp[c]
		if help == "" {
			help = "The run's " + c.String() + " counter, as the result file counts it."
		}
		if c == bench.Lost {
			m.counters[c] = d("lost_events", help)
		} else {
			m.counters[c] = d(c.String()+"_total", help)
		}
	}
	return m
}

// Update keeps s as the snapshot that scrapes render.
func (m *LiveMetrics) Update(s bench.Progress) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.last, m.have = s, true
	m.mu.Unlock()
}

// Describe sends every series' description (prometheus.Collector).
func (m *LiveMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.infoDesc, m.elapsed, m.warmup, m.open, m.target, m.rate, m.errors, m.latency, m.latencyMax} {
		ch <- d
	}
	for _, d := range m.counters {
		ch <- d
	}
}

// Collect renders the latest snapshot (prometheus.Collector). Before the
// first one (the first second of the run) only the info series is there.
func (m *LiveMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.infoDesc, prometheus.GaugeValue, 1, m.info.Version, m.info.Pattern)
	m.mu.Lock()
	s, have := m.last, m.have
	m.mu.Unlock()
	if !have {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(m.elapsed, s.Elapsed.Seconds())
	gauge(m.warmup, b2f(s.Warmup))
	gauge(m.open, float64(s.Open))
	if s.Rate > 0 {
		gauge(m.rate, s.Rate)
	} else {
		gauge(m.target, float64(s.Target))
	}
	d := s.Detail
	if d == nil {
		return
	}
	for c, n := range d.Counters {
		if bench.Counter(c) == bench.Lost {
			gauge(m.counters[c], float64(n))
		} else {
			ch <- prometheus.MustNewConstMetric(m.counters[c], prometheus.CounterValue, float64(n))
		}
	}
	for _, class := range slices.Sorted(maps.Keys(d.Errors)) {
		ch <- prometheus.MustNewConstMetric(m.errors, prometheus.CounterValue, float64(d.Errors[class]), string(class))
	}
	for _, l := range d.Latency {
		qs := make(map[float64]float64, len(l.Quantiles))
		for i, q := range bench.ProgressQuantiles {
			qs[math.Round(q*10)/1000] = l.Quantiles[i].Seconds() // 99.9 → 0.999, not 0.9990000000000001
		}
		ch <- prometheus.MustNewConstSummary(m.latency, uint64(l.Count), l.Sum.Seconds(), qs, l.Metric.String())
		gauge(m.latencyMax, l.Max.Seconds(), l.Metric.String())
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Handler serves GET /metrics: the run's series, and the Go runtime's and
// the process's (go_*, process_*: is rtbench itself short of CPU or
// memory?).
func (m *LiveMetrics) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
