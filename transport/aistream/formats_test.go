package aistream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// serveFormat serves a canned stream chunked (flushed before the body) with
// the given headers ("Name: value").
func serveFormat(body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			w.Header().Set(k, v)
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		io.WriteString(w, body)
	}
}

const (
	ctSSE    = "Content-Type: text/event-stream"
	ctNDJSON = "Content-Type: application/x-ndjson"
	ctPlain  = "Content-Type: text/plain; charset=utf-8"
	hdrUI    = "X-Vercel-Ai-Ui-Message-Stream: v1"
	hdrData  = "X-Vercel-Ai-Data-Stream: v1"
)

// TestClientFormats reads a recorded stream of each format the client
// detects: its text, reasoning and tool-argument chunks counted apart, the
// tokens and where they came from, the terminator, and the error events
// classified as stream_error, never read as text.
func TestClientFormats(t *testing.T) {
	type want struct {
		format          string
		text            string
		chunks          int
		tokens          int
		source          string
		prompt          int
		reasoning       int // reasoning chunks
		reasoningTokens int
		tool            int
		complete        bool
		fatal           transport.Class
		msg             string
		server          transport.ServerTiming
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		force   string
		want    want
	}{
		{"openai responses", serveFormat(readStream(t, "responses.sse"), ctSSE), "",
			want{format: FormatResponses, text: "Hi there é\n", chunks: 2, tokens: 87, source: "usage.output_tokens", prompt: 36,
				reasoning: 2, reasoningTokens: 64, tool: 1, complete: true}},
		{"openai responses failed", serveFormat(readStream(t, "responses_failed.sse"), ctSSE), "",
			want{format: FormatResponses, text: "Partial", chunks: 1, tokens: 1, fatal: transport.ClassStreamError,
				msg: "The model produced invalid content. (server_error)"}},
		{"openai responses error event", serveFormat(readStream(t, "responses.sse")[:0]+readStream(t, "responses_error.sse"), ctSSE), FormatResponses,
			want{format: FormatResponses, fatal: transport.ClassStreamError, msg: "Rate limit reached (rate_limit_exceeded)"}},
		{"openai responses without response.completed", serveFormat(strings.Split(readStream(t, "responses.sse"), "event: response.completed")[0], ctSSE), "",
			want{format: FormatResponses, text: "Hi there é\n", chunks: 2, tokens: 2, reasoning: 2, tool: 1,
				fatal: transport.ClassStreamIncomplete, msg: "without response.completed"}},
		{"ai sdk ui message stream", serveFormat(readStream(t, "aisdk_ui.sse"), ctSSE, hdrUI), "",
			want{format: FormatUI, text: "Hello, world", chunks: 2, tokens: 2, reasoning: 1, tool: 2, complete: true}},
		{"ai sdk ui message stream without its header", serveFormat(readStream(t, "aisdk_ui.sse"), ctSSE), "",
			want{format: FormatUI, text: "Hello, world", chunks: 2, tokens: 2, reasoning: 1, tool: 2, complete: true}},
		{"ai sdk ui error part", serveFormat(readStream(t, "aisdk_ui_error.sse"), ctSSE, hdrUI), "",
			want{format: FormatUI, text: "Par", chunks: 1, tokens: 1, fatal: transport.ClassStreamError, msg: "Upstream provider timed out"}},
		{"ai sdk data stream", serveFormat(readStream(t, "aisdk_data.txt"), ctPlain, hdrData), "",
			want{format: FormatDataStream, text: "Hello, world", chunks: 2, tokens: 12, source: "d: usage.completionTokens", prompt: 10,
				reasoning: 1, tool: 2, complete: true}},
		{"ai sdk data stream forced, no header", serveFormat(readStream(t, "aisdk_data.txt"), ctPlain), FormatDataStream,
			want{format: FormatDataStream, text: "Hello, world", chunks: 2, tokens: 12, source: "d: usage.completionTokens", prompt: 10,
				reasoning: 1, tool: 2, complete: true}},
		{"ai sdk data stream error line", serveFormat(readStream(t, "aisdk_data_error.txt"), ctPlain, hdrData), "",
			want{format: FormatDataStream, text: "Hel", chunks: 1, tokens: 1, fatal: transport.ClassStreamError, msg: "An error occurred."}},
		{"ai sdk data stream without d:", serveFormat(strings.Split(readStream(t, "aisdk_data.txt"), "d:")[0], ctPlain, hdrData), "",
			want{format: FormatDataStream, text: "Hello, world", chunks: 2, tokens: 2, reasoning: 1, tool: 2,
				fatal: transport.ClassStreamIncomplete, msg: "without a d: finish line"}},
		{"gemini", serveFormat(readStream(t, "gemini.sse"), ctSSE), "",
			want{format: FormatGemini, text: "Hello there.", chunks: 2, tokens: 22, source: "usageMetadata.candidatesTokenCount+thoughtsTokenCount",
				prompt: 8, reasoning: 1, reasoningTokens: 19, complete: true}},
		{"gemini error chunk", serveFormat(readStream(t, "gemini_error.sse"), ctSSE), "",
			want{format: FormatGemini, text: "Hello", chunks: 1, tokens: 1, fatal: transport.ClassStreamError,
				msg: "The model is overloaded. Please try again later. (UNAVAILABLE)"}},
		{"ollama chat", serveFormat(readStream(t, "ollama_chat.ndjson"), ctNDJSON), "",
			want{format: FormatOllama, text: "Hello world", chunks: 2, tokens: 282, source: "eval_count", prompt: 26, reasoning: 1, complete: true,
				server: transport.ServerTiming{Total: 4883583458, Load: 1334875, PromptEval: 342546000, Eval: 4535599000, PromptEvalCount: 26, EvalCount: 282}}},
		{"ollama generate", serveFormat(readStream(t, "ollama_generate.ndjson"), ctNDJSON), "",
			want{format: FormatOllama, text: "The sky", chunks: 2, tokens: 259, source: "eval_count", prompt: 26, complete: true,
				server: transport.ServerTiming{Total: 10706818083, Load: 6338219291, PromptEval: 130079000, Eval: 4232710000, PromptEvalCount: 26, EvalCount: 259}}},
		{"ollama error line", serveFormat(readStream(t, "ollama_error.ndjson"), ctNDJSON), "",
			want{format: FormatOllama, text: "Hi", chunks: 1, tokens: 1, fatal: transport.ClassStreamError, msg: "unexpected EOF"}},
		{"ollama cut short", serveFormat(strings.SplitAfter(readStream(t, "ollama_chat.ndjson"), "\n")[1], ctNDJSON), "",
			want{format: FormatOllama, text: "Hello", chunks: 1, tokens: 1, fatal: transport.ClassStreamIncomplete, msg: `without "done": true`}},
		{"anthropic thinking and tool input", serveFormat(readStream(t, "anthropic_thinking.sse"), ctSSE), "",
			want{format: FormatAnthropic, text: "Yes.", chunks: 1, tokens: 40, source: "usage.output_tokens", prompt: 12, reasoning: 2, tool: 1, complete: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c := &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{` + prompt3 + `,"stream":true}`)}, HTTP: testHTTP(t),
				Parser: sse.ParserOptions{Now: tickClock()}, Format: tc.force}
			log, err := runClient(t, c)
			w := tc.want
			if w.fatal == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if w.fatal != "" {
				var e *transport.Error
				if !errors.As(err, &e) || e.Class != w.fatal {
					t.Fatalf("Run: %v, want a fatal %s", err, w.fatal)
				}
				if !strings.Contains(err.Error(), w.msg) {
					t.Errorf("error %q does not say %q", err, w.msg)
				}
			}
			x := log.exchange(t)
			if x.Format != w.format || string(x.Text) != w.text || x.Chunks != w.chunks || x.Complete != w.complete {
				t.Errorf("format %q text %q chunks %d complete %v; want %q %q %d %v", x.Format, x.Text, x.Chunks, x.Complete, w.format, w.text, w.chunks, w.complete)
			}
			if x.Tokens != w.tokens || x.TokensSource != w.source || x.TokensFromUsage != (w.source != "") || x.PromptTokens != w.prompt {
				t.Errorf("tokens %d from %q (usage %v) prompt %d; want %d from %q, prompt %d", x.Tokens, x.TokensSource, x.TokensFromUsage, x.PromptTokens, w.tokens, w.source, w.prompt)
			}
			if x.ReasoningChunks != w.reasoning || x.ReasoningTokens != w.reasoningTokens || x.ToolChunks != w.tool {
				t.Errorf("reasoning chunks %d tokens %d, tool chunks %d; want %d %d %d", x.ReasoningChunks, x.ReasoningTokens, x.ToolChunks, w.reasoning, w.reasoningTokens, w.tool)
			}
			if (x.ReasoningChunks > 0) == x.ReasoningFirst.IsZero() || x.ReasoningLast.Before(x.ReasoningFirst) {
				t.Errorf("reasoning from %v to %v with %d chunks", x.ReasoningFirst, x.ReasoningLast, x.ReasoningChunks)
			}
			if x.ReasoningChunks > 0 && !x.First.IsZero() && !x.ReasoningFirst.Before(x.First) {
				t.Errorf("the first reasoning delta %v is not before the first answer delta %v", x.ReasoningFirst, x.First)
			}
			if x.Server != w.server {
				t.Errorf("server timings %+v, want %+v", x.Server, w.server)
			}
		})
	}
}

// TestClaims: the protocol row claims what each format's server answers.
func TestClaims(t *testing.T) {
	tests := []struct {
		body    bool
		headers []string
		want    bool
	}{
		{true, []string{ctSSE}, true},
		{false, []string{ctSSE}, false}, // a GET event stream is SSE's
		{true, []string{ctNDJSON}, true},
		{false, []string{ctPlain, hdrData}, true},
		{true, []string{ctPlain}, false},
		{false, []string{ctSSE, hdrUI}, true},
		{true, []string{"Content-Type: application/json"}, false},
	}
	for _, tc := range tests {
		h := http.Header{}
		for _, kv := range tc.headers {
			k, v, _ := strings.Cut(kv, ": ")
			h.Set(k, v)
		}
		req := &transport.Request{}
		if tc.body {
			req.Body = []byte("{}")
		}
		if got := Protocol.Claims(req, &http.Response{Header: h}); got != tc.want {
			t.Errorf("body %v, %v: claims %v, want %v", tc.body, tc.headers, got, tc.want)
		}
	}
}

// TestForcedFormatRefusesHTML: --ai-format reads a stream whatever its type
// says, but an HTML page (a proxy's error page with 200) is still
// bad_content_type, not a stream of bad chunks.
func TestForcedFormatRefusesHTML(t *testing.T) {
	srv := httptest.NewServer(serveFormat("<html><body>Gateway says hi</body></html>", "Content-Type: text/html"))
	t.Cleanup(srv.Close)
	c := &Client{Request: transport.Request{URL: srv.URL, Body: []byte(`{}`)}, HTTP: testHTTP(t), Format: FormatOllama}
	_, err := runClient(t, c)
	var e *transport.Error
	if !errors.As(err, &e) || e.Class != transport.ClassBadContentType {
		t.Fatalf("Run: %v, want bad_content_type", err)
	}
}
