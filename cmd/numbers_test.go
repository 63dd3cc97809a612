package cmd

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
)

// Tests that the numbers a load run reports do not mislead: cut-off work,
// dropped starts, the generator's start lag, per-chunk tpot, handshake vs
// connect, and a saturated generator. Each runs the real command.

const aiBody = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`

// TestLoadAICutOff: in the closed model every session has a stream in
// flight when the run ends. Those are cut off: counted in cut_off, and kept
// out of requests, tokens and e2e, so every e2e is a whole stream (10
// tokens at 10/s after a 300 ms TTFT: at least the 900 ms of decoding the
// server was told to take) and tokens are 10 per request.
func TestLoadAICutOff(t *testing.T) {
	base := startMock(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "4", "-d", "2500ms", "--out", out, "--data", aiBody,
		base+"/v1/chat/completions?ttft=300ms&tps=10&tokens=10")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	requests, cut := r.Counters["requests"], r.Counters["cut_off"]
	e2e := r.Metrics["e2e"]
	if cut < 1 || cut > 4 {
		t.Errorf("cut_off %d, want 1 to 4 (one stream in flight per session at the end)", cut)
	}
	if requests < 4 || e2e.Count != requests {
		t.Errorf("requests %d, e2e count %d: want every completed request, and only those, in e2e", requests, e2e.Count)
	}
	if tokens := r.Counters["tokens"]; tokens != 10*requests {
		t.Errorf("tokens %d for %d requests, want 10 each: a cut-off stream's tokens are not counted", tokens, requests)
	}
	if e2e.MinMs < 900 {
		t.Errorf("e2e min %.1fms: below the 900 ms a whole stream takes, so a cut-off stream is in it", e2e.MinMs)
	}
	if !strings.Contains(stdout, "cut_off") {
		t.Errorf("the report does not show cut_off:\n%s", stdout)
	}
}

// TestLoadPollCutOff: long polls held by the server when the run ends are
// cut off, not answered requests.
func TestLoadPollCutOff(t *testing.T) {
	base := startMock(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "3", "-d", "1s", "--long-poll", "20s", "--out", out, base+"/poll?rate=0.001")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	if r.Counters["cut_off"] != 3 {
		t.Errorf("cut_off %d, want the 3 long polls held at the end (requests %d)", r.Counters["cut_off"], r.Counters["requests"])
	}
	if n := r.Metrics["request"].Count; n != r.Counters["requests"] {
		t.Errorf("request has %d values for %d requests", n, r.Counters["requests"])
	}
}

// TestLoadDrops: at --max-in-flight 1 against a server that takes 300 ms,
// most intended starts are dropped. They count as errors (errors<1% fails),
// and the report marks every latency that excludes them.
func TestLoadDrops(t *testing.T) {
	base := startMock(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "--rate", "20/s", "--max-in-flight", "1", "-d", "2s", "--out", out,
		"--threshold", "errors<1%", "--allow-saturated", base+"/poll?rate=10&fault=delay:300ms")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (errors<1%% fails on the drops)\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	dropped := r.Counters["dropped"]
	if dropped < 10 {
		t.Fatalf("dropped %d, want most of the 40 intended starts", dropped)
	}
	errs, attempts := r.ErrorTotals()
	if errs < dropped || attempts != r.Counters["sessions_started"]+dropped {
		t.Errorf("errors %d of %d attempts; want the %d drops among the errors, of the intended starts", errs, attempts, dropped)
	}
	for _, want := range []string{"request *", "every latency excludes the", "dropped starts", "FAIL  errors<1%"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
}

// TestLoadStartLag: an open-model run records each request's start lag,
// and the report shows it next to request.
func TestLoadStartLag(t *testing.T) {
	base := startMock(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "--rate", "50/s", "-d", "1s", "--out", out, base+"/poll?rate=10")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	lag := r.Metrics["start_lag"]
	if lag.Count == 0 || lag.Count != r.Counters["requests"] {
		t.Errorf("start_lag %d values for %d requests, want one each", lag.Count, r.Counters["requests"])
	}
	if lag.MaxMs > r.Metrics["request"].MaxMs {
		t.Errorf("start_lag max %.3fms above request max %.3fms: the lag is part of the latency", lag.MaxMs, r.Metrics["request"].MaxMs)
	}
	if !strings.Contains(stdout, "start_lag") {
		t.Errorf("the report does not show start_lag:\n%s", stdout)
	}
}

// TestLoadTPOTPerChunk: a stream without usage has no token count, only
// chunks: its per-request figure is tpot_chunk, never tpot. With usage,
// tpot.
func TestLoadTPOTPerChunk(t *testing.T) {
	base := startMock(t, mock.Config{Tokens: aistream.Tokens{TTFT: 50 * time.Millisecond, TPS: 50, Length: 10}})
	for _, tc := range []struct {
		name, body, want, not string
	}{
		{"no usage", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "tpot_chunk", "tpot"},
		{"usage", aiBody, "tpot", "tpot_chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "result.json")
			code, stdout, stderr := runLoad(t, t.Context(), "-c", "2", "-d", "1s", "--out", out, "--data", tc.body, base+"/v1/chat/completions")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			r := readResult(t, out)
			if r.Metrics[tc.want].Count == 0 {
				t.Errorf("%s has no values (metrics %v)", tc.want, keys(r.Metrics))
			}
			if _, ok := r.Metrics[tc.not]; ok {
				t.Errorf("%s recorded: the stream had %s", tc.not, tc.name)
			}
		})
	}
}

// TestLoadHandshakeAndConnect: handshake is the whole exchange up to the
// response headers; connect is TCP (+ TLS) only, so it is never longer.
// The definitions are in --help.
func TestLoadHandshakeAndConnect(t *testing.T) {
	base := startMock(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "5", "-d", "1s", "--out", out, base+"/sse?rate=4&fault=delay:20ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	hs, conn := r.Metrics["handshake"], r.Metrics["connect"]
	if hs.Count != 5 || conn.Count != 5 {
		t.Fatalf("handshake %d, connect %d values; want one per connection (5)", hs.Count, conn.Count)
	}
	// The server waits 20 ms before its headers: in the handshake, not in
	// the TCP connect.
	if hs.MinMs < 20 || conn.MaxMs >= hs.MinMs {
		t.Errorf("handshake min %.3fms, connect max %.3fms: want the 20 ms answer in handshake only", hs.MinMs, conn.MaxMs)
	}
	_, help, _ := runLoad(t, t.Context(), "--help")
	for _, want := range []string{"handshake   request start → response headers", "connect     TCP connect + TLS handshake", "start_lag"} {
		if !strings.Contains(help, want) {
			t.Errorf("load --help lacks %q", want)
		}
	}
}

// TestReportV1Handshake: a result saved as rtbench.result/v1 (whose
// connect meant the whole handshake) is shown with that figure as
// handshake, and a threshold on connect (now TCP + TLS) finds no values.
func TestReportV1Handshake(t *testing.T) {
	old := filepath.Join("..", "bench", "testdata", "v1", "sse.json")
	code, stdout, stderr := runReport(t, old, "--threshold", "connect.p99<1s", "--threshold", "handshake.p99<1s")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (connect has no values in a v1 file)\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"| handshake ", "FAIL  connect.p99<1s    missing: no values", "PASS  handshake.p99<1s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

// TestSaturatedFailsThresholds: a result whose generator was saturated
// fails thresholds it would pass, saying why, unless --allow-saturated.
func TestSaturatedFailsThresholds(t *testing.T) {
	sat := filepath.Join("..", "bench", "testdata", "poll.json") // saturated: self-check p99.9 above 5 ms
	if r := readResult(t, sat); !r.Saturated {
		t.Fatal("the fixture is not saturated")
	}
	code, stdout, stderr := runReport(t, sat, "--threshold", "request.p99<60s")
	if code != 1 || !strings.Contains(stdout, "PASS  request.p99<60s") || !strings.Contains(stdout, "FAIL  generator not saturated  self-check p99.9") {
		t.Errorf("exit %d, want 1 with the threshold passed and the saturation failed\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runReport(t, sat, "--threshold", "request.p99<60s", "--allow-saturated")
	if code != 0 || !strings.Contains(stdout, "!! SATURATED") || strings.Contains(stdout, "generator not saturated") {
		t.Errorf("with --allow-saturated: exit %d, want 0 and the saturation shown\n%s\n%s", code, stdout, stderr)
	}
}

func runReport(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	env.Width = 100
	code = Run(t.Context(), env, BuildInfo{Version: "test"}, append([]string{"report"}, args...))
	return code, out.String(), errOut.String()
}
