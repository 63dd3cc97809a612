package aistream

import (
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestComputeMetrics(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := time.Millisecond
	x := func(first, end time.Duration, tokens, chunks int) *transport.Exchange {
		e := &transport.Exchange{Start: t0, Tokens: tokens, Chunks: chunks}
		if first >= 0 {
			e.First = t0.Add(first)
		}
		if end >= 0 {
			e.End = t0.Add(end)
		}
		return e
	}
	tests := []struct {
		name string
		x    *transport.Exchange
		want Metrics
	}{
		{"101 tokens in 101 chunks", x(200*ms, 1200*ms, 101, 101),
			Metrics{TTFT: 200 * ms, E2E: 1200 * ms, TPOT: 10 * ms, DecodeTPS: 100, ChunksPerToken: 1}},
		{"tokens batched 4 a chunk", x(50*ms, 850*ms, 81, 21),
			Metrics{TTFT: 50 * ms, E2E: 850 * ms, TPOT: 10 * ms, DecodeTPS: 100, ChunksPerToken: 21.0 / 81}},
		{"TPOT rounds down to the nanosecond", x(0, 10*time.Nanosecond, 4, 4),
			Metrics{E2E: 10 * time.Nanosecond, TPOT: 3 * time.Nanosecond, DecodeTPS: 3e8, ChunksPerToken: 1}},
		{"one token: no TPOT", x(300*ms, 310*ms, 1, 1),
			Metrics{TTFT: 300 * ms, E2E: 310 * ms, ChunksPerToken: 1}},
		{"not streamed: First = End", x(900*ms, 900*ms, 40, 1),
			Metrics{TTFT: 900 * ms, E2E: 900 * ms, ChunksPerToken: 1.0 / 40}},
		{"no token", x(-1, 500*ms, 0, 0), Metrics{E2E: 500 * ms}},
		{"cut before the end", x(100*ms, -1, 5, 5), Metrics{TTFT: 100 * ms, ChunksPerToken: 1}},
		{"no start", &transport.Exchange{End: t0, First: t0, Tokens: 3}, Metrics{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ComputeMetrics(tc.x); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMetricsHelp(t *testing.T) {
	for _, name := range []string{"ttft", "itl_chunk", "tpot", "e2e", "tokens_per_s_decode", "output_tps_total", "chunks_per_token", "counted from deltas"} {
		if !strings.Contains(MetricsHelp, name) {
			t.Errorf("MetricsHelp does not define %s", name)
		}
	}
	for i, line := range strings.Split(MetricsHelp, "\n") {
		if len([]rune(line)) > 90 {
			t.Errorf("line %d is %d characters wide", i+1, len([]rune(line)))
		}
	}
}
