package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench/check"
	"github.com/rtbench/rtbench/bench/outfile"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
)

// CheckOptions are the parsed flags of `rtbench check`.
type CheckOptions struct {
	SessionFlags

	File        string
	Connections int
	Timeout     time.Duration
	JSON        bool
	JUnit       string

	// Assert holds the assertion flags as the spec takes them, but for
	// --complete: a plain bool for the flag, set on Assert only when given.
	Assert   check.Assertions
	Complete bool

	specs   []check.Spec
	total   time.Duration
	renamed *misusedFlag
	flow    FlowFlags // -f FILE when FILE is a scenario
}

// checkFlagNames maps a check.FieldError's field to its flag.
var checkFlagNames = map[string]string{
	"url": "URL", "mode": "--mode", "concurrency": "-c/--connections", "timeout": "--timeout",
	"status": "--status", "content_type": "--content-type", "events": "--events", "within": "--within",
	"first_event": "--first-event", "expect": "--expect", "expect_first": "--expect-first", "send": "--send", "ttft": "--ttft", "complete": "--complete",
	"echo": "--echo", "thresholds": "--threshold", "publish_rate": "--publish-rate",
}

// checkFileFlags are the flags that make sense with -f: the rest is in the
// file.
// The session flags that tune the transport rather than say what to check
// apply to every check of the file.
var checkFileFlags = map[string]bool{"file": true, "timeout": true, "json": true, "junit": true, "insecure": true, "cacert": true,
	"idle-timeout": true, "ttfb-timeout": true, "max-event": true, "read-limit": true, "ping-interval": true, "ping-timeout": true,
	"interval": true, "long-poll": true, "http1.1": true, "http2": true}

// NewCmdCheck builds `rtbench check`. runF replaces the run step in tests.
func NewCmdCheck(env *Env, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	o := &CheckOptions{}
	o.getenv = func(k string) string { return env.Getenv(k) }
	c := &cobra.Command{
		Use:   "check [URL]",
		Short: "Check a real-time endpoint in CI: pass or fail with a clear reason",
		Long: `Open a short subscription (or -c of them at once) and check what must hold, one
PASS/FAIL line each with the measured value, then a verdict line. The subscription
stops as soon as every assertion is decided, or at --timeout.

Assertions: the handshake (--status, default 2xx; 101 for WebSockets) and the content
type (--content-type, default text/event-stream for SSE and AI streams); at least
--events N within --within T (default for SSE and WebSocket checks: 3 events within the
timeout; polling: 1); --first-event T; --expect EXPR (some event's JSON matches; the
language of listen --until; repeatable); --expect-first EXPR (the first event's JSON
matches: a subscription's acknowledgement after --send, which is sent as in listen);
a WebSocket with no time bound of its own must send its first message within 5s; for AI streams --ttft T and the terminator
([DONE], message_stop; --complete=false to skip); for WebSockets --echo; and load's
--threshold grammar (repeatable).

Detectors run on every event stream and WebSocket and name deployment faults: events
delivered in bursts (a buffering proxy, a missing flush: ≥3 events that arrived within
20ms but were stamped by the server ≥50ms and ≥10× further apart), gzip on an event
stream (check asks for gzip as browsers do; judged by what it does: a WARN while events
keep their cadence, a FAIL when the compressor holds them back), a Content-Length
(nothing streams), missing
Cache-Control: no-cache / X-Accel-Buffering: no (a WARN, not a failure), invalid UTF-8.

Several checks run at once from a YAML file with -f (format: docs/check.md), each with
its name, URL, mode and assertions, under one total --timeout; ${VAR} in URLs, header
values and bodies comes from the environment. A file with a top-level steps: key is a
scenario instead (docs/scenarios.md): its flow runs once in -c sessions, one PASS/FAIL
line per step, the URL (optional) resolving its relative URLs.

Output: text on stdout (--json: one rtbench.check/v1 document), --junit FILE for CI.
Exit codes: 0 every assertion passed (warnings allowed), 1 one failed, 2 usage or a bad
checks file, 3 the target could not be reached, 130 interrupted.`,
		Example: `  # An SSE endpoint delivers 3 events within 5 s, unbuffered and uncompressed
  rtbench check http://127.0.0.1:8080/sse --events 3 --within 5s

  # An AI stream: first token within 500 ms, ends with [DONE]
  rtbench check --mode ai --data '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
      http://127.0.0.1:8080/v1/chat/completions --ttft 500ms

  # A WebSocket upgrades and echoes
  rtbench check ws://127.0.0.1:8080/ws --echo

  # A job reaches "completed" within 30 s
  JOB=$(curl -s -X POST http://127.0.0.1:8080/api/jobs | jq -r .id)
  rtbench check "http://127.0.0.1:8080/api/jobs/$JOB" --expect status==completed --timeout 30s

  # Every check of a file, concurrently, with a JUnit report for CI
  RTBENCH_HOST=127.0.0.1:8080 rtbench check -f testdata/check/serve.yaml --junit check.xml

  # A scenario once: a WebSocket chat member sees its own message
  rtbench check -f testdata/flow/chat.yaml http://127.0.0.1:8080`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.URL = args[0]
			}
			if err := o.validate(c, env); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return checkRun(c.Context(), env, o)
		},
	}
	f := c.Flags()
	o.addSessionFlags(f, "never") // one session is one connection
	o.Interval = check.PollInterval
	f.Lookup("interval").DefValue = check.PollInterval.String()
	o.addNoShortData(f)
	f.StringVarP(&o.File, "file", "f", "", "run the checks of this YAML file (see docs/check.md) instead of one URL, or the scenario of a file with steps: (docs/scenarios.md)")
	f.IntVarP(&o.Connections, "connections", "c", 1, "sessions held at once")
	o.renamed = &misusedFlag{msg: "--concurrency is -c/--connections (sessions held at once), as in load and compare"}
	f.Var(o.renamed, "concurrency", "")
	f.MarkHidden("concurrency")
	f.DurationVar(&o.Timeout, "timeout", check.DefaultTimeout, "bound on the whole run; assertions still undecided then fail")
	f.BoolVar(&o.JSON, "json", false, "print one JSON document (rtbench.check/v1) instead of text")
	f.StringVar(&o.JUnit, "junit", "", "also write a JUnit XML report to this file")
	f.StringVar(&o.Assert.Status, "status", "", "accepted HTTP status: codes and classes, e.g. 200, 2xx or 200,204 (default 2xx)")
	f.StringVar(&o.Assert.ContentType, "content-type", "", "required media type (default text/event-stream for SSE and AI streams)")
	f.IntVar(&o.Assert.Events, "events", 0, "at least this many events must arrive within --within")
	f.DurationVar(&o.Assert.Within, "within", 0, "the time --events have to arrive (default: the timeout); it, --first-event and --ttft also bound the wait for response headers")
	f.DurationVar(&o.Assert.FirstEvent, "first-event", 0, "the first event must arrive within this")
	f.StringArrayVar(&o.Assert.Expect, "expect", nil, "some event's JSON must match, e.g. 'status==completed' (repeatable)")
	f.StringVar(&o.Assert.ExpectFirst, "expect-first", "", "the first event's JSON must match, e.g. a subscription's acknowledgement 'type==subscribed' after --send")
	f.DurationVar(&o.Assert.TTFT, "ttft", 0, "AI streams: the first token must arrive within this")
	f.BoolVar(&o.Complete, "complete", true, "AI streams: the stream must end with its terminator ([DONE], message_stop)")
	f.BoolVar(&o.Assert.Echo, "echo", false, "WebSockets: a message sent must come back")
	f.StringArrayVar(&o.Assert.Thresholds, "threshold", nil, "a load threshold on the sessions, e.g. 'first_event.p99<1s' (repeatable)")
	o.addPublishFlag(f)
	return c
}

func (o *CheckOptions) validate(c *cobra.Command, env *Env) error {
	if o.renamed.set {
		return UsageError("%s", o.renamed.msg)
	}
	if o.Timeout <= 0 {
		return UsageError("--timeout %v: want a positive duration such as 30s", o.Timeout)
	}
	if err := checkOutFile("--junit", o.JUnit, "check.xml"); err != nil {
		return err
	}
	if o.File != "" && isScenarioFile(o.File) {
		return o.validateScenario(c, env)
	}
	switch {
	case o.File != "" && o.URL != "":
		return UsageError("give a URL or -f FILE, not both (see 'rtbench check --help')")
	case o.File == "" && o.URL == "":
		return UsageError("give the URL to check, or -f FILE with several checks (see 'rtbench check --help')")
	case o.File != "":
		return o.validateFile(c, env)
	}
	if err := o.SessionFlags.validate(); err != nil {
		return err
	}
	s := check.Spec{
		Request:     o.request(),
		Mode:        o.Mode,
		Concurrency: o.Connections,
		Timeout:     o.Timeout,
		Reconnect:   o.policy,
		HTTP:        o.httpOptions(),
		Session:     o.sessionOptions(),
		Assert:      o.Assert,
		PublishRate: o.PublishRate.perSecond,
	}
	if c.Flags().Changed("complete") {
		s.Assert.Complete = &o.Complete
	}
	if o.Connections < 1 {
		return UsageError("-c %d: want at least 1 session", o.Connections)
	}
	if err := s.Validate(); err != nil {
		return checkSpecError(err)
	}
	o.specs, o.total = []check.Spec{s}, o.Timeout
	return nil
}

// checkSpecError names the flag of a Spec that does not validate.
func checkSpecError(err error) error {
	var fe *check.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "url" {
			return UsageError("%v", fe.Err)
		}
		name := checkFlagNames[fe.Field]
		if name == "" {
			name = fe.Field
		}
		return UsageError("%s %v", name, fe.Err)
	}
	return UsageError("%v", err)
}

// validateFile reads -f FILE; the assertions and targets are in the file.
func (o *CheckOptions) validateFile(c *cobra.Command, env *Env) error {
	if o.misuse.set {
		return UsageError("%s", o.misuse.msg)
	}
	var extra []string
	c.Flags().Visit(func(fl *pflag.Flag) {
		if !checkFileFlags[fl.Name] {
			extra = append(extra, "--"+fl.Name)
		}
	})
	if len(extra) > 0 {
		return UsageError("%s cannot be combined with -f: put it in the file's checks (see docs/check.md)", strings.Join(extra, ", "))
	}
	roots, err := loadCACert(o.CACert)
	if err != nil {
		return err
	}
	if err := o.validateKnobs(); err != nil {
		return err
	}
	if err := o.httpVersion(false); err != nil {
		return err
	}
	file, err := check.LoadFile(o.File, env.Getenv)
	if err != nil {
		return UsageError("-f %s: %v", o.File, err)
	}
	o.total = file.Timeout
	if c.Flags().Changed("timeout") || o.total == 0 {
		o.total = o.Timeout
	}
	for _, s := range file.Checks {
		if s.Timeout == 0 || s.Timeout > o.total {
			s.Timeout = o.total
		}
		s.HTTP.Insecure = s.HTTP.Insecure || o.Insecure
		s.HTTP.RootCAs = roots
		s.HTTP.TTFBTimeout = o.TTFBTimeout
		s.HTTP.Version = o.version
		if p, _ := client.Scheme(s.Request.URL); o.HTTP2 && (s.Mode == "ws" || p != nil && p.Pattern == transport.WS) {
			return UsageError("-f %s: check %q is a WebSocket: WebSockets over HTTP/2 (RFC 8441) are not supported, so --http2 cannot apply to it", o.File, s.Name)
		}
		s.Session = o.sessionOptions()
		if err := s.Validate(); err != nil {
			return UsageError("-f %s: check %q: %v", o.File, s.Name, err)
		}
		o.specs = append(o.specs, s)
	}
	return nil
}

func checkRun(ctx context.Context, e *Env, o *CheckOptions) error {
	if o.flow.scenario != nil {
		return flowOnceRun(ctx, e, &o.SessionFlags, o.flow.scenario, o.Connections, o.Timeout)
	}
	results, err := check.RunAll(ctx, o.specs, o.total, check.Deps{Version: e.Version})
	if err != nil {
		return UsageError("%v", err)
	}
	if o.JSON {
		err = report.CheckJSON(e.Out, results)
	} else {
		err = report.CheckText(e.Out, results, report.CheckOptions{Color: !e.NoColor()})
	}
	if err != nil {
		return err
	}
	if o.JUnit != "" {
		if err := writeJUnit(o.JUnit, results); err != nil {
			return fmt.Errorf("writing --junit %s: %w", o.JUnit, err)
		}
	}
	failed, total, unreachable := 0, 0, []string{}
	for _, r := range results {
		failed += r.Count(check.Fail)
		total += len(r.Outcomes)
		if r.Unreachable {
			unreachable = append(unreachable, r.URL)
		}
	}
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case len(unreachable) > 0:
		return UnreachableError(fmt.Errorf("cannot reach %s", strings.Join(unreachable, ", ")))
	case failed > 0:
		return FailedError(fmt.Errorf("check failed: %d of %d assertions", failed, total))
	}
	return nil
}

// writeJUnit writes the JUnit report (bench/outfile: all at once, never
// destroying what is at the path).
func writeJUnit(path string, results []*check.Result) error {
	return outfile.Write(path, func(w io.Writer) error { return report.CheckJUnit(w, results) })
}
