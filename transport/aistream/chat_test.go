package aistream

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestChatGolden(t *testing.T) {
	tok := Tokens{TTFT: 50 * time.Millisecond, TPS: 100, Length: 6}
	h := func(s *Server) http.HandlerFunc { return s.Chat }
	runGolden(t, h, []goldenCase{
		{name: "chat_stream", target: "/api/chat", tok: tok, n: 6,
			body: `{"messages":[{"role":"user","content":"Say something"}]}`},
		{name: "chat_stream_overrides", target: "/api/chat?chunk=4&tokens=9", tok: tok, n: 9, seed: 3,
			headers: []string{"X-RTBench-Seed: 3", "X-RTBench-Chunk: 3"},
			body:    `{"messages":[{"role":"user","content":"Say something"}]}`},
	})
}

func TestChatErrors(t *testing.T) {
	h := func(s *Server) http.HandlerFunc { return s.Chat }
	runErrors(t, h, []errorCase{
		{name: "bad json", body: `messages`, status: 400,
			wantBody: `{"error":"the request body is not valid JSON (invalid character 'm' looking for beginning of value); send {\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"}`},
		{name: "messages not an array", body: `{"messages":"Hi"}`, status: 400,
			wantBody: `{"error":"messages must be an array, not string; send {\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"}`},
		{name: "bad override", target: "?tokens=lots", body: `{"messages":[]}`, status: 400,
			wantBody: `{"error":"invalid query parameter tokens: \"lots\"; send output tokens, an integer from 1 to 100000"}`},
		{name: "body too large", body: `{"messages":[{"role":"user","content":"` + strings.Repeat("x", MaxBody) + `"}]}`, status: 413,
			wantBody: `{"error":"the request body is over the limit of 1048576 bytes; send a smaller body"}`},
	})
}
