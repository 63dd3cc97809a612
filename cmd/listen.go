package cmd

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/detect"
	"github.com/rtbench/rtbench/transport/match"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/ws"
)

// ListenOptions are the parsed flags of `rtbench listen`.
type ListenOptions struct {
	TargetOptions

	Count       int
	Timeout     time.Duration
	IdleTimeout time.Duration
	TTFBTimeout time.Duration
	JSON        bool
	Full        bool
	Quiet       bool

	LastID   string
	MaxEvent int

	Subprotocols []string
	Send         []string
	ReadLimit    int64
	Compress     bool
	PingInterval time.Duration
	PingTimeout  time.Duration
	Strict       bool

	Interval time.Duration
	LongPoll time.Duration
	Until    string

	until *match.Expr
}

// NewCmdListen builds `rtbench listen`. runF replaces the run step in tests.
func NewCmdListen(env *Env, runF func(context.Context, *ListenOptions) error) *cobra.Command {
	o := &ListenOptions{}
	c := &cobra.Command{
		Use:   "listen URL",
		Short: "Subscribe to a real-time endpoint and watch what arrives",
		Long: `Subscribe to an SSE, WebSocket, polling or AI token-stream endpoint and print what
arrives, one line per event (on a terminal), the data alone (in a pipe), or one JSON
object per line (--json). A summary goes to stderr at the end.

The pattern is detected: ws:// and wss:// are WebSockets; for http(s) the first
response decides: text/event-stream is SSE (or an AI token stream when a body was sent,
recognised as OpenAI or Anthropic chunks), JSON is polling. --mode overrides.

SSE follows the specification: a network error or a clean end reconnects after the
server's retry: time (clamped, jittered) with Last-Event-ID; a status other than 200 or
a content type other than text/event-stream fails without reconnecting.

AI stream metrics:
` + aistream.MetricsHelp + `
Exit codes: 0 the count was reached, the stream ended normally or --until matched;
1 a protocol failure (bad content type, close 1011, stream_incomplete) or --timeout
before the count; 2 usage; 3 the target is unreachable; 130 interrupted (Ctrl-C).`,
		Example: `  # Watch rtbench serve's measurement stream, 5 events
  rtbench listen http://127.0.0.1:8080/sse -n 5

  # Stream an AI answer like a chat
  rtbench listen -X POST -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
      http://127.0.0.1:8080/v1/chat/completions

  # Chat over a WebSocket room (type lines; or pipe them in)
  rtbench listen ws://127.0.0.1:8080/ws?channel=lobby

  # Poll a job until it completes
  rtbench listen http://127.0.0.1:8080/api/jobs/job_123 --interval 1s --until status==completed

  # Machine-readable events with latency
  rtbench listen http://127.0.0.1:8080/sse?rate=10 --json -n 20 | jq .delivery_ms`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.URL = args[0]
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
	o.addFlags(f, "d", "when to reconnect: spec, always (also after 429/5xx and any WebSocket close) or never")
	f.IntVarP(&o.Count, "count", "n", 0, "stop after this many events (0 = no limit)")
	f.DurationVar(&o.Timeout, "timeout", 0, "stop after this long; with -n, not reaching the count is a failure (exit 1)")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", 0, "treat a stream silent for this long (no event, comment or ping) as broken")
	f.DurationVar(&o.TTFBTimeout, "ttfb-timeout", transport.DefaultTTFBTimeout, "longest wait for response headers (ttfb_timeout)")
	f.BoolVar(&o.JSON, "json", false, "one JSON object per event on stdout")
	f.BoolVar(&o.Full, "full", false, "print long data whole instead of cutting it to the terminal width")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no notices and no summary on stderr")
	f.StringVar(&o.LastID, "last-event-id", "", "SSE: resume after this event id")
	f.IntVar(&o.MaxEvent, "max-event", 16<<20, "SSE/AI: largest line and event in bytes (one connection can afford 16 MiB; load keeps 1 MiB per session)")
	f.StringArrayVar(&o.Subprotocols, "subprotocol", nil, "WebSocket subprotocol to offer (repeatable)")
	f.StringArrayVar(&o.Send, "send", nil, "WebSocket: send this message after connecting (repeatable); stdin lines are sent too")
	f.Int64Var(&o.ReadLimit, "read-limit", ws.DefaultReadLimit, "WebSocket: largest message in bytes (bigger closes with 1009)")
	f.BoolVar(&o.Compress, "compress", false, "WebSocket: offer permessage-deflate")
	f.DurationVar(&o.PingInterval, "ping-interval", 0, "WebSocket: send a ping this often and report its round trip (0 = off)")
	f.DurationVar(&o.PingTimeout, "ping-timeout", ws.DefaultPingTimeout, "WebSocket: wait this long for each pong; two missed in a row are ping_timeout")
	f.BoolVar(&o.Strict, "strict", false, "WebSocket: close with 1007 on invalid UTF-8 in a text message")
	f.DurationVar(&o.Interval, "interval", poll.DefaultInterval, "polling: time between requests")
	f.DurationVar(&o.LongPoll, "long-poll", 0, "polling: long-poll, asking the server to hold each request this long (?wait=)")
	o.addStampFlag(f)
	f.StringVar(&o.Until, "until", "", "stop with exit 0 when an event's JSON matches, e.g. 'status==completed'")
	return c
}

func (o *ListenOptions) validate() error {
	if err := o.TargetOptions.validate(); err != nil {
		return err
	}
	if strings.ContainsAny(o.LastID, "\r\n\x00") {
		return UsageError("--last-event-id %q: an event id cannot hold a newline or NUL", o.LastID)
	}
	if o.Count < 0 {
		return UsageError("--count %d: want 0 (no limit) or more", o.Count)
	}
	for name, d := range map[string]time.Duration{"--timeout": o.Timeout, "--idle-timeout": o.IdleTimeout, "--ping-interval": o.PingInterval, "--long-poll": o.LongPoll, "--ttfb-timeout": o.TTFBTimeout, "--ping-timeout": o.PingTimeout} {
		if d < 0 {
			return UsageError("%s %v: want a positive duration", name, d)
		}
	}
	if o.Interval <= 0 {
		return UsageError("--interval %v: want a positive duration such as 2s", o.Interval)
	}
	if o.MaxEvent < 64 {
		return UsageError("--max-event %d: want at least 64 bytes", o.MaxEvent)
	}
	if o.ReadLimit < 1 {
		return UsageError("--read-limit %d: want at least 1 byte", o.ReadLimit)
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
	tally := &transport.Tally{Start: start}
	obs := &downgradeOnce{Observer: transport.Tee{tally, printer, &stopper{count: o.Count, until: o.until, cancel: cancel}}}

	client := transport.NewHTTPClient(transport.HTTPOptions{Insecure: o.Insecure, RootCAs: o.roots, TTFBTimeout: o.TTFBTimeout, Warn: obs.Error})
	req := o.request()

	pattern, opened, once, err := pickPattern(ctx, client, req, o.Mode)
	if err != nil {
		return listenError(err, o.URL)
	}
	session := newSession(env, o, pattern, client, req, opened, once)
	runErr := session.Run(ctx, obs)
	printer.Finish()
	if !o.Quiet {
		report.ListenSummary(env.ErrOut, tally, pattern, time.Now())
	}
	return listenExit(parent, ctx, runErr, tally, o)
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

// pickPattern detects (or takes from --mode) the pattern. When that sends
// no request (a forced mode, a WebSocket URL), a TCP connection checks that
// the target can be reached, so an unreachable one fails here, as with
// detection, and not as endless reconnects or a run of failed sessions.
func pickPattern(ctx context.Context, c *http.Client, req transport.Request, mode string) (transport.Pattern, *transport.Opened, bool, error) {
	var p transport.Pattern
	switch mode {
	case "sse":
		p = transport.SSE
	case "ws":
		p = transport.WS
	case "poll":
		p = transport.Poll
	case "ai":
		p = transport.AIStream
	default:
		res, err := detect.Detect(ctx, c, req)
		if err != nil {
			return 0, nil, false, err
		}
		if res.Opened != nil {
			return res.Pattern, res.Opened, res.Once, nil
		}
		p = res.Pattern
	}
	if err := reachable(ctx, c, req.URL); err != nil {
		return 0, nil, false, err
	}
	return p, nil, false, nil
}

// reachable opens (and closes) a TCP connection to the URL's host and port,
// and returns a classified *transport.Error when it cannot. Through a proxy
// it checks nothing: the session finds out.
func reachable(ctx context.Context, c *http.Client, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	probe := *u
	port := u.Port()
	switch u.Scheme {
	case "wss", "https":
		probe.Scheme, port = "https", cmp.Or(port, "443")
	default:
		probe.Scheme, port = "http", cmp.Or(port, "80")
	}
	if tr, ok := c.Transport.(*http.Transport); ok && tr.Proxy != nil {
		if p, err := tr.Proxy(&http.Request{URL: &probe}); err != nil || p != nil {
			return nil
		}
	}
	probe.Host = net.JoinHostPort(u.Hostname(), port)
	nc, err := transport.DialTimed(ctx, &probe, nil, 0, new(transport.Connect))
	if err != nil {
		return transport.AsError(err)
	}
	return nc.Close()
}

func newSession(env *Env, o *ListenOptions, p transport.Pattern, c *http.Client, req transport.Request, opened *transport.Opened, once bool) transport.Session {
	rc := transport.Reconnect{Policy: o.policy}
	parser := sse.ParserOptions{MaxLine: o.MaxEvent, MaxEvent: o.MaxEvent, Raise: "--max-event"}
	switch p {
	case transport.SSE:
		return &sse.Client{Request: req, HTTP: c, Parser: parser, Reconnect: rc, IdleTimeout: o.IdleTimeout, LastEventID: o.LastID, First: opened, Comments: o.JSON, Stamp: o.stamp}
	case transport.AIStream:
		return &aistream.Client{Request: req, HTTP: c, Parser: parser, First: opened}
	case transport.WS:
		return &ws.Client{
			URL: o.URL, Header: o.header, Subprotocols: o.Subprotocols, HTTP: c,
			ReadLimit: o.ReadLimit, Compress: o.Compress, PingInterval: o.PingInterval, PingTimeout: o.PingTimeout,
			Strict: o.Strict, Outbox: outbox(env, o.Send), Reconnect: rc, Stamp: o.stamp,
		}
	}
	pc := &poll.Client{Request: req, HTTP: c, Interval: o.Interval, LongPoll: o.LongPoll, First: opened, Reconnect: rc, Stamp: o.stamp}
	if once {
		// A request with a body answered with something other than a stream
		// (a POST that creates a job, say): show the answer once rather than
		// repeat the request.
		pc.Reconnect.Policy = transport.PolicyNever
		pc.MaxRequests = 1
	}
	return pc
}

// outbox feeds a WebSocket session: the --send messages, then stdin lines
// when stdin is a pipe or a terminal (with a prompt).
func outbox(env *Env, send []string) <-chan ws.Outgoing {
	ch := make(chan ws.Outgoing, len(send)+1)
	for _, s := range send {
		ch <- ws.Outgoing{Data: []byte(s)}
	}
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
			ch <- ws.Outgoing{Data: append([]byte(nil), sc.Bytes()...)}
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
		if !strings.Contains(msg, url) {
			msg = url + ": " + msg
		}
		return FailedError(fmt.Errorf("%s (%s)%s", msg, te.Class, advice))
	}
	return err
}

// listenExit maps how the session ended to the exit code.
func listenExit(parent, ctx context.Context, runErr error, t *transport.Tally, o *ListenOptions) error {
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
		return nil
	}
	if runErr != nil {
		return listenError(runErr, o.URL)
	}
	if c := t.LastClose; c != nil && c.Code != 0 && c.Code != 1000 && c.Code != 1001 {
		return FailedError(fmt.Errorf("%s closed with %d %q", o.URL, c.Code, c.Reason))
	}
	return nil
}
