package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/bounds"
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/tlscert"
)

// ServeOptions are the parsed flags of `rtbench serve`.
type ServeOptions struct {
	Addr        string
	AllowRemote bool
	HubMemory   int64    // --hub-memory, MiB; sets Mock.Hub.MaxBytes
	TLS         bool     // --tls: HTTPS with a generated self-signed certificate
	AblyKeys    []string // --ably-key as given; sets Mock.AblyKeys
	Procs       int      // --procs: server processes sharing the port (Linux)
	Mock        mock.Config

	procChild    int    // --procs-child: this is process N of a serve --procs (hidden)
	procInstance string // --procs-instance: the Ably serial instance they share (hidden)
}

// NewCmdServe builds `rtbench serve`. runF replaces the run step in tests.
func NewCmdServe(env *Env, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve realistic mock endpoints of all four real-time patterns",
		Long: `Serve mock endpoints of every real-time pattern on one listener, to develop and
test clients against and as a target whose behaviour is known exactly.

Routes (GET / lists them with live browser demos):
  GET  /api/stream                  Next.js tutorial SSE: "connected", then {"time","value"} every second
  POST /api/chat                    Next.js tutorial chat: data: {"text":...} chunks, then [DONE]
  POST /api/jobs, GET /api/jobs/ID  job status polling: queued, running (progress), completed; ETag, ?wait=
  GET  /api/jobs/ID/events          the same job's status pushed as SSE, one event per change
  POST /api/publish                 {"channel","data"} fanned out to SSE, WebSocket and polling subscribers
  GET  /sse                         measurement stream: ?rate= &count= &size= &jitter= &spread= &channel=; Last-Event-ID
  GET  /ws                          WebSocket: ticks at ?rate= (&spread=), echo, ?channel= rooms, ?binary=1
  GET  /poll                        latest tick state, ETag/304, ?since=N&wait=D long-poll
  GET  /api/channels/X/messages     channel messages ?since=N[&wait=D]
  POST /v1/chat/completions         OpenAI Chat Completions compatible (stream or not)
  POST /v1/messages                 Anthropic Messages compatible (stream or not)
  GET  /app/KEY                     Pusher Channels protocol 7 (pusher-js: wsHost, wsPort, forceTLS: false)
  POST /apps/ID/events, …           Pusher HTTP API, signed with the app secret (--pusher-app)
  POST /v1/responses                OpenAI Responses API compatible (stream or not)
  POST /api/ai-sdk/ui               Vercel AI SDK 5 UI message stream (useChat's default)
  POST /api/ai-sdk/data             Vercel AI SDK 4 data stream (0:"..." lines)
  POST /v1beta/models/M:streamGenerateContent?alt=sse, M:generateContent   Gemini API compatible
  POST /ollama/api/chat, /ollama/api/generate, GET /ollama/api/tags        Ollama compatible (NDJSON)
  GET  / (WebSocket), /time,        the Ably protocol: the official ably SDKs connect with their host
       /channels/X/messages,        options (endpoint, port, tls: false) and a --ably-key key; messages
       /keys/K/requestToken         join the same channels as every route above
  GET  /healthz, GET /metrics       health and Prometheus metrics

Token streams take per-request timing from headers X-RTBench-TTFT, -TPS, -Jitter,
-Chunk, -Tokens, -Seed, -Reasoning or the query parameters ttft, tps, jitter,
chunk, tokens, seed, reasoning. --reasoning-tokens N streams N reasoning
(thinking) tokens before the answer, in each format's own shape.

HTTP versions: HTTP/1.1, and HTTP/2 with prior knowledge (h2c: rtbench listen --http2,
curl --http2-prior-knowledge; Go's server takes no Upgrade: h2c). With --tls it serves
HTTPS with a self-signed certificate made at start for 127.0.0.1, ::1 and localhost,
HTTP/2 or HTTP/1.1 by ALPN; it prints the certificate's SHA-256 fingerprint and the
path of its PEM file (removed at exit) for --cacert, or skip verification with
--insecure (curl -k). A connection carries up to ` + fmt.Sprint(mock.DefaultMaxStreams) + ` HTTP/2 streams at once.
WebSockets stay on HTTP/1.1 (RFC 8441, WebSockets over HTTP/2, is not offered).

The server binds to 127.0.0.1 unless told otherwise. SIGINT or SIGTERM shut it down
gracefully: event streams end, WebSockets close with 1001, all within
--shutdown-timeout; connections still stuck then (a client trickling a body or
not reading its stream) are cut and counted ("cut N stuck connections"); it exits 0.

Bounds, the same on every route and flag: rates (rate=, tps=) 0.001/s to the
route's maximum (0 = none where allowed); intervals (heartbeat=, retry=,
interval=) 0 (off) or 1ms to 1h; other durations 0 to at most 1h. Past them: 400
(exit 2 for a flag) naming the parameter and its bounds.

` + fmt.Sprintf(`Memory: channels keep at most --ring messages and %d MiB each, and --hub-memory
MiB in all (oldest dropped first); a channel with no subscriber and no publish
for %v is evicted. --max-conns counts every open connection (idle keep-alives
too); at the cap idle keep-alives are closed first, and %d connections past it
answer only /healthz and /metrics.

`, pubsub.DefaultChannelBytes>>20, pubsub.DefaultIdleTTL, mock.ReserveConns) + fault.Help,
		Example: `  # Serve on 127.0.0.1:8080 and watch a stream
  rtbench serve &
  curl -N http://127.0.0.1:8080/sse

  # Ten events a second of 1 KiB each, ending after 100
  curl -N 'http://127.0.0.1:8080/sse?rate=10&size=1024&count=100'

  # A slow model: 800ms to the first token, then 20 tokens/s
  rtbench serve --ttft 800ms --tps 20

  # Faults: a stream that stalls after 5 events; a 503 on 10% of all requests
  curl -N 'http://127.0.0.1:8080/sse?fault=stall:5'
  curl -N -H 'X-RTBench-Fault: line:cr,bom:2' http://127.0.0.1:8080/sse
  rtbench serve --fault status:503 --fault-rate 0.1 --fault-seed 1

  # HTTPS with HTTP/2, and rtbench's clients over it
  rtbench serve --tls --addr 127.0.0.1:8443 &
  rtbench listen https://127.0.0.1:8443/sse -n 3 --insecure

  # Listen on every interface (prints a warning)
  rtbench serve --addr 0.0.0.0:8080 --allow-remote`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return serveRun(c.Context(), env, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow an --addr that is not a loopback address")
	f.IntVar(&opts.Mock.MaxConns, "max-conns", defaultMaxConns(), "open connections (idle keep-alives included) before new ones get 503 + Retry-After (0 = no cap; default: open-files limit - 512, at least 64; 0 on Windows, which has no such limit)")
	f.StringSliceVar(&opts.Mock.Origins, "origins", nil, "allow CORS and WebSocket upgrades only from these origin host patterns (e.g. 'localhost:*,*.example.com'); default any")
	f.DurationVar(&opts.Mock.Heartbeat, "heartbeat", 15*time.Second, "SSE comment heartbeat interval")
	f.DurationVar(&opts.Mock.Retry, "retry", 3*time.Second, "SSE retry: value sent at the start of each stream")
	f.DurationVar(&opts.Mock.WriteTimeout, "write-timeout", 10*time.Second, "deadline of each write on a stream; a client that stops reading for longer is dropped")
	f.DurationVar(&opts.Mock.StreamInterval, "stream-interval", time.Second, "tick interval of /api/stream")
	f.IntVar(&opts.Mock.Hub.RingSize, "ring", 1024, "messages kept per channel for Last-Event-ID resume and polling")
	f.Int64Var(&opts.HubMemory, "hub-memory", pubsub.DefaultMaxBytes>>20, fmt.Sprintf("MiB of channel history kept by all channels together (each at most %d MiB); the oldest messages go first", pubsub.DefaultChannelBytes>>20))
	f.DurationVar(&opts.Mock.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long a graceful shutdown may take")
	f.BoolVar(&opts.TLS, "tls", false, "serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with a self-signed certificate made at start; its fingerprint and PEM path are printed")
	addPatternFlags(f, opts)
	addPusherFlags(f, opts)
	addAblyFlags(f, opts)
	f.Var((*faultFlag)(&opts.Mock.Fault.Default), "fault", "faults injected into a share of all requests (see the grammar above), e.g. 'status:503' or 'stall:5,line:cr'")
	f.Float64Var(&opts.Mock.Fault.Rate, "fault-rate", 1, "share of requests (0 to 1) that get --fault")
	f.Uint64Var(&opts.Mock.Fault.Seed, "fault-seed", 1, "seed of the choice of requests that get --fault (same seed, same requests)")
	f.IntVar(&opts.Procs, "procs", 1, fmt.Sprintf("server processes sharing --addr with SO_REUSEPORT, their channels one hub (Linux; 1 to %d; docs/serve.md)", maxServeProcs))
	f.IntVar(&opts.procChild, "procs-child", 0, "process N of a serve --procs (set by serve itself)")
	f.StringVar(&opts.procInstance, "procs-instance", "", "the Ably serial instance of a serve --procs (set by serve itself)")
	f.MarkHidden("procs-child")
	f.MarkHidden("procs-instance")
	return c
}

// maxServeProcs bounds serve --procs: more processes than cores only add
// relay traffic.
const maxServeProcs = 64

func (o *ServeOptions) validate() error {
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return UsageError("--addr %q: want host:port, such as 127.0.0.1:8080", o.Addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return UsageError("--addr %q: port %q is not a port number", o.Addr, port)
	}
	if !o.AllowRemote && !isLoopback(host) {
		return UsageError("--addr %q listens beyond this machine; add --allow-remote to confirm, or use 127.0.0.1", o.Addr)
	}
	for _, p := range o.Mock.Origins {
		if _, err := path.Match(p, ""); err != nil {
			return UsageError("--origins %q: %v; want host patterns such as 'localhost:*,*.example.com'", p, err)
		}
	}
	if o.Mock.MaxConns < 0 {
		return UsageError("--max-conns %d: want 0 (no cap) or more", o.Mock.MaxConns)
	}
	if o.Mock.Hub.RingSize < 1 || o.Mock.Hub.RingSize > 1<<20 {
		return UsageError("--ring %d: want 1 to %d messages", o.Mock.Hub.RingSize, 1<<20)
	}
	if o.HubMemory < 1 || o.HubMemory > 1<<20 {
		return UsageError("--hub-memory %d: want MiB of channel history from 1 to %d", o.HubMemory, 1<<20)
	}
	o.Mock.Hub.MaxBytes = o.HubMemory << 20
	for _, d := range []struct {
		b bounds.Duration
		v time.Duration
	}{
		{sse.HeartbeatBounds.As("--heartbeat"), o.Mock.Heartbeat},
		{sse.RetryBounds.As("--retry"), o.Mock.Retry},
		{bounds.Interval("--write-timeout", "", "10s"), o.Mock.WriteTimeout},
		{sse.IntervalBounds.As("--stream-interval"), o.Mock.StreamInterval},
		{bounds.Interval("--shutdown-timeout", "", "5s"), o.Mock.ShutdownTimeout},
	} {
		if err := d.b.Check(d.v); err != nil {
			return UsageError("%v", err)
		}
	}
	if r := o.Mock.Fault.Rate; r < 0 || r > 1 || r != r {
		return UsageError("--fault-rate %v: want a share from 0 to 1, such as 0.1", r)
	}
	if o.Mock.Fault.Rate == 0 {
		o.Mock.Fault.Default = fault.Spec{} // no request gets it
	}
	if o.Procs < 1 || o.Procs > maxServeProcs {
		return UsageError("--procs %d: want 1 to %d server processes", o.Procs, maxServeProcs)
	}
	if o.Procs > 1 && !reusePortSupported {
		return UsageError("--procs %d needs Linux, whose SO_REUSEPORT spreads one port's connections over several processes; here run one serve per port instead", o.Procs)
	}
	if o.Procs > 1 && o.TLS {
		return UsageError("--procs %d with --tls: not supported (each process would make its own certificate); put a TLS proxy in front, or serve one process with --tls", o.Procs)
	}
	if err := o.validatePusher(); err != nil {
		return err
	}
	if err := o.validateAbly(); err != nil {
		return err
	}
	return o.validatePatterns()
}

// faultFlag is --fault: a fault list (fault.Help), parsed once here.
type faultFlag fault.Spec

func (f *faultFlag) String() string { return "" }
func (f *faultFlag) Type() string   { return "faults" }
func (f *faultFlag) Set(v string) error {
	s, err := fault.Parse(v)
	if err != nil {
		return err
	}
	*f = faultFlag(s)
	return nil
}

// serveTLS makes the self-signed certificate of --tls, valid for the
// loopback names and the --addr host, puts it in opts.Mock.TLS, writes its
// PEM to a new file of the temp directory (for --cacert) and says how to
// trust it. It returns the file's path, to remove at exit.
func serveTLS(env *Env, opts *ServeOptions, host string) (string, error) {
	hosts := slices.Clone(tlscert.DefaultHosts)
	if ip := net.ParseIP(host); host != "" && !slices.Contains(hosts, host) && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, host)
	}
	c, err := tlscert.Generate(hosts, 0)
	if err != nil {
		return "", fmt.Errorf("--tls: %w", err)
	}
	f, err := os.CreateTemp("", "rtbench-serve-*.pem")
	if err != nil {
		return "", fmt.Errorf("--tls: writing the certificate: %w", err)
	}
	_, err = f.Write(c.CertPEM)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("--tls: writing the certificate: %w", err)
	}
	opts.Mock.TLS = &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
	fmt.Fprintf(env.ErrOut, "rtbench serve: TLS with a self-signed certificate for %s, valid until %s\n",
		strings.Join(hosts, ", "), c.NotAfter.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(env.ErrOut, "rtbench serve: its SHA-256 fingerprint is %s\n", c.Fingerprint)
	fmt.Fprintf(env.ErrOut, "rtbench serve: trust it with --cacert %s (rtbench, curl), or skip verification with --insecure (curl -k)\n", f.Name())
	return f.Name(), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultMaxConns leaves headroom below the open-files limit, so the server
// answers 503 instead of failing accept with EMFILE. Where the OS has no such
// limit (Windows: sockets are bounded by memory and ports, not a per-process
// count) or it is effectively unlimited, there is no cap (0).
func defaultMaxConns() int {
	soft, _, err := bench.OpenFileLimit()
	return maxConnsFor(soft, err)
}

func maxConnsFor(soft uint64, err error) int {
	if err != nil || soft > 1<<20 {
		return 0
	}
	return max(int(soft)-512, 64)
}

func serveRun(ctx context.Context, env *Env, opts *ServeOptions) error {
	if opts.procChild > 0 {
		return serveChild(ctx, env, opts)
	}
	host, _, _ := net.SplitHostPort(opts.Addr)
	if !isLoopback(host) {
		fmt.Fprintf(env.ErrOut, "warning: listening on %s: every host that can reach this machine can use the mock endpoints\n", opts.Addr)
		fmt.Fprint(env.ErrOut, ablyWarning(opts.Mock))
	}
	if opts.Procs > 1 {
		return serveProcs(ctx, env, opts)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return UsageError("--addr %s is already in use; stop the other server or pick another port (--addr 127.0.0.1:0 picks a free one)", opts.Addr)
		}
		return UsageError("cannot listen on %s: %v", opts.Addr, err)
	}
	scheme := "http"
	if opts.TLS {
		pemFile, err := serveTLS(env, opts, host)
		if err != nil {
			ln.Close()
			return err
		}
		defer os.Remove(pemFile)
		scheme = "https"
	}
	srv := mock.New(opts.Mock)
	fmt.Fprintf(env.ErrOut, "rtbench serve: listening on %s://%s (GET / lists every endpoint; Ctrl-C stops)\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	fmt.Fprintln(env.ErrOut, "rtbench serve: shutting down")
	snap := srv.Stats().Snapshot()
	// Clients that are stuck (trickling a body, not reading a stream) are
	// cut at --shutdown-timeout: that is still a clean stop (exit 0).
	cut, _ := srv.Shutdown(context.Background())
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	var open int64
	for _, n := range snap.Open {
		open += n
	}
	if cut > 0 {
		fmt.Fprintf(env.ErrOut, "rtbench serve: cut %d stuck connections at --shutdown-timeout %v\n", cut, opts.Mock.ShutdownTimeout)
	}
	fmt.Fprintf(env.ErrOut, "rtbench serve: stopped; %d open connections were closed\n", open)
	return nil
}
