package flow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/poll"
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

// TestRepeatAndUnmet: a repeat runs its steps that many times, each
// recorded; a subscription whose stream ends before its count fails with
// until_unmet, and ends the repeat and the pass.
func TestRepeatAndUnmet(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{})
	sc := parse(t, base, `
steps:
  - name: loop
    repeat: 3
    steps:
      - name: nap
        sleep: 1ms
      - name: jitter
        think: 1ms-2ms
  - name: short
    subscribe:
      url: /sse?rate=100&count=2
      count: 5
      timeout: 10s
  - name: never
    sleep: 1ms
`)
	rec := runOnce(t, context.Background(), sc)
	rec.mu.Lock()
	naps, jitters := len(rec.steps["nap"]), len(rec.steps["jitter"])
	rec.mu.Unlock()
	if naps != 3 || jitters != 3 {
		t.Errorf("nap %d, jitter %d: want 3 each", naps, jitters)
	}
	for _, s := range rec.steps["jitter"] {
		if d := s.End.Sub(s.Start); d < time.Millisecond {
			t.Errorf("think 1ms-2ms took %v", d)
		}
	}
	if o := rec.outcome(t, "loop"); o != bench.StepOK {
		t.Errorf("loop: outcome %d", o)
	}
	if o := rec.outcome(t, "short"); o != bench.StepFailed {
		t.Fatalf("short: outcome %d, want failed", o)
	}
	if len(rec.errs) != 1 || rec.errs[0].Class != transport.ClassUntilUnmet || !strings.Contains(rec.errs[0].Error(), "step short: the stream ended: 2 of 5 messages") {
		t.Errorf("errors %v: want one until_unmet naming step short", rec.errs)
	}
	if len(rec.steps["never"]) != 0 {
		t.Error("the pass went on after a failed step")
	}
}

// TestJobPushed: the job lifecycle with the status pushed over SSE
// (testdata/flow/job-sse.yaml against rtbench serve): one request, the
// staleness and the job's own duration read from the event that met until.
func TestJobPushed(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{Jobs: poll.JobOptions{Queued: -1, Duration: 200 * time.Millisecond, Steps: 4}})
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flow", "job-sse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := parse(t, base, string(data))
	rec := runOnce(t, context.Background(), sc)
	if o := rec.outcome(t, "wait"); o != bench.StepOK || len(rec.errs) != 0 {
		t.Fatalf("wait: outcome %d, errors %v", o, rec.errs)
	}
	w := rec.steps["wait"][0]
	if w.Requests != 1 || !w.HasStaleness || !w.HasServer || w.Server != 200*time.Millisecond || w.Bytes == 0 {
		t.Errorf("wait %+v: want one request, its bytes, the staleness and the job's 200ms", w)
	}
	// The states from the subscription's start on: at most running 0,
	// 25, 50, 75 and completed (fewer when the machine delays the
	// subscription past some of them).
	if rec.events < 1 || rec.events > 5 {
		t.Errorf("%d events, want 1 to 5 states", rec.events)
	}
}
