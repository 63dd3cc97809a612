package aistream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// Defaults for Client. The read caps of a stream are sse.ParserOptions'
// (DefaultMaxLine, DefaultMaxEvent, DefaultReadSize).
const (
	// DefaultDrainTimeout bounds the wait, after the terminator, for the
	// server to end the response, so that the connection can be reused.
	DefaultDrainTimeout = 250 * time.Millisecond
	// DefaultMaxText bounds Exchange.Text: the first bytes of the answer.
	DefaultMaxText = 1 << 20
	// DefaultMaxBody bounds a non-streamed JSON answer.
	DefaultMaxBody = 4 << 20
	// ErrorBody is how much of a rejected response's body is read to find
	// the API's own error message; ErrorExcerpt how much of it is quoted
	// when the body holds none; ErrorBodyWait bounds that read.
	ErrorBody     = 64 << 10
	ErrorExcerpt  = 200
	ErrorBodyWait = time.Second
	// DetectEvents is how many events in a row that match none of the three
	// shapes make the client give up on recognising one: the stream is then
	// reported as plain SSE messages.
	DetectEvents = 3
)

// Client is one AI request: it sends Request, reads the token stream it
// answers, and reports each content delta as an Event (KindToken) and the
// whole request as one Exchange. It implements transport.Session; it never
// reconnects. The zero value of every field but Request.URL means the
// documented default. Run does not modify the Client, so one Client may run
// several requests at once; First is used by the first Run only.
//
// The stream's shape is recognised from its events (see chunk.go for the
// exact rules): OpenAI chat.completion.chunk objects ended by data: [DONE],
// Anthropic named events ended by message_stop, or {"text":…} events ended by
// data: [DONE] (Format "text"). A stream whose first DetectEvents events
// match none of them is reported as plain SSE messages (KindMessage), with an
// empty Exchange.Format, so a caller can show it as a plain stream.
//
// Deltas with empty text (OpenAI's role-only first chunk, an empty first
// delta) are not tokens and do not set Exchange.First: TTFT counts from the
// first delta that carries text. Exchange.Tokens is the output token count
// from the stream's usage (OpenAI usage.completion_tokens, sent with
// stream_options.include_usage; Anthropic message_delta usage.output_tokens)
// when it has one, else the number of content chunks, with TokensFromUsage
// false.
//
// A JSON answer (application/json) to a 200 is read as a non-streamed
// completion (chat.completion or message): one token event with the whole
// text, and an Exchange whose First equals End. When the request asked for
// "stream": true, a not_streaming warning comes first; so it does for an
// event stream sent with a Content-Length (buffered on the way).
//
// Errors: a status other than 200 is http_4xx, http_5xx or http_status with
// the API's own message (*APIError); another content type, or JSON that is
// not a completion, is bad_content_type; both end the request before
// Connected. Once connected: a chunk that is not valid JSON is a non-fatal
// bad_json_chunk (counted in Exchange.BadChunks; the stream goes on); an
// error event in the stream, or the end of the stream before its
// terminator, is stream_incomplete; no byte for IdleTimeout is
// idle_timeout; an event over the parser's caps is event_too_large; network
// errors are classified (transport.Classify). Invalid UTF-8 is replaced and
// reported as a non-fatal invalid_utf8.
//
// The Observer sees Connected, the events (with non-fatal errors among them),
// then always the Exchange, then the fatal error if any, then Closed (Clean
// when the terminator arrived, or a plain stream ended at an event boundary).
// A failure before Connected is reported as one fatal Error alone. When ctx
// ends, Run reports the Exchange so far (Complete false) and Closed, and
// returns nil.
type Client struct {
	// Request is the request to send: URL, Method (default POST with a
	// Body), Header (Authorization, anthropic-version …), Body (JSON).
	Request transport.Request
	// HTTP sends the request. Nil: one client shared by every Client, built
	// once with transport.NewHTTPClient(transport.HTTPOptions{}).
	HTTP *http.Client
	// Parser caps the stream's lines and events (1 MiB each by default) and
	// sizes its read buffer. Its Now and OnLine are used as given.
	Parser sse.ParserOptions
	// First, when set, is the response to read instead of sending Request:
	// mode detection already sent it. Only the first Run uses it.
	First *transport.Opened
	// IdleTimeout ends an event stream (idle_timeout) when no byte arrives
	// for this long once its headers are in. 0 means none: the transport's
	// TTFB timeout still bounds the wait for the headers.
	IdleTimeout time.Duration
	// DrainTimeout bounds the wait for the end of the response after its
	// terminator; default DefaultDrainTimeout (250ms); negative: the
	// connection is closed at once.
	DrainTimeout time.Duration
	// MaxText bounds Exchange.Text, the answer's text; default
	// DefaultMaxText (1 MiB); negative keeps none (a load engine needs only
	// the timings).
	MaxText int
	// MaxBody bounds a non-streamed answer; default DefaultMaxBody (4 MiB).
	MaxBody int
	// Format, when set, is the stream's format (one of the Format
	// constants): its chunks are read as that format whatever the response
	// says, and no detection happens. Empty: detect it.
	Format string

	firstUsed atomic.Bool
}

// APIError is what a server said when it refused a request, or in an error
// event inside its stream.
type APIError struct {
	Status  int    // the HTTP status (200 for an error event in a stream)
	Type    string // the API's error type, e.g. "rate_limit_error"; may be empty
	Message string // the API's own message, or an excerpt of the body
}

func (e *APIError) Error() string {
	s := e.Message
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	return s
}

var defaultHTTP = sync.OnceValue(func() *http.Client {
	return transport.NewHTTPClient(transport.HTTPOptions{})
})

// run is the state of one Run.
type run struct {
	c   *Client
	obs transport.Observer

	conn  transport.Connect
	x     transport.Exchange
	ev    transport.Event
	close transport.Close

	dec     decoder
	text    []byte
	maxText int
	shape   *shape  // the stream's format; nil while undecided
	framing framing // how the stream is cut into chunks
	plain   bool    // no format recognised: the events are plain messages
	unknown int     // events in a row that matched no shape, while undecided
	// pendingBad counts JSON objects that failed to decode while the shape
	// was undecided (a truncated first chunk), with the first one's
	// warning: counted as bad chunks once the stream turns out to be an AI
	// stream, forgotten if it turns out plain.
	pendingBad  int
	pendingWarn error
	invalid     int  // the parser's InvalidUTF8 count already reported
	asked       bool // the request body asked for "stream": true
	failed      bool // an error event arrived: the stream ends with it
	canceled    bool // ctx ended the request

	body     countingReader
	timer    *time.Timer // idle timeout, then the drain
	idle     time.Duration
	draining atomic.Bool
	idleHit  atomic.Bool
}

// countingReader counts the body's bytes, notes when the first one came,
// and restarts the idle timer on every read that returns bytes.
type countingReader struct {
	r     *run
	rc    io.ReadCloser
	n     int64
	first time.Time
}

func (b *countingReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		if b.n == 0 {
			b.first = time.Now()
		}
		b.n += int64(n)
		if r := b.r; r.idle > 0 && r.timer != nil && !r.draining.Load() {
			r.timer.Reset(r.idle)
		}
	}
	return n, err
}

// Run sends the request and reads the answer to its end. It returns nil when
// the answer arrived whole or ctx ended, and the fatal *transport.Error
// otherwise (also reported to obs).
func (c *Client) Run(ctx context.Context, obs transport.Observer) error {
	r := &run{c: c, obs: obs, idle: c.IdleTimeout, maxText: c.MaxText}
	if r.maxText == 0 {
		r.maxText = DefaultMaxText
	}
	r.asked = r.dec.streamRequested(c.Request.Body)
	if c.Format != "" {
		if r.shape = shapeNamed(c.Format); r.shape == nil {
			return r.fatal(&transport.Error{Class: transport.ClassOther, Err: fmt.Errorf("unknown AI stream format %q: want %s", c.Format, transport.AIFormatNames())})
		}
	}
	resp, err := r.open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			r.cutOff()
			return nil
		}
		return r.fatal(err)
	}
	defer resp.Body.Close()
	// Closing the body is what unblocks a read: on cancel (a First response
	// does not carry ctx), on idle timeout and at the end of a drain.
	stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
	defer stop()
	r.body = countingReader{r: r, rc: resp.Body}
	r.x = transport.Exchange{Start: r.conn.Start, Headers: r.conn.Headers, Status: resp.StatusCode}

	if resp.StatusCode != http.StatusOK {
		e := rejectStatus(resp, &r.dec)
		if ctx.Err() != nil {
			r.cutOff()
			return nil
		}
		return r.fatal(e)
	}
	ct := resp.Header.Get("Content-Type")
	mt := mediaType(ct)
	sh, fr, isStream := streamShape(resp.Header)
	if r.shape != nil {
		fr = r.shape.framing
	} else {
		r.shape = sh
	}
	r.framing = fr
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return r.completion(ctx, resp)
	case isStream || c.Format != "" && mt != "text/html":
		r.obs.Connected(&r.conn)
		if resp.ContentLength >= 0 {
			r.warn(transport.ClassNotStreaming, fmt.Errorf("%s sent its stream with a fixed length (Content-Length: %d): a server or proxy buffered it, so its timings are not the generation's", urlOf(resp), resp.ContentLength))
		}
		return r.stream(ctx)
	}
	what := "no Content-Type"
	if ct != "" {
		what = "Content-Type " + strconv.Quote(ct)
	}
	quoted := excerpt(resp, nil)
	if ctx.Err() != nil {
		r.cutOff()
		return nil
	}
	return r.fatal(&transport.Error{Class: transport.ClassBadContentType,
		Err: fmt.Errorf("%s answered with %s, not text/event-stream%s", urlOf(resp), what, quoted)})
}

// open sends the request, or takes First.
func (r *run) open(ctx context.Context) (*http.Response, error) {
	c := r.c
	if c.First != nil && c.firstUsed.CompareAndSwap(false, true) {
		r.conn = c.First.Connect
		return c.First.Resp, nil
	}
	req, err := c.Request.HTTPRequest(ctx)
	if err != nil {
		return nil, &transport.Error{Class: transport.ClassOther, Err: fmt.Errorf("building the request: %w", err)}
	}
	client := c.HTTP
	if client == nil {
		client = defaultHTTP()
	}
	resp, err := transport.Do(client, req, &r.conn)
	if err != nil {
		return nil, &transport.Error{Class: transport.Classify(err), Err: err}
	}
	return resp, nil
}

// cutOff reports a request that ctx ended before its answer was read: the
// run's end cut it off. A request never sent is not reported.
func (r *run) cutOff() {
	if r.conn.Start.IsZero() {
		return
	}
	r.obs.Exchange(&transport.Exchange{Start: r.conn.Start, Headers: r.conn.Headers, End: time.Now(), CutOff: true})
}

// fatal reports err as the error that ends the request and returns it.
func (r *run) fatal(err error) error {
	e := transport.AsError(err)
	e.Fatal, e.At = true, time.Now()
	r.obs.Error(e)
	return e
}

func (r *run) warn(class transport.Class, err error) {
	r.obs.Error(&transport.Error{Class: class, Err: err, At: time.Now()})
}

// finish reports the Exchange, then err (fatal) if not nil, then Closed.
func (r *run) finish(end time.Time, err *transport.Error) error {
	x := &r.x
	x.End = end
	x.Bytes = r.body.n
	x.Format = ""
	if r.shape != nil && !r.plain {
		x.Format = r.shape.name
	}
	if !x.TokensFromUsage {
		x.Tokens, x.TokensSource = x.Chunks, ""
	}
	x.Text = r.text
	x.CutOff = r.canceled
	r.obs.Exchange(x)
	r.close = transport.Close{At: time.Now()}
	switch {
	case err != nil:
		err.Fatal, err.At = true, time.Now()
		r.obs.Error(err)
		r.close.Reason = string(err.Class)
	case r.canceled:
		r.close.Reason = string(transport.ClassCanceled)
	default:
		r.close.Clean = true
	}
	r.obs.Closed(&r.close)
	if err != nil {
		return err
	}
	return nil
}

// frames is a stream cut into events: an sse.Parser, or a lineReader for
// the line-framed formats.
type frames interface {
	Next() (sse.Event, error)
	InvalidUTF8() int
	Truncated() bool
}

// stream reads a stream to its end.
func (r *run) stream(ctx context.Context) error {
	if r.idle > 0 {
		r.timer = time.AfterFunc(r.idle, r.timeout)
		defer r.timer.Stop()
	}
	var p frames
	if r.framing == frameSSE {
		p = sse.NewParser(&r.body, r.c.Parser)
	} else {
		p = newLineReader(&r.body, r.c.Parser, r.framing == frameCodes)
	}
	for {
		ev, err := p.Next()
		if err != nil {
			return r.ended(ctx, p, err)
		}
		r.x.Frames++
		if n := p.InvalidUTF8(); n != r.invalid {
			r.warn(transport.ClassInvalidUTF8, fmt.Errorf("an event had %d ill-formed UTF-8 sequence(s), replaced with U+FFFD", n-r.invalid))
			r.invalid = n
		}
		if r.handle(&ev) {
			r.x.Complete = true
			err := r.finish(ev.Dispatched, nil)
			r.drain(p)
			return err
		}
		if r.failed {
			e := &transport.Error{Class: transport.ClassStreamError, Err: r.streamError()}
			return r.finish(ev.Dispatched, e)
		}
	}
}

// timeout runs on the timer's goroutine: the stream was idle too long, or
// the drain is over.
func (r *run) timeout() {
	if !r.draining.Load() {
		r.idleHit.Store(true)
	}
	r.body.rc.Close()
}

// drain reads what follows the terminator, for at most DrainTimeout, so that
// a response that ends there leaves its connection reusable.
func (r *run) drain(p frames) {
	d := r.c.DrainTimeout
	if d == 0 {
		d = DefaultDrainTimeout
	}
	if d < 0 {
		return
	}
	r.draining.Store(true)
	if r.timer == nil {
		r.timer = time.AfterFunc(d, r.timeout)
		defer r.timer.Stop()
	} else {
		r.timer.Reset(d)
	}
	for {
		if _, err := p.Next(); err != nil {
			return
		}
	}
}

// ended classifies the end of a stream that came before its terminator.
func (r *run) ended(ctx context.Context, p frames, err error) error {
	now := time.Now()
	if ctx.Err() != nil {
		r.canceled = true
		return r.finish(now, nil)
	}
	var limit *sse.LimitError
	e := &transport.Error{Err: err}
	ai := r.shape != nil && !r.plain
	switch {
	case r.idleHit.Load():
		e.Class, e.Err = transport.ClassIdleTimeout, fmt.Errorf("nothing read for %v (idle timeout) after %d content chunks", r.idle, r.x.Chunks)
	case errors.As(err, &limit):
		e.Class = transport.ClassEventTooLarge
	case errors.Is(err, io.EOF) && ai:
		e.Class, e.Err = transport.ClassStreamIncomplete, r.incomplete(p)
	case errors.Is(err, io.EOF) && p.Truncated():
		e.Class, e.Err = transport.ClassTruncatedEvent, errors.New("the stream ended in the middle of an event; the partial event was discarded")
	case errors.Is(err, io.EOF):
		return r.finish(now, nil) // a plain stream ended at an event boundary
	default:
		e.Class = transport.Classify(err)
		if ai {
			e.Err = fmt.Errorf("after %d content chunks: %w", r.x.Chunks, err)
		}
	}
	return r.finish(now, e)
}

func (r *run) incomplete(p frames) error {
	term := "its terminator"
	if f := transport.LookupAIFormat(r.shape.name); f != nil {
		term = f.Terminator
	}
	how := "ended"
	if p.Truncated() {
		how = "ended in the middle of an event"
	}
	return fmt.Errorf("the stream %s after %d content chunks without %s", how, r.x.Chunks, term)
}

func (r *run) streamError() error {
	ch := &r.dec.c
	return fmt.Errorf("the server sent an error event after %d content chunks: %w", r.x.Chunks,
		&APIError{Status: http.StatusOK, Message: string(ch.errMsg), Type: string(ch.errType)})
}

var done = []byte("[DONE]")

// handle processes one event and reports whether it was the terminator.
func (r *run) handle(ev *sse.Event) bool {
	if r.plain {
		r.message(ev)
		return false
	}
	data := ev.Data
	if bytes.Equal(bytes.TrimSpace(data), done) {
		if r.shape != nil && r.shape.done {
			return true
		}
		if r.shape == nil {
			r.undecided(ev)
		}
		return false
	}
	ch, err := r.decode(ev)
	if err != nil {
		if r.shape == nil {
			if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || r.framing == frameCodes) {
				if r.pendingBad++; r.pendingWarn == nil {
					r.pendingWarn = fmt.Errorf("event %d: %v; skipped: %s", r.x.Chunks+r.unknown+1, err, quote(data))
				}
			}
			r.undecided(ev)
			return false
		}
		r.x.BadChunks++
		r.warn(transport.ClassBadChunk, fmt.Errorf("event %d: %v; skipped: %s", r.x.Chunks+r.x.BadChunks, err, quote(data)))
		return false
	}
	if ch == nil {
		r.undecided(ev)
		return false
	}
	x := &r.x
	if ch.hasPrompt {
		x.PromptTokens = ch.prompt
	}
	if ch.hasOutput {
		x.Tokens, x.TokensFromUsage, x.TokensSource = ch.output, true, ch.source
	}
	if ch.hasReasoning {
		x.ReasoningTokens = ch.reasoningTokens
	}
	if ch.hasServer {
		x.Server = ch.server
	}
	if ch.kind == chunkError {
		r.failed = true
		return false
	}
	if len(ch.reasoning) > 0 {
		if x.ReasoningFirst.IsZero() {
			x.ReasoningFirst = ev.Dispatched
		}
		x.ReasoningLast = ev.Dispatched
		x.ReasoningChunks++
	}
	if len(ch.tool) > 0 {
		x.ToolChunks++
	}
	if len(ch.text) > 0 {
		typ := ev.Type
		if typ == "message" || r.framing != frameSSE {
			typ = "delta"
		}
		r.token(typ, ch.text, ev.ID, ev.Size, ev.FirstByte, ev.Dispatched, data)
	}
	// message_stop ends only an Anthropic stream.
	return ch.term && r.shape != shapeOpenAI && r.shape != shapeText
}

// decode reads one event as the stream's format, or, while that is not
// known, recognises it: the generic decoder (OpenAI Chat Completions,
// Anthropic, {"text"}) first, then the framing's other candidates. A nil
// chunk is an event no format recognised.
func (r *run) decode(ev *sse.Event) (*chunk, error) {
	if r.shape != nil {
		return r.shape.decode(&r.dec, ev.Type, ev.Data)
	}
	if r.framing == frameSSE {
		ch, err := r.dec.decode(ev.Data)
		if err != nil {
			return nil, err
		}
		switch ch.kind {
		case chunkOpenAI, chunkOpenAIFull:
			r.decided(shapeOpenAI)
			return ch, nil
		case chunkAnthropic, chunkAnthropicFull:
			r.decided(shapeAnthropic)
			return ch, nil
		case chunkText:
			r.decided(shapeText)
			return ch, nil
		}
	}
	for _, s := range candidates(r.framing) {
		ch, err := s.decode(&r.dec, ev.Type, ev.Data)
		if err != nil {
			return nil, err
		}
		if ch.kind == chunkFormat {
			r.decided(s)
			return ch, nil
		}
	}
	return nil, nil
}

// decided sets the stream's format, and counts as bad chunks the JSON that
// failed to decode before it was known.
func (r *run) decided(s *shape) {
	r.shape = s
	if r.pendingBad > 0 {
		r.x.BadChunks += r.pendingBad
		for range r.pendingBad {
			r.warn(transport.ClassBadChunk, r.pendingWarn) // one error counted per chunk
		}
		r.pendingBad, r.pendingWarn = 0, nil
	}
}

// undecided reports an event that matched no shape while the format is not
// known yet.
func (r *run) undecided(ev *sse.Event) {
	r.message(ev)
	if r.unknown++; r.unknown >= DetectEvents {
		r.plain = true
	}
}

func (r *run) message(ev *sse.Event) {
	e := &r.ev
	*e = transport.Event{Kind: transport.KindMessage, Type: ev.Type, ID: ev.ID, Data: ev.Data, Size: ev.Size,
		FirstByte: ev.FirstByte, At: ev.Dispatched}
	e.Stamp, _ = transport.ParseStamp(ev.Data)
	r.obs.Event(e)
}

func (r *run) token(typ string, text []byte, id string, size int, first, at time.Time, raw []byte) {
	x := &r.x
	if x.First.IsZero() {
		x.First = at
	}
	x.Chunks++
	if room := r.maxText - len(r.text); room > 0 {
		r.text = append(r.text, text[:min(len(text), room)]...)
	}
	e := &r.ev
	*e = transport.Event{Kind: transport.KindToken, Type: typ, ID: id, Data: text, Size: size, FirstByte: first, At: at}
	e.Stamp, _ = transport.ParseStamp(raw)
	r.obs.Event(e)
}

// completion reads a non-streamed JSON answer.
func (r *run) completion(ctx context.Context, resp *http.Response) error {
	limit := r.c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	b, err := io.ReadAll(io.LimitReader(&r.body, int64(limit)+1))
	end := time.Now()
	switch {
	case ctx.Err() != nil:
		r.cutOff()
		return nil
	case err != nil:
		return r.fatal(&transport.Error{Class: transport.Classify(err), Err: fmt.Errorf("reading the answer: %w", err)})
	case len(b) > limit:
		return r.fatal(&transport.Error{Class: transport.ClassEventTooLarge,
			Err: fmt.Errorf("the JSON answer is over the limit of %d bytes (raise MaxBody)", limit)})
	}
	ch, err := r.dec.decode(b)
	sh := shapeOpenAI
	switch {
	case err != nil:
	case ch.kind == chunkAnthropicFull:
		sh = shapeAnthropic
	case ch.kind != chunkOpenAIFull:
		// An Ollama answer with "stream": false, a Gemini generateContent.
		for _, s := range []*shape{shapeOllama, shapeGemini, shapeResponses} {
			c, _ := s.decode(&r.dec, "", b)
			if s == shapeResponses {
				c, _ = r.dec.decodeResponseObject(b)
			}
			if c.kind == chunkFormat && c.term {
				ch, sh = c, s
				break
			}
		}
		if ch.kind != chunkFormat {
			ch, _ = r.dec.decode(b)
		}
	}
	if err != nil || (ch.kind != chunkOpenAIFull && ch.kind != chunkAnthropicFull && ch.kind != chunkFormat) {
		why := "not a chat completion"
		if err != nil {
			why = "not valid JSON (" + err.Error() + ")"
		} else if ch.kind == chunkError {
			why = "an error: " + (&APIError{Message: string(ch.errMsg), Type: string(ch.errType)}).Error()
		}
		return r.fatal(&transport.Error{Class: transport.ClassBadContentType,
			Err: fmt.Errorf("%s answered 200 with JSON that is %s, not an event stream%s", urlOf(resp), why, excerpt(nil, b))})
	}
	r.obs.Connected(&r.conn)
	r.x.Frames = 1
	if r.asked {
		r.warn(transport.ClassNotStreaming, fmt.Errorf(`the request asked for "stream": true but %s answered one JSON completion: TTFT is the whole latency`, urlOf(resp)))
	}
	r.shape = sh
	x := &r.x
	if ch.hasPrompt {
		x.PromptTokens = ch.prompt
	}
	if ch.hasOutput {
		x.Tokens, x.TokensFromUsage, x.TokensSource = ch.output, true, ch.source
	}
	if ch.hasReasoning {
		x.ReasoningTokens = ch.reasoningTokens
	}
	if ch.hasServer {
		x.Server = ch.server
	}
	if len(ch.reasoning) > 0 {
		x.ReasoningFirst, x.ReasoningLast, x.ReasoningChunks = end, end, 1
	}
	if len(ch.tool) > 0 {
		x.ToolChunks = 1
	}
	if len(ch.text) > 0 {
		r.token("completion", ch.text, "", len(b), r.body.first, end, b)
	}
	x.Complete = true
	return r.finish(end, nil)
}

// rejectStatus is the error for a status other than 200, with the API's own
// message when the body has one, else an excerpt of it.
func rejectStatus(resp *http.Response, d *decoder) *transport.Error {
	code := resp.StatusCode
	stop := time.AfterFunc(ErrorBodyWait, func() { resp.Body.Close() })
	b, _ := io.ReadAll(io.LimitReader(resp.Body, ErrorBody))
	stop.Stop()
	apiErr := &APIError{Status: code}
	if msg, typ, ok := d.apiError(b); ok {
		apiErr.Message, apiErr.Type = string(msg), string(typ)
	} else {
		apiErr.Message = strings.TrimPrefix(excerpt(resp, b), ": ")
	}
	err := fmt.Errorf("%s answered %d %s", urlOf(resp), code, http.StatusText(code))
	if apiErr.Message != "" || apiErr.Type != "" {
		err = fmt.Errorf("%w: %w", err, apiErr)
	}
	return &transport.Error{Class: transport.HTTPStatusClass(code), Code: code, Err: err}
}

// excerpt returns ": " and the start of a body as one line of text (tags
// dropped from HTML), or "" when there is nothing to show. With a nil b it
// reads the body (when its type is text or JSON).
func excerpt(resp *http.Response, b []byte) string {
	html := false
	if resp != nil {
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		html = mt == "text/html"
		if b == nil {
			if !(strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json")) {
				return ""
			}
			stop := time.AfterFunc(ErrorBodyWait, func() { resp.Body.Close() })
			b, _ = io.ReadAll(io.LimitReader(resp.Body, ErrorBody))
			stop.Stop()
		}
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '<' {
		html = true
	}
	if html {
		b = stripTags(b)
	}
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if text == "" {
		return ""
	}
	if len(text) > ErrorExcerpt {
		cut := ErrorExcerpt
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return ": " + text
}

// stripTags drops HTML tags, comments and the contents of script and style
// elements, keeping roughly the text a browser would show.
func stripTags(b []byte) []byte {
	out := make([]byte, 0, len(b))
	lower := bytes.ToLower(b)
	for i := 0; i < len(b); {
		if b[i] != '<' {
			out = append(out, b[i])
			i++
			continue
		}
		skipTo := ""
		switch {
		case bytes.HasPrefix(lower[i:], []byte("<!--")):
			skipTo = "-->"
		case bytes.HasPrefix(lower[i:], []byte("<script")):
			skipTo = "</script>"
		case bytes.HasPrefix(lower[i:], []byte("<style")):
			skipTo = "</style>"
		}
		if skipTo != "" {
			j := bytes.Index(lower[i:], []byte(skipTo))
			if j < 0 {
				break
			}
			i += j + len(skipTo)
			continue
		}
		j := bytes.IndexByte(b[i:], '>')
		if j < 0 {
			break
		}
		i += j + 1
		out = append(out, ' ')
	}
	return out
}

// urlOf names the URL that answered, after redirects, without its query and
// user info: they may hold credentials (?key=…).
func urlOf(resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil {
		return "the server"
	}
	u := *resp.Request.URL
	u.User, u.RawQuery, u.ForceQuery = nil, "", false
	return u.String()
}

// quote shows the start of a chunk in an error message.
func quote(b []byte) string {
	const max = 80
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
