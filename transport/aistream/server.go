package aistream

import (
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/sse"
)

// Route patterns for an http.ServeMux (Go 1.22+ method and path patterns).
const (
	PatternChatCompletions = "POST /v1/chat/completions" // OpenAI Chat Completions
	PatternMessages        = "POST /v1/messages"         // Anthropic Messages
	PatternChat            = "POST /api/chat"            // the Next.js tutorial route
)

// Options configures a Server. The zero value gives the defaults.
type Options struct {
	Tokens       Tokens                 // text and timing; zero fields mean the Tokens defaults
	Stats        *transport.ServerStats // counts streams and events as transport.AIStream; nil: not counted
	WriteTimeout time.Duration          // bound on one write+flush; default sse.DefaultWriteTimeout (10s)
}

// Server serves the mock LLM endpoints. Its methods are http.HandlerFuncs and
// are safe for concurrent use.
type Server struct {
	opts Options
	tok  Tokens // opts.Tokens with defaults
	seq  atomic.Uint64
}

// New returns a Server. Options.Tokens is not validated here: call
// Tokens.Validate on values that come from flags.
func New(opts Options) *Server {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = sse.DefaultWriteTimeout
	}
	return &Server{opts: opts, tok: opts.Tokens.WithDefaults()}
}

// Route pairs a ServeMux pattern with its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes returns the three endpoints, for the mock server to wrap and
// register.
func (s *Server) Routes() []Route {
	return []Route{
		{PatternChatCompletions, http.HandlerFunc(s.ChatCompletions)},
		{PatternMessages, http.HandlerFunc(s.Messages)},
		{PatternChat, http.HandlerFunc(s.Chat)},
		{PatternResponses, http.HandlerFunc(s.Responses)},
		{PatternUIMessageStream, http.HandlerFunc(s.UIMessageStream)},
		{PatternDataStream, http.HandlerFunc(s.DataStream)},
		{PatternGemini, http.HandlerFunc(s.Gemini)},
		{PatternOllamaChat, http.HandlerFunc(s.OllamaChat)},
		{PatternOllamaGenerate, http.HandlerFunc(s.OllamaGenerate)},
		{PatternOllamaTags, http.HandlerFunc(s.OllamaTags)},
	}
}

// tokens resolves one request's Tokens: the server's, then the body's seed
// (nil when the API or the request has none), then the query parameters, then
// the headers.
func (s *Server) tokens(r *http.Request, seed *int64) (Tokens, *requestError) {
	t := s.tok
	if seed != nil {
		t.Seed = uint64(*seed)
	}
	return applyOverrides(t, r)
}

// idSeed returns a fresh number to derive a response ID from: distinct per
// request of this server, and fixed under a fake clock.
func (s *Server) idSeed(start time.Time) uint64 {
	return splitmix(uint64(start.UnixNano()), s.seq.Add(1))
}

// checkMaxTokens validates an optional max_tokens value; 0 means absent.
func checkMaxTokens(name string, v *int64) (int64, *requestError) {
	if v == nil {
		return 0, nil
	}
	if *v < 1 || *v > MaxTokens {
		return 0, badRequest(name, "%s must be an integer from 1 to %d, not %d", name, MaxTokens, *v)
	}
	return *v, nil
}

// events writes one event stream and counts what it writes.
type events struct {
	st    *sse.Stream
	stats *transport.ServerStats
	f     *aiFault // injected faults; nil on the normal path
}

func (s *Server) openStream(w http.ResponseWriter) (*events, error) {
	st, err := sse.NewStream(w, s.opts.WriteTimeout)
	if err != nil {
		return nil, err
	}
	ev := &events{st: st, stats: s.opts.Stats}
	if fw := fault.Of(w); fw != nil {
		ev.f = &aiFault{spec: fw.Spec}
	}
	return ev, nil
}

// send writes and flushes one event.
func (e *events) send(p []byte) error {
	if err := e.st.Send(p); err != nil {
		return err
	}
	e.stats.Sent(transport.AIStream, len(p))
	return nil
}

// writeJSON writes a complete JSON response under a write deadline.
func (s *Server) writeJSON(w http.ResponseWriter, status int, body []byte) {
	err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, err := w.Write(body); err == nil && status == http.StatusOK {
		s.opts.Stats.Sent(transport.AIStream, len(body))
	}
}

// typedWriter sets the response's Content-Type (and extra headers) as its
// header is written, over what sse.NewStream set: the same flushed,
// deadline-bound stream for NDJSON and the AI SDK's text/plain.
type typedWriter struct {
	http.ResponseWriter
	header []string // name, value, …
}

func (t typedWriter) WriteHeader(code int) {
	for i := 0; i+1 < len(t.header); i += 2 {
		t.Header().Set(t.header[i], t.header[i+1])
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t typedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// openTyped opens a stream whose headers are set to name, value pairs.
func (s *Server) openTyped(w http.ResponseWriter, header ...string) (*events, error) {
	return s.openStream(typedWriter{w, header})
}
