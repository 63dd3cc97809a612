package aistream

import (
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Metrics are one AI request's latency figures, as MetricsHelp defines them.
// A figure that cannot be computed (no token, one token) is zero.
type Metrics struct {
	TTFT time.Duration // First − Start
	E2E  time.Duration // End − Start
	// TPOT is (E2E − TTFT) / (Tokens − 1), when Tokens > 1.
	TPOT time.Duration
	// DecodeTPS is (Tokens − 1) / (E2E − TTFT) in tokens per second, when
	// Tokens > 1 and E2E > TTFT.
	DecodeTPS float64
	// ChunksPerToken is Chunks / Tokens, when Tokens > 0: 1 when every
	// token came in its own event, less when servers batch tokens.
	ChunksPerToken float64
}

// ComputeMetrics computes x's metrics. Times count from x.Start, when the
// request was sent: service time. A load engine that runs behind its
// schedule adds x.Start − x.Intended itself (coordinated omission).
// itl_chunk is not here: it is a distribution, the gaps between the At of
// successive token events, which an Observer computes as they arrive.
func ComputeMetrics(x *transport.Exchange) Metrics {
	var m Metrics
	if x.Start.IsZero() {
		return m
	}
	if !x.End.IsZero() {
		m.E2E = x.End.Sub(x.Start)
	}
	if x.First.IsZero() {
		return m
	}
	m.TTFT = x.First.Sub(x.Start)
	n := x.Tokens
	if n > 0 {
		m.ChunksPerToken = float64(x.Chunks) / float64(n)
	}
	if decode := m.E2E - m.TTFT; n > 1 && !x.End.IsZero() {
		m.TPOT = decode / time.Duration(n-1)
		if decode > 0 {
			m.DecodeTPS = float64(n-1) / decode.Seconds()
		}
	}
	return m
}

// MetricsHelp defines the AI stream metrics, for `rtbench listen --help` and
// the report. The names are the JSON result's.
const MetricsHelp = `AI stream metrics (per request unless noted; n = output tokens):
  ttft                 time to first token: from sending the request to the first
                       event whose content delta is not empty (role-only and empty
                       deltas do not count; GenAI-Perf does the same)
  itl_chunk            inter-chunk latency: the gaps between successive content
                       events, a distribution (vLLM's ITL); several tokens in one
                       event make one gap
  tpot                 time per output token after the first: (e2e - ttft) / (n - 1),
                       when n > 1 (vLLM's TPOT; GenAI-Perf calls it inter-token latency)
  e2e                  end-to-end latency: from sending the request to the stream's
                       terminator ([DONE], message_stop) or the end of the answer
  tokens_per_s_decode  decode speed: (n - 1) / (e2e - ttft)
  output_tps_total     whole run: the sum of n over all requests / wall time
  chunks_per_token     content events / n: 1 when each token has its own event
n comes from the stream's usage (OpenAI usage.completion_tokens with
stream_options.include_usage, Anthropic message_delta usage.output_tokens); without
it, n is the number of content events ("counted from deltas").
`
