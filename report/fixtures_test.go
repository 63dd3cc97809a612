package report

import (
	"math"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// Fixtures for the load reports: results read from testdata/load (copies of
// bench's examples, so these tests do not depend on bench's testdata) and
// one built here, an AI run with every kind of section filled.

func readResult(t *testing.T, name string) *bench.Result {
	t.Helper()
	r, err := bench.ReadFile("testdata/load/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// xorshift is a tiny deterministic generator, so fixtures never change
// with the standard library's random streams.
type xorshift uint64

func (x *xorshift) float() float64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return float64(uint64(*x)>>11) / (1 << 53)
}

// spread returns n durations around median: log-normal-ish (a sum of
// uniforms on a log scale), with a tail stretched by tail.
func spread(seed uint64, n int, median time.Duration, tail float64) []time.Duration {
	x := xorshift(seed)
	out := make([]time.Duration, n)
	for i := range out {
		u := (x.float() + x.float() + x.float() - 1.5) / 1.5 // −1 … 1, bell-shaped
		if u > 0 {
			u *= tail
		}
		out[i] = time.Duration(float64(median) * math.Exp(u))
	}
	return out
}

// metricOf records values into a histogram and summarises it the way a
// result does.
func metricOf(t *testing.T, values ...time.Duration) bench.MetricResult {
	t.Helper()
	h := bench.NewHist()
	for _, v := range values {
		h.Record(v)
	}
	return summaryOf(t, h)
}

func summaryOf(t *testing.T, h *bench.Hist) bench.MetricResult {
	t.Helper()
	enc, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return bench.MetricResult{
		Count: h.Count(), MinMs: msOf(h.Min()), MeanMs: msOf(h.Mean()),
		P50Ms: msOf(h.Quantile(50)), P90Ms: msOf(h.Quantile(90)), P95Ms: msOf(h.Quantile(95)),
		P99Ms: msOf(h.Quantile(99)), P999Ms: msOf(h.Quantile(99.9)), MaxMs: msOf(h.Max()),
		Overflow: h.Overflow, Negative: h.Negative, HDR: enc,
	}
}

var aiStart = time.Date(2026, 11, 27, 23, 59, 30, 0, time.UTC)

// aiResult is an AI-stream run over two merged hosts, with stages, a
// warmup, many defaults, values out of range, errors (one with markup in
// it) and 75 seconds of intervals.
func aiResult(t *testing.T) *bench.Result {
	t.Helper()
	ttft := append(spread(1, 1800, 420*time.Millisecond, 2.5), 2*time.Hour) // one overflow
	itl := spread(2, 5000, 18*time.Millisecond, 1.5)
	e2e := spread(3, 1790, 3*time.Second, 1)
	tpot := spread(4, 1790, 21*time.Millisecond, 0.8)
	connect := spread(5, 300, 4*time.Millisecond, 1)
	delivery := append(spread(6, 400, 2*time.Millisecond, 1), -3*time.Millisecond, -time.Millisecond) // clock skew
	r := &bench.Result{
		Schema: bench.SchemaV2,
		Tool:   bench.ToolInfo{Name: bench.ToolName, Version: "0.4.0"},
		Target: bench.TargetInfo{URL: "https://llm.example.com/v1/chat/completions?model=small&stream=true", Pattern: "ai-sse"},
		Params: bench.Params{
			DurationS: 75, WarmupS: 5, RatePerS: 25, MaxInFlight: 200,
			Stages: []bench.StageParams{{DurationS: 15, Target: 10}, {DurationS: 45, Target: 25}, {DurationS: 15, Target: 0}},
			Defaults: map[string]string{
				"ttfb_timeout": "30s", "idle_timeout": "60s", "max_event_bytes": "1048576", "reconnect": "never",
				"request_timeout": "5m0s", "dial_timeout": "10s", "tls_timeout": "10s", "max_idle_conns": "1000",
				"read_buffer": "32768", "http2": "off",
			},
		},
		Hosts:        []string{"gpu-bench-a", "gpu-bench-b"},
		StartedAt:    aiStart,
		EndedAt:      aiStart.Add(75 * time.Second),
		MeasuredFrom: aiStart.Add(5 * time.Second),
		DurationS:    70,
		SelfCheck:    ptr(metricOf(t, spread(7, 70000, 60*time.Microsecond, 1)...)),
		Metrics: map[string]bench.MetricResult{
			"ttft": metricOf(t, ttft...), "itl_chunk": metricOf(t, itl...), "e2e": metricOf(t, e2e...),
			"tpot": metricOf(t, tpot...), "connect": metricOf(t, connect...), "delivery": metricOf(t, delivery...),
		},
		Counters: map[string]int64{
			"events": 0, "tokens": 251234, "bytes": 18_123_456, "connects": 300, "requests": 1810, "late_starts": 4,
			"dropped": 0, "sessions_started": 1810, "sessions_failed": 10, "clock_skew_negative": 2, "lost": 0, "tokens_from_deltas": 12,
		},
		Errors: map[string]bench.ErrorResult{
			"http_5xx":         {Count: 7, Example: `HTTP 503: {"error":"<b>overloaded</b> & retry later"}`, Codes: map[string]int64{"503": 5, "502": 2}},
			"ttfb_timeout":     {Count: 3, Example: "no response headers after 30s (POST https://llm.example.com/v1/chat/completions?model=small&stream=true)"},
			"canceled":         {Count: 2, Example: "context canceled"},
			"bad_content_type": {Count: 3, Example: "text/html; charset=utf-8 where text/event-stream was expected"},
		},
	}
	for s := range 75 {
		target := 0.0
		switch {
		case s < 15:
			target = float64(s) * 10 / 15
		case s < 60:
			target = 10 + float64(s-15)*15/45
		default:
			target = 25 - float64(s-60)*25/15
		}
		iv := bench.IntervalResult{
			TS: float64(s), Open: int64(target * 3.2), Opened: int64(target), Established: int64(target),
			Closed: int64(max(target-1, 0)), Events: int64(target * 40), Bytes: int64(target * 4000),
			Requests: int64(target), HeadlineP99Ms: 400 + 20*target,
		}
		if s == 40 || s == 41 {
			iv.Errors, iv.Failed = 5, 5
		}
		r.Intervals = append(r.Intervals, iv)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// aiOutcomes are thresholds on aiResult: passing, failing and missing.
func aiOutcomes(t *testing.T, r *bench.Result) []bench.Outcome {
	t.Helper()
	var out []bench.Outcome
	for _, s := range []string{"ttft.p95<2s", "ttft.p99<1s", "errors<1%", "echo_rtt.p99<10ms", "sessions_failed==0"} {
		th, err := bench.ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th.Check(r))
	}
	return out
}
