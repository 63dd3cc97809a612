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
	// TTFR is ReasoningFirst − from: the time to the first reasoning
	// (thinking) delta; zero when the stream had none.
	TTFR time.Duration
	// Reasoning is how long the model reasoned: First − ReasoningFirst, or
	// ReasoningLast − ReasoningFirst when no answer delta came.
	Reasoning time.Duration
	// ServerPrefill and ServerTPOT are the server's own account (Ollama):
	// load + prompt evaluation, and eval_duration / eval_count; zero when
	// the server gave none.
	ServerPrefill, ServerTPOT time.Duration
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
	// The answer's tokens: usage's output tokens include the reasoning
	// tokens, which came before the first answer delta. When the stream
	// reasoned but its usage does not say how much of it was reasoning
	// (Anthropic, Ollama, the AI SDK data stream), the answer's share is
	// unknown: the figures are per answer chunk, as without usage.
	usage := x.TokensFromUsage && (x.ReasoningChunks == 0 || x.ReasoningTokens > 0)
	m.PerChunk = !usage
	answer := x.Tokens
	if x.ReasoningTokens > 0 && x.ReasoningTokens < answer {
		answer -= x.ReasoningTokens
	}
	if usage && answer > 0 {
		m.ChunksPerToken = float64(x.Chunks) / float64(answer)
	}
	if s := x.Server; s.PromptEval > 0 || s.Load > 0 {
		m.ServerPrefill = s.Load + s.PromptEval
	}
	if s := x.Server; s.Eval > 0 && s.EvalCount > 0 {
		m.ServerTPOT = s.Eval / time.Duration(s.EvalCount)
	}
	if !x.ReasoningFirst.IsZero() {
		m.TTFR = x.ReasoningFirst.Sub(from)
		switch {
		case !x.First.IsZero() && x.First.After(x.ReasoningFirst):
			m.Reasoning = x.First.Sub(x.ReasoningFirst)
		case x.First.IsZero():
			m.Reasoning = x.ReasoningLast.Sub(x.ReasoningFirst)
		}
	}
	if x.First.IsZero() {
		return m
	}
	m.TTFT = x.First.Sub(from)
	n := x.Chunks
	if usage {
		n = answer
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
  ttfr                 time to first reasoning token: from sending the request to the
                       first reasoning (thinking) delta: Anthropic thinking_delta, OpenAI
                       reasoning summary deltas, AI SDK reasoning-delta / g: lines,
                       Gemini thought parts, Ollama thinking, reasoning_content
  reasoning            reasoning duration: first reasoning delta → first answer delta
                       (→ last reasoning delta when no answer came); ttft includes it
  server_prefill       the server's own load + prompt evaluation time, where it says
                       (Ollama's load_duration + prompt_eval_duration), beside ttft
  server_tpot          the server's own time per output token (Ollama's
                       eval_duration / eval_count), beside tpot
n is the answer's output tokens. It comes from the stream's usage when it has one (the
field is named in the result's tokens_sources: OpenAI usage.completion_tokens with
stream_options.include_usage, Responses usage.output_tokens, Anthropic message_delta
usage.output_tokens, AI SDK d: usage.completionTokens, Gemini usageMetadata, Ollama
eval_count), less the reasoning tokens the usage names; without usage, n is the number
of answer events ("counted from deltas": no tokenizer is run). So it is when the stream
reasoned and its usage does not say how many tokens were reasoning (Anthropic, Ollama, the
AI SDK data stream): tpot_chunk, not tpot. Reasoning deltas and
tool-call arguments are not answer text: they count in reasoning_chunks and
tool_chunks, not in ttft, itl_chunk or n.
Under load, a stream the run's end cuts off counts in cut_off, not in requests,
tokens, e2e or tpot; its ttft and itl_chunk still count when they arrived.
`
