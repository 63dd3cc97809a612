package cmd

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// The schedule both targets below stream on: the first reasoning token at
// ttft, then one token every itl, reasoning first.
const (
	fmtTTFT      = 200 * time.Millisecond
	fmtITL       = 20 * time.Millisecond
	fmtReasoning = 5
	fmtTokens    = 20
)

// aiFormatTarget is one route of one format.
type aiFormatTarget struct {
	format    string
	path      string
	body      string
	reasoning bool // the format streams the reasoning phase
	text      string
}

// TestAIFormatsAgainstPeerAndServe runs listen, check and load against
// every AI stream format, served by testdata/aipeers/server.js (a Node
// server written without rtbench's mock) and by rtbench serve, on one
// schedule (ttft 200ms, then a token every 20ms, 5 reasoning tokens first):
// listen prints the answer's text and recognises the format; check passes
// its content type, ttft and terminator; load's p50 ttfr and ttft (after
// the reasoning) are at least the schedule's, ttfr before ttft, and the
// reasoning duration is measured.
// bench/scripts/ai-formats.sh holds the same runs to ±5 % of the schedule.
func TestAIFormatsAgainstPeerAndServe(t *testing.T) {
	peer := transporttest.ScriptPeer(t, "node", filepath.Join("..", "testdata", "aipeers", "server.js"))
	tok := aistream.Tokens{TTFT: fmtTTFT, TPS: float64(time.Second / fmtITL), Length: fmtTokens, Reasoning: fmtReasoning}
	serve := startMock(t, mock.Config{Tokens: tok})

	var peerText strings.Builder
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	for k := range fmtTokens {
		if k > 0 {
			peerText.WriteString(" ")
		}
		peerText.WriteString(words[k%len(words)])
	}
	mockText := tok.Text(fmtTokens)
	const chat = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	targets := map[string][]aiFormatTarget{
		peer: {
			{"openai-responses", "/openai/responses", `{"model":"m","input":"hi","stream":true}`, true, ""},
			{"openai", "/openai/chat", chat, true, ""},
			{"anthropic", "/anthropic/messages", chat, true, ""},
			{"ai-sdk-ui", "/ai-sdk/ui", `{"messages":[]}`, true, ""},
			{"ai-sdk-data", "/ai-sdk/data", `{"messages":[]}`, true, ""},
			{"gemini", "/gemini/models/m:streamGenerateContent?alt=sse", `{"contents":[]}`, true, ""},
			{"ollama", "/ollama/api/chat", chat, true, ""},
			{"ollama", "/ollama/api/generate", `{"model":"m","prompt":"hi"}`, true, ""},
		},
		serve: {
			{"openai-responses", "/v1/responses", `{"model":"m","input":"hi","stream":true}`, true, ""},
			{"openai", "/v1/chat/completions", chat, true, ""},
			{"anthropic", "/v1/messages", chat, true, ""},
			{"ai-sdk-ui", "/api/ai-sdk/ui", `{"messages":[]}`, true, ""},
			{"ai-sdk-data", "/api/ai-sdk/data", `{"messages":[]}`, true, ""},
			{"gemini", "/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`, true, ""},
			{"ollama", "/ollama/api/chat", chat, true, ""},
			{"ollama", "/ollama/api/generate", `{"model":"m","prompt":"hi"}`, true, ""},
			{"text", "/api/chat", `{"messages":[]}`, false, ""},
		},
	}
	for base, list := range targets {
		who, text := "peer", peerText.String()
		if base == serve {
			who, text = "serve", mockText
		}
		for _, tg := range list {
			url := base + tg.path
			t.Run(who+tg.path, func(t *testing.T) {
				t.Parallel() // 16 routes, each mostly waiting on its schedule
				code, out, errOut := runListen(t, "", "--data", tg.body, url)
				if code != 0 || out != text+"\n" && out != text {
					t.Fatalf("listen: exit %d, stdout %q, want %q; stderr %s", code, out, text, errOut)
				}
				if !strings.Contains(errOut, tg.format+" stream complete") || tg.reasoning != strings.Contains(errOut, "ttfr ") {
					t.Errorf("listen's summary %q: want %q complete, ttfr shown %v", errOut, tg.format, tg.reasoning)
				}
				code, out, errOut = checkCmd(t, nil, "--data", tg.body, url, "--ttft", "2s")
				if code != 0 {
					t.Errorf("check: exit %d\n%s%s", code, out, errOut)
				}
				res := filepath.Join(t.TempDir(), "r.json")
				code, _, errOut = runLoad(t, t.Context(), "-c", "2", "-d", "2s", "--out", res, "--data", tg.body, url)
				if code != 0 {
					t.Fatalf("load: exit %d: %s", code, errOut)
				}
				r := readResult(t, res)
				// The schedule is a floor: no server can send a token before
				// it is due, and rtbench measures from the request's send. The
				// ±5 % bounds at p50 are bench/scripts/ai-formats.sh's: a busy
				// machine's timers make them a benchmark's business.
				ttft := fmtTTFT
				if tg.reasoning {
					ttft += fmtReasoning * fmtITL
				}
				floors := map[string]time.Duration{"ttft": ttft}
				if tg.reasoning {
					floors["ttfr"] = fmtTTFT
					if m, ok := r.Metrics["reasoning"]; !ok || m.P50Ms <= 0 {
						t.Errorf("load: reasoning %+v, want a duration", m)
					}
				}
				for name, d := range floors {
					m, ok := r.Metrics[name]
					if floor := 0.99 * float64(d) / float64(time.Millisecond); !ok || m.P50Ms < floor {
						t.Errorf("load: %s p50 %.2fms (present %v), want at least the schedule's %v", name, m.P50Ms, ok, d)
					}
				}
				if tg.reasoning && r.Metrics["ttfr"].P50Ms >= r.Metrics["ttft"].P50Ms {
					t.Errorf("load: ttfr p50 %.2fms is not before ttft p50 %.2fms", r.Metrics["ttfr"].P50Ms, r.Metrics["ttft"].P50Ms)
				}
				if itl, ok := r.Metrics["itl_chunk"]; !ok || itl.Count < int64(fmtTokens-1) {
					t.Errorf("load: itl_chunk %+v, want at least %d gaps", itl, fmtTokens-1)
				}
				if !tg.reasoning {
					if _, ok := r.Metrics["ttfr"]; ok {
						t.Errorf("load: ttfr measured on a stream without reasoning")
					}
				}
				if r.Errors != nil && len(r.Errors) > 0 {
					t.Errorf("load: errors %v", r.Errors)
				}
			})
		}
	}
}

// TestCompareAIFormats: compare's ai-formats pattern reads every format on
// the embedded server's one schedule, each as its format, and shows what
// each costs on the wire: the AI SDK data stream's bare lines cost fewer
// bytes per token than the Responses API's named, sequence-numbered events.
func TestCompareAIFormats(t *testing.T) {
	r := runCompare(t, "-c", "2", "--patterns", "ai-formats", "--ai-tokens", "8")
	if len(r.AIFormats) != len(aiFormatRoutes) {
		t.Fatalf("%d formats run, want %d", len(r.AIFormats), len(aiFormatRoutes))
	}
	bytes := map[string]float64{}
	for i, a := range r.AIFormats {
		if a.Format != aiFormatRoutes[i].format || a.Completed != 2 || a.WireEventsPerToken < 1 || a.BytesPerToken <= 0 {
			t.Errorf("format %q: %d of 2 completed, %.2f events and %.0f bytes per token", a.Format, a.Completed, a.WireEventsPerToken, a.BytesPerToken)
		}
		if m, ok := a.Result.Metrics["ttft"]; !ok || m.Count != 2 {
			t.Errorf("format %q: ttft %+v, want 2 values", a.Format, m)
		}
		bytes[a.Format] = a.BytesPerToken
	}
	if bytes["ai-sdk-data"] >= bytes["openai-responses"] {
		t.Errorf("bytes per token: data stream %.0f, Responses %.0f; want the data stream's fewer", bytes["ai-sdk-data"], bytes["openai-responses"])
	}
}
