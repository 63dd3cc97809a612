package aistream_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// sdkDir holds the official SDKs' package.json and package-lock.json, and
// sdk.js, which runs one SDK call and prints what the SDK read.
var sdkDir = filepath.Join("..", "..", "testdata", "aisdk")

// runSDK runs one case of sdk.js against base and decodes its output.
func runSDK(t *testing.T, modules, which, base string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(sdkDir, "sdk.js"), which, base)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sdk.js %s: %v", which, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node sdk.js %s printed %q: %v", which, b, err)
	}
}

// TestOfficialSDKs runs the official SDKs, unchanged but for the base URL,
// against the mock server `rtbench serve` runs: openai (responses.stream and
// responses.create), ai (streamText against the Chat Completions and the
// Responses routes; the UI message stream route read back with the SDK's
// own transport and readUIMessageStream), @google/genai
// (generateContentStream) and ollama (chat with stream: true, list). Each
// must read the mock's answer and reasoning text whole, with the usage the
// mock reports.
func TestOfficialSDKs(t *testing.T) {
	modules := transporttest.NodeModules(t, sdkDir)
	const n, r = 12, 4
	tok := aistream.Tokens{TTFT: time.Millisecond, TPS: 5000, Length: n, Reasoning: r}
	_, base := mocktest.Start(t, mock.Config{Tokens: tok})
	answer := tok.Text(n)
	reasoning := tok.ReasoningText(r)
	var got struct {
		Text, Reasoning, Status, Last, Role string
		OutputText                          string `json:"output_text"`
		FinishReason                        string `json:"finishReason"`
		DoneReason                          string `json:"done_reason"`
		Deltas, Snapshots, Chunks, Parts    int
		EvalCount                           int `json:"eval_count"`
		Usage                               map[string]any
		Models                              []string
	}
	tests := []struct {
		which         string
		wantReasoning bool
		check         func(t *testing.T)
	}{
		{"openai-responses-stream", true, func(t *testing.T) {
			if got.Deltas != n || got.Status != "completed" || got.Usage["output_tokens"] != float64(n+r) {
				t.Errorf("%d deltas, status %q, usage %v; want %d, completed, output_tokens %d", got.Deltas, got.Status, got.Usage, n, n+r)
			}
		}},
		{"openai-responses-create", false, func(t *testing.T) {
			if got.OutputText != answer || got.Last != "response.completed" || got.Deltas != n {
				t.Errorf("output_text %q, last event %q, %d deltas; want the answer, response.completed, %d", got.OutputText, got.Last, got.Deltas, n)
			}
		}},
		{"ai-chat", false, func(t *testing.T) {
			if got.FinishReason != "stop" {
				t.Errorf("finish reason %q, want stop", got.FinishReason)
			}
		}},
		{"ai-responses", true, func(t *testing.T) {
			if got.Usage["outputTokens"] != float64(n+r) || got.Usage["reasoningTokens"] != float64(r) || got.FinishReason != "stop" {
				t.Errorf("usage %v, finish %q; want outputTokens %d, reasoningTokens %d, stop", got.Usage, got.FinishReason, n+r, r)
			}
		}},
		{"ai-ui-reader", true, func(t *testing.T) {
			if got.Role != "assistant" || got.Snapshots < n {
				t.Errorf("role %q, %d snapshots; want assistant, at least %d", got.Role, got.Snapshots, n)
			}
		}},
		{"genai-stream", true, func(t *testing.T) {
			if got.FinishReason != "STOP" || got.Usage["candidatesTokenCount"] != float64(n) || got.Usage["thoughtsTokenCount"] != float64(r) {
				t.Errorf("finish %q, usage %v; want STOP, candidatesTokenCount %d, thoughtsTokenCount %d", got.FinishReason, got.Usage, n, r)
			}
		}},
		{"ollama-chat", true, func(t *testing.T) {
			if got.DoneReason != "stop" || got.EvalCount != n+r || len(got.Models) != 1 {
				t.Errorf("done_reason %q, eval_count %d, models %v; want stop, %d, one", got.DoneReason, got.EvalCount, got.Models, n+r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.which, func(t *testing.T) {
			got.Text, got.Reasoning, got.Usage = "", "", nil
			runSDK(t, modules, tc.which, base, &got)
			if got.Text != answer {
				t.Errorf("text %q, want %q", got.Text, answer)
			}
			if tc.wantReasoning && got.Reasoning != reasoning {
				t.Errorf("reasoning %q, want %q", got.Reasoning, reasoning)
			}
			tc.check(t)
		})
	}
}
