package aistream

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// TestMockFormats runs the client against each new mock route, with and
// without reasoning tokens, streamed and not: the route's format is
// detected, the text is the mock's, reasoning and answer chunks are counted
// apart, the tokens come from the route's usage (answer + reasoning), and
// the reasoning came before the answer.
func TestMockFormats(t *testing.T) {
	base := mockServer(t)
	tests := []struct {
		name, path, body string
		format           string
		source           string // "" when the stream has no usage
		reasoningTokens  bool   // the usage names the reasoning tokens
		noReasoning      bool   // the route has no reasoning shape
		notStreamed      bool
	}{
		{name: "openai responses", path: "/v1/responses", body: `{"input":"Say something now","stream":true}`,
			format: FormatResponses, source: "usage.output_tokens", reasoningTokens: true},
		{name: "openai responses not streamed", path: "/v1/responses", body: `{"input":[{"role":"user","content":"Say something now"}]}`,
			format: FormatResponses, source: "usage.output_tokens", reasoningTokens: true, notStreamed: true},
		{name: "ai sdk ui message stream", path: "/api/ai-sdk/ui", body: `{"messages":[{"role":"user","parts":[{"type":"text","text":"Say something now"}]}]}`,
			format: FormatUI},
		{name: "ai sdk data stream", path: "/api/ai-sdk/data", body: `{"messages":[{"role":"user","content":"Say something now"}]}`,
			format: FormatDataStream, source: "d: usage.completionTokens"},
		{name: "gemini", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: `{"contents":[{"role":"user","parts":[{"text":"Say something now"}]}]}`,
			format: FormatGemini, source: "usageMetadata.candidatesTokenCount", reasoningTokens: true},
		{name: "gemini not streamed", path: "/v1beta/models/gemini-2.5-flash:generateContent", body: `{"contents":[{"role":"user","parts":[{"text":"Say something now"}]}]}`,
			format: FormatGemini, source: "usageMetadata.candidatesTokenCount", reasoningTokens: true, notStreamed: true},
		{name: "ollama chat", path: "/ollama/api/chat", body: `{"model":"llama3.2","messages":[{"role":"user","content":"Say something now"}]}`,
			format: FormatOllama, source: "eval_count"},
		{name: "ollama generate", path: "/ollama/api/generate", body: `{"model":"llama3.2","prompt":"Say something now"}`,
			format: FormatOllama, source: "eval_count"},
		{name: "ollama chat not streamed", path: "/ollama/api/chat", body: `{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"Say something now"}]}`,
			format: FormatOllama, source: "eval_count", notStreamed: true},
		{name: "openai chat reasoning_content", path: "/v1/chat/completions", body: `{` + prompt3 + `,"stream":true}`, format: FormatOpenAI},
		{name: "anthropic thinking", path: "/v1/messages", body: `{` + prompt3 + `,"stream":true}`, format: FormatAnthropic, source: "usage.output_tokens"},
		{name: "next.js chat has no reasoning", path: "/api/chat", body: `{` + prompt3 + `}`, format: FormatText, noReasoning: true},
	}
	const n, chunk = 7, 2
	for _, tc := range tests {
		for _, r := range []int{0, 5} {
			t.Run(fmt.Sprintf("%s/reasoning=%d", tc.name, r), func(t *testing.T) {
				sep := "?"
				if strings.Contains(tc.path, "?") {
					sep = "&"
				}
				url := fmt.Sprintf("%s%s%sttft=1ms&tps=20000&tokens=%d&chunk=%d&reasoning=%d", base, tc.path, sep, n, chunk, r)
				log, err := runClient(t, &Client{Request: transport.Request{URL: url, Body: []byte(tc.body)}, HTTP: testHTTP(t)})
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				x := log.exchange(t)
				if want := (Tokens{}).Text(n); string(x.Text) != want || x.Format != tc.format || !x.Complete || x.BadChunks != 0 {
					t.Errorf("text %q format %q complete %v bad %d; want %q %q true 0", x.Text, x.Format, x.Complete, x.BadChunks, want, tc.format)
				}
				r := r
				if tc.noReasoning {
					r = 0
				}
				chunks, reasoningChunks := (Tokens{PerChunk: chunk}).Chunks(n), (Tokens{PerChunk: chunk}).Chunks(r)
				if tc.notStreamed {
					chunks, reasoningChunks = 1, min(reasoningChunks, 1)
				}
				if x.Chunks != chunks || x.ReasoningChunks != reasoningChunks {
					t.Errorf("chunks %d, reasoning chunks %d; want %d, %d", x.Chunks, x.ReasoningChunks, chunks, reasoningChunks)
				}
				wantTokens, wantSource := chunks, tc.source
				if tc.source != "" {
					wantTokens = n + r
				}
				if tc.source == "usageMetadata.candidatesTokenCount" && r > 0 {
					wantSource += "+thoughtsTokenCount"
				}
				if x.Tokens != wantTokens || x.TokensSource != wantSource {
					t.Errorf("tokens %d from %q, want %d from %q", x.Tokens, x.TokensSource, wantTokens, wantSource)
				}
				if wantRT := 0; tc.reasoningTokens {
					if wantRT = r; x.ReasoningTokens != wantRT {
						t.Errorf("reasoning tokens %d, want %d", x.ReasoningTokens, wantRT)
					}
				}
				if r > 0 && !tc.notStreamed && !x.ReasoningLast.Before(x.First) {
					t.Errorf("last reasoning delta %v not before the first answer delta %v", x.ReasoningLast, x.First)
				}
			})
		}
	}
}
