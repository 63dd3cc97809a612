package bench

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// AIMetrics are one AI request's figures, as AIMetricsHelp defines them.
// A figure that cannot be computed (no token, one token) is zero.
type AIMetrics struct {
	TTFT time.Duration // First − from
	E2E  time.Duration // End − from
	// TPOT is (End − First) / (n − 1), when the stream's usage gave n
	// output tokens and n > 1: time per output token.
	TPOT time.Duration
	// TPOTChunk is (End − First) / (chunks − 1), when the stream carried no
	// usage and had more than one content chunk: the time per chunk, which
	// is the time per token only when every chunk carries one token.
	TPOTChunk time.Duration
	// DecodeTPS is (n − 1) / (End − First) in tokens per second (usage), or
	// in chunks per second without usage (PerChunk).
	DecodeTPS float64
	// PerChunk says the stream carried no usage: TPOTChunk and DecodeTPS
	// are per content chunk, not per token.
	PerChunk bool
	// ChunksPerToken is Chunks / n, when usage gave n > 0: 1 when every
	// token came in its own event, less when servers batch tokens.
	ChunksPerToken float64
}

// ComputeAI computes x's figures, with TTFT and E2E counted from from: the
// intended start in a load run (so a generator behind its schedule cannot
// hide its lateness), x.Start for one request's service time. A cut-off
// exchange (x.CutOff) has no E2E, TPOT or decode speed: it did not end.
// itl_chunk is not here: it is a distribution, the gaps between successive
// token events, which the Recorder computes as they arrive.
func ComputeAI(x *transport.Exchange, from time.Time) AIMetrics {
	var m AIMetrics
	if from.IsZero() {
		return m
	}
	ended := !x.End.IsZero() && !x.CutOff
	if ended {
		m.E2E = x.End.Sub(from)
	}
	m.PerChunk = !x.TokensFromUsage
	if x.TokensFromUsage && x.Tokens > 0 {
		m.ChunksPerToken = float64(x.Chunks) / float64(x.Tokens)
	}
	if x.First.IsZero() {
		return m
	}
	m.TTFT = x.First.Sub(from)
	n := x.Chunks
	if x.TokensFromUsage {
		n = x.Tokens
	}
	if !ended || n < 2 {
		return m
	}
	decode := x.End.Sub(x.First)
	per := decode / time.Duration(n-1)
	if m.PerChunk {
		m.TPOTChunk = per
	} else {
		m.TPOT = per
	}
	if decode > 0 {
		m.DecodeTPS = float64(n-1) / decode.Seconds()
	}
	return m
}

// AIMetricsHelp defines the AI stream metrics, for `rtbench listen --help`
// and the docs. The names are the JSON result's.
const AIMetricsHelp = `AI stream metrics (per request unless noted; n = output tokens):
  ttft                 time to first token: from sending the request (its intended
                       start under load) to the first event whose content delta is
                       not empty (role-only and empty deltas do not count, as in
                       GenAI-Perf)
  itl_chunk            inter-chunk latency: the gaps between successive content
                       events, a distribution (vLLM's ITL); several tokens in one
                       event make one gap
  tpot                 time per output token after the first: (e2e - ttft) / (n - 1),
                       when n > 1 and the stream carried usage (vLLM's TPOT;
                       GenAI-Perf calls it inter-token latency)
  tpot_chunk           the same per content chunk, (e2e - ttft) / (chunks - 1), when
                       the stream carried no usage: per token only if every chunk
                       holds one token
  e2e                  end-to-end latency: from sending the request to the stream's
                       terminator ([DONE], message_stop) or the end of the answer
  tokens_per_s_decode  decode speed: (n - 1) / (e2e - ttft) (chunks/s without usage)
  output_tps_total     whole run: the sum of n over all requests / wall time
  chunks_per_token     content events / n: 1 when each token has its own event
n comes from the stream's usage (OpenAI usage.completion_tokens with
stream_options.include_usage, Anthropic message_delta usage.output_tokens); without
it, n is the number of content events ("counted from deltas").
Under load, a stream the run's end cuts off counts in cut_off, not in requests,
tokens, e2e or tpot; its ttft and itl_chunk still count when they arrived.
`
