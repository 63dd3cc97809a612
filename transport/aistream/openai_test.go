package aistream

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestChatCompletionsGolden(t *testing.T) {
	tok := Tokens{TTFT: 50 * time.Millisecond, TPS: 100, Length: 8}
	h := func(s *Server) http.HandlerFunc { return s.ChatCompletions }
	runGolden(t, h, []goldenCase{
		{name: "openai_stream", target: "/v1/chat/completions", tok: tok, n: 8,
			body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say something"}],"stream":true}`},
		{name: "openai_stream_usage", target: "/v1/chat/completions", tok: tok, n: 8,
			body: `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something"}],"stream":true,"stream_options":{"include_usage":true}}`},
		{name: "openai_stream_length", target: "/v1/chat/completions?chunk=2", tok: tok, n: 5,
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"Say something"}]}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"max_completion_tokens":5,"temperature":0.2}`},
		{name: "openai", target: "/v1/chat/completions", tok: tok, n: 8,
			body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say something"}]}`},
		{name: "openai_length_seed", target: "/v1/chat/completions", tok: tok, n: 3, seed: 9,
			body: `{"messages":[{"role":"user","content":"Say something"}],"stream":false,"max_tokens":3,"seed":9}`},
	})
}

func TestChatCompletionsErrors(t *testing.T) {
	const ok = `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`
	const example = `send {\"model\":\"rtbench-mock-1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"stream\":true}`
	h := func(s *Server) http.HandlerFunc { return s.ChatCompletions }
	runErrors(t, h, []errorCase{
		{name: "bad json", body: `{"messages":[`, status: 400,
			wantBody: `{"error":{"message":"the request body is not valid JSON (unexpected end of JSON input); ` + example + `","type":"invalid_request_error","param":null,"code":null}}`},
		{name: "not an object", body: `[1]`, status: 400,
			wantBody: `{"error":{"message":"the request body must be a JSON object, not array; ` + example + `","type":"invalid_request_error","param":null,"code":null}}`},
		{name: "wrong type", body: `{"messages":[{"role":"user","content":"Hi"}],"stream":"yes"}`, status: 400,
			wantBody: `{"error":{"message":"stream must be true or false, not string; ` + example + `","type":"invalid_request_error","param":"stream","code":null}}`},
		{name: "no messages", body: `{"model":"m"}`, status: 400,
			wantBody: `{"error":{"message":"messages must be a non-empty array; ` + example + `","type":"invalid_request_error","param":"messages","code":null}}`},
		{name: "bad content", body: `{"messages":[{"role":"user","content":"Hi"},{"role":"user","content":7}]}`, status: 400,
			wantBody: `{"error":{"message":"messages[1].content must be a string or an array of parts like {\"type\":\"text\",\"text\":\"Hello\"}","type":"invalid_request_error","param":"messages[1].content","code":null}}`},
		{name: "max_tokens zero", body: `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":0}`, status: 400,
			wantBody: `{"error":{"message":"max_tokens must be an integer from 1 to 100000, not 0","type":"invalid_request_error","param":"max_tokens","code":null}}`},
		{name: "max_completion_tokens huge", body: `{"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":100001}`, status: 400,
			wantBody: `{"error":{"message":"max_completion_tokens must be an integer from 1 to 100000, not 100001","type":"invalid_request_error","param":"max_completion_tokens","code":null}}`},
		{name: "bad header override", body: ok, headers: []string{"X-RTBench-TPS: fast"}, status: 400,
			wantBody: `{"error":{"message":"invalid header X-RTBench-TPS: \"fast\"; send tokens per second, a number from 0.001 to 1e+06, such as 50","type":"invalid_request_error","param":"X-RTBench-TPS","code":null}}`},
		{name: "bad query override", target: "?chunk=-2", body: ok, status: 400,
			wantBody: `{"error":{"message":"invalid query parameter chunk: \"-2\"; send tokens per chunk, an integer from 1 to 1000","type":"invalid_request_error","param":"chunk","code":null}}`},
		{name: "generation too long", target: "?tps=0.5&tokens=5000", body: ok, status: 400,
			wantBody: `{"error":{"message":"generating 5000 tokens at 0.5 tokens/s would take 2h46m38s, over the limit of 1h0m0s: ask for fewer tokens or a higher tps","type":"invalid_request_error","param":null,"code":null}}`},
		{name: "body too large", body: `{"messages":[{"role":"user","content":"` + strings.Repeat("x", MaxBody) + `"}]}`, status: 413,
			wantBody: `{"error":{"message":"the request body is over the limit of 1048576 bytes; send a smaller body","type":"invalid_request_error","param":null,"code":null}}`},
	})
}

// FuzzChatCompletionsRequest: any body (and query) is either refused with an
// OpenAI error that is valid JSON, or resolved to a bounded answer.
func FuzzChatCompletionsRequest(f *testing.F) {
	f.Add(`{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}`, "")
	f.Add(`{"messages":[{"role":"user","content":[{"type":"text","text":"a b"}]}],"max_tokens":3,"seed":-9}`, "chunk=2")
	f.Add(`{"messages":[{"role":"user","content":null}],"max_completion_tokens":100000}`, "tps=0.1")
	f.Add(`{"messages":[{"role":1}]}`, "ttft=1e9")
	f.Add(`[]`, "tokens=")
	f.Fuzz(func(t *testing.T, body, query string) {
		s := New(Options{})
		r := newRequest(context.Background(), "/v1/chat/completions", body)
		r.URL.RawQuery = query
		var req openAIRequest
		g, rerr := s.openAIGeneration(httptest.NewRecorder(), r, &req, time.Now())
		if rerr != nil {
			if rerr.status != 400 && rerr.status != 413 || !json.Valid(appendOpenAIError(nil, rerr)) {
				t.Fatalf("bad refusal %d %s", rerr.status, appendOpenAIError(nil, rerr))
			}
			return
		}
		if g.n < 1 || g.n > MaxTokens || g.tok.Generation(g.n) > MaxGeneration || g.prompt < 0 || len(req.Model) > MaxModelLength {
			t.Fatalf("accepted an out-of-bounds answer: %+v", g)
		}
	})
}
