package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// wsPeer starts testdata/wspeer/server.js, a subscribe-first server written
// with the npm ws package: nothing is pushed until {"type":"subscribe"}
// arrives. It returns the http:// and ws:// bases.
func wsPeer(t *testing.T) (httpBase, wsBase string) {
	dir := filepath.Join("..", "testdata", "wspeer")
	t.Setenv("NODE_PATH", transporttest.NodeModules(t, dir))
	base := transporttest.ScriptPeer(t, "node", filepath.Join(dir, "server.js"))
	return base, "ws" + strings.TrimPrefix(base, "http")
}

// jsonLines decodes listen --json's events' data as JSON objects.
func jsonData(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(stdout) {
		var e struct {
			Kind string
			Data string
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
			t.Fatalf("data %q: %v", e.Data, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSendSubscribeFirst: a server that waits for {"type":"subscribe"}
// before it pushes, through listen, load and check: with --send each
// command gets its stream (templates rendered per session and message);
// without it load says so loudly and fails, and check fails within its own
// window, not the timeout.
func TestSendSubscribeFirst(t *testing.T) {
	httpBase, wsBase := wsPeer(t)
	sub := `{"type":"subscribe","id":"{{session}}-{{seq}}-{{env "RT_CHANNEL"}}"}`
	env := map[string]string{"RT_CHANNEL": "prices"}

	t.Run("listen ws", func(t *testing.T) {
		code, stdout, stderr := runListenEnv(t, env, "--send", sub, "-n", "3", "--json", wsBase+"/ws")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		data := jsonData(t, stdout)
		if data[0]["type"] != "subscribed" || data[0]["id"] != "0-1-prices" || data[1]["type"] != "tick" {
			t.Errorf("events %v, want the acknowledgement of id 0-1-prices, then ticks", data)
		}
	})
	t.Run("listen ws --send @file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "sub.json")
		if err := os.WriteFile(file, []byte(`{"type":"subscribe","id":"f{{seq}}"}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Two messages, in order: the server acknowledges each.
		code, stdout, stderr := runListenEnv(t, nil, "--send", "@"+file, "--send", `{"type":"subscribe","id":"second"}`, "-n", "4", "--json", wsBase+"/ws")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var acks []string
		for _, d := range jsonData(t, stdout) {
			if d["type"] == "subscribed" {
				acks = append(acks, d["id"].(string))
			}
		}
		if strings.Join(acks, ",") != "f1,second" {
			t.Errorf("acknowledged %v, want f1 then second", acks)
		}
	})
	t.Run("listen sse over POST", func(t *testing.T) {
		code, stdout, stderr := runListenEnv(t, env, "--send", sub, "--send", "second line", "-n", "2", "--json", httpBase+"/sse")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		data := jsonData(t, stdout)
		if data[0]["id"] != "0-1-prices" || data[0]["lines"] != 2.0 || data[1]["type"] != "tick" {
			t.Errorf("events %v, want the acknowledgement of id 0-1-prices over 2 body lines, then a tick", data)
		}
	})
	t.Run("unset env is a usage error", func(t *testing.T) {
		code, _, stderr := runListenEnv(t, nil, "--send", sub, wsBase+"/ws")
		if code != ExitUsage || !strings.Contains(stderr, "RT_CHANNEL is not set") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("exit %d, stderr %q; want one usage line naming RT_CHANNEL", code, stderr)
		}
	})

	t.Run("load silent", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		code, stdout, stderr := runLoad(t, t.Context(), "-c", "5", "-d", "1s", "--out", out, wsBase+"/ws")
		if code != ExitFailed || !strings.Contains(stdout, "NO MESSAGES") || !strings.Contains(stdout, "--send") ||
			!strings.Contains(stderr, "nothing was delivered") {
			t.Errorf("exit %d; want 1 with a loud NO MESSAGES line naming --send\n%s\n%s", code, stdout, stderr)
		}
		if r := readResult(t, out); !r.Silent() {
			t.Errorf("the result is not marked silent: %v", r.Counters)
		}
	})
	t.Run("load --send", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		code, stdout, stderr := runLoad(t, t.Context(), "-c", "5", "-d", "2s", "--out", out, "--send", `{"type":"subscribe","id":"s{{session}}"}`, wsBase+"/ws")
		if code != 0 || strings.Contains(stdout, "NO MESSAGES") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		r := readResult(t, out)
		if r.Counters[bench.Events.String()] < 5 || r.Metrics[bench.Delivery.String()].Count == 0 || r.Params.Defaults["send"] != "1 message(s)" {
			t.Errorf("events %d, delivery %d, send %q; want events from every session, a delivery histogram from ts",
				r.Counters[bench.Events.String()], r.Metrics[bench.Delivery.String()].Count, r.Params.Defaults["send"])
		}
	})

	t.Run("check silent fails in its own window", func(t *testing.T) {
		start := time.Now()
		code, stdout, _ := checkCmd(t, nil, "--timeout", "30s", wsBase+"/ws")
		if took := time.Since(start); took >= 30*time.Second {
			t.Errorf("check took %v: it waited for the timeout", took)
		}
		if code != ExitFailed || !strings.Contains(stdout, "FAIL  first-event") || !strings.Contains(stdout, "--send") {
			t.Errorf("exit %d; want a first-event FAIL naming --send\n%s", code, stdout)
		}
	})
	t.Run("check --send --expect-first", func(t *testing.T) {
		code, stdout, _ := checkCmd(t, env, "--send", sub, "--expect-first", "type==subscribed && id==\"0-1-prices\"", wsBase+"/ws")
		if code != 0 || !strings.Contains(stdout, "PASS  expect-first") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
	})
	t.Run("check wrong subscription", func(t *testing.T) {
		code, stdout, _ := checkCmd(t, nil, "--send", `{"type":"hello"}`, "--expect-first", "type==subscribed", wsBase+"/ws")
		if code != ExitFailed || !strings.Contains(stdout, "FAIL  expect-first") || !strings.Contains(stdout, `"type":"error"`) {
			t.Errorf("exit %d; want expect-first to fail showing the server's answer\n%s", code, stdout)
		}
	})
	t.Run("check sse over POST", func(t *testing.T) {
		code, stdout, _ := checkCmd(t, nil, "--send", `{"type":"subscribe","id":"c"}`, "--expect-first", "type==subscribed", "--events", "3", httpBase+"/sse")
		if code != 0 {
			t.Errorf("exit %d\n%s", code, stdout)
		}
	})
}

// runListenEnv is runListen with an environment.
func runListenEnv(t *testing.T, getenv map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	env.Getenv = func(k string) string { return getenv[k] }
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code = Run(ctx, env, BuildInfo{}, append([]string{"listen"}, args...))
	if ctx.Err() != nil {
		t.Fatalf("listen %v did not finish within 30s", args)
	}
	return code, out.String(), errOut.String()
}
