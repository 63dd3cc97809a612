package mock

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestIndexShowsListen: every streaming or polling route of the index
// page's table has an `rtbench listen` command next to its curl.
func TestIndexShowsListen(t *testing.T) {
	page := string(indexHTML)
	for _, path := range []string{"/api/stream", "/api/chat", "/api/jobs/ID", "/sse?rate=10", "/ws?channel=demo", "/poll", "/api/channels/demo/messages", "/v1/chat/completions", "/v1/messages"} {
		re := regexp.MustCompile(`<code>rtbench listen [^<]*` + regexp.QuoteMeta(path))
		if !re.MatchString(page) {
			t.Errorf("the index page has no rtbench listen command for %s", path)
		}
	}
}

// TestIndexLatencyNeverNegative runs the browser demo's latency function in
// Node: a delivery within the same millisecond, or a browser clock behind
// the server's, never shows below zero.
func TestIndexLatencyNeverNegative(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs Node.js: %v", err)
	}
	var defs []string
	for _, name := range []string{"nowMs", "latency", "fmt"} {
		m := regexp.MustCompile(`(?m)^const ` + name + ` = .*;$`).FindString(string(indexHTML))
		if m == "" {
			t.Fatalf("the index page defines no %s", name)
		}
		defs = append(defs, m)
	}
	script := strings.Join(defs, "\n") + `
const nsNow = BigInt(Math.round(nowMs() * 1e6));
const out = [
  latency(String(nsNow + 5000000n)),   // sched 5 ms in the future: a clock behind the server's
  latency(String(nsNow + 300000n)),    // 0.3 ms ahead: within the same millisecond
  latency(String(nsNow - 2000000n)),   // 2 ms ago
];
if (out.some((v) => v < 0 || fmt(v).startsWith('-'))) { console.log('negative', out); process.exit(1); }
if (out[2] < 1.5) { console.log('a 2 ms delivery measured', out[2]); process.exit(1); }
`
	if out, err := exec.Command(node, "-e", script).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
