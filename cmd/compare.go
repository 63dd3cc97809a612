package cmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/bench/outfile"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/client"
	"github.com/rtbench/rtbench/transport/mock"
)

// comparePatterns are the names --patterns accepts, in the order they run.
var comparePatterns = []string{"sse", "ws", "poll", "etag", "long-poll", "chat", "jobs", "ai", "ai-formats"}

// compareSecondInterval is the second short-polling run's interval, when
// --poll-interval is not given.
const compareSecondInterval = 2 * time.Second

// CompareOptions are the parsed flags of `rtbench compare`.
type CompareOptions struct {
	Subscribers  int
	Updates      float64
	Duration     time.Duration
	Size         int
	PollInterval time.Duration
	PollGiven    bool // --poll-interval was given: no second polling run
	Patterns     []string
	AIStreams    int
	ChatMembers  int
	ChatRate     float64
	AITokens     int
	JobFlags
	Target string
	JSON   bool
	HTML   string
}

// NewCmdCompare builds `rtbench compare`. runF replaces the run step in
// tests.
func NewCmdCompare(env *Env, runF func(context.Context, *CompareOptions) error) *cobra.Command {
	o := &CompareOptions{}
	c := &cobra.Command{
		Use:   "compare",
		Short: "Run one workload through SSE, WebSocket, polling and long-polling and compare them",
		Long: `Measure the four real-time patterns side by side on one workload: -c subscribers receive
--updates updates per second of --size bytes, published centrally for -d per pattern.
Each update carries its publish time (sched_ns), so delivery latency = receipt − publish
for every pattern, polling's interval included.

Patterns, run one after another on a channel of their own: SSE, WebSocket, short polling
at --poll-interval (and a second run at 2s when it is not given), polling with ETag,
long-polling, and the AI token stream as its own section (--ai-streams concurrent
streams of --ai-tokens tokens: ttft, itl_chunk, tokens/s), then once per AI stream
format (ai-formats: OpenAI Chat Completions and Responses, Anthropic, the AI SDK's UI
message and data streams, Gemini, Ollama, the tutorial's {"text"}) on the same token
schedule: ttft and itl_chunk p50, bytes and events on the wire per token.

Chat (the chat pattern): --chat-members members of one room each send --chat-rate
messages per second for -d, and every member receives every message: through WebSocket
rooms (sending on the socket), SSE + POST /api/publish, long-poll + POST /api/publish,
the Ably protocol (publishing on the connection) and the Pusher protocol (sending through
Pusher's HTTP API: rtbench's Pusher client cannot send client events yet). Per protocol:
send → receive p50/p99/max over all members, lost and duplicated messages, bytes and
requests up and down per delivered message, connections and CPU µs per message.

Jobs (the jobs pattern): the job-status need, measured as load --job measures it. Jobs are
created (--job, default POST:/api/jobs) at --job-rate per second for -d and each one's
Location is followed until --until (default status==completed) by: polling as SWR does
every --poll-interval (and every 2s when it is not given), polling with ETag, long-polling
(?wait=20s) and subscribing to its status pushed as SSE (Location + /events). The methods
run at once, each on jobs of its own, so the pattern adds one -d window plus the jobs'
run time, not five. Per method: staleness (the time the client saw the job done − the
time the job says it completed, at --job-done-at, default updated_at) mean/p50/p99/max,
status requests and bytes on the wire per job (creates excluded), jobs seen done and never
seen done. The embedded server's jobs run 1s plus a uniform random part of 2s (or of
--poll-interval when longer), so they complete at any phase of the polls; against
rtbench serve as --target, give it --job-jitter for the same.

Per pattern: delivery p50/p90/p99/max, updates lost and duplicated (from seq), bytes
on the wire per delivered update (both directions, headers included, counted at the
connection), HTTP requests per update, connections held, and CPU µs per update:
getrusage of the whole rtbench process, which with the embedded server includes the
server's work (use --target for client-only CPU).

The report ends with a decision guide computed from the run's figures; its job status
line names the method with the lowest mean staleness among those that saw every job done,
at its requests and bytes per job (bytes per update when jobs did not run).

Without --target, an embedded rtbench serve is started on a random loopback port.`,
		Example: `  # The default comparison, chat and jobs included (about two minutes)
  rtbench compare

  # A quick run: 20 subscribers, 5 updates/s, 2 s per pattern, as an HTML page too
  rtbench compare -c 20 --updates 5 -d 2s --html compare.html

  # Chat only: 20 members each sending 2 messages/s, through all five protocols
  rtbench compare --patterns chat --chat-members 20 --chat-rate 2

  # The job-status need only: polling, ETag, long-polling and SSE on the same jobs
  rtbench compare --patterns jobs --job-rate 50

  # Against another server with rtbench serve's routes, push patterns only
  rtbench compare --target http://10.0.0.5:8080 --patterns sse,ws`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.PollGiven = c.Flags().Changed("poll-interval")
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return compareRun(c.Context(), env, o)
		},
	}
	f := c.Flags()
	f.IntVarP(&o.Subscribers, "connections", "c", bench.DefaultCompareSubscribers, "subscribers per pattern")
	f.Float64Var(&o.Updates, "updates", bench.DefaultCompareUpdates, "updates published per second")
	f.DurationVarP(&o.Duration, "duration", "d", bench.DefaultCompareDuration, "publishing time per pattern")
	f.IntVar(&o.Size, "size", bench.DefaultCompareSize, "bytes of each update's data (at least 8)")
	f.DurationVar(&o.PollInterval, "poll-interval", bench.DefaultComparePollInterval, "short polling and ETag polling interval (default: 1s, and a second short-polling run at 2s)")
	f.StringSliceVar(&o.Patterns, "patterns", nil, "run only these: "+strings.Join(comparePatterns, ","))
	f.IntVar(&o.ChatMembers, "chat-members", bench.DefaultChatMembers, "chat: members of the room, each sending and receiving")
	f.Float64Var(&o.ChatRate, "chat-rate", bench.DefaultChatRate, "chat: messages each member sends per second")
	o.addJobFlags(f)
	f.IntVar(&o.AIStreams, "ai-streams", 0, "AI section: concurrent streams (default: -c)")
	f.IntVar(&o.AITokens, "ai-tokens", bench.DefaultCompareAITokens, "AI section: tokens per stream")
	f.StringVar(&o.Target, "target", "", "compare against this server (base URL with rtbench serve's routes) instead of an embedded one")
	f.BoolVar(&o.JSON, "json", false, "print the results as JSON ("+bench.CompareSchema+": one "+bench.SchemaV2+" per pattern)")
	f.StringVar(&o.HTML, "html", "", "also write a self-contained HTML report to this file")
	return c
}

func (o *CompareOptions) validate() error {
	switch {
	case o.Subscribers < 1 || o.Subscribers > 100_000:
		return UsageError("-c %d: want 1 to 100000 subscribers", o.Subscribers)
	case !(o.Updates > 0) || o.Updates > 10_000:
		return UsageError("--updates %v: want more than 0 and at most 10000 per second", o.Updates)
	case o.Duration <= 0:
		return UsageError("-d %v: want a positive duration such as 5s", o.Duration)
	case o.Size < 8 || o.Size > 60<<10:
		return UsageError("--size %d: want 8 to 61440 bytes", o.Size)
	case o.PollInterval <= 0:
		return UsageError("--poll-interval %v: want a positive duration", o.PollInterval)
	case o.ChatMembers < 1 || o.ChatMembers > 10_000:
		return UsageError("--chat-members %d: want 1 to 10000 members", o.ChatMembers)
	case !(o.ChatRate > 0) || o.ChatRate > 1000:
		return UsageError("--chat-rate %v: want more than 0 and at most 1000 messages per second per member", o.ChatRate)
	case o.AIStreams < 0:
		return UsageError("--ai-streams %d: want at least 1 (0: -c)", o.AIStreams)
	case o.AITokens < 1 || o.AITokens > 100_000:
		return UsageError("--ai-tokens %d: want 1 to 100000", o.AITokens)
	}
	for _, p := range o.Patterns {
		if !slices.Contains(comparePatterns, p) {
			return UsageError("--patterns %q: want some of %s", p, strings.Join(comparePatterns, ","))
		}
	}
	if len(o.Patterns) == 0 {
		o.Patterns = slices.Clone(comparePatterns)
	}
	if err := o.JobFlags.validate(); err != nil {
		return err
	}
	if o.Target != "" {
		u, err := url.Parse(o.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || checkHostPort(o.Target) != nil {
			return UsageError("--target %q: want a base URL such as http://127.0.0.1:8080", o.Target)
		}
		o.Target = strings.TrimRight(o.Target, "/")
	}
	return checkOutFile("--html", o.HTML, "compare.html")
}

func (o *CompareOptions) want(p string) bool { return slices.Contains(o.Patterns, p) }

func compareRun(ctx context.Context, env *Env, o *CompareOptions) error {
	base, publish, embedded, stop, err := o.target(ctx)
	if err != nil {
		return err
	}
	defer stop()
	cmp := bench.Compare{Subscribers: o.Subscribers, Updates: o.Updates, Duration: o.Duration, Size: o.Size,
		ChatMembers: o.ChatMembers, ChatRate: o.ChatRate, JobRate: o.JobRate, Publish: publish, Version: env.Version}
	res := cmp.NewCompareResult(base, embedded)
	res.StartedAt = time.Now().UTC().Round(0)
	for _, run := range o.runs(base) {
		if ctx.Err() != nil {
			break
		}
		if env.ErrTTY && !o.JSON {
			fmt.Fprintf(env.ErrOut, "rtbench: compare %s: %d subscribers, %v…\n", run.Name, o.Subscribers, o.Duration)
		}
		pr, err := cmp.RunPattern(ctx, run)
		if pr != nil {
			res.Patterns = append(res.Patterns, pr)
		}
		if err != nil {
			return UnreachableError(err)
		}
	}
	if o.want("chat") {
		for _, run := range o.chatRuns(base, randomSuffix()) {
			if ctx.Err() != nil {
				break
			}
			if env.ErrTTY && !o.JSON {
				fmt.Fprintf(env.ErrOut, "rtbench: compare chat %s: %d members at %v messages/s each, %v…\n", run.Name, o.ChatMembers, o.ChatRate, o.Duration)
			}
			cr, err := cmp.RunChat(ctx, run)
			if cr != nil {
				res.Chat = append(res.Chat, cr)
			}
			if err != nil {
				return UnreachableError(err)
			}
		}
	}
	if o.want("jobs") && ctx.Err() == nil {
		runs, err := o.jobRuns(base)
		if err != nil {
			return err
		}
		if env.ErrTTY && !o.JSON {
			fmt.Fprintf(env.ErrOut, "rtbench: compare jobs: %d methods at once, %v jobs/s each for %v…\n", len(runs), o.JobRate, o.Duration)
		}
		res.Jobs, err = cmp.RunJobs(ctx, runs)
		res.JobShape = o.jobShape(embedded)
		if err != nil {
			return UnreachableError(err)
		}
	}
	if o.want("ai") && ctx.Err() == nil {
		if env.ErrTTY && !o.JSON {
			fmt.Fprintf(env.ErrOut, "rtbench: compare ai: %d streams of %d tokens…\n", max(o.AIStreams, o.Subscribers), o.AITokens)
		}
		ai, err := cmp.RunAI(ctx, o.aiRun(base))
		if err != nil {
			return err
		}
		res.AI = ai
	}
	if o.want("ai-formats") {
		for _, run := range o.aiFormatRuns(base) {
			if ctx.Err() != nil {
				break
			}
			if env.ErrTTY && !o.JSON {
				fmt.Fprintf(env.ErrOut, "rtbench: compare ai %s: %d streams of %d tokens…\n", run.Format, max(o.AIStreams, o.Subscribers), o.AITokens)
			}
			ai, err := cmp.RunAI(ctx, run)
			if err != nil {
				return err
			}
			res.AIFormats = append(res.AIFormats, ai)
		}
	}
	res.EndedAt = time.Now().UTC().Round(0)
	res.Interrupted = ctx.Err() != nil
	if o.HTML != "" {
		var b bytes.Buffer
		if err := report.CompareHTML(&b, res); err != nil {
			return err
		}
		if err := outfile.WriteBytes(o.HTML, b.Bytes()); err != nil {
			return fmt.Errorf("writing --html %s: %w", o.HTML, err)
		}
	}
	if o.JSON {
		err = report.CompareJSON(env.Out, res)
	} else {
		err = report.CompareText(env.Out, res, report.TextOptions{Color: !env.NoColor(), Width: env.Width})
	}
	if err != nil {
		return err
	}
	if res.Interrupted {
		return errInterrupted
	}
	return nil
}

// target returns the base URL and the publisher: the embedded server's hub,
// or POST /api/publish on --target.
func (o *CompareOptions) target(ctx context.Context) (base string, pub bench.Publisher, embedded bool, stop func(), err error) {
	if o.Target != "" {
		hc := transport.NewHTTPClient(transport.HTTPOptions{})
		if err := client.Reachable(ctx, hc, o.Target); err != nil {
			return "", nil, false, nil, listenError(err, o.Target)
		}
		return o.Target, bench.HTTPPublisher(hc, o.Target+"/api/publish"), false, hc.CloseIdleConnections, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, false, nil, fmt.Errorf("starting the embedded server: %w", err)
	}
	s := mock.New(mock.Config{Jobs: compareJobSchedule(o.jobJitter())})
	go s.Serve(ln)
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(sctx)
	}
	hub := s.Hub()
	pub = func(_ context.Context, channel string, data []byte) (uint64, error) {
		m, _, err := hub.Publish(channel, data, 0)
		if err != nil {
			return 0, err
		}
		return m.Seq, nil
	}
	return "http://" + ln.Addr().String(), pub, true, stop, nil
}

// runs lists the pattern runs in order, each on a fresh channel.
func (o *CompareOptions) runs(base string) []bench.CompareRun {
	suffix := randomSuffix()
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	var out []bench.CompareRun
	channel := func(name string) string { return "compare-" + name + "-" + suffix }
	rc := transport.Reconnect{Policy: transport.PolicySpec}
	pollRun := func(name string, interval time.Duration, cond bool, long time.Duration) bench.CompareRun {
		ch := channel(strings.ReplaceAll(name, " ", "-"))
		u := base + "/api/channels/" + ch + "/messages"
		pattern, defs := "poll", map[string]string{"interval": interval.String(), "conditional": strconv.FormatBool(cond), "long_poll": durOrOff(long)}
		if long > 0 {
			pattern = "long-poll"
		}
		run := bench.CompareRun{Name: name, Pattern: pattern, URL: u, Channel: ch, Interval: interval, Defaults: defs,
			NewSession: func(_ int, hc *http.Client) transport.Session {
				return newSession("poll", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Interval: interval,
					NoConditional: !cond, LongPoll: long, Reconnect: rc})
			}}
		if long > 0 {
			run.Interval, run.Warm = 0, interval+100*time.Millisecond
		}
		return run
	}
	if o.want("sse") {
		ch := channel("sse")
		u := base + "/sse?channel=" + ch
		out = append(out, bench.CompareRun{Name: "sse", Pattern: "sse", URL: u, Channel: ch,
			Defaults: map[string]string{"reconnect": rc.Policy.String()},
			NewSession: func(_ int, hc *http.Client) transport.Session {
				return newSession("sse", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc})
			}})
	}
	if o.want("ws") {
		ch := channel("ws")
		u := wsBase + "/ws?channel=" + ch
		out = append(out, bench.CompareRun{Name: "ws", Pattern: "ws", URL: u, Channel: ch,
			Defaults: map[string]string{"reconnect": rc.Policy.String(), "compression": "off"},
			NewSession: func(_ int, hc *http.Client) transport.Session {
				return newSession("ws", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc})
			}})
	}
	if o.want("poll") {
		out = append(out, pollRun("poll "+o.PollInterval.String(), o.PollInterval, false, 0))
		if !o.PollGiven && o.PollInterval != compareSecondInterval {
			out = append(out, pollRun("poll "+compareSecondInterval.String(), compareSecondInterval, false, 0))
		}
	}
	if o.want("etag") {
		out = append(out, pollRun("etag "+o.PollInterval.String(), o.PollInterval, true, 0))
	}
	if o.want("long-poll") {
		// Unconditional: the channel's ETag is its newest seq, so a conditional
		// long poll is answered 304 at once instead of being held.
		out = append(out, pollRun("long-poll", o.PollInterval, false, bench.DefaultCompareLongPoll))
	}
	return out
}

func (o *CompareOptions) aiRun(base string) bench.AIRun {
	u := base + "/v1/chat/completions"
	body := []byte(`{"model":"rtbench-mock-1","stream":true,"messages":[{"role":"user","content":"Compare the real-time patterns."}]}`)
	h := http.Header{"Content-Type": {"application/json"}, aistream.HeaderTokens: {strconv.Itoa(o.AITokens)}}
	req := transport.Request{URL: u, Method: http.MethodPost, Header: h, Body: body}
	return bench.AIRun{Streams: o.AIStreams, Tokens: o.AITokens, URL: u,
		Defaults: map[string]string{"tokens": strconv.Itoa(o.AITokens)},
		NewSession: func(_ int, hc *http.Client) transport.Session {
			return newSession("ai", transport.SessionOptions{Request: req, HTTP: hc})
		}}
}

// aiFormatRoutes are the serve routes of each AI stream format, with a
// request each accepts.
var aiFormatRoutes = []struct{ format, path, body string }{
	{"openai", "/v1/chat/completions", `{"model":"rtbench-mock-1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Compare the formats."}]}`},
	{"openai-responses", "/v1/responses", `{"model":"rtbench-mock-1","stream":true,"input":"Compare the formats."}`},
	{"anthropic", "/v1/messages", `{"model":"rtbench-mock-1","stream":true,"messages":[{"role":"user","content":"Compare the formats."}]}`},
	{"ai-sdk-ui", "/api/ai-sdk/ui", `{"messages":[{"role":"user","parts":[{"type":"text","text":"Compare the formats."}]}]}`},
	{"ai-sdk-data", "/api/ai-sdk/data", `{"messages":[{"role":"user","content":"Compare the formats."}]}`},
	{"gemini", "/v1beta/models/rtbench-mock-1:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"Compare the formats."}]}]}`},
	{"ollama", "/ollama/api/chat", `{"model":"rtbench-mock-1","messages":[{"role":"user","content":"Compare the formats."}]}`},
	{"text", "/api/chat", `{"messages":[{"role":"user","content":"Compare the formats."}]}`},
}

// aiFormatRuns are the AI section once per format, on the server's one
// token schedule (the same tokens per stream), each read as its format.
func (o *CompareOptions) aiFormatRuns(base string) []bench.AIRun {
	var out []bench.AIRun
	for _, f := range aiFormatRoutes {
		u := base + f.path
		h := http.Header{"Content-Type": {"application/json"}, aistream.HeaderTokens: {strconv.Itoa(o.AITokens)}}
		req := transport.Request{URL: u, Method: http.MethodPost, Header: h, Body: []byte(f.body)}
		format := f.format
		out = append(out, bench.AIRun{Streams: o.AIStreams, Tokens: o.AITokens, URL: u, Format: format,
			Defaults: map[string]string{"tokens": strconv.Itoa(o.AITokens), "ai_format": format},
			NewSession: func(_ int, hc *http.Client) transport.Session {
				return newSession("ai", transport.SessionOptions{Request: req, HTTP: hc, AIFormat: format})
			}})
	}
	return out
}

// newSession builds a session of the protocol named name from the table.
func newSession(name string, o transport.SessionOptions) transport.Session {
	return engineSession(client.Lookup(name), o)
}

// engineSession builds a session of p whose events go to the load engine
// (load's and compare's): the engine never reads event IDs, so SSE events
// need not carry one (SessionOptions.NoEventIDs).
func engineSession(p *transport.Protocol, o transport.SessionOptions) transport.Session {
	o.NoEventIDs = true
	return p.New(o)
}

func randomSuffix() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	}
	return hex.EncodeToString(b[:])
}
