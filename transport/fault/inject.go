package fault

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Header is the request header that carries a fault list, like ?fault=.
const Header = "X-RTBench-Fault"

// canonicalHeader is Header in http.CanonicalHeaderKey form.
const canonicalHeader = "X-Rtbench-Fault"

// SlowReadChunk is the most bytes one slow read takes.
const SlowReadChunk = 512

// Options are the server-wide faults (`rtbench serve --fault`). The zero
// value injects none; per-request faults work either way.
type Options struct {
	// Default is applied to a share of the requests that name no fault
	// themselves; /, /healthz and /metrics are never picked.
	Default Spec
	// Rate is that share, from 0 to 1; 0 means 1 (every request).
	Rate float64
	// Seed makes the choice repeatable: the nth request that could be
	// picked is picked or not by Seed and n alone.
	Seed uint64
}

// Injector is the fault middleware: it parses each request's faults, adds the
// default to a seeded share of requests, applies the HTTP-level faults and
// hands the rest to the protocol handlers through a *Writer (see Of).
type Injector struct {
	opts   Options
	active bool
	n      atomic.Uint64
	next   http.Handler
}

// New wraps next.
func New(next http.Handler, opts Options) *Injector {
	if opts.Rate <= 0 || opts.Rate > 1 {
		opts.Rate = 1
	}
	return &Injector{opts: opts, active: !opts.Default.IsZero(), next: next}
}

// Picks reports whether the nth (0-based) eligible request gets the default.
func (in *Injector) Picks(n uint64) bool {
	if !in.active {
		return false
	}
	x := in.opts.Seed + (n+1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < in.opts.Rate
}

// FromRequest returns the faults a request names in ?fault= and
// X-RTBench-Fault, and whether it names any. A request without them costs two
// lookups and no allocation.
func FromRequest(r *http.Request) (Spec, bool, error) {
	var s Spec
	hs := r.Header[canonicalHeader]
	if len(hs) == 0 && !strings.Contains(r.URL.RawQuery, "fault=") {
		return s, false, nil
	}
	found := len(hs) > 0
	for _, v := range r.URL.Query()["fault"] {
		found = true
		if err := s.Add(v); err != nil {
			return s, true, err
		}
	}
	for _, v := range hs {
		if err := s.Add(v); err != nil {
			return s, true, err
		}
	}
	return s, found, nil
}

func exempt(path string) bool { return path == "/" || path == "/healthz" || path == "/metrics" }

func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	spec, named, err := FromRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error()+"; "+strings.SplitN(Help, "\n", 2)[0])
		return
	}
	if !named && in.active && !exempt(r.URL.Path) && in.Picks(in.n.Add(1)-1) {
		spec = in.opts.Default
	}
	if spec.IsZero() {
		in.next.ServeHTTP(w, r)
		return
	}
	in.serve(w, r, spec)
}

func (in *Injector) serve(w http.ResponseWriter, r *http.Request, spec Spec) {
	ctx := r.Context()
	if spec.Delay > 0 && Sleep(ctx, spec.Delay) != nil {
		return
	}
	if spec.Reset && spec.ResetAfter == 0 {
		ResetResponse(w)
		return
	}
	if spec.Status != 0 {
		writeStatus(w, r, spec)
		return
	}
	if spec.SlowRead > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = &slowBody{ReadCloser: r.Body, ctx: ctx, wait: spec.SlowRead}
	}
	fw := &Writer{ResponseWriter: w, Spec: spec, ctx: ctx}
	in.next.ServeHTTP(fw, r)
	for _, f := range fw.onEnd {
		f()
	}
}

func writeStatus(w http.ResponseWriter, r *http.Request, spec Spec) {
	h := w.Header()
	code := spec.Status
	ra := spec.RetryAfter
	if ra == 0 && (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) {
		ra = 1
	}
	if ra > 0 {
		h.Set("Retry-After", strconv.Itoa(ra))
	}
	if code/100 == 3 {
		u := *r.URL
		q := u.Query()
		q.Del("fault")
		u.RawQuery = q.Encode()
		h.Set("Location", u.RequestURI())
	}
	switch code {
	case http.StatusNoContent, http.StatusResetContent, http.StatusNotModified:
		w.WriteHeader(code)
		return
	}
	writeError(w, code, "fault injected: status "+strconv.Itoa(code))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Writer carries a request's faults to the protocol handler below the
// Injector; it replaces the Content-Type when the Spec says so.
type Writer struct {
	http.ResponseWriter
	Spec  Spec
	ctx   context.Context
	wrote bool
	onEnd []func()
}

// OnEnd registers f to run when the handler has returned, before the
// response ends: a writer that held bytes back releases them there.
func (w *Writer) OnEnd(f func()) { w.onEnd = append(w.onEnd, f) }

// Of returns the faults of the response being written to w, or nil: the
// handler's only cost when no fault is set.
func Of(w http.ResponseWriter) *Writer {
	for {
		switch v := w.(type) {
		case *Writer:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
}

// Context is the request's context: a fault that waits ends with it.
func (w *Writer) Context() context.Context { return w.ctx }

func (w *Writer) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if w.Spec.ContentType != "" && code/100 == 2 {
			w.Header().Set("Content-Type", w.Spec.ContentType)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// FlushError flushes, for http.ResponseController.
func (w *Writer) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *Writer) Flush() { w.FlushError() }

// Unwrap lets http.ResponseController reach the writer below.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Sleep waits d or until ctx ends (its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ResetConn closes c with SO_LINGER 0, so the peer gets a TCP RST instead of
// a FIN: no clean end of stream, no WebSocket close frame.
func ResetConn(c net.Conn) error {
	if tc, ok := c.(interface{ SetLinger(int) error }); ok { // *net.TCPConn or a wrapper
		tc.SetLinger(0)
	}
	return c.Close()
}

// ResetResponse hijacks w's connection (after flushing what was written) and
// resets it.
func ResetResponse(w http.ResponseWriter) error {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	return ResetConn(c)
}

// slowBody reads a request body SlowReadChunk bytes at a time, waiting before
// each read: a consumer that lags behind its client.
type slowBody struct {
	io.ReadCloser
	ctx  context.Context
	wait time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if err := Sleep(b.ctx, b.wait); err != nil {
		return 0, err
	}
	return b.ReadCloser.Read(p[:min(len(p), SlowReadChunk)])
}
