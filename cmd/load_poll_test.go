package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// TestLoadPollKeepsConnections: `load -c 200 --interval 0` polls over one
// kept-alive connection per session: the server accepts the sessions'
// connections (and the probe's), not one per request, and no outage is
// reported. The result names the closed loop.
//
// net/http drops a connection whose request write it has not seen complete
// 50 ms after the response (maxWriteWaitBeforeConnReuse), which a starved
// machine can cause: such a connection is a reconnect, so the test allows
// a few, far below the one per request that a 2-connection pool gave.
func TestLoadPollKeepsConnections(t *testing.T) {
	const sessions = 200
	srv, base := mocktest.Start(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "200", "-d", "4s", "--interval", "0", "--out", out, base+"/healthz")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	accepted := srv.Stats().Snapshot().Accepted
	c := r.Counters
	t.Logf("%d requests, %d connections accepted, %d connects, %d reconnects", c["requests"], accepted, c["connects"], c["reconnects"])
	// Every connection reported was accepted; the server accepted no more
	// than one per session, the probe's and the reconnects (a session still
	// in its first request at the end accepted but never reported).
	if opened := accepted - 1; opened < c["connects"] || opened > sessions+c["reconnects"] {
		t.Errorf("the server accepted %d connections (+1 for the probe), the sessions reported %d with %d reconnects; want one per session",
			opened, c["connects"], c["reconnects"])
	}
	if c["sessions_started"] != sessions || c["requests"] < 2*c["connects"] || c["reconnects"]*50 > c["requests"] {
		t.Errorf("%d sessions, %d reconnects for %d requests: connections are not kept", c["sessions_started"], c["reconnects"], c["requests"])
	}
	if c["outages"] != 0 || len(r.Errors) != 0 {
		t.Errorf("outages %d, errors %+v; want none", c["outages"], r.Errors)
	}
	if r.Params.Model != bench.ModelClosedLoop || !strings.Contains(stdout, "closed loop") {
		t.Errorf("model %q, report:\n%s", r.Params.Model, stdout)
	}
}
