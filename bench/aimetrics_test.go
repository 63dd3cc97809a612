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
		{"reasoning first: ttfr, reasoning, tpot over the answer's tokens", reasoning(x(500*ms, 1500*ms, 165, 101, true), 64, 200*ms, 480*ms),
			AIMetrics{TTFT: 500 * ms, E2E: 1500 * ms, TPOT: 10 * ms, DecodeTPS: 100, ChunksPerToken: 1, TTFR: 200 * ms, Reasoning: 300 * ms}},
		{"reasoning only, no answer", reasoning(x(-1, 900*ms, 0, 0, false), 0, 100*ms, 700*ms),
			AIMetrics{E2E: 900 * ms, PerChunk: true, TTFR: 100 * ms, Reasoning: 600 * ms}},
		{"reasoning counted in usage but not named: per chunk", reasoning(x(500*ms, 1500*ms, 165, 101, true), 0, 200*ms, 480*ms),
			AIMetrics{TTFT: 500 * ms, E2E: 1500 * ms, TPOTChunk: 10 * ms, DecodeTPS: 100, PerChunk: true, TTFR: 200 * ms, Reasoning: 300 * ms}},
		{"ollama's own timings", server(x(100*ms, 300*ms, 3, 3, true), transport.ServerTiming{Load: 5 * ms, PromptEval: 45 * ms, Eval: 30 * ms, EvalCount: 3}),
			AIMetrics{TTFT: 100 * ms, E2E: 300 * ms, TPOT: 100 * ms, DecodeTPS: 10, ChunksPerToken: 1, ServerPrefill: 50 * ms, ServerTPOT: 10 * ms}},
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

func reasoning(x *transport.Exchange, tokens int, first, last time.Duration) *transport.Exchange {
	x.ReasoningTokens = tokens
	x.ReasoningFirst, x.ReasoningLast, x.ReasoningChunks = x.Start.Add(first), x.Start.Add(last), 2
	return x
}

func server(x *transport.Exchange, s transport.ServerTiming) *transport.Exchange {
	x.Server = s
	return x
}

func TestAIMetricsHelp(t *testing.T) {
	for _, name := range []string{"ttft", "itl_chunk", "tpot", "tpot_chunk", "e2e", "tokens_per_s_decode", "output_tps_total", "chunks_per_token", "counted from deltas", "cut_off", "ttfr", "reasoning", "server_prefill", "server_tpot", "tokens_sources"} {
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
