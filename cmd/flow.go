package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/bench/check"
	"github.com/rtbench/rtbench/bench/flow"
	"github.com/rtbench/rtbench/bench/specfile"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
)

// FlowFlags are the scenario flags: -f FILE (load, listen; check's -f reads
// a scenario too when the file has a top-level steps: or scenario: key) and
// load's --job shortcut.
type FlowFlags struct {
	File  string // -f: a scenario file
	Job   string // --job METHOD:URL (load)
	Until string // --until with --job (load)
	JobID string // --job-id: the JSON path of the job's id, when no Location is answered

	scenario *flow.Scenario
}

// ScenarioHelp documents -f and --job for the commands' help.
const ScenarioHelp = `A scenario (-f FILE, format: docs/scenarios.md) is a list of steps each session takes:
request (capture values from the JSON answer or a header), poll until a condition,
subscribe (SSE, WebSocket, AI streams, Pusher, Ably; send messages, until a condition or a
count), sleep/think, repeat; ${name} in later steps is a captured value. Each step
reports its own latency and counts; the whole pass reports flow.`

// addFlowFlags adds -f, and --job and --until when job is true (load).
func (ff *FlowFlags) addFlowFlags(f *pflag.FlagSet, job bool) {
	f.StringVarP(&ff.File, "file", "f", "", "run the scenario in this YAML file (see docs/scenarios.md): each session takes its steps")
	if job {
		f.StringVar(&ff.Job, "job", "", "job lifecycle: create jobs with METHOD:PATH (POST:/api/jobs) at --rate and poll each one's Location every --interval (or --long-poll) until --until")
		f.StringVar(&ff.Until, "until", "", "with --job: the condition on the job's JSON that says it is done (default status==completed)")
		f.StringVar(&ff.JobID, "job-id", "", "with --job: poll PATH/ID, ID read at this path of the create answer (id, data.job_id), instead of following its Location")
	}
}

// flowArgs is the commands' argument check: the URL is optional with -f
// (the scenario's base: is used) and required otherwise.
func (ff *FlowFlags) flowArgs(c *cobra.Command, args []string) error {
	if ff.File != "" {
		return cobra.MaximumNArgs(1)(c, args)
	}
	return cobra.ExactArgs(1)(c, args)
}

// readScenario parses -f against the URL argument (its base for relative
// URLs; the scenario's base: when the URL is empty) and sets the URL.
func (ff *FlowFlags) readScenario(env *Env, url *string) error {
	if ff.File == "" {
		return nil
	}
	if ff.Job != "" {
		return UsageError("-f and --job are two ways to give a scenario: use one")
	}
	data, err := specfile.Read(ff.File, flow.MaxFileBytes, "a scenario file")
	if err != nil {
		return UsageError("-f %s: %v", ff.File, err)
	}
	if !flow.IsScenario(data) {
		return UsageError("-f %s is not a scenario: it has no top-level steps: (see docs/scenarios.md)", ff.File)
	}
	sc, err := flow.Parse(ff.File, data, env.Getenv, *url)
	if err != nil {
		return UsageError("%v", err)
	}
	if *url == "" {
		*url = sc.Target()
	}
	if *url == "" {
		return UsageError("-f %s: give the target's URL, or a base: in the scenario", ff.File)
	}
	ff.scenario = sc
	return nil
}

// compileJob builds --job's scenario, once the session flags are valid.
func (ff *FlowFlags) compileJob(t *SessionFlags) error {
	if ff.Job == "" {
		if ff.Until != "" || ff.JobID != "" {
			return UsageError("--until and --job-id go with --job (the job lifecycle)")
		}
		return nil
	}
	jo := flow.JobOptions{Create: ff.Job, Base: t.URL, Body: string(t.Body), Header: t.header,
		Until: ff.Until, Interval: t.Interval, LongPoll: t.LongPoll}
	if ff.JobID != "" {
		_, path, _ := strings.Cut(ff.Job, ":")
		jo.ID, jo.Poll = ff.JobID, strings.TrimSuffix(path, "/")+"/${id}"
	}
	sc, err := flow.Job(jo)
	if err != nil {
		return UsageError("%v", err)
	}
	ff.scenario = sc
	return nil
}

// loadFlowRun is `rtbench load` of a scenario: the engine runs the flow in
// every session (closed model: -c sessions, each looping it) or starts one
// pass per --rate arrival (open model: flow latency from its intended start).
func loadFlowRun(parent context.Context, env *Env, o *LoadOptions) error {
	sc := o.scenario
	plan := o.plan()
	clients := o.httpClients()
	base := o.sessionOptions()
	base.Reconnect.Gate = o.gateWait()
	session := func(n int, once bool) transport.Session {
		so := base
		so.HTTP = clients[n%len(clients)]
		return sc.Session(n, flow.Options{HTTP: so.HTTP, Session: so, Once: once, Getenv: env.Getenv})
	}
	e := &bench.Engine{Plan: plan, Steps: sc.StepNames()}
	e.NewSession = func(i int) transport.Session { return session(i, false) }
	e.NewRequest = func(n int, _ time.Time) transport.Session { return session(n, true) }
	var progress *report.Progress
	if env.ErrTTY && !o.JSON {
		progress = report.NewProgress(env.ErrOut, report.ProgressOptions{Total: plan.Duration, Width: env.Width, Color: !env.NoColor()})
		e.Progress = progress.Update
	}
	rec, err := e.Run(parent)
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	if progress != nil {
		progress.Done()
	}
	if err != nil {
		return UsageError("%v", err)
	}
	if parent.Err() != nil {
		rec.Interrupted = true
		rec.Reason = "interrupted by Ctrl-C or SIGTERM"
	}
	params := bench.Params{
		Connections: plan.Connections, DurationS: plan.Duration.Seconds(), WarmupS: plan.Warmup.Seconds(),
		Ramp:     bench.RampParams{SessionsPerS: plan.RampRate, TimeS: plan.RampTime.Seconds()},
		RatePerS: plan.Rate, MaxInFlight: plan.MaxInFlight, Model: bench.ModelClosedLoop,
		Defaults: map[string]string{
			"scenario":     sc.Name,
			"steps":        fmt.Sprint(len(sc.StepNames())),
			"ttfb_timeout": o.TTFBTimeout.String(),
			"http_version": o.version.String(),
		},
	}
	if plan.Open() {
		params.Model = bench.ModelOpen
	}
	if o.Job != "" {
		params.Defaults["job"] = o.Job
		if o.LongPoll > 0 {
			params.Defaults["long_poll"] = o.LongPoll.String()
		} else {
			params.Defaults["interval"] = o.Interval.String()
		}
	}
	result, err := bench.NewResult(rec, bench.Meta{Version: env.Version, URL: o.URL, Pattern: "flow", Params: params})
	if err != nil {
		return fmt.Errorf("building the result: %w", err)
	}
	return finishLoad(parent, env, o, result)
}

// runFlowOnce runs a scenario's flow in n sessions at once, each one pass,
// within timeout, and calls trace for every step: listen -f and check -f.
// It returns whether every pass completed.
func runFlowOnce(ctx context.Context, env *Env, o *SessionFlags, sc *flow.Scenario, n int, timeout time.Duration, trace func(int, *flow.Step, bench.StepSample, error)) (ok bool, err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errFlowTimeout)
		defer cancel()
	}
	hc := transport.NewHTTPClient(o.httpOptions())
	defer hc.CloseIdleConnections()
	base := o.sessionOptions()
	base.HTTP = hc
	results := make(chan bool, n)
	traces := make(chan func(), 64)
	for i := range n {
		go func() {
			failed := false
			opts := flow.Options{HTTP: hc, Session: base, Once: true, Getenv: env.Getenv,
				Trace: func(n int, st *flow.Step, s bench.StepSample, err error) {
					if s.Outcome != bench.StepOK {
						failed = true
					}
					traces <- func() { trace(n, st, s, err) }
				}}
			sc.Session(i, opts).Run(ctx, nopObserver{})
			results <- !failed
		}()
	}
	ok = true
	for left := n; left > 0; {
		select {
		case f := <-traces:
			f()
		case r := <-results:
			ok = ok && r
			left--
		}
	}
	for len(traces) > 0 {
		(<-traces)()
	}
	if errors.Is(context.Cause(ctx), errFlowTimeout) {
		return false, fmt.Errorf("the scenario did not finish within --timeout %v", timeout)
	}
	return ok, nil
}

var errFlowTimeout = errors.New("flow timeout")

// nopObserver ignores a session's observations: listen -f and check -f
// show the steps (flow.Options.Trace), not the events.
type nopObserver struct{}

func (nopObserver) Connected(*transport.Connect) {}
func (nopObserver) Event(*transport.Event)       {}
func (nopObserver) Exchange(*transport.Exchange) {}
func (nopObserver) Error(*transport.Error)       {}
func (nopObserver) Closed(*transport.Close)      {}

// flowOnceRun runs the scenario once in n sessions (listen -f, check -f),
// printing a line per step, and maps the outcome to the exit code: 0 every
// step passed, 1 one failed or --timeout ended it, 130 interrupted.
func flowOnceRun(ctx context.Context, env *Env, t *SessionFlags, sc *flow.Scenario, n int, timeout time.Duration) error {
	trace := func(i int, st *flow.Step, s bench.StepSample, err error) {
		session := ""
		if n > 1 {
			session = "#" + fmt.Sprint(i)
		}
		fmt.Fprintln(env.Out, report.StepLine(session, st.Name, st.Kind.String(), s, err))
	}
	ok, err := runFlowOnce(ctx, env, t, sc, n, timeout, trace)
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case err != nil:
		return FailedError(err)
	case !ok:
		return FailedError(errors.New("the scenario failed (see the FAIL lines)"))
	}
	return nil
}

// isScenarioFile says whether check's -f FILE is a scenario (a top-level
// steps: or scenario: key) rather than a checks file (checks:). A file that
// cannot be read is left to the checks file's reader to report.
func isScenarioFile(path string) bool {
	data, err := specfile.Read(path, flow.MaxFileBytes, "a scenario file")
	return err == nil && flow.IsScenario(data)
}

// checkScenarioFlags are the flags check -f SCENARIO takes: the transport's
// and -c (sessions, each running the flow once) and --timeout.
var checkScenarioFlags = map[string]bool{"file": true, "timeout": true, "connections": true, "insecure": true, "cacert": true,
	"idle-timeout": true, "ttfb-timeout": true, "max-event": true, "read-limit": true, "ping-interval": true, "ping-timeout": true,
	"http1.1": true, "http2": true, "proxy": true}

// validateScenario reads check -f SCENARIO: the URL argument, when given,
// resolves the scenario's relative URLs.
func (o *CheckOptions) validateScenario(c *cobra.Command, env *Env) error {
	var extra []string
	c.Flags().Visit(func(fl *pflag.Flag) {
		if !checkScenarioFlags[fl.Name] {
			extra = append(extra, "--"+fl.Name)
		}
	})
	if len(extra) > 0 {
		return UsageError("%s cannot be combined with -f SCENARIO: the steps are in the file (see docs/scenarios.md)", strings.Join(extra, ", "))
	}
	if o.Connections < 1 || o.Connections > check.MaxConcurrency {
		return UsageError("-c %d: want 1 to %d sessions", o.Connections, check.MaxConcurrency)
	}
	o.flow.File = o.File
	if err := o.flow.readScenario(env, &o.URL); err != nil {
		return err
	}
	return o.SessionFlags.validate()
}

// flowIgnored are load's flags a scenario has no use for: refused rather
// than silently ignored. --data and -H are --job's create request, and in
// a file the steps say their own.
var flowIgnored = []string{"send", "send-rate", "send-size", "publish-rate", "yes", "h2-connections", "prometheus",
	"prometheus-allow-remote", "source-ips", "stamp", "compressed", "mode", "ai-format", "reconnect", "reconnect-rate", "cookie",
	// A scenario's result has no agent fingerprint yet: one process only.
	"agents", "agent-index", "run-id", "start-at", "start-tolerance", "procs"}

// checkFlowFlags refuses the flags a scenario (-f, --job) would ignore.
func (ff *FlowFlags) checkFlowFlags(c *cobra.Command) error {
	if ff.File == "" && ff.Job == "" {
		return nil
	}
	var bad []string
	for _, name := range flowIgnored {
		if c.Flags().Changed(name) {
			bad = append(bad, "--"+name)
		}
	}
	if ff.File != "" {
		for _, name := range []string{"data", "header", "request"} {
			if c.Flags().Changed(name) {
				bad = append(bad, "--"+name)
			}
		}
	}
	if len(bad) > 0 {
		return UsageError("%s cannot be combined with a scenario (-f, --job): its steps say what each request sends (see docs/scenarios.md)", strings.Join(bad, ", "))
	}
	return nil
}
