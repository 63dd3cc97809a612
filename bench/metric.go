package bench

// Metric names one latency histogram of a run. The names are part of the
// result file's contract (rtbench.result/v2) and of the threshold grammar.
type Metric int

const (
	Handshake     Metric = iota // request start → response headers or 101 on a new connection: DNS, TCP, TLS and the server's answer
	Connect                     // TCP connect + TLS handshake of a new connection (curl's time_appconnect − time_namelookup)
	DNS                         // DNS lookup
	TCP                         // TCP connect
	TLS                         // TLS handshake
	TTFB                        // request start → first response byte (headers)
	FirstEvent                  // request start → first event dispatched
	Delivery                    // event arrival − its sched_ns (end to end, coordinated-omission safe)
	Wire                        // event arrival − its sent_ns
	Gap                         // time between successive events of one connection
	EchoRTT                     // WebSocket message sent → its echo received
	PingRTT                     // WebSocket ping → pong
	Request                     // polling: intended start → response read (open model: from the intended time)
	Staleness                   // polling: response time − the sched_ns of the state it returned
	TTFT                        // AI: request start (intended, open model) → first non-empty content delta
	ITLChunk                    // AI: gap between successive content chunks
	TPOT                        // AI: (e2e − ttft) / (tokens − 1), per request, when the stream carried usage
	TPOTChunk                   // AI: (e2e − ttft) / (chunks − 1), per request, when the stream carried no usage (per chunk, not per token)
	E2E                         // AI: request start → stream end
	Reconnect                   // a connection lost → the session connected again (its backoff and the reconnect gate included)
	StartLag                    // request actually sent − its intended start (open model, polling): the generator's own delay
	TTFR                        // AI: request start (intended, open model) → first reasoning (thinking) delta
	Reasoning                   // AI: first reasoning delta → first answer delta (→ last reasoning delta when no answer came)
	ServerPrefill               // AI: the server's own load + prompt evaluation time (Ollama's load_duration + prompt_eval_duration)
	ServerTPOT                  // AI: the server's own time per output token (Ollama's eval_duration / eval_count)
	Attach                      // request start → the channel attached (Ably's ATTACHED): when the session can receive
	Flow                        // a scenario's flow (bench/flow): its start (intended, open model) → its last step done
	NumMetrics
)

var metricNames = [NumMetrics]string{
	"handshake", "connect", "dns", "tcp", "tls", "ttfb", "first_event", "delivery", "wire", "gap",
	"echo_rtt", "ping_rtt", "request", "staleness", "ttft", "itl_chunk", "tpot", "tpot_chunk", "e2e",
	"reconnect", "start_lag", "ttfr", "reasoning", "server_prefill", "server_tpot", "attach",
	"flow",
}

func (m Metric) String() string {
	if m < 0 || m >= NumMetrics {
		return "metric?"
	}
	return metricNames[m]
}

// ParseMetric returns the metric with the given name.
func ParseMetric(name string) (Metric, bool) {
	for i, n := range metricNames {
		if n == name {
			return Metric(i), true
		}
	}
	return 0, false
}

// Counter names one count of a run.
type Counter int

const (
	Events            Counter = iota // messages, events and changed polls received
	Tokens                           // AI output tokens
	Bytes                            // bytes of events received
	Connects                         // connections established
	Reconnects                       // connections after a session's first
	Lost                             // events missing from a seq sequence
	Duplicates                       // events whose seq was seen already
	OutOfOrder                       // events whose seq went backwards
	Requests                         // requests sent (polling, AI)
	LateStarts                       // open model: requests started over 1 ms after their intended time
	Dropped                          // open model: intended starts skipped because no worker was free
	SessionsStarted                  // sessions started
	SessionsFailed                   // sessions that ended with a fatal error
	ClockSkewNegative                // latencies that came out negative (clamped to 0)
	Outages                          // episodes of lost connections (see Outage)
	ReconnectsDelayed                // reconnects that waited for the run's reconnect rate cap (Gate)
	TokensFromDeltas                 // AI requests whose stream had no usage: their tokens are the content deltas counted
	CutOff                           // requests in flight that the run's end (or the open model's drain) cut off: not completed work
	ReasoningChunks                  // AI reasoning (thinking) deltas received: not answer text
	ToolChunks                       // AI events that carried tool-call arguments: not answer text
	ReasoningTokens                  // AI reasoning tokens, where the stream's usage says (part of tokens)
	ConnectingCutOff                 // held sessions the run's end stopped while they were still connecting: not an error, not in connects
	LeanRequests                     // requests (of those in requests) rtbench's lean HTTP/1.1 client sent; the others went through net/http
	NumCounters
)

var counterNames = [NumCounters]string{
	"events", "tokens", "bytes", "connects", "reconnects", "lost", "duplicates", "out_of_order",
	"requests", "late_starts", "dropped", "sessions_started", "sessions_failed", "clock_skew_negative",
	"outages", "reconnects_delayed", "tokens_from_deltas", "cut_off", "reasoning_chunks", "tool_chunks",
	"reasoning_tokens", "connecting_cut_off", "lean_requests",
}

func (c Counter) String() string {
	if c < 0 || c >= NumCounters {
		return "counter?"
	}
	return counterNames[c]
}

// ParseCounter returns the counter with the given name.
func ParseCounter(name string) (Counter, bool) {
	for i, n := range counterNames {
		if n == name {
			return Counter(i), true
		}
	}
	return 0, false
}

// MetricsHelp defines the metrics whose names other tools use for other
// things, for --help and the docs.
const MetricsHelp = `Connection and schedule metrics:
  handshake   request start → response headers (or 101) on a new connection:
              DNS, TCP, TLS and the server's answer
  connect     TCP connect + TLS handshake of a new connection, DNS excluded
              (k6's http_req_connecting + http_req_tls_handshaking; curl's
              time_appconnect, or time_connect without TLS, minus DNS)
  ttfb        request start → response headers, reused connections included
  start_lag   a request's actual start − its intended start (open model,
              polling): the generator's own delay, kept apart from the target's
Requests the run's end cuts off count in cut_off, not in requests or latencies;
the open model's dropped starts are in no latency and count as errors.`
