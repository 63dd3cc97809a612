package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
)

// LoadOptions are the parsed flags of `rtbench load`.
type LoadOptions struct {
	SessionFlags
	FlowFlags
	AgentFlags

	Connections int
	Duration    time.Duration
	Warmup      time.Duration
	Ramp        rampValue
	Rate        rateValue
	Stages      stagesValue
	MaxInFlight int

	Thresholds     []string
	AllowSaturated bool
	Out            string
	JSON           bool
	SourceIPs      string

	SendRate rateValue
	SendSize int
	Yes      bool // --yes: confirm a billed --publish-rate run

	H2Connections int // --h2-connections

	ReconnectRate rateValue
	gate          *bench.Gate

	Prometheus            string // serve the live run's metrics on this address
	PrometheusAllowRemote bool

	thresholds    bench.Thresholds
	durationGiven bool // -d was given: it, not --stages, sets the run's length
	sources       []net.IP
}

// NewCmdLoad builds `rtbench load`. runF replaces the run step in tests.
func NewCmdLoad(env *Env, runF func(context.Context, *LoadOptions) error) *cobra.Command {
	o := &LoadOptions{}
	o.getenv = func(k string) string { return env.Getenv(k) }
	c := &cobra.Command{
		Use:   "load URL | load -f SCENARIO [URL] | load --job METHOD:PATH URL",
		Short: "Hold many connections to a real-time endpoint and report latency",
		Long: `Hold many sessions against an SSE, WebSocket, polling or AI-stream endpoint, drive
load, and report latency from HdrHistograms (microseconds, 3 significant digits).

Streams (SSE, WebSocket) use the closed model: -c sessions held for -d, started on
--ramp or following --stages. Request patterns (polling, AI) use it too, each session
looping, or the open model with --rate: one central pacer with intended start times;
latency counts from the intended time, so a stalled server cannot hide behind a
generator that slowed down with it (coordinated omission); late starts and drops are
counted.

Held polling sessions keep one keep-alive connection each; --interval D sends each
session's requests on a fixed schedule (latency from the intended time), --interval 0
as fast as the server answers (latency from the send). The report names the model.

Over HTTP/2 (the server's ALPN answer, or --http2) the sessions are streams multiplexed
over --h2-connections connections per origin (default 1, as a browser shares one),
opened before the run; the report shows the streams per connection.

Delivery latency is arrival − the payload's sched_ns (rtbench serve stamps every event),
else its own clock: the first of ts, time, timestamp, sent_at, created_at (epoch s, ms,
µs or ns by magnitude, or RFC 3339), or the field --stamp names; wire latency arrival −
sent_ns. A 1 ms self-check ticker reports when rtbench itself was saturated: over 5 ms
late for more than 0.1 % of the run; thresholds then fail unless --allow-saturated.

` + transport.SendHelp + ` A WebSocket run whose connections received
nothing at all says NO MESSAGES in its report and exits 1.

` + ScenarioHelp + ` --job METHOD:PATH is the job
lifecycle as a scenario: create jobs at --rate, poll each one's Location every --interval
(or --long-poll) until --until (default status==completed); the report gives the time
until each job was seen done, the job's own duration, the staleness polling added, polls
and bytes per job, and the jobs never seen done.

` + bench.MetricsHelp + `

Several agents drive one run: --agents N --agent-index i --run-id ID (the index defaults
to $JOB_COMPLETION_INDEX); -c, --rate, --ramp and --stages are the run's totals, split
so the agents together follow one schedule; --start-at starts them together. --procs N
runs N agents as child processes merged into one report. See docs/agents.md.

Thresholds (--threshold, repeatable) fail the run with exit code 1 after the report:
` + bench.ThresholdHelp + `
Exit codes: 0 ok, 1 a threshold failed, 2 usage or a pre-flight refusal (e.g. -c above
the open-files limit), 3 the target is unreachable, 130 interrupted (the partial
result is still printed and saved).`,
		Example: `  # 500 SSE subscribers for 10 s against rtbench serve
  rtbench load -c 500 -d 10s http://127.0.0.1:8080/sse

  # WebSockets, ramping 200 new sessions a second, with a p99 budget
  rtbench load -c 2000 --ramp 200/s -d 1m ws://127.0.0.1:8080/ws --threshold 'delivery.p99<50ms'

  # AI streams in the open model: 20 requests a second, saved for later
  rtbench load --rate 20/s -d 30s --data '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
      http://127.0.0.1:8080/v1/chat/completions --threshold 'ttft.p95<1s' --out ai.json

  # 500 Pusher subscribers on rtbench serve, a publisher at 10/s through the HTTP API
  rtbench load -c 500 -d 1m --publish-rate 10/s 'pusher://rtbench-key:rtbench-secret@127.0.0.1:8080/news?app=rtbench'

  # 500 Ably subscribers on rtbench serve, a publisher at 10 messages a second
  rtbench load -c 500 -d 1m --publish-rate 10/s 'ably+http://rtbench.local:rtbench-local-secret@127.0.0.1:8080/chat'

  # Polling every second by 1000 clients, after a 10 s warmup
  rtbench load -c 1000 --interval 1s --warmup 10s -d 1m http://127.0.0.1:8080/poll

  # The job lifecycle: 100 jobs a second, each polled every 2 s until completed
  rtbench load --job POST:/api/jobs --until status==completed --interval 2s --rate 100/s -d 30s http://127.0.0.1:8080

  # A scenario: 500 WebSocket chat members that join, say hello and see it back
  rtbench load -f testdata/flow/chat.yaml -c 500 -d 1m http://127.0.0.1:8080`,
		Args: func(c *cobra.Command, args []string) error { return o.flowArgs(c, args) },
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.URL = args[0]
			}
			o.durationGiven = c.Flags().Changed("duration")
			if err := o.readScenario(env, &o.URL); err != nil {
				return err
			}
			if err := o.checkFlowFlags(c); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.compileJob(&o.SessionFlags); err != nil {
				return err
			}
			if err := o.validateAgents(c.Flags(), o.getenv); err != nil {
				return err
			}
			o.childArgs = childFlagArgs(c.Flags())
			if runF != nil {
				return runF(c.Context(), o)
			}
			return loadRun(c.Context(), env, o)
		},
	}
	f := c.Flags()
	o.addSessionFlags(f, "spec")
	o.closedLoop = true
	f.Lookup("interval").Usage += "; 0 = closed loop, each request as soon as the last is answered"
	f.IntVarP(&o.Connections, "connections", "c", 100, "sessions held at once (closed model); with --rate, polling requests share at most this many keep-alive connections")
	durationFlag(f, &o.Duration, 30*time.Second, "length of the run, warmup included (default with --stages: their sum)", "--data")
	f.DurationVar(&o.Warmup, "warmup", 0, "first part of the run not counted in the results")
	f.Var(&o.Ramp, "ramp", "start sessions at this rate (200/s) or reach -c linearly in this time (10s); default all at once")
	f.Var(&o.Rate, "rate", "open model for polling and AI: requests per second across the run (500/s)")
	f.Var(&o.Stages, "stages", "ramping shape 'duration:target,…' (sessions, or requests/s with --rate), e.g. 30s:100,1m:1000,30s:0")
	f.IntVar(&o.MaxInFlight, "max-in-flight", bench.DefaultMaxInFlight, "open model: requests in flight at most; further starts are dropped and counted")
	o.addStampFlag(f)
	o.addCompressedFlag(f)
	f.StringArrayVar(&o.Thresholds, "threshold", nil, "fail (exit 1) unless this holds, e.g. 'delivery.p99<200ms', 'errors<1%' (repeatable)")
	f.BoolVar(&o.AllowSaturated, "allow-saturated", false, "let thresholds pass although rtbench itself was saturated (its self-check p99.9 over 5ms)")
	f.StringVar(&o.Out, "out", "", "save the result (rtbench.result/v2 JSON) to this file")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON instead of the text report")
	f.StringVar(&o.SourceIPs, "source-ips", "", "spread connections over these local addresses (127.0.0.1-127.0.0.16, a list or a CIDR): ~28k connections per address and target at most, ~14k cheaply (default: 127.0.0.x, one per 11k sessions, against a 127.x target on Linux)")
	o.ReconnectRate.perSecond = bench.DefaultReconnectRate
	f.Var(&o.ReconnectRate, "reconnect-rate", "cap on the reconnects of the whole run (all sessions together), so a server restart does not meet a storm; 0 = no cap")
	f.Var(&o.SendRate, "send-rate", "WebSocket: each session sends this many stamped messages (10/s) and records their echo round trips")
	f.IntVar(&o.SendSize, "send-size", 0, "WebSocket: bytes of each --send-rate message (default: the bare stamp)")
	f.IntVar(&o.H2Connections, "h2-connections", 1, "HTTP/2: connections per origin (and per --source-ips address) the sessions are multiplexed over, as a browser's one (ignored over HTTP/1.1)")
	o.addPublishFlag(f)
	o.addFlowFlags(f, true)
	f.BoolVar(&o.Yes, "yes", false, fmt.Sprintf("confirm a --publish-rate run on a service that is not on this machine causing over %d deliveries (billed per message)", maxUnconfirmedDeliveries))
	f.StringVar(&o.Prometheus, "prometheus", "", "serve the live run in the Prometheus format at http://ADDR/metrics until it ends, e.g. 127.0.0.1:9464")
	f.BoolVar(&o.PrometheusAllowRemote, "prometheus-allow-remote", false, "allow a --prometheus address that is not a loopback address")
	o.addAgentFlags(f)
	return c
}

func (o *LoadOptions) validate() error {
	if err := o.SessionFlags.validate(); err != nil {
		return err
	}
	switch {
	case o.Connections < 1 && o.Rate.perSecond == 0 && len(o.Stages.stages) == 0:
		return UsageError("-c %d: want at least 1 session", o.Connections)
	case o.Duration <= 0 && len(o.Stages.stages) == 0:
		return UsageError("-d %v: want a positive duration such as 30s", o.Duration)
	case o.Warmup < 0 || (o.Warmup > 0 && o.Warmup >= o.runLength()):
		return UsageError("--warmup %v: want less than the duration %v", o.Warmup, o.runLength())
	case o.MaxInFlight < 1:
		return UsageError("--max-in-flight %d: want at least 1", o.MaxInFlight)
	case o.SendRate.perSecond > 1000:
		return UsageError("--send-rate %v: at most 1000/s per session", o.SendRate.String())
	case o.SendSize < 0 || o.SendSize > 1<<20:
		return UsageError("--send-size %d: want 0 to 1 MiB", o.SendSize)
	case o.H2Connections < 1 || o.H2Connections > maxH2Connections:
		return UsageError("--h2-connections %d: want 1 to %d connections per origin", o.H2Connections, maxH2Connections)
	case o.PublishRate.perSecond > 1000:
		return UsageError("--publish-rate %v: at most 1000/s", o.PublishRate.String())
	}
	if err := o.validatePrometheus(); err != nil {
		return err
	}
	var err error
	if o.thresholds, err = bench.ParseThresholds(o.Thresholds); err != nil {
		return UsageError("%v", err)
	}
	if o.SourceIPs != "" {
		ips, err := bench.ParseSourceIPs(o.SourceIPs)
		if err != nil {
			return UsageError("--source-ips: %v", err)
		}
		o.sources = ips
	}
	if r := o.ReconnectRate.perSecond; r > 0 {
		g, err := bench.NewGate(r, max(int(r/10), 1))
		if err != nil {
			return UsageError("--reconnect-rate: %v", err)
		}
		o.gate = g
	}
	if stdoutOut(o.Out) {
		return nil
	}
	return checkOutFile("--out", o.Out, "result.json")
}

// runLength is the run's planned length: -d, or the stages' sum when
// --stages is given without -d.
func (o *LoadOptions) runLength() time.Duration {
	if len(o.Stages.stages) > 0 && !o.durationGiven {
		return o.Stages.stages.Duration()
	}
	return o.Duration
}

func (o *LoadOptions) plan() bench.Plan {
	p := bench.Plan{
		Connections: o.Connections, Duration: o.runLength(), Warmup: o.Warmup,
		RampRate: o.Ramp.rate, RampTime: o.Ramp.time, MaxInFlight: o.MaxInFlight,
	}
	p.Gate = o.gate
	p.Share, p.StartAt = o.share, o.startAt
	if o.Rate.perSecond > 0 {
		p.Rate = o.Rate.perSecond
		if len(o.Stages.stages) > 0 {
			p.Pacer = o.Stages.stages
		}
	} else if len(o.Stages.stages) > 0 {
		p.Stages = o.Stages.stages
	}
	return p
}

func loadRun(parent context.Context, env *Env, o *LoadOptions) error {
	if o.Procs > 0 {
		return loadProcs(parent, env, o)
	}
	if o.scenario != nil {
		return loadFlowRun(parent, env, o)
	}
	plan := o.plan()
	if !plan.Open() {
		held := o.Connections
		for _, st := range o.Stages.stages {
			held = max(held, int(st.Target))
		}
		if len(o.sources) == 0 {
			// From the largest share (agent 0's), so that every agent of
			// a run records the same number of addresses.
			o.sources = o.autoSources(bench.Share{Index: 0, Count: o.share.Count}.Of(held))
		}
		held = o.share.Of(held) // this agent's part
		// Both checks, so that one run says everything in the way.
		files := bench.CheckFiles(held)
		ports := bench.CheckPorts(held, max(len(o.sources), 1), 1)
		switch {
		case files != nil && ports != nil:
			return UsageError("%v; and %s", files, strings.TrimPrefix(ports.Error(), bench.ErrPreflight.Error()+": "))
		case files != nil:
			return UsageError("%v", files)
		case ports != nil:
			return UsageError("%v", ports)
		}
	}

	// A billed run is refused before anything reaches the service.
	if o.PublishRate.perSecond > 0 {
		held := o.Connections
		for _, st := range o.Stages.stages {
			held = max(held, int(st.Target))
		}
		if err := confirmBilling(env, o.URL, o.PublishRate.perSecond, plan.Duration.Seconds(), held, o.Yes); err != nil {
			return err
		}
	}
	// Over HTTP/2 the sessions share --h2-connections connections per
	// origin (per source address), each dialed before the run starts: the
	// first by the probe, when it can speak HTTP/2.
	clients := o.httpClients()
	wire := &transport.WireCounter{}
	var h2Clients []*http.Client
	probeClient := clients[0]
	if o.mayUseH2() {
		h2Clients = o.h2Clients(wire)
		probeClient = h2Clients[0]
	}
	proto, h2, err := o.probe(parent, probeClient)
	if err != nil {
		return err
	}
	var warm transport.WireCounts
	if h2 {
		clients = h2Clients
		warmUp(parent, clients[1:], o.URL)
		warm = wire.Counts()
	} else {
		for _, c := range h2Clients {
			c.CloseIdleConnections()
		}
		wire = nil
	}
	pattern := proto.Pattern
	if plan.Open() && !proto.Requests {
		return UsageError("--rate is the open model for request patterns (polling, AI); %s streams are held sessions: use -c and --ramp", proto.Name)
	}

	base := o.sessionOptions()
	publishOpts := base
	publishOpts.HTTP = clients[0]
	pub, err := o.publisher(proto, publishOpts)
	if err != nil {
		return err
	}
	e := &bench.Engine{Plan: plan}
	base.Reconnect.Gate = o.gateWait()
	base.Lean = !h2 && o.proxy == nil // the lean paths speak HTTP/1.1 and dial the target themselves
	if base.Lean && plan.Open() {
		// The open model's polling requests share keep-alive connections.
		base.Pool = transport.NewConnPool(o.Connections) // -c: the connections they share, at most
	}
	base.SendSize = o.SendSize
	if o.SendRate.perSecond > 0 {
		base.SendEvery = time.Duration(float64(time.Second) / o.SendRate.perSecond)
	}
	// A held polling session keeps a keep-alive connection of its own (as
	// wrk's do); the shared clients serve the open model's requests.
	own := o.httpOptions()
	if !h2 { // over HTTP/2 they are streams of the shared connections
		base.OwnHTTP = &own
	}
	session := func(n int, one bool) transport.Session {
		so := base
		// n is the run-wide number (templates see it); this agent's own
		// sessions are every --agents'th, so they spread by n/agents.
		local := n / max(o.share.Count, 1)
		so.HTTP = clients[local%len(clients)]
		if len(o.sources) > 0 {
			so.LocalAddr = &net.TCPAddr{IP: o.sources[local%len(o.sources)]}
		}
		so.One, so.Repeat = one, !one
		so.Request.Send = base.Request.Send.ForSession(n)
		return engineSession(proto, so)
	}
	e.NewSession = func(i int) transport.Session { return session(i, false) }
	e.NewRequest = func(n int, _ time.Time) transport.Session { return session(n, true) }
	if plan.Open() && base.Request.Send == nil {
		// Without --send templates every request of one source address
		// (and client) is the same: one session, prepared once, Runs them
		// all (transport.SessionOptions.One).
		reqs := make([]transport.Session, len(clients)*max(len(o.sources), 1))
		for i := range reqs {
			reqs[i] = session(i*max(o.share.Count, 1), true)
		}
		e.NewRequest = func(n int, _ time.Time) transport.Session {
			return reqs[(n/max(o.share.Count, 1))%len(reqs)]
		}
	}
	var progress *report.Progress
	if env.ErrTTY && !o.JSON && !o.ProgressLines {
		progress = report.NewProgress(env.ErrOut, report.ProgressOptions{Total: plan.Duration, Width: env.Width, Color: !env.NoColor()})
		e.Progress = progress.Update
	}
	if o.ProgressLines {
		e.Progress = func(p bench.Progress) { bench.WriteProgressLine(env.ErrOut, o.AgentIndex, p) }
	}
	stopMetrics := func() {}
	if o.Prometheus != "" {
		live := report.NewLiveMetrics(report.LiveInfo{Version: env.Version, Pattern: pattern.String(), RunID: o.RunID, Agent: o.AgentIndex})
		if stopMetrics, err = servePrometheus(env, o.Prometheus, live.Handler()); err != nil {
			return err
		}
		e.ProgressDetail = true
		show := e.Progress
		e.Progress = func(p bench.Progress) {
			if show != nil {
				show(p)
			}
			live.Update(p)
		}
	}
	var began time.Time
	if !o.startAt.IsZero() {
		if err := bench.WaitStart(parent, o.startAt, o.StartTolerance); err != nil {
			stopMetrics()
			if parent.Err() != nil {
				return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted before the run started: nothing was measured")}
			}
			return UsageError("agent %d of run %s: %v", o.AgentIndex, o.RunID, err)
		}
		began = time.Now()
	}
	var published *bench.PublishStats
	pubDone := make(chan struct{})
	pubCtx, stopPub := context.WithTimeout(parent, plan.Duration)
	go func() {
		defer close(pubDone)
		if pub != nil {
			published = bench.PublishLoop(pubCtx, o.share.Rate(o.PublishRate.perSecond), pub)
		}
	}()
	rec, err := e.Run(parent)
	stopPub()
	<-pubDone
	// The shared clients keep up to -c/--max-in-flight idle keep-alive
	// connections: give their descriptors back before the result is saved.
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	if base.Pool != nil {
		base.Pool.Close()
	}
	stopMetrics()
	if progress != nil {
		progress.Done()
	}
	if err != nil {
		return UsageError("%v", err)
	}
	if published != nil {
		rec.AddErrors(published.Errors)
		fmt.Fprintf(env.ErrOut, "rtbench: published %d messages through %s's HTTP API at %s (%d failed)\n",
			published.Published, proto.Name, o.PublishRate.String(), published.Failed)
	}
	if parent.Err() != nil {
		rec.Interrupted = true
		rec.Reason = "interrupted by Ctrl-C or SIGTERM"
	}
	total := o.params(plan, proto, base, h2)
	meta := bench.Meta{Version: env.Version, URL: o.URL, Pattern: pattern.String(), Params: o.share.AgentParams(total), Share: o.share}
	meta.Run = o.runInfo(env.Version, transport.RedactURL(o.URL), pattern.String(), total, o.header, o.Body, o.Send)
	result, err := bench.NewResult(rec, meta)
	if err != nil {
		return fmt.Errorf("building the result: %w", err)
	}
	if wire != nil {
		c := wire.Counts()
		result.HTTP2 = bench.NewHTTP2Result(len(clients), c.Dialed, c.Peak, c.Streams-warm.Streams)
	}
	if !began.IsZero() {
		result.Run.Parts[0].StartedAt = began.UTC()
	}
	return finishLoad(parent, env, o, result)

}

// finishLoad checks the thresholds on result (one agent's, or the merge of
// --procs agents'), saves and prints it, and returns the run's outcome.
func finishLoad(parent context.Context, env *Env, o *LoadOptions, result *bench.Result) error {
	// One document: what --out saves is what --json prints.
	outcomes, failed := o.thresholds.Check(result, o.AllowSaturated)
	result.Thresholds = bench.ThresholdResults(outcomes)
	var saveErr error
	out := env.Out
	if stdoutOut(o.Out) {
		// The result is the output; the report goes to stderr.
		out = env.ErrOut
		saveErr = report.LoadJSON(env.Out, result, outcomes)
	} else if o.Out != "" {
		if saveErr = bench.WriteFile(o.Out, result); saveErr != nil {
			saveErr = fmt.Errorf("saving --out %s: %w", o.Out, saveErr)
		}
	}
	var err error
	switch {
	case o.ProgressLines: // a --procs child: its parent reports
	case o.JSON:
		err = report.LoadJSON(out, result, outcomes)
	default:
		err = report.LoadText(out, result, outcomes, report.TextOptions{Color: !env.NoColor() && !stdoutOut(o.Out), Width: env.Width})
	}
	switch {
	case err != nil:
		return err
	case saveErr != nil:
		return saveErr
	case parent.Err() != nil:
		if o.Out != "" && !stdoutOut(o.Out) {
			fmt.Fprintf(env.ErrOut, "rtbench: interrupted; the partial result is saved in %s\n", o.Out)
		}
		return errInterrupted
	case failed > 0:
		return FailedError(fmt.Errorf("%d of %d thresholds failed", failed, len(outcomes)))
	case result.Silent():
		return FailedError(fmt.Errorf("nothing was delivered: %d WebSocket connections received no message (see the report)", result.Counters[bench.Connects.String()]))
	}
	errs, examples := map[string]int64{}, map[string]string{}
	for c, e := range result.Errors {
		errs[c], examples[c] = e.Count, e.Example
	}
	// A scenario delivers completed flows (bench/flow), which may carry no event.
	return failedRun(result.Counters[bench.Events.String()]+result.Metrics[bench.Flow.String()].Count, errs, examples)
}

// httpClients returns one HTTP client per source address (one in all when
// none are given), so sessions can be spread over them.
func (o *LoadOptions) httpClients() []*http.Client {
	base := o.httpOptions()
	base.IdleConnsPerHost = max(o.Connections, o.MaxInFlight) // the open model's requests reuse connections
	if len(o.sources) == 0 {
		return []*http.Client{transport.NewHTTPClient(base)}
	}
	out := make([]*http.Client, len(o.sources))
	for i, ip := range o.sources {
		opts := base
		opts.LocalAddr = &net.TCPAddr{IP: ip}
		out[i] = transport.NewHTTPClient(opts)
	}
	return out
}

// probe picks the protocol: detection sends one probe request (whose
// response is discarded: every session sends its own), unless --mode says
// it, when a TCP connection checks that the target can be reached. h2 says
// the sessions will speak HTTP/2: --http2, or the probe's answer (with
// --mode, an OPTIONS request asks) came over it.
func (o *LoadOptions) probe(ctx context.Context, c *http.Client) (proto *transport.Protocol, h2 bool, err error) {
	d, err := client.Open(ctx, c, o.request(), o.Mode)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted before the run started: nothing was measured")}
		}
		return nil, false, listenError(err, o.URL)
	}
	if d.Protocol.Pattern == transport.WS {
		return d.Protocol, false, nil // WebSockets speak HTTP/1.1
	}
	if op := d.Opened; op != nil {
		op.Resp.Body.Close()
		if st := op.Connect.Status; st < 200 || st > 299 {
			return nil, false, listenError(&transport.Error{Class: transport.HTTPStatusClass(st), Code: st,
				Err: fmt.Errorf("the probe request got HTTP %d; fix the URL, method or headers before loading it", st)}, o.URL)
		}
		// A stream sent whole has nothing to hold open: each session would
		// fetch it again and again.
		if n := op.Resp.ContentLength; !d.Protocol.Requests && n >= 0 && o.policy != transport.PolicyAlways {
			return nil, false, listenError(&transport.Error{Class: transport.ClassNotStreaming, Err: transport.WholeBody(transport.RedactURL(o.URL), n)}, o.URL)
		}
		return d.Protocol, op.Resp.ProtoMajor == 2, nil
	}
	switch {
	case o.version == transport.HTTP2:
		return d.Protocol, true, nil
	case o.version == transport.HTTP1 || !strings.HasPrefix(o.URL, "https:"):
		return d.Protocol, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, o.URL, nil)
	if err != nil {
		return d.Protocol, false, nil
	}
	resp, err := c.Do(req)
	if err != nil {
		return d.Protocol, false, nil // the run will say what fails
	}
	resp.Body.Close()
	return d.Protocol, resp.ProtoMajor == 2, nil
}

// maxH2Connections bounds --h2-connections.
const maxH2Connections = 10_000

// h2Clients returns --h2-connections HTTP/2 clients per source address
// (per origin when none are given): each keeps one connection, which
// carries the streams of the sessions given that client. The wait for
// response headers allows --long-poll, as a polling session's own client
// does.
func (o *LoadOptions) h2Clients(wire *transport.WireCounter) []*http.Client {
	base := o.httpOptions()
	base.TTFBTimeout = cmp.Or(base.TTFBTimeout, transport.DefaultTTFBTimeout) + o.LongPoll
	base.Wire = wire
	sources := []net.IP{nil}
	if len(o.sources) > 0 {
		sources = o.sources
	}
	var out []*http.Client
	for range o.H2Connections {
		for _, ip := range sources {
			opts := base
			if ip != nil {
				opts.LocalAddr = &net.TCPAddr{IP: ip}
			}
			out = append(out, transport.NewHTTPClient(opts))
		}
	}
	return out
}

// warmUp opens each HTTP/2 client's connection with an OPTIONS request
// before the run: sessions started at once on a client with no connection
// yet would each dial one (net/http does not wait for the first dial's
// ALPN answer), where a browser shares one. The answers do not matter;
// a failure shows in the run.
func warmUp(ctx context.Context, clients []*http.Client, url string) {
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
			if err != nil {
				return
			}
			if resp, err := c.Do(req); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// gateWait is the reconnect gate of every session: the --reconnect-rate cap.
func (o *LoadOptions) gateWait() func(context.Context) error {
	if o.gate == nil {
		return nil
	}
	return o.gate.Wait
}

// params records the load shape and every default that shapes load.
func (o *LoadOptions) params(plan bench.Plan, proto *transport.Protocol, so transport.SessionOptions, h2 bool) bench.Params {
	pr := bench.Params{
		Connections: plan.Connections, DurationS: plan.Duration.Seconds(), WarmupS: plan.Warmup.Seconds(),
		Ramp:     bench.RampParams{SessionsPerS: plan.RampRate, TimeS: plan.RampTime.Seconds()},
		RatePerS: plan.Rate, MaxInFlight: plan.MaxInFlight, Model: o.model(plan, proto),
		Defaults: map[string]string{
			"dial_timeout":   transport.DefaultDialTimeout.String(),
			"tls_timeout":    transport.DefaultTLSTimeout.String(),
			"ttfb_timeout":   o.TTFBTimeout.String(),
			"reconnect":      o.policy.String(),
			"retry_floor":    transport.DefaultRetryFloor.String(),
			"retry_cap":      transport.DefaultRetryCap.String(),
			"reconnect_rate": o.ReconnectRate.String(),
			"stamp":          cmp.Or(o.stamp.String(), "auto"),
			"http_version":   o.version.String(),
		},
	}
	if h2 {
		pr.Defaults["h2_connections"] = fmt.Sprint(o.H2Connections)
	}
	for _, st := range o.Stages.stages {
		pr.Stages = append(pr.Stages, bench.StageParams{DurationS: st.Duration.Seconds(), Target: st.Target})
	}
	d := pr.Defaults
	if proto.Knobs != nil {
		maps.Copy(d, proto.Knobs(so))
	}
	if proto.Sends {
		d["send_rate"] = o.SendRate.String()
	}
	if n := o.send.Len(); n > 0 {
		d["send"] = fmt.Sprintf("%d message(s)", n)
	}
	if proto.Publish != nil {
		d["publish_rate"] = o.PublishRate.String()
	}
	if len(o.sources) > 0 {
		d["source_ips"] = fmt.Sprint(len(o.sources))
	}
	return pr
}

// model names how the run timed its requests.
func (o *LoadOptions) model(plan bench.Plan, proto *transport.Protocol) string {
	switch {
	case plan.Open():
		return bench.ModelOpen
	case !proto.Requests:
		return bench.ModelHeld
	case proto.Pattern == transport.Poll && o.Interval > 0 && o.LongPoll == 0:
		return bench.ModelScheduled
	}
	return bench.ModelClosedLoop
}

func durOrOff(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

// autoSources returns the source addresses a run of held sessions gets
// when --source-ips is not given: none (the OS picks) unless the target is
// on IPv4 loopback and held is more than bench.SessionsPerSource, past
// which every connect() from one address scans the port range; then
// 127.0.0.1, 127.0.0.2, … as load --procs spreads its agents.
func (o *LoadOptions) autoSources(held int) []net.IP {
	if held <= bench.SessionsPerSource() || !o.loopbackV4() {
		return nil
	}
	return bench.LoopbackSources("127.0.0", held)
}

// mayUseH2 reports whether the sessions may be streams of HTTP/2
// connections (--http2, or an https:// target that offers h2).
func (o *LoadOptions) mayUseH2() bool {
	return o.version == transport.HTTP2 || o.version == transport.HTTPAuto && strings.HasPrefix(o.URL, "https:")
}

// loopbackV4 reports whether the target is an IPv4 loopback address
// reached directly (no proxy) over HTTP/1.1 or WebSocket, one connection
// per session: the connections rtbench may spread over source addresses
// of 127/8 on its own (bench.LoopbackSources).
func (o *LoadOptions) loopbackV4() bool {
	u, err := url.Parse(o.URL)
	if err != nil || o.proxy != nil || o.mayUseH2() {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

func (o *LoadOptions) validatePrometheus() error {
	if o.Prometheus == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(o.Prometheus)
	if err != nil {
		return UsageError("--prometheus %q: want host:port, such as 127.0.0.1:9464", o.Prometheus)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return UsageError("--prometheus %q: port %q is not a port number", o.Prometheus, port)
	}
	if !o.PrometheusAllowRemote && !isLoopback(host) {
		return UsageError("--prometheus %q listens beyond this machine; add --prometheus-allow-remote to confirm, or use 127.0.0.1", o.Prometheus)
	}
	return nil
}

// servePrometheus serves h at http://addr/metrics and says where on
// stderr; stop shuts the server down and waits for it.
func servePrometheus(env *Env, addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, UsageError("--prometheus %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	fmt.Fprintf(env.ErrOut, "rtbench: Prometheus metrics at http://%s/metrics until the run ends\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}
