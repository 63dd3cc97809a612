package aistream

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMessagesGolden(t *testing.T) {
	tok := Tokens{TTFT: 50 * time.Millisecond, TPS: 100, Length: 6}
	h := func(s *Server) http.HandlerFunc { return s.Messages }
	runGolden(t, h, []goldenCase{
		{name: "anthropic_stream", target: "/v1/messages", tok: tok, n: 6,
			body: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Say something"}],"stream":true}`},
		{name: "anthropic_stream_max_tokens", target: "/v1/messages?chunk=2", tok: tok, n: 3,
			body: `{"max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"Say something"}]}],"stream":true}`},
		{name: "anthropic", target: "/v1/messages", tok: tok, n: 6,
			body: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Say something"}]}`},
	})
}

func TestMessagesErrors(t *testing.T) {
	const ok = `{"max_tokens":16,"messages":[{"role":"user","content":"Hi"}],"stream":true}`
	const example = `send {\"model\":\"rtbench-mock-1\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"stream\":true}`
	h := func(s *Server) http.HandlerFunc { return s.Messages }
	runErrors(t, h, []errorCase{
		{name: "bad json", body: `{"messages"`, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"the request body is not valid JSON (unexpected end of JSON input); ` + example + `"}}`},
		{name: "wrong type", body: `{"messages":[],"max_tokens":"many"}`, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens must be an integer, not string; ` + example + `"}}`},
		{name: "no messages", body: `{"max_tokens":16,"messages":[]}`, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"messages: must be a non-empty array; ` + example + `"}}`},
		{name: "bad system", body: `{"system":{"a":1},"messages":[{"role":"user","content":"Hi"}]}`, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"system must be a string or an array of parts like {\"type\":\"text\",\"text\":\"Hello\"}"}}`},
		{name: "max_tokens negative", body: `{"max_tokens":-1,"messages":[{"role":"user","content":"Hi"}]}`, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens must be an integer from 1 to 100000, not -1"}}`},
		{name: "bad header override", body: ok, headers: []string{"X-RTBench-TTFT: later"}, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"invalid header X-RTBench-TTFT: \"later\"; send a duration from 0s to 5m, such as 200ms (or a bare number of ms)"}}`},
		{name: "bad query override", target: "?seed=x", body: ok, status: 400,
			wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"invalid query parameter seed: \"x\"; send an unsigned 64-bit integer, e.g. 42"}}`},
		{name: "body too large", body: `{"messages":[{"role":"user","content":"` + strings.Repeat("x", MaxBody) + `"}]}`, status: 413,
			wantBody: `{"type":"error","error":{"type":"request_too_large","message":"the request body is over the limit of 1048576 bytes; send a smaller body"}}`},
	})
}
