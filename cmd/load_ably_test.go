package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/mock"
)

// TestLoadAbly: Ably subscribers on rtbench serve with a publisher at
// 10/s through the REST API: every message reaches every subscriber (no
// lost, no duplicate, no errors), delivery and attach are measured, and
// the key's secret is printed and saved nowhere.
func TestLoadAbly(t *testing.T) {
	base := startMock(t, mock.Config{})
	target := "ably+http://" + ably.DefaultKey + "@" + strings.TrimPrefix(base, "http://") + "/loadtest"
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "20", "-d", "3s", "--publish-rate", "10/s", "--allow-saturated", "--out", out, target)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	for _, m := range []string{"delivery", "attach", "handshake"} {
		if r.Metrics[m].Count == 0 {
			t.Errorf("no %s measured", m)
		}
	}
	c := r.Counters
	if c["lost"] != 0 || c["duplicates"] != 0 || len(r.Errors) != 0 {
		t.Errorf("counters %v, errors %v: want nothing lost, duplicated or failed", c, r.Errors)
	}
	if c["events"] < 20*20 {
		t.Errorf("%d events measured, want at least 20 subscribers × 20 messages", c["events"])
	}
	if !strings.Contains(stderr, "rtbench: published 30 messages") && !strings.Contains(stderr, "rtbench: published 29 messages") {
		t.Errorf("stderr does not say what was published:\n%s", stderr)
	}
	if secret := "rtbench-local-secret"; strings.Contains(stdout+stderr, secret) || strings.Contains(r.Target.URL, secret) {
		t.Errorf("the key's secret is printed or saved:\n%s\n%s\n%s", stdout, stderr, r.Target.URL)
	}
}

// TestLoadAblyBilled: against a host beyond this machine, a run planning
// more than 10,000 deliveries is refused before anything connects, unless
// --yes; the secret is not printed.
func TestLoadAblyBilled(t *testing.T) {
	remote := "ably://app.key:s3cret@realtime.example.invalid/chat"
	code, _, stderr := runLoad(t, t.Context(), "-c", "100", "-d", "60s", "--publish-rate", "10/s", remote)
	if code != ExitUsage || !strings.Contains(stderr, "600 messages") || !strings.Contains(stderr, "--yes") || strings.Contains(stderr, "s3cret") {
		t.Errorf("exit %d, %s: want a usage refusal naming 600 messages and --yes, without the secret", code, stderr)
	}
	if code, _, stderr := runLoad(t, t.Context(), "-c", "100", "-d", "60s", "--publish-rate", "10/s", "--yes", remote); code == ExitUsage {
		t.Errorf("--yes still refused: %s", stderr)
	}
}

// TestCheckAbly: check on an Ably URL with --publish-rate asserts the
// upgrade and that a published message arrives; a wrong key fails with
// Ably's code, exit 1, without printing the secret.
func TestCheckAbly(t *testing.T) {
	base := startMock(t, mock.Config{})
	host := strings.TrimPrefix(base, "http://")
	code, stdout, stderr := runCmd(t, t.Context(), "check", "--publish-rate", "5/s", "--within", "5s", "ably+http://"+ably.DefaultKey+"@"+host+"/health")
	if code != 0 || !strings.Contains(stdout, "PASS  events") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, t.Context(), "check", "--publish-rate", "5/s", "--within", "3s", "ably+http://rtbench.local:wrong@"+host+"/health")
	if code != ExitFailed || !strings.Contains(stdout+stderr, "40101") || strings.Contains(stdout+stderr, ":wrong@") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
