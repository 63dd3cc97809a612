package bench

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// DefaultCompareAITimeout bounds compare's AI section: streams still
// running after it are cancelled and the section is marked interrupted.
const DefaultCompareAITimeout = time.Minute

// AIRun is compare's AI section: Streams concurrent token streams of
// Tokens tokens each, one request per stream.
type AIRun struct {
	Streams int // default Compare.Subscribers
	Tokens  int // default DefaultCompareAITokens
	URL     string
	// Format names the stream format the run asked for (the per-format
	// comparison); "" for the AI section's default run.
	Format string
	// Defaults are the run's protocol knobs, for the Result's params.
	Defaults map[string]string
	// NewSession returns stream i's session (one request), using hc.
	NewSession func(i int, hc *http.Client) transport.Session
}

// AIResult is what the AI section measured; its latencies (ttft, itl_chunk,
// tpot, e2e) are in Result.
type AIResult struct {
	Format    string `json:"format,omitempty"`
	Streams   int    `json:"streams"`
	Tokens    int    `json:"tokens"`
	Completed int64  `json:"completed"` // streams that ended without a fatal error
	// TokensPerS is every stream's tokens over the section's wall time;
	// StreamTokensPerS one stream's rate after its first token (1/tpot p50).
	TokensPerS       float64 `json:"tokens_per_s"`
	StreamTokensPerS float64 `json:"stream_tokens_per_s"`
	BytesRead        int64   `json:"bytes_read"`
	BytesWritten     int64   `json:"bytes_written"`
	CPUMs            float64 `json:"cpu_ms"`
	CPUMeasured      bool    `json:"cpu_measured"`
	// WireEvents are the events (SSE events, NDJSON or data stream lines)
	// the streams carried, content or not; WireEventsPerToken and
	// BytesPerToken divide them, and the bytes both ways, by the tokens.
	WireEvents         int64   `json:"wire_events"`
	WireEventsPerToken float64 `json:"wire_events_per_token"`
	BytesPerToken      float64 `json:"bytes_per_token"`
	Result             *Result `json:"result"`
}

// frameCounter counts the wire events of the exchanges it sees.
type frameCounter struct {
	transport.Observer
	n *atomic.Int64
}

func (f frameCounter) Exchange(x *transport.Exchange) {
	f.n.Add(int64(x.Frames))
	f.Observer.Exchange(x)
}

// RunAI runs the AI section: every stream starts at once and the section
// ends when all have returned (or after DefaultCompareAITimeout).
func (c Compare) RunAI(ctx context.Context, ai AIRun) (*AIResult, error) {
	c = c.withDefaults()
	if ai.NewSession == nil {
		return nil, errors.New("compare: the AI section needs sessions")
	}
	ai.Streams = or(ai.Streams, c.Subscribers)
	ai.Tokens = or(ai.Tokens, DefaultCompareAITokens)
	c.Subscribers = ai.Streams
	dialer := &transport.CountingDialer{}
	hc := c.countingClient(dialer, ai.Streams)
	defer hc.CloseIdleConnections()

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var ended, completed, frames atomic.Int64
	e := &Engine{
		Plan: Plan{Connections: ai.Streams, Duration: DefaultCompareAITimeout, RestartDelay: -1},
		NewSession: func(i int) transport.Session {
			return aiSession(func(ctx context.Context, obs transport.Observer) error {
				err := ai.NewSession(i, hc).Run(ctx, frameCounter{obs, &frames})
				if err == nil {
					completed.Add(1)
				}
				if ended.Add(1) == int64(ai.Streams) {
					stop(errRunDone)
				}
				return err
			})
		},
	}
	cpu0, cpuOK := processCPU()
	rec, err := e.Run(runCtx)
	stop(errRunDone)
	cpu1, _ := processCPU()
	if err != nil {
		return nil, err
	}
	if ctx.Err() == nil && errors.Is(context.Cause(runCtx), errRunDone) {
		rec.Interrupted, rec.Reason = false, ""
	}
	res, err := NewResult(rec, Meta{Version: c.Version, Host: c.Host, URL: ai.URL, Pattern: "ai-sse",
		Params: Params{Connections: ai.Streams, DurationS: rec.End.Sub(rec.Start).Seconds(), Defaults: ai.Defaults}})
	if err != nil {
		return nil, err
	}
	out := &AIResult{Format: ai.Format, Streams: ai.Streams, Tokens: ai.Tokens, Completed: completed.Load(), Result: res, WireEvents: frames.Load()}
	if res.DurationS > 0 {
		out.TokensPerS = round6(float64(res.Counters[Tokens.String()]) / res.DurationS)
	}
	if m, ok := res.Metrics[TPOT.String()]; ok && m.P50Ms > 0 {
		out.StreamTokensPerS = round6(1000 / m.P50Ms)
	}
	cnt := dialer.Counts()
	out.BytesRead, out.BytesWritten = cnt.Read, cnt.Written
	if tok := res.Counters[Tokens.String()]; tok > 0 {
		out.WireEventsPerToken = round6(float64(out.WireEvents) / float64(tok))
		out.BytesPerToken = round6(float64(cnt.Read+cnt.Written) / float64(tok))
	}
	if cpuOK {
		out.CPUMs, out.CPUMeasured = float64(cpu1-cpu0)/float64(time.Millisecond), true
	}
	return out, nil
}

// aiSession is a Session from a function.
type aiSession func(context.Context, transport.Observer) error

func (f aiSession) Run(ctx context.Context, obs transport.Observer) error { return f(ctx, obs) }

// CompareResult is `rtbench compare`'s whole output (CompareSchema): the
// workload, one PatternResult per pattern run, in order, and the AI
// section.
type CompareResult struct {
	Schema    string    `json:"schema"`
	Tool      ToolInfo  `json:"tool"`
	Target    string    `json:"target"`   // base URL
	Embedded  bool      `json:"embedded"` // the target was rtbench's embedded server
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`

	Subscribers int     `json:"subscribers"`
	UpdatesPerS float64 `json:"updates_per_s"`
	DurationS   float64 `json:"duration_s"` // of publishing, per pattern
	SizeBytes   int     `json:"size_bytes"`
	UpdatesSent int     `json:"updates_per_run"`
	SettleS     float64 `json:"settle_s"`
	DrainS      float64 `json:"drain_s"`
	// CPUScope says whose CPU time the cpu figures are: the whole rtbench
	// process, which with the embedded server includes serving.
	CPUScope string `json:"cpu_scope"`

	Patterns []*PatternResult `json:"patterns"`
	// Chat is the chat workload, one run per protocol, in order.
	Chat []*ChatResult `json:"chat,omitempty"`
	AI   *AIResult     `json:"ai,omitempty"`
	// AIFormats is the AI section once per stream format, every run on the
	// same token schedule (compare's ai-formats pattern).
	AIFormats []*AIResult `json:"ai_formats,omitempty"`
	// Jobs is the job-status workload, one result per method, in order;
	// JobShape says what the jobs were (the embedded server's schedule, or
	// the target's own).
	Jobs        []*JobResult `json:"jobs,omitempty"`
	JobShape    string       `json:"job_shape,omitempty"`
	Interrupted bool         `json:"interrupted"`
}

// CPU scopes of CompareResult.
const (
	CPUScopeEmbedded = "process: client and embedded server"
	CPUScopeClient   = "process: client and publisher (the server is elsewhere)"
)

// NewCompareResult returns the envelope for c's workload.
func (c Compare) NewCompareResult(target string, embedded bool) *CompareResult {
	c = c.withDefaults()
	scope := CPUScopeClient
	if embedded {
		scope = CPUScopeEmbedded
	}
	return &CompareResult{
		Schema: CompareSchema, Tool: ToolInfo{Name: ToolName, Version: c.Version},
		Target: transport.RedactURL(target), Embedded: embedded,
		Subscribers: c.Subscribers, UpdatesPerS: c.Updates, DurationS: c.Duration.Seconds(), SizeBytes: c.Size,
		UpdatesSent: c.UpdateCount(), SettleS: c.Settle.Seconds(), DrainS: c.Drain.Seconds(), CPUScope: scope,
	}
}
