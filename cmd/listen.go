package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
	"github.com/rtbench/rtbench/transport/match"
)

// ListenOptions are the parsed flags of `rtbench listen`.
type ListenOptions struct {
	SessionFlags
	FlowFlags

	Count   int
	Timeout time.Duration
	JSON    bool
	Full    bool
	Quiet   bool

	LastID   string
	Compress bool
	Strict   bool
	Until    string
	Include  bool
	Verbose  bool

	until *match.Expr
}

// NewCmdListen builds `rtbench listen`. runF replaces the run step in tests.
func NewCmdListen(env *Env, runF func(context.Context, *ListenOptions) error) *cobra.Command {
	o := &ListenOptions{}
	o.getenv = func(k string) string { return env.Getenv(k) }
	c := &cobra.Command{
		Use:   "listen URL | listen -f SCENARIO [URL]",
		Short: "Subscribe to a real-time endpoint and watch what arrives",
		Long: `Subscribe to an SSE, WebSocket, polling or AI token-stream endpoint and print what
arrives, one line per event (on a terminal), the data alone (in a pipe), or one JSON
object per line (--json). A summary goes to stderr at the end.

The pattern is detected: ws:// and wss:// are WebSockets; ably://KEY@HOST/CHANNEL
(TLS) and ably+http:// are Ably channels (stdin lines are published); for http(s) the first
response decides: text/event-stream is SSE (or an AI token stream when a body was sent,
recognised as OpenAI or Anthropic chunks), JSON is polling. --mode overrides. Any other
answer fails with one line: another content type (text/html, an image: --mode poll polls
it anyway), a 4xx or 5xx status (its body quoted), an event stream with a Content-Length
(the server sends a whole body, not a stream; --reconnect always fetches it again).

SSE follows the specification: a network error or a clean end reconnects after the
server's retry: time (clamped, jittered) with Last-Event-ID; a status other than 200 or
a content type other than text/event-stream fails without reconnecting.

` + transport.SendHelp + `

AI stream metrics:
` + bench.AIMetricsHelp + `
With -f SCENARIO (docs/scenarios.md) listen runs the scenario's flow once in one
session and prints a PASS/FAIL line per step as it ends; exit 1 when a step fails.

Exit codes: 0 the count was reached, the stream ended normally or --until matched;
1 a protocol failure (bad content type, close 1011, stream_incomplete) or --timeout
before the count; 2 usage; 3 the target is unreachable; 130 interrupted (Ctrl-C).`,
		Example: `  # Watch rtbench serve's measurement stream, 5 events
  rtbench listen http://127.0.0.1:8080/sse -n 5

  # Show the request and response headers, as curl -v does (through a proxy)
  rtbench listen -v --proxy http://127.0.0.1:3128 -n 1 http://127.0.0.1:8080/sse

  # Stream an AI answer like a chat
  rtbench listen -X POST --data '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
      http://127.0.0.1:8080/v1/chat/completions

  # Chat over a WebSocket room (type lines; or pipe them in)
  rtbench listen 'ws://127.0.0.1:8080/ws?channel=lobby'

  # A WebSocket API that pushes only after a subscribe message
  rtbench listen wss://example.com/ws --send '{"type":"subscribe","channel":"prices"}'

  # An Ably channel on rtbench serve (its default key), or on Ably with your own key
  rtbench listen 'ably+http://rtbench.local:rtbench-local-secret@127.0.0.1:8080/chat'

  # Poll a job until it completes
  JOB=$(curl -s -X POST http://127.0.0.1:8080/api/jobs | jq -r .id)
  rtbench listen "http://127.0.0.1:8080/api/jobs/$JOB" --interval 1s --until status==completed

  # A scenario once, a line per step: create a job, poll it until completed
  rtbench listen -f testdata/flow/job.yaml http://127.0.0.1:8080

  # Machine-readable events with latency
  rtbench listen 'http://127.0.0.1:8080/sse?rate=10' --json -n 20 | jq .delivery_ms`,
		Args: func(c *cobra.Command, args []string) error { return o.flowArgs(c, args) },
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.URL = args[0]
			}
			if err := o.readScenario(env, &o.URL); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return listenRun(c.Context(), env, o)
		},
	}
	f := c.Flags()
	o.addSessionFlags(f, "spec")
	o.addFlowFlags(f, false)
	o.addNoShortData(f)
	// One connection can afford a larger event than load's many sessions.
	o.MaxEvent = listenMaxEvent
	f.Lookup("max-event").DefValue = strconv.Itoa(listenMaxEvent)
	f.Lookup("max-event").Usage += " (one connection can afford 16 MiB; load keeps 1 MiB per session)"
	f.IntVarP(&o.Count, "count", "n", 0, "stop after this many events (0 = no limit)")
	f.DurationVar(&o.Timeout, "timeout", 0, "stop after this long; with -n, not reaching the count is a failure (exit 1)")
	f.BoolVar(&o.JSON, "json", false, "one JSON object per event on stdout")
	f.BoolVar(&o.Full, "full", false, "print long data whole instead of cutting it to the terminal width")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no notices and no summary on stderr")
	f.StringVar(&o.LastID, "last-event-id", "", "SSE: resume after this event id")
	f.BoolVar(&o.Compress, "compress", false, "WebSocket: offer permessage-deflate")
	f.BoolVar(&o.Strict, "strict", true, "WebSocket: close with 1007 on invalid UTF-8 in a text message (RFC 6455); --strict=false prints it and counts invalid_utf8_text")
	o.addStampFlag(f)
	o.addCompressedFlag(f)
	f.BoolVarP(&o.Include, "include", "i", false, "print each response's status line and headers on stdout before its events, as curl -i does (--json: a {\"kind\":\"headers\"} object)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print each request's and response's headers on stderr (> and <), as curl -v does; credentials redacted")
	f.StringVar(&o.Until, "until", "", "stop with exit 0 when an event's JSON matches, e.g. 'status==completed'")
	return c
}

func (o *ListenOptions) validate() error {
	if err := o.SessionFlags.validate(); err != nil {
		return err
	}
	switch {
	case strings.ContainsAny(o.LastID, "\r\n\x00"):
		return UsageError("--last-event-id %q: an event id cannot hold a newline or NUL", o.LastID)
	case o.Count < 0:
		return UsageError("--count %d: want 0 (no limit) or more", o.Count)
	case o.Timeout < 0:
		return UsageError("--timeout %v: want 0 (no limit) or a positive duration", o.Timeout)
	}
	if o.Until != "" {
		e, err := match.Parse(o.Until)
		if err != nil {
			return UsageError("--until: %v", err)
		}
		o.until = e
	}
	return nil
}

// Why a listen stopped, as the cause of its context.
var (
	errCountReached = errors.New("count reached")
	errUntilMatched = errors.New("--until matched")
	errTimedOut     = errors.New("timeout")
)

// stopper cancels the session when the count is reached or --until matches.
type stopper struct {
	count  int
	until  *match.Expr
	cancel context.CancelCauseFunc
	seen   int
}

func (s *stopper) Connected(*transport.Connect) {}
func (s *stopper) Exchange(*transport.Exchange) {}
func (s *stopper) Error(*transport.Error)       {}
func (s *stopper) Closed(*transport.Close)      {}
func (s *stopper) Event(e *transport.Event) {
	if e.Kind == transport.KindPong || e.Kind == transport.KindComment {
		return
	}
	s.seen++
	if s.until != nil && s.until.Match(e.Data) {
		s.cancel(errUntilMatched)
	} else if s.count > 0 && s.seen >= s.count {
		s.cancel(errCountReached)
	}
}

func listenRun(parent context.Context, env *Env, o *ListenOptions) error {
	if o.scenario != nil {
		return flowOnceRun(parent, env, &o.SessionFlags, o.scenario, 1, o.Timeout)
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if o.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, o.Timeout, errTimedOut)
		defer stop()
	}

	format := report.FormatPlain
	switch {
	case o.JSON:
		format = report.FormatJSON
	case env.OutTTY:
		format = report.FormatTTY
	}
	start := time.Now()
	printer := report.NewListener(env.Out, env.ErrOut, report.ListenOptions{
		Format: format, Color: !env.NoColor(), Width: env.Width, Full: o.Full,
		Notices: env.ErrTTY, Quiet: o.Quiet, Start: start,
	})
	tally := &bench.Tally{Start: start}
	obs := &downgradeOnce{Observer: transport.Tee{tally, printer, &stopper{count: o.Count, until: o.until, cancel: cancel}}}

	hopts := o.httpOptions()
	hopts.Warn = obs.Error
	hc := transport.NewHTTPClient(hopts)
	if o.Include || o.Verbose {
		hc.Transport = o.headerTap(env, hc.Transport)
	}
	d, err := client.Open(ctx, hc, o.request(), o.Mode)
	if err != nil {
		return listenError(err, o.URL)
	}
	so := o.sessionOptions()
	so.HTTP, so.First, so.Once = hc, d.Opened, d.Once
	so.LastEventID, so.Compress, so.AllowInvalidUTF8 = o.LastID, o.Compress, !o.Strict
	so.Comments = o.JSON // heartbeats are their own events in --json
	if d.Protocol.Sends {
		so.Outbox = outbox(env)
	}
	runErr := d.Protocol.New(so).Run(ctx, obs)
	printer.Finish()
	if !o.Quiet {
		report.ListenSummary(env.ErrOut, tally, d.Protocol.Pattern, time.Now())
	}
	return listenExit(parent, ctx, runErr, tally, o)
}

// headerTap shows the requests and responses of hc as -i and -v ask.
func (o *ListenOptions) headerTap(env *Env, base http.RoundTripper) http.RoundTripper {
	tap := &transport.HeaderTap{Base: base}
	if o.Verbose {
		tap.Request = func(r *http.Request) { report.RequestHead(env.ErrOut, r) }
	}
	tap.Response = func(r *http.Response) {
		if o.Verbose {
			report.ResponseHead(env.ErrOut, r, "< ")
		}
		switch {
		case o.Include && o.JSON:
			report.ResponseHeadJSON(env.Out, r)
		case o.Include:
			report.ResponseHead(env.Out, r, "")
		}
	}
	return tap
}

// downgradeOnce passes on the first redirect_downgrade warning of a listen
// and drops the others: the HTTP client's redirect check and the SSE client
// both see the same https → http redirect, on every connection.
type downgradeOnce struct {
	transport.Observer
	shown atomic.Bool
}

func (d *downgradeOnce) Error(e *transport.Error) {
	if e.Class == transport.ClassDowngrade && !e.Fatal && d.shown.Swap(true) {
		return
	}
	d.Observer.Error(e)
}

// outbox feeds a WebSocket session the stdin lines, when stdin is a pipe
// or a terminal (with a prompt), after each connection's --send messages.
func outbox(env *Env) <-chan []byte {
	ch := make(chan []byte, 1)
	if env.In == nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(env.In)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		if env.InTTY {
			fmt.Fprint(env.ErrOut, "> ")
		}
		for sc.Scan() {
			ch <- append([]byte(nil), sc.Bytes()...)
			if env.InTTY {
				fmt.Fprint(env.ErrOut, "> ")
			}
		}
	}()
	return ch
}

// listenError turns a failure to start into the exit code it deserves.
func listenError(err error, url string) error {
	var te *transport.Error
	if errors.As(err, &te) {
		advice := ""
		if a := transport.Advice(te.Class); a != "" {
			advice = ": " + a
		}
		if te.Class.Unreachable() {
			return UnreachableError(fmt.Errorf("cannot reach %s: %v (%s)%s", url, te.Err, te.Class, advice))
		}
		if te.Class == transport.ClassCanceled {
			return errInterrupted
		}
		msg := te.Error()
		if !strings.Contains(msg, transport.RedactURL(url)) {
			msg = url + ": " + msg
		}
		return FailedError(fmt.Errorf("%s (%s)%s", msg, te.Class, advice))
	}
	return err
}

// listenExit maps how the session ended to the exit code.
func listenExit(parent, ctx context.Context, runErr error, t *bench.Tally, o *ListenOptions) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCountReached), errors.Is(cause, errUntilMatched):
		return nil
	case parent.Err() != nil:
		return errInterrupted
	case errors.Is(cause, errTimedOut):
		if o.Count > 0 || o.until != nil {
			want := fmt.Sprintf("%d events", o.Count)
			if o.until != nil {
				want = "a match of --until " + o.until.String()
			}
			return FailedError(fmt.Errorf("timeout after %v: got %d events, wanted %s", o.Timeout, t.Events, want))
		}
		return tallyFailed(t)
	}
	if runErr != nil {
		// The Listener printed it as it happened: one error, one line.
		err := listenError(runErr, o.URL)
		if ee, ok := err.(*ExitError); ok && ee.Code != ExitInterrupted && t.Fatal != nil {
			ee.Reported = true // the session reported it, and the Listener printed it
		}
		return err
	}
	if c := t.LastClose; c != nil && c.Code != 0 && c.Code != 1000 && c.Code != 1001 {
		return FailedError(fmt.Errorf("%s closed with %d %q", o.URL, c.Code, c.Reason))
	}
	return tallyFailed(t)
}

// tallyFailed applies failedRun to what one session saw.
func tallyFailed(t *bench.Tally) error {
	errs, examples := map[string]int64{}, map[string]string{}
	for c, n := range t.Errors {
		errs[string(c)], examples[string(c)] = int64(n), t.FirstErrors[c]
	}
	return failedRun(int64(t.Events), errs, examples)
}
