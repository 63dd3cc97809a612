package aistream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// callLog is a Recorder that also notes the order of the Observer calls:
// "connected", "event", "exchange", "error:<class>" ("!" when fatal),
// "closed".
type callLog struct {
	transporttest.Recorder
	mu    sync.Mutex
	calls []string
}

func (o *callLog) note(s string) {
	o.mu.Lock()
	o.calls = append(o.calls, s)
	o.mu.Unlock()
}

func (o *callLog) Connected(c *transport.Connect) { o.note("connected"); o.Recorder.Connected(c) }
func (o *callLog) Event(e *transport.Event)       { o.note("event"); o.Recorder.Event(e) }
func (o *callLog) Exchange(x *transport.Exchange) { o.note("exchange"); o.Recorder.Exchange(x) }
func (o *callLog) Closed(c *transport.Close)      { o.note("closed"); o.Recorder.Closed(c) }
func (o *callLog) Error(e *transport.Error) {
	s := "error:" + string(e.Class)
	if e.Fatal {
		s += "!"
	}
	o.note(s)
	o.Recorder.Error(e)
}

// shape is the call order with runs of events folded into one "event*".
func (o *callLog) shape() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, c := range o.calls {
		if c == "event" {
			if len(out) > 0 && out[len(out)-1] == "event*" {
				continue
			}
			c = "event*"
		}
		out = append(out, c)
	}
	return strings.Join(out, " ")
}

// exchange returns the one Exchange reported.
func (o *callLog) exchange(t *testing.T) transport.Exchange {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.Exchanges) != 1 {
		t.Fatalf("%d exchanges reported, want 1 (calls: %v)", len(o.Exchanges), o.calls)
	}
	return o.Exchanges[0]
}

// testHTTP is an HTTP client whose idle connections are closed when the test
// ends, so no goroutine outlives it.
func testHTTP(t *testing.T) *http.Client {
	c := transport.NewHTTPClient(transport.HTTPOptions{})
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// mockServer serves the three AI routes.
func mockServer(t *testing.T) string {
	mux := http.NewServeMux()
	for _, r := range New(Options{}).Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// tickClock is a Parser clock that moves 1ms per call, so that every event
// gets its own time and a test can tell which event set Exchange.First.
func tickClock() func() time.Time {
	now := time.Now()
	return func() time.Time {
		now = now.Add(time.Millisecond)
		return now
	}
}

func runClient(t *testing.T, c *Client) (*callLog, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var log callLog
	err := c.Run(ctx, &log)
	if ctx.Err() != nil {
		t.Fatal("Run did not end by itself")
	}
	return &log, err
}

const prompt3 = `"messages":[{"role":"user","content":"Say something now"}]`

// TestClientMock runs the client against the mock's three routes, streamed
// (with and without usage) and not: the text is the mock's, tokens come from
// usage when the stream has it and from the deltas otherwise, and every
// Exchange is complete.
func TestClientMock(t *testing.T) {
	base := mockServer(t)
	tests := []struct {
		name, path, body string
		n, chunk         int
		format           string
		eventType        string
		fromUsage        bool
		prompt           int
		notStreamed      bool
	}{
		{name: "openai stream", path: "/v1/chat/completions", body: `{` + prompt3 + `,"stream":true}`,
			n: 7, chunk: 1, format: FormatOpenAI, eventType: "delta"},
		{name: "openai stream with usage, 3 tokens a chunk", path: "/v1/chat/completions",
			body: `{` + prompt3 + `,"stream":true,"stream_options":{"include_usage":true}}`,
			n:    10, chunk: 3, format: FormatOpenAI, eventType: "delta", fromUsage: true, prompt: 3},
		{name: "openai not streamed", path: "/v1/chat/completions", body: `{` + prompt3 + `}`,
			n: 7, chunk: 1, format: FormatOpenAI, eventType: "completion", fromUsage: true, prompt: 3, notStreamed: true},
		{name: "anthropic stream", path: "/v1/messages", body: `{"max_tokens":64,` + prompt3 + `,"stream":true}`,
			n: 9, chunk: 2, format: FormatAnthropic, eventType: "content_block_delta", fromUsage: true, prompt: 3},
		{name: "anthropic not streamed", path: "/v1/messages", body: `{` + prompt3 + `}`,
			n: 5, chunk: 1, format: FormatAnthropic, eventType: "completion", fromUsage: true, prompt: 3, notStreamed: true},
		{name: "next.js chat", path: "/api/chat", body: `{` + prompt3 + `}`,
			n: 6, chunk: 1, format: FormatText, eventType: "delta"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := fmt.Sprintf("%s%s?ttft=1ms&tps=20000&tokens=%d&chunk=%d", base, tc.path, tc.n, tc.chunk)
			log, err := runClient(t, &Client{Request: transport.Request{URL: url, Body: []byte(tc.body)}, HTTP: testHTTP(t)})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := log.shape(); got != "connected event* exchange closed" {
				t.Errorf("calls %q", got)
			}
			x := log.exchange(t)
			want := Tokens{}.Text(tc.n)
			chunks := Tokens{PerChunk: tc.chunk}.Chunks(tc.n)
			if tc.notStreamed {
				chunks = 1
			}
			if string(x.Text) != want || x.Format != tc.format || !x.Complete || x.Status != 200 || x.Bytes == 0 {
				t.Errorf("exchange text %q format %q complete %v status %d bytes %d; want %q %q true 200 >0",
					x.Text, x.Format, x.Complete, x.Status, x.Bytes, want, tc.format)
			}
			if x.Tokens != tc.n || x.TokensFromUsage != tc.fromUsage || x.PromptTokens != tc.prompt || x.Chunks != chunks || x.BadChunks != 0 {
				t.Errorf("tokens %d (from usage %v), prompt %d, chunks %d, bad %d; want %d (%v), %d, %d, 0",
					x.Tokens, x.TokensFromUsage, x.PromptTokens, x.Chunks, x.BadChunks, tc.n, tc.fromUsage, tc.prompt, chunks)
			}
			_, events, _, closes := log.Snapshot()
			var text strings.Builder
			for _, e := range events {
				if e.Kind != transport.KindToken || e.Type != tc.eventType || len(e.Data) == 0 || e.At.Before(e.FirstByte) {
					t.Errorf("event %+v: want a %q token", e, tc.eventType)
				}
				text.Write(e.Data)
			}
			if text.String() != want || len(events) != chunks {
				t.Errorf("%d events with text %q, want %d with %q", len(events), text.String(), chunks, want)
			}
			if !x.First.Equal(events[0].At) || x.Start.After(x.Headers) || x.Headers.After(x.First) || x.First.After(x.End) {
				t.Errorf("times out of order: start %v headers %v first %v (first event %v) end %v", x.Start, x.Headers, x.First, events[0].At, x.End)
			}
			if tc.notStreamed != x.First.Equal(x.End) {
				t.Errorf("first %v, end %v: equal only when not streamed", x.First, x.End)
			}
			if c := closes[0]; !c.Clean || c.Reconnect {
				t.Errorf("close %+v, want clean without reconnect", c)
			}
		})
	}
}

// TestClientTTFT: TTFT counts from the first non-empty delta. The mock sends
// OpenAI's role-only delta at once and the first token after the TTFT asked
// for; the first line of the stream arrives before First, and First − Start
// is at least the TTFT.
func TestClientTTFT(t *testing.T) {
	const ttft = 300 * time.Millisecond
	base := mockServer(t)
	var firstLine time.Time
	c := &Client{
		Request: transport.Request{
			URL:    base + "/v1/chat/completions?tps=20000&tokens=3",
			Header: http.Header{HeaderTTFT: {ttft.String()}},
			Body:   []byte(`{` + prompt3 + `,"stream":true}`),
		},
		HTTP: testHTTP(t),
		Parser: sse.ParserOptions{OnLine: func() {
			if firstLine.IsZero() {
				firstLine = time.Now()
			}
		}},
	}
	log, err := runClient(t, c)
	if err != nil {
		t.Fatal(err)
	}
	x := log.exchange(t)
	if firstLine.IsZero() || !firstLine.Before(x.First) {
		t.Errorf("first line at %v, First at %v: the role-only delta should come first", firstLine, x.First)
	}
	if got := x.First.Sub(x.Start); got < ttft {
		t.Errorf("TTFT (First − Start) %v, want at least %v", got, ttft)
	}
}

// respond serves one canned answer: an event stream chunked, as a
// streaming server sends it, anything else with a Content-Length.
func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		if strings.HasPrefix(contentType, "text/event-stream") {
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, body)
	}
}

// buffered serves an event stream whole, with a Content-Length, as a
// buffering proxy passes it on.
func buffered(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", eventStream)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}
}

func readStream(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "streams", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	eventStream = "text/event-stream; charset=utf-8"
	jsonType    = "application/json"
	htmlType    = "text/html; charset=utf-8"
	html502     = `<html>
<head><title>502 Bad Gateway</title><style>body { width: 35em; }</style></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
`
)

// TestClientFaults runs recorded real-shaped streams and the faults of
// REFERENCE.md §5 row 40 (and the rejections around them) through small
// handlers.
func TestClientFaults(t *testing.T) {
	type want struct {
		format          string
		text            string
		chunks, tokens  int
		fromUsage       bool
		prompt          int
		complete        bool
		bad             int
		shape           string
		fatal           transport.Class
		code            int
		msg             []string // in the fatal error's message
		apiType         string   // the *APIError's Type
		messages        int      // KindMessage events (plain stream)
		statusCode      int
		notInMsg        string
		exchangeMissing bool
	}
	const ok = "connected event* exchange closed"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		body    string // request body; default stream: true
		want    want
	}{
		{"openai with usage and escapes", respond(200, eventStream, readStream(t, "openai_usage.sse")), "",
			want{format: FormatOpenAI, text: "Hello there! 👋\nCafé \"ok\"", chunks: 4, tokens: 6, fromUsage: true, prompt: 9, complete: true, shape: ok}},
		{"empty first delta, no usage", respond(200, eventStream, readStream(t, "openai_no_usage.sse")), "",
			want{format: FormatOpenAI, text: "The answer is 42.", chunks: 5, tokens: 5, complete: true, shape: ok}},
		{"bad JSON chunk in the middle", respond(200, eventStream, readStream(t, "openai_bad_chunk.sse")), "",
			want{format: FormatOpenAI, text: "One three", chunks: 2, tokens: 2, complete: true, bad: 1,
				shape: "connected event* error:bad_json_chunk event* exchange closed"}},
		{"missing [DONE]", respond(200, eventStream, readStream(t, "openai_no_done.sse")), "",
			want{format: FormatOpenAI, text: "Cut short", chunks: 2, tokens: 2,
				shape: "connected event* exchange error:stream_incomplete! closed", fatal: transport.ClassStreamIncomplete,
				msg: []string{"after 2 content chunks without data: [DONE]"}}},
		{"reasoning deltas are not text", respond(200, eventStream, readStream(t, "deepseek_reasoning.sse")), "",
			want{format: FormatOpenAI, text: "Yes.", chunks: 2, tokens: 5, fromUsage: true, prompt: 12, complete: true, shape: ok}},
		{"anthropic", respond(200, eventStream, readStream(t, "anthropic.sse")), "",
			want{format: FormatAnthropic, text: "Hello! How can I help — today?", chunks: 3, tokens: 9, fromUsage: true, prompt: 25, complete: true, shape: ok}},
		{"anthropic error event", respond(200, eventStream, readStream(t, "anthropic_error.sse")), "",
			want{format: FormatAnthropic, text: "Partial", chunks: 1, tokens: 1, prompt: 12,
				shape: "connected event* exchange error:stream_error! closed", fatal: transport.ClassStreamError,
				msg: []string{"error event after 1 content chunks", "Overloaded (overloaded_error)"}, apiType: "overloaded_error"}},
		{"anthropic without message_stop", respond(200, eventStream, strings.TrimSuffix(readStream(t, "anthropic.sse"), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")), "",
			want{format: FormatAnthropic, text: "Hello! How can I help — today?", chunks: 3, tokens: 9, fromUsage: true, prompt: 25,
				shape: "connected event* exchange error:stream_incomplete! closed", fatal: transport.ClassStreamIncomplete, msg: []string{"without message_stop"}}},
		{"buffered on the way", buffered(readStream(t, "chat_text.sse")), "",
			want{format: FormatText, text: `Streaming is "easy".`, chunks: 4, tokens: 4, complete: true, shape: "connected error:not_streaming event* exchange closed"}},
		{"next.js text", respond(200, eventStream, readStream(t, "chat_text.sse")), "",
			want{format: FormatText, text: `Streaming is "easy".`, chunks: 4, tokens: 4, complete: true, shape: ok}},
		{"next.js text with a truncated first chunk", respond(200, eventStream, "data: {\"text\":\"trunc\n\n"+readStream(t, "chat_text.sse")), "",
			want{format: FormatText, text: `Streaming is "easy".`, chunks: 4, tokens: 4, complete: true, bad: 1, messages: 1, shape: "connected event* error:bad_json_chunk event* exchange closed"}},
		{"plain SSE that is not AI", respond(200, eventStream, readStream(t, "plain.sse")), "",
			want{messages: 4, shape: ok}},
		{"plain SSE cut mid-event", respond(200, eventStream, "data: {\"seq\":1}\n\ndata: {\"se"), "",
			want{messages: 1, shape: "connected event* exchange error:truncated_event! closed", fatal: transport.ClassTruncatedEvent}},
		{"openai completion", respond(200, jsonType, readStream(t, "openai_completion.json")), `{"stream":false}`,
			want{format: FormatOpenAI, text: "Hi! How can I help?", chunks: 1, tokens: 7, fromUsage: true, prompt: 8, complete: true, shape: ok}},
		{"anthropic message when a stream was asked", respond(200, jsonType, readStream(t, "anthropic_message.json")), "",
			want{format: FormatAnthropic, text: "Hi! Checking.", chunks: 1, tokens: 11, fromUsage: true, prompt: 20, complete: true,
				shape: "connected error:not_streaming event* exchange closed"}},
		{"429 with an OpenAI error", respond(429, jsonType, `{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`), "",
			want{shape: "error:http_4xx!", fatal: transport.ClassHTTP4xx, code: 429, apiType: "requests",
				msg: []string{"answered 429 Too Many Requests: Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3. (requests)"}}},
		{"401 with an Anthropic error", respond(401, jsonType, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`), "",
			want{shape: "error:http_4xx!", fatal: transport.ClassHTTP4xx, code: 401, apiType: "authentication_error",
				msg: []string{"401 Unauthorized: invalid x-api-key (authentication_error)"}}},
		{"HTML 502 page", respond(502, htmlType, html502), "",
			want{shape: "error:http_5xx!", fatal: transport.ClassHTTP5xx, code: 502,
				msg: []string{"502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx/1.25.3"}, notInMsg: "<"}},
		{"HTML with 200", respond(200, htmlType, html502), "",
			want{shape: "error:bad_content_type!", fatal: transport.ClassBadContentType, msg: []string{`Content-Type "text/html; charset=utf-8"`, "nginx/1.25.3"}}},
		{"JSON that is not a completion", respond(200, jsonType, `{"status":"queued"}`), "",
			want{shape: "error:bad_content_type!", fatal: transport.ClassBadContentType, msg: []string{"not a chat completion", `{"status":"queued"}`}}},
		{"JSON error with 200", respond(200, jsonType, `{"error":{"message":"quota exceeded"}}`), "",
			want{shape: "error:bad_content_type!", fatal: transport.ClassBadContentType, msg: []string{"an error: quota exceeded"}}},
		{"broken JSON with 200", respond(200, jsonType, `{"choices":[`), "",
			want{shape: "error:bad_content_type!", fatal: transport.ClassBadContentType, msg: []string{"not valid JSON"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			body := tc.body
			if body == "" {
				body = `{` + prompt3 + `,"stream":true}`
			}
			c := &Client{Request: transport.Request{URL: srv.URL, Body: []byte(body)}, HTTP: testHTTP(t),
				Parser: sse.ParserOptions{Now: tickClock()}}
			log, err := runClient(t, c)
			w := tc.want
			if got := log.shape(); got != w.shape {
				t.Errorf("calls %q, want %q", got, w.shape)
			}
			if w.fatal == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				var e *transport.Error
				if !errors.As(err, &e) || e.Class != w.fatal || !e.Fatal || e.Code != w.code {
					t.Fatalf("Run: %#v, want a fatal %s with code %d", err, w.fatal, w.code)
				}
				for _, m := range w.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not say %q", err, m)
					}
				}
				if w.notInMsg != "" && strings.Contains(err.Error(), w.notInMsg) {
					t.Errorf("error %q has %q", err, w.notInMsg)
				}
				var apiErr *APIError
				if w.apiType != "" && (!errors.As(err, &apiErr) || apiErr.Type != w.apiType) {
					t.Errorf("error %v: want an *APIError of type %q", err, w.apiType)
				}
			}
			if !strings.Contains(w.shape, "exchange") {
				return
			}
			x := log.exchange(t)
			if x.Format != w.format || string(x.Text) != w.text || x.Complete != w.complete || x.BadChunks != w.bad {
				t.Errorf("format %q text %q complete %v bad %d; want %q %q %v %d", x.Format, x.Text, x.Complete, x.BadChunks, w.format, w.text, w.complete, w.bad)
			}
			if x.Chunks != w.chunks || x.Tokens != w.tokens || x.TokensFromUsage != w.fromUsage || x.PromptTokens != w.prompt {
				t.Errorf("chunks %d tokens %d (usage %v) prompt %d; want %d %d (%v) %d", x.Chunks, x.Tokens, x.TokensFromUsage, x.PromptTokens, w.chunks, w.tokens, w.fromUsage, w.prompt)
			}
			_, events, _, _ := log.Snapshot()
			messages := 0
			var firstToken *transport.Event
			for i, e := range events {
				switch e.Kind {
				case transport.KindMessage:
					messages++
					if e.Size == 0 {
						t.Errorf("message %d has no size", i)
					}
				case transport.KindToken:
					if firstToken == nil {
						firstToken = &events[i]
					}
				}
			}
			if messages != w.messages {
				t.Errorf("%d plain messages, want %d", messages, w.messages)
			}
			if firstToken != nil && !x.First.Equal(firstToken.At) {
				t.Errorf("First %v is not the first token's time %v", x.First, firstToken.At)
			}
			if firstToken == nil && !x.First.IsZero() {
				t.Errorf("First %v set without a token", x.First)
			}
		})
	}
}

// TestClientPlainStamps: the events of a stream that is not AI keep their
// SSE type, ID and stamps.
func TestClientPlainStamps(t *testing.T) {
	srv := httptest.NewServer(respond(200, eventStream, readStream(t, "plain.sse")))
	t.Cleanup(srv.Close)
	log, err := runClient(t, &Client{Request: transport.Request{URL: srv.URL}, HTTP: testHTTP(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, events, _, _ := log.Snapshot()
	for i, e := range events {
		if e.Kind != transport.KindMessage || e.Type != "tick" || e.ID != fmt.Sprint(i+1) || !e.Stamp.HasSeq || e.Stamp.Seq != uint64(i+1) || !e.Stamp.HasSent {
			t.Errorf("event %d: %+v", i, e)
		}
	}
}

// hold streams the given events, then holds the response open until the
// client goes away.
func hold(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", eventStream)
		for _, e := range events {
			io.WriteString(w, e)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

const (
	roleChunk  = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"
	tokenChunk = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}` + "\n\n"
	doneChunk  = "data: [DONE]\n\n"
)

func TestClientIdleTimeout(t *testing.T) {
	srv := httptest.NewServer(hold(roleChunk, tokenChunk))
	t.Cleanup(srv.Close)
	log, err := runClient(t, &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t), IdleTimeout: 50 * time.Millisecond})
	if e := transport.AsError(err); e.Class != transport.ClassIdleTimeout || !e.Fatal {
		t.Fatalf("Run: %v, want a fatal idle_timeout", err)
	}
	if got, want := log.shape(), "connected event* exchange error:idle_timeout! closed"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	if x := log.exchange(t); x.Complete || x.Chunks != 1 {
		t.Errorf("exchange %+v: want 1 chunk, incomplete", x)
	}
}

// TestClientCancel: cancelling ctx mid-stream ends Run with nil, after the
// Exchange so far and a Closed that says so.
func TestClientCancel(t *testing.T) {
	srv := httptest.NewServer(hold(roleChunk, tokenChunk))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var log callLog
	log.OnEvent = func(int, *transport.Event) { cancel() }
	c := &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t)}
	if err := c.Run(ctx, &log); err != nil {
		t.Fatalf("Run: %v, want nil after cancel", err)
	}
	if got, want := log.shape(), "connected event* exchange closed"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	_, _, _, closes := log.Snapshot()
	if c := closes[0]; c.Clean || c.Reason != string(transport.ClassCanceled) {
		t.Errorf("close %+v, want not clean, reason canceled", c)
	}
	if x := log.exchange(t); x.Complete || x.Chunks != 1 || x.End.IsZero() {
		t.Errorf("exchange %+v: want 1 chunk, incomplete, with an end", x)
	}
}

// TestClientDrain: a server that holds the response open after [DONE] does
// not hold the client past DrainTimeout; a server that ends it leaves the
// connection for the next request.
func TestClientDrain(t *testing.T) {
	t.Run("held open", func(t *testing.T) {
		srv := httptest.NewServer(hold(roleChunk, tokenChunk, doneChunk))
		t.Cleanup(srv.Close)
		log, err := runClient(t, &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t), DrainTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if x := log.exchange(t); !x.Complete {
			t.Error("not complete")
		}
	})
	t.Run("reused", func(t *testing.T) {
		base := mockServer(t)
		httpc := testHTTP(t)
		c := &Client{Request: transport.Request{URL: base + "/api/chat?ttft=1ms&tps=20000&tokens=3", Body: []byte(`{` + prompt3 + `}`)}, HTTP: httpc}
		for i := range 2 {
			log, err := runClient(t, c)
			if err != nil {
				t.Fatal(err)
			}
			connects, _, _, _ := log.Snapshot()
			if connects[0].Reused != (i == 1) {
				t.Errorf("request %d: Reused %v", i, connects[0].Reused)
			}
		}
	})
}

// TestClientFirst: a response that mode detection received is read instead
// of sending the request again, once.
func TestClientFirst(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		respond(200, eventStream, readStream(t, "chat_text.sse"))(w, r)
	}))
	t.Cleanup(srv.Close)
	httpc := testHTTP(t)
	reqSpec := transport.Request{URL: srv.URL, Body: []byte(`{}`)}
	req, err := reqSpec.HTTPRequest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	first := &transport.Opened{}
	if first.Resp, err = transport.Do(httpc, req, &first.Connect); err != nil {
		t.Fatal(err)
	}
	c := &Client{Request: reqSpec, HTTP: httpc, First: first}
	for i, wantRequests := range []int32{1, 2} {
		log, err := runClient(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if n := requests.Load(); n != wantRequests {
			t.Errorf("run %d: the server saw %d requests, want %d", i, n, wantRequests)
		}
		connects, _, _, _ := log.Snapshot()
		if i == 0 && !connects[0].Start.Equal(first.Connect.Start) {
			t.Error("the first run did not report First's Connect")
		}
		if x := log.exchange(t); string(x.Text) != `Streaming is "easy".` {
			t.Errorf("run %d: text %q", i, x.Text)
		}
	}
}

func TestClientRequestFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		url  string
		want transport.Class
	}{
		{"refused", url, transport.ClassRefused},
		{"bad URL", "http://[::1", transport.ClassOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, err := runClient(t, &Client{Request: transport.Request{URL: tc.url, Body: []byte(`{}`)}, HTTP: testHTTP(t)})
			if e := transport.AsError(err); e.Class != tc.want || !e.Fatal {
				t.Fatalf("Run: %v (%s), want a fatal %s", err, e.Class, tc.want)
			}
			if got, want := log.shape(), "error:"+string(tc.want)+"!"; got != want {
				t.Errorf("calls %q, want %q", got, want)
			}
		})
	}
}

func TestClientLimits(t *testing.T) {
	long := `data: {"choices":[{"delta":{"content":"` + strings.Repeat("x", 200) + `"}}]}` + "\n\n"
	tests := []struct {
		name    string
		stream  string
		parser  sse.ParserOptions
		maxText int
		text    string
		fatal   transport.Class
		chunks  int
		invalid bool
	}{
		{"event too large", roleChunk + tokenChunk + long + doneChunk, sse.ParserOptions{MaxEvent: 100}, 0, "Hi", transport.ClassEventTooLarge, 1, false},
		{"text capped", roleChunk + tokenChunk + long + doneChunk, sse.ParserOptions{}, 5, "Hixxx", "", 2, false},
		{"no text kept", roleChunk + tokenChunk + doneChunk, sse.ParserOptions{}, -1, "", "", 1, false},
		{"invalid UTF-8", roleChunk + "data: {\"text\":\"a\xffb\"}\n\n" + "data: {\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}]}\n\n" + doneChunk, sse.ParserOptions{}, 0, "a\uFFFDb\uFFFD", "", 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(respond(200, eventStream, tc.stream))
			t.Cleanup(srv.Close)
			c := &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t), Parser: tc.parser, MaxText: tc.maxText}
			log, err := runClient(t, c)
			if transport.Classify(err) != tc.fatal {
				t.Fatalf("Run: %v, want class %q", err, tc.fatal)
			}
			x := log.exchange(t)
			if string(x.Text) != tc.text || x.Chunks != tc.chunks {
				t.Errorf("text %q, %d chunks; want %q, %d", x.Text, x.Chunks, tc.text, tc.chunks)
			}
			if got := strings.Contains(log.shape(), "error:invalid_utf8 "); got != tc.invalid {
				t.Errorf("calls %q: invalid_utf8 reported %v, want %v", log.shape(), got, tc.invalid)
			}
		})
	}
}

// cannedTransport answers every request with the same event stream, without
// a network: the client's own cost.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/event-stream"}},
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

// cannedStream is an OpenAI stream of n one-token chunks, as the mock writes it.
func cannedStream(n int) []byte {
	e := &openAIEncoder{id: "chatcmpl-Oh6CAIc30XbpfrP3EzLsfFol6t8sD", model: "gpt-4o-mini", fp: "fp_70c0fca938"}
	out := append([]byte(nil), e.role()...)
	g := newGenerator(1)
	var tok []byte
	for range n {
		tok = g.next(tok[:0])
		out = append(out, e.content(tok)...)
	}
	out = append(out, e.finish("stop")...)
	return append(out, doneEvent...)
}

type nopObserver struct{}

func (nopObserver) Connected(*transport.Connect) {}
func (nopObserver) Event(*transport.Event)       {}
func (nopObserver) Exchange(*transport.Exchange) {}
func (nopObserver) Error(*transport.Error)       {}
func (nopObserver) Closed(*transport.Close)      {}

// newCannedClient reads an n-token stream from memory and keeps no text.
func newCannedClient(n int) *Client {
	return &Client{
		Request: transport.Request{URL: "http://canned.invalid/v1/chat/completions", Body: []byte(`{"stream":true}`)},
		HTTP:    &http.Client{Transport: cannedTransport{body: cannedStream(n)}},
		MaxText: -1,
	}
}

// TestClientNoAllocPerEvent: once warm, a token event costs no allocation:
// a request of 2000 tokens allocates as much as one of 100.
func TestClientNoAllocPerEvent(t *testing.T) {
	allocs := func(n int) float64 {
		c := newCannedClient(n)
		ctx := context.Background()
		return testing.AllocsPerRun(20, func() {
			if err := c.Run(ctx, nopObserver{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(100), allocs(2000)
	if perEvent := (large - small) / 1900; perEvent > 0.01 {
		t.Errorf("%v allocations for 100 tokens, %v for 2000: %.3f per event, want 0", small, large, perEvent)
	}
	t.Logf("%v allocations per request", small)
}

// BenchmarkClientStream reads a 1000-token OpenAI stream from memory: the
// client's cost per request and, as ns/event, per token event.
func BenchmarkClientStream(b *testing.B) {
	c := newCannedClient(1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Run(ctx, nopObserver{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/event")
}

// TestClientErrorHidesQuery: an error names the URL without its query, which
// may hold a key.
func TestClientErrorHidesQuery(t *testing.T) {
	srv := httptest.NewServer(respond(401, jsonType, `{"error":{"message":"bad key"}}`))
	t.Cleanup(srv.Close)
	_, err := runClient(t, &Client{Request: transport.Request{URL: srv.URL + "/v1/chat?key=s3cret", Body: []byte(`{}`)}, HTTP: testHTTP(t)})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), srv.URL+"/v1/chat answered 401") {
		t.Errorf("error %q: want the URL without its query", err)
	}
}

// TestClientCutOff: a stream the caller's context ends (the end of a load
// run) is reported as cut off, with what had arrived; a request cut before
// its headers too. Neither is an error.
func TestClientCutOff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks int
	}{
		{"mid-stream", 1},
		{"before the headers", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // so the server notices the client leave
				if tc.chunks > 0 {
					w.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(w, `data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n")
					w.(http.Flusher).Flush()
				}
				close(arrived)
				<-r.Context().Done() // never finishes by itself
			}))
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var log callLog
			done := make(chan error, 1)
			go func() {
				done <- (&Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{"stream":true}`)}, HTTP: testHTTP(t)}).Run(ctx, &log)
			}()
			<-arrived
			if tc.chunks > 0 {
				transporttest.Eventually(t, 5*time.Second, "the first chunk", func() bool { _, ev, _, _ := log.Snapshot(); return len(ev) > 0 })
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v, want nil (the caller stopped it)", err)
			}
			log.mu.Lock()
			xs := slices.Clone(log.Exchanges)
			log.mu.Unlock()
			if len(xs) != 1 {
				t.Fatalf("%d exchanges, want 1 (%s)", len(xs), log.shape())
			}
			x := xs[0]
			if !x.CutOff || x.Chunks != tc.chunks || x.Complete || x.End.IsZero() {
				t.Errorf("exchange cut off %v, %d chunks, complete %v, end %v; want cut off with %d chunks", x.CutOff, x.Chunks, x.Complete, x.End, tc.chunks)
			}
			if _, _, errs, _ := log.Snapshot(); len(errs) != 0 {
				t.Errorf("errors %v, want none", errs)
			}
		})
	}
}

// TestClientCommentsKeepAlive: SSE comments count as activity for the idle
// timeout: a stream that sends only comments for three idle timeouts, then a
// token, completes. The server writes a comment every 10 ms; an attempt in
// which the machine stalled the server for more than half the idle timeout
// between two writes proves nothing (the client was right to give up) and
// is retried, up to five times; a client that gives up while the comments
// kept coming fails the test.
func TestClientCommentsKeepAlive(t *testing.T) {
	const idle = 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var maxGap atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			io.WriteString(w, roleChunk)
			rc.Flush()
			last := time.Now()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range 60 { // 600 ms of comments, three idle timeouts
				select {
				case <-r.Context().Done():
					return
				case <-tick.C:
				}
				io.WriteString(w, ": keep-alive\n\n")
				rc.Flush()
				if gap := time.Since(last); int64(gap) > maxGap.Load() {
					maxGap.Store(int64(gap))
				}
				last = time.Now()
			}
			io.WriteString(w, tokenChunk+doneChunk)
		}))
		log, err := runClient(t, &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t), IdleTimeout: idle})
		srv.Close()
		if gap := time.Duration(maxGap.Load()); gap > idle/2 {
			if attempt == 5 {
				t.Skipf("the machine stalled the server for %v between comments in 5 attempts (idle timeout %v): inconclusive", gap, idle)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Run: %v, want the stream to complete", err)
		}
		if x := log.exchange(t); !x.Complete || x.Chunks != 1 {
			t.Errorf("exchange %+v: want 1 chunk, complete", x)
		}
		return
	}
}
