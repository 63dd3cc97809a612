package flow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// TestChatMember: a WebSocket chat member subscribes to a room, sends a
// message and waits for its own message to come back through the room,
// while the messages reach the session's observer as a plain load
// session's do. Sessions are told apart by ${session}.
func TestChatMember(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{})
	ws := "ws" + strings.TrimPrefix(base, "http")
	sc := parse(t, "", `
steps:
  - name: chat
    subscribe:
      url: `+ws+`/ws?channel=room
      send: ['{"text":"hi from ${session}"}']
      until: text=="hi from ${session}"
      timeout: 10s
    capture: {said: text}
  - name: again
    subscribe:
      url: `+ws+`/ws?channel=room
      send: ['{"text":"${said} again"}']
      until: text=="hi from ${session} again"
      timeout: 10s
`)
	rec := runOnce(t, context.Background(), sc)
	for _, name := range []string{"chat", "again"} {
		if o := rec.outcome(t, name); o != bench.StepOK {
			t.Errorf("%s: outcome %d, errors %v", name, o, rec.errs)
		}
	}
	if rec.events < 2 {
		t.Errorf("%d events reached the observer, want each step's message", rec.events)
	}
}

// TestAIStreamStep: an AI stream step with no until ends when the stream
// does (its terminator), through the protocol table's AI client.
func TestAIStreamStep(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{Tokens: aistream.Tokens{TTFT: 5 * time.Millisecond, TPS: 2000, Length: 8}})
	sc := parse(t, base, `
steps:
  - name: ask
    subscribe:
      url: /v1/chat/completions
      mode: ai
      body: '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'
`)
	rec := runOnce(t, context.Background(), sc)
	if o := rec.outcome(t, "ask"); o != bench.StepOK || len(rec.errs) != 0 {
		t.Fatalf("ask: outcome %d, errors %v", o, rec.errs)
	}
	if rec.events < 8 {
		t.Errorf("%d tokens reached the observer, want the 8 streamed", rec.events)
	}
}
