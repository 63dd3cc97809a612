package mock

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/pusher"
	"github.com/rtbench/rtbench/transport/sse"
)

// Defaults for Config.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 5 * time.Second
	DefaultMaxBody           = 1 << 20
	// DefaultBodyTimeout bounds the reading of a request body: headers sent
	// in time followed by a body trickled a byte at a time (slowloris on the
	// body) are cut off here. 1 MiB in 30 s is 35 KB/s at the least.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultMaxStreams is the HTTP/2 streams one connection may have open
	// at once: a browser's, or rtbench load's, sessions multiplexed on one
	// connection fit (Go's own default is 250).
	DefaultMaxStreams = 10_000
)

// Config shapes the mock server. The zero value serves every route with the
// documented defaults.
type Config struct {
	// Epoch anchors the tick timeline of /sse, /ws and /poll; default: the
	// time New is called.
	Epoch time.Time
	// MaxConns caps the open connections: every accepted connection counts
	// (idle keep-alives, streams, WebSockets) until it closes. At the cap an
	// idle keep-alive connection is closed to make room; past it
	// ReserveConns more are accepted for /healthz and /metrics only (503
	// with Retry-After for the rest), and beyond those a connection gets
	// 503 at once. 0 means no cap.
	MaxConns int
	// Logf logs what the server does on its own (accept failures); default
	// log.Printf.
	Logf func(format string, args ...any)
	// Origins restricts CORS and WebSocket upgrades to matching origins
	// (host patterns such as "localhost:*" or "*.example.com"); empty allows
	// any origin.
	Origins []string

	Heartbeat      time.Duration // SSE comment heartbeat; default 15s
	Retry          time.Duration // SSE retry: sent first; default 3s
	WriteTimeout   time.Duration // per write on streams; default 10s
	StreamInterval time.Duration // /api/stream tick; default 1s

	Hub    pubsub.Options
	Jobs   poll.JobOptions // the jobs API schedule
	Tokens aistream.Tokens // token timing of the AI routes
	// PusherApps are the Pusher Channels apps /app/{key} and /apps/{id}/
	// accept; empty: pusher.DefaultApp.
	PusherApps []pusher.App

	// AblyKeys are the API keys the Ably protocol accepts (serve
	// --ably-key); empty: ably.DefaultKey.
	AblyKeys []ably.Key
	// AblyInstance names the hub in Ably channel serials; default random.
	// The processes of `serve --procs` share one, as they share one hub.
	AblyInstance string

	// Process, when not 0, is this server's number among the processes of
	// `serve --procs`: every response carries it in X-RTBench-Process.
	Process int

	// Fault is the server-wide fault default and the share of requests it
	// applies to (--fault, --fault-rate, --fault-seed). Per-request faults
	// (?fault=, X-RTBench-Fault) work on every route whatever it says.
	Fault fault.Options

	// TLS, when set, serves HTTPS with it (its Certificates): HTTP/2 and
	// HTTP/1.1 by ALPN. Without it the server speaks HTTP/1.1, and HTTP/2
	// to clients that start with its preface (h2c with prior knowledge;
	// Go's server does not take the Upgrade: h2c exchange).
	TLS *tls.Config
	// MaxStreams is how many HTTP/2 streams one connection may have open
	// at once (SETTINGS_MAX_CONCURRENT_STREAMS); default DefaultMaxStreams.
	MaxStreams int

	ReadHeaderTimeout time.Duration // default 5s (slowloris)
	BodyTimeout       time.Duration // reading a request body; default 30s (slowloris on the body)
	MaxHeaderBytes    int           // default 64 KiB
	IdleTimeout       time.Duration // keep-alive idle; default 2m
	ShutdownTimeout   time.Duration // for Close; default 5s
}

//go:embed index.html
var indexHTML []byte

// Server is the mock behind `rtbench serve`: every route of every pattern on
// one handler, plus the server hygiene around it.
type Server struct {
	cfg     Config
	hub     *pubsub.Hub
	stats   *transport.ServerStats
	handler http.Handler
	started time.Time

	base     context.Context
	cancel   context.CancelFunc
	inflight handlers

	mu  sync.Mutex
	srv *http.Server
	ln  *capListener

	ablyOnce sync.Once
	ablyH    *ably.Handler
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Epoch.IsZero() {
		cfg.Epoch = time.Now()
	}
	s := &Server{
		cfg:     cfg,
		hub:     pubsub.New(cfg.Hub),
		stats:   new(transport.ServerStats),
		started: time.Now(),
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = bodyDeadline{timeout: or(cfg.BodyTimeout, DefaultBodyTimeout), next: mux}
	h = fault.New(h, cfg.Fault)
	h = &limit{stats: s.stats, next: h}
	h = cors{patterns: cfg.Origins, next: h}
	if cfg.Process != 0 {
		h = processHeader(strconv.Itoa(cfg.Process), h)
	}
	s.handler = s.track(h)
	return s
}

// processHeader names the serving process on every response.
func processHeader(n string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RTBench-Process", n)
		next.ServeHTTP(w, r)
	})
}

// Hub is the channel hub behind /api/publish and every channel subscriber.
func (s *Server) Hub() *pubsub.Hub { return s.hub }

// Stats are the server's counters, as /metrics shows them.
func (s *Server) Stats() *transport.ServerStats { return s.stats }

// Handler is every route with CORS and the connection cap. Requests served
// through it end when Close is called.
func (s *Server) Handler() http.Handler { return s.handler }

// Wrap puts f around the whole handler (a test's request log, a route of
// its own in front of the mock's). Call it before Serve.
func (s *Server) Wrap(f func(http.Handler) http.Handler) { s.handler = f(s.handler) }

// BaseContext is the parent of every request context; Close cancels it. Use it
// as http.Server.BaseContext when serving Handler yourself (tests do).
func (s *Server) BaseContext(net.Listener) context.Context { return s.base }

func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.add()
		defer s.inflight.done()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes(mux *http.ServeMux) {
	c := s.cfg
	mux.Handle("GET /{$}", s.root(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_s": int64(time.Since(s.started).Seconds())})
	})
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("POST /api/publish", s.publish)
	mux.Handle("GET /api/stream", &sse.TutorialStream{Stats: s.stats, Interval: c.StreamInterval, WriteTimeout: c.WriteTimeout})
	mux.Handle("GET /sse", &sse.Handler{
		Hub: s.hub, Stats: s.stats, Epoch: c.Epoch,
		Heartbeat: c.Heartbeat, Retry: c.Retry, WriteTimeout: c.WriteTimeout,
		Replay: s.hub.RingSize(),
	})
	s.patternRoutes(mux)
	// Catch-alls per method (not "/"), so a known path with the wrong method
	// still gets the mux's 405 with an Allow header.
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path+"; GET / lists every endpoint")
	}
	mux.HandleFunc("GET /", notFound)
	mux.HandleFunc("POST /", notFound)
}

type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// publish serves POST /api/publish: {"channel","data"} → fanned out to every
// subscriber of the channel over SSE, WebSocket and polling.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, DefaultMaxBody)
	var req publishRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", DefaultMaxBody))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			writeError(w, http.StatusRequestTimeout, "the request body did not arrive in time; send it at once, not a byte at a time")
			return
		}
		writeError(w, http.StatusBadRequest, `body must be JSON like {"channel":"news","data":{"text":"hi"}}: `+err.Error())
		return
	}
	if req.Channel == "" {
		writeError(w, http.StatusBadRequest, `missing "channel": send {"channel":"news","data":...}`)
		return
	}
	if len(req.Data) == 0 {
		writeError(w, http.StatusBadRequest, `missing "data": send {"channel":"`+req.Channel+`","data":...} (any JSON value)`)
		return
	}
	m, delivered, err := s.hub.Publish(req.Channel, req.Data, 0)
	switch {
	case errors.Is(err, pubsub.ErrBadChannel):
		writeError(w, http.StatusBadRequest, "channel "+strconv.Quote(req.Channel)+": "+err.Error())
		return
	case errors.Is(err, pubsub.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case errors.Is(err, pubsub.ErrTooManyChannels):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	case errors.Is(err, pubsub.ErrRelayClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; the server is stopping")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.stats.Published()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": m.Channel, "seq": m.Seq, "delivered": delivered})
}

// metrics serves GET /metrics in the Prometheus text exposition format.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	snap := s.stats.Snapshot()
	b := make([]byte, 0, 2048)
	family := func(name, typ, help string, vals func(b []byte) []byte) {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		b = vals(b)
	}
	perPattern := func(name string, v [len(transport.Patterns)]int64) func([]byte) []byte {
		return func(b []byte) []byte {
			for _, p := range transport.Patterns {
				b = fmt.Appendf(b, "%s{pattern=%q} %d\n", name, p.String(), v[p])
			}
			return b
		}
	}
	family("rtbench_serve_open_connections", "gauge", "Open streaming connections and waiting long-polls, by pattern.",
		perPattern("rtbench_serve_open_connections", snap.Open))
	family("rtbench_serve_events_sent_total", "counter", "Events, messages and poll responses sent, by pattern.",
		perPattern("rtbench_serve_events_sent_total", snap.Events))
	family("rtbench_serve_bytes_sent_total", "counter", "Payload bytes written for those events, by pattern.",
		perPattern("rtbench_serve_bytes_sent_total", snap.Bytes))
	family("rtbench_serve_messages_published_total", "counter", "Messages published to channels.",
		func(b []byte) []byte {
			return fmt.Appendf(b, "rtbench_serve_messages_published_total %d\n", snap.Published)
		})
	family("rtbench_serve_requests_rejected_total", "counter", "Requests refused with 503 by the connection cap.",
		func(b []byte) []byte {
			return fmt.Appendf(b, "rtbench_serve_requests_rejected_total %d\n", snap.Rejected)
		})
	u := s.hub.Usage()
	family("rtbench_serve_hub_bytes", "gauge", "Bytes of channel history kept, counted against --hub-memory.",
		func(b []byte) []byte { return fmt.Appendf(b, "rtbench_serve_hub_bytes %d\n", u.Bytes) })
	family("rtbench_serve_hub_channels", "gauge", "Channels that exist (idle ones are evicted).",
		func(b []byte) []byte { return fmt.Appendf(b, "rtbench_serve_hub_channels %d\n", u.Channels) })
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		family("rtbench_serve_connections", "gauge", "Open connections, counted against --max-conns.",
			func(b []byte) []byte { return fmt.Appendf(b, "rtbench_serve_connections %d\n", ln.Open()) })
	}
	family("rtbench_serve_connections_accepted_total", "counter", "TCP connections accepted (keep-alive reuse shows as fewer connections than requests).",
		func(b []byte) []byte {
			return fmt.Appendf(b, "rtbench_serve_connections_accepted_total %d\n", snap.Accepted)
		})
	family("rtbench_serve_uptime_seconds", "gauge", "Seconds since the server started.",
		func(b []byte) []byte {
			return fmt.Appendf(b, "rtbench_serve_uptime_seconds %.3f\n", time.Since(s.started).Seconds())
		})
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b)
}

// Serve accepts connections on ln until Close. It returns
// http.ErrServerClosed after a Close.
func (s *Server) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: or(s.cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		IdleTimeout:       or(s.cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		BaseContext:       s.BaseContext,
		ConnContext:       connContext,
		// No WriteTimeout: it would cut every stream (golang/go#16100).
		// Streams set a deadline per write instead.
		Protocols: s.protocols(),
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: cmp.Or(s.cfg.MaxStreams, DefaultMaxStreams)},
		TLSConfig: s.cfg.TLS,
	}
	if srv.MaxHeaderBytes <= 0 {
		srv.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	logf := s.cfg.Logf
	if logf == nil {
		logf = log.Printf
	} else {
		// net/http's own messages (TLS handshake errors, panics) go where
		// the server's do.
		srv.ErrorLog = log.New(logfWriter(logf), "", 0)
	}
	cl := newCapListener(ln, s.cfg.MaxConns, s.stats, logf)
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.stats.Accepted()
		}
		cl.connState(c, st)
	}
	s.mu.Lock()
	s.srv, s.ln = srv, cl
	s.mu.Unlock()
	if s.cfg.TLS != nil {
		return srv.ServeTLS(cl, "", "") // the certificates are in TLSConfig
	}
	return srv.Serve(cl)
}

// protocols are the HTTP versions served: HTTP/1.1 and HTTP/2, the latter
// by ALPN over TLS and with prior knowledge (h2c) without it.
func (s *Server) protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	if s.cfg.TLS != nil {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return &p
}

func or(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// handlers counts the handlers running. Unlike a sync.WaitGroup it may be
// waited on while requests still arrive (a request that starts during a
// shutdown is legal and gets a cancelled context).
type handlers struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

func (h *handlers) add() {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
}

func (h *handlers) done() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n--; h.n == 0 {
		for _, w := range h.waiters {
			close(w)
		}
		h.waiters = nil
	}
}

// idle returns a channel closed once no handler runs.
func (h *handlers) idle() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	if h.n == 0 {
		close(ch)
	} else {
		h.waiters = append(h.waiters, ch)
	}
	return ch
}

// Close is Shutdown without the count: it returns ctx's error when
// connections had to be cut.
func (s *Server) Close(ctx context.Context) error {
	_, err := s.Shutdown(ctx)
	return err
}

// cutGrace bounds the wait for handlers once their connections are cut.
const cutGrace = 2 * time.Second

// Shutdown shuts the server down gracefully within ctx (or ShutdownTimeout
// when ctx has no deadline): every request context is cancelled, so SSE
// streams end and WebSockets close with 1001 Going Away; then it waits for
// every handler, hijacked WebSockets included, which http.Server.Shutdown
// alone does not (golang/go#17721). Connections still open at the deadline
// (a client trickling a body, a client not reading its stream) are cut:
// cut says how many, and err is the context's error.
func (s *Server) Shutdown(ctx context.Context) (cut int, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, or(s.cfg.ShutdownTimeout, DefaultShutdownTimeout))
		defer cancel()
	}
	s.cancel()
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.mu.Unlock()
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	done := s.inflight.idle()
	select {
	case <-done:
		if err == nil {
			return 0, nil
		}
	case <-ctx.Done():
	}
	// Past the deadline: cut what is left, hijacked connections included,
	// and give the handlers a moment to see their writes fail.
	if ln != nil {
		cut = ln.cutAll()
	}
	if srv != nil {
		srv.Close()
	}
	t := time.NewTimer(cutGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return cut, ctx.Err()
}

// logfWriter is a Logf as the io.Writer a log.Logger writes to.
type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}
