package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/mock"
)

// TestLoadAbly: Ably subscribers on rtbench serve with a publisher at
// 10/s: every message reaches every subscriber (no lost, no duplicate,
// no errors), delivery and attach are measured, the publisher's counts are
// in the result, and the key's secret is printed nowhere.
func TestLoadAbly(t *testing.T) {
	base := startMock(t, mock.Config{})
	target := "ably+http://" + ably.DefaultKey + "@" + strings.TrimPrefix(base, "http://") + "/loadtest"
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "20", "-d", "3s", "--publish-rate", "10/s", "--out", out, target)
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
	if c["published"] < 25 || c["publish_failed"] != 0 || c["lost"] != 0 || c["duplicates"] != 0 || len(r.Errors) != 0 {
		t.Errorf("counters %v, errors %v: want ≥25 published, nothing lost, duplicated or failed", c, r.Errors)
	}
	if c["events"] < 20*20 {
		t.Errorf("%d events measured, want at least 20 subscribers × 20 messages", c["events"])
	}
	if secret := "rtbench-local-secret"; strings.Contains(stdout+stderr, secret) || strings.Contains(r.Target.URL, secret) {
		t.Errorf("the key's secret is printed or saved:\n%s\n%s\n%s", stdout, stderr, r.Target.URL)
	}
}

// TestLoadAblyDeliveryGuard: against a host beyond this machine, a run
// planning more than 10,000 deliveries is refused before anything
// connects, saying how many, unless --yes; --publish-rate needs a protocol
// that can publish.
func TestLoadAblyDeliveryGuard(t *testing.T) {
	remote := "ably://app.key:secret@realtime.example.invalid/chat"
	code, _, stderr := runLoad(t, t.Context(), "-c", "100", "-d", "60s", "--publish-rate", "10/s", remote)
	if code != ExitUsage || !strings.Contains(stderr, "about 600 messages") || !strings.Contains(stderr, "60000 deliveries") || !strings.Contains(stderr, "--yes") {
		t.Errorf("exit %d, %s: want a usage refusal naming 600 messages, 60000 deliveries and --yes", code, stderr)
	}
	if strings.Contains(stderr, ":secret@") {
		t.Errorf("the secret is printed: %s", stderr)
	}
	// With --yes the guard lets it through (the host then cannot be
	// reached: exit 3, not 2).
	if code, _, stderr := runLoad(t, t.Context(), "-c", "100", "-d", "60s", "--publish-rate", "10/s", "--yes", remote); code == ExitUsage {
		t.Errorf("--yes still refused: %s", stderr)
	}
	base := startMock(t, mock.Config{})
	if code, _, stderr := runLoad(t, t.Context(), "-c", "1", "-d", "1s", "--publish-rate", "10/s", base+"/sse"); code != ExitUsage || !strings.Contains(stderr, "cannot publish") {
		t.Errorf("--publish-rate on SSE: exit %d, %s", code, stderr)
	}
}

// TestCheckAbly: check on an Ably URL asserts the upgrade, the attach and
// that a message it publishes comes back; a wrong key fails the attach
// with Ably's code, exit 1.
func TestCheckAbly(t *testing.T) {
	base := startMock(t, mock.Config{})
	host := strings.TrimPrefix(base, "http://")
	code, stdout, stderr := runCmd(t, t.Context(), "check", "--timeout", "5s", "ably+http://"+ably.DefaultKey+"@"+host+"/health")
	if code != 0 || !strings.Contains(stdout, "PASS  attach") || !strings.Contains(stdout, "PASS  echo") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, t.Context(), "check", "--timeout", "5s", "ably+http://rtbench.local:wrong@"+host+"/health")
	if code != ExitFailed || !strings.Contains(stdout, "FAIL  attach") || !strings.Contains(stdout, "40101") || strings.Contains(stdout+stderr, ":wrong@") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
