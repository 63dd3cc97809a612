package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// TestLoadPollKeepsConnections: `load -c 500 --interval 0` polls over one
// kept-alive connection per session: the server accepts the sessions'
// connections (and the probe's), not one per request, and no outage is
// reported. The result names the closed loop.
//
// net/http drops a connection whose request write it has not seen complete
// 50 ms after the response (maxWriteWaitBeforeConnReuse), which a starved
// machine can cause: such a connection is a reconnect, so the test allows
// a few, far below the one per request that a 2-connection pool gave.
func TestLoadPollKeepsConnections(t *testing.T) {
	const sessions = 500
	srv, base := mocktest.Start(t, mock.Config{})
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "500", "-d", "3s", "--interval", "0", "--out", out, base+"/healthz")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readResult(t, out)
	accepted := srv.Stats().Snapshot().Accepted
	c := r.Counters
	t.Logf("%d requests, %d connections accepted, %d connects, %d reconnects", c["requests"], accepted, c["connects"], c["reconnects"])
	if accepted != c["connects"]+1 {
		t.Errorf("the server accepted %d connections, the sessions reported %d (+1 for the probe)", accepted, c["connects"])
	}
	if first := c["connects"] - c["reconnects"]; first != sessions || c["sessions_started"] != sessions {
		t.Errorf("%d first connections, %d sessions started; want %d", first, c["sessions_started"], sessions)
	}
	if c["requests"] < 4*sessions || c["reconnects"]*50 > c["requests"] {
		t.Errorf("%d reconnects for %d requests: connections are not kept", c["reconnects"], c["requests"])
	}
	if c["outages"] != 0 || len(r.Errors) != 0 {
		t.Errorf("outages %d, errors %+v; want none", c["outages"], r.Errors)
	}
	if r.Params.Model != bench.ModelClosedLoop || !strings.Contains(stdout, "closed loop") {
		t.Errorf("model %q, report:\n%s", r.Params.Model, stdout)
	}
}
