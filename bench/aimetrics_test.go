package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestComputeAI(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := time.Millisecond
	x := func(first, end time.Duration, tokens, chunks int, usage bool) *transport.Exchange {
		e := &transport.Exchange{Start: t0, Tokens: tokens, Chunks: chunks, TokensFromUsage: usage}
		if first >= 0 {
			e.First = t0.Add(first)
		}
		if end >= 0 {
			e.End = t0.Add(end)
		}
		return e
	}
	cut := x(100*ms, 400*ms, 5, 5, false)
	cut.CutOff = true
	tests := []struct {
		name string
		x    *transport.Exchange
		want AIMetrics
	}{
		{"101 tokens in 101 chunks, usage", x(200*ms, 1200*ms, 101, 101, true),
			AIMetrics{TTFT: 200 * ms, E2E: 1200 * ms, TPOT: 10 * ms, DecodeTPS: 100, ChunksPerToken: 1}},
		{"tokens batched 4 a chunk, usage", x(50*ms, 850*ms, 81, 21, true),
			AIMetrics{TTFT: 50 * ms, E2E: 850 * ms, TPOT: 10 * ms, DecodeTPS: 100, ChunksPerToken: 21.0 / 81}},
		{"no usage: per chunk", x(50*ms, 850*ms, 21, 21, false),
			AIMetrics{TTFT: 50 * ms, E2E: 850 * ms, TPOTChunk: 40 * ms, DecodeTPS: 25, PerChunk: true}},
		{"TPOT rounds down to the nanosecond", x(0, 10*time.Nanosecond, 4, 4, true),
			AIMetrics{E2E: 10 * time.Nanosecond, TPOT: 3 * time.Nanosecond, DecodeTPS: 3e8, ChunksPerToken: 1}},
		{"one token: no TPOT", x(300*ms, 310*ms, 1, 1, true),
			AIMetrics{TTFT: 300 * ms, E2E: 310 * ms, ChunksPerToken: 1}},
		{"not streamed: First = End", x(900*ms, 900*ms, 40, 1, true),
			AIMetrics{TTFT: 900 * ms, E2E: 900 * ms, ChunksPerToken: 1.0 / 40}},
		{"no token", x(-1, 500*ms, 0, 0, false), AIMetrics{E2E: 500 * ms, PerChunk: true}},
		{"not ended", x(100*ms, -1, 5, 5, true), AIMetrics{TTFT: 100 * ms, ChunksPerToken: 1}},
		{"cut off: ttft only", cut, AIMetrics{TTFT: 100 * ms, PerChunk: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ComputeAI(tc.x, t0); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if got := ComputeAI(x(100*ms, 200*ms, 3, 3, true), time.Time{}); got != (AIMetrics{}) {
		t.Errorf("no start: %+v, want zero", got)
	}
}

func TestAIMetricsHelp(t *testing.T) {
	for _, name := range []string{"ttft", "itl_chunk", "tpot", "tpot_chunk", "e2e", "tokens_per_s_decode", "output_tps_total", "chunks_per_token", "counted from deltas", "cut_off"} {
		if !strings.Contains(AIMetricsHelp, name) {
			t.Errorf("AIMetricsHelp does not define %s", name)
		}
	}
	for _, help := range []string{AIMetricsHelp, MetricsHelp} {
		for i, line := range strings.Split(help, "\n") {
			if len([]rune(line)) > 90 {
				t.Errorf("line %d is %d characters wide: %q", i+1, len([]rune(line)), line)
			}
		}
	}
}
