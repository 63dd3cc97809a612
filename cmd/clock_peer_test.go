package cmd

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// Peers that stamp payloads with their own clock, as servers written
// elsewhere do: Node's Date.now() (ms) as the Next.js tutorial's "time",
// Python's time.time() (float seconds) as "timestamp".
func TestPayloadClockPeers(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	node := transporttest.ScriptPeer(t, "node", filepath.Join("..", "testdata", "peer", "clock.js"))
	python := transporttest.ScriptPeer(t, "python3", filepath.Join("..", "testdata", "peer", "clock.py"))
	tests := []struct {
		name, stream, poll string
		field, unit        string
		maxResMs           float64
	}{
		{"node Date.now()", node + "/api/stream?ms=50", node + "/api/state", "time", "ms", 1},
		{"python time.time()", python + "/events?ms=50", python + "/state", "timestamp", "s", 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// listen shows each event's delivery latency.
			code, stdout, stderr := runListen(t, "", "-n", "3", "--json", tt.stream)
			if code != 0 {
				t.Fatalf("listen: exit %d\n%s", code, stderr)
			}
			for line := range strings.Lines(stdout) {
				var e struct {
					Kind       string
					DeliveryMS *float64 `json:"delivery_ms"`
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				if e.Kind == "message" && e.DeliveryMS == nil {
					t.Errorf("listen: no delivery latency in %s", line)
				}
			}
			// --stamp none turns it off.
			_, stdout, _ = runListen(t, "", "-n", "2", "--json", "--stamp", "none", tt.stream)
			if strings.Contains(stdout, "delivery_ms") {
				t.Errorf("--stamp none still measured delivery:\n%s", stdout)
			}
			// load records a delivery histogram from the same field, held
			// streams and closed-loop polling alike, and names the clock.
			for _, args := range [][]string{{"-c", "20", tt.stream}, {"-c", "5", "--interval", "0", tt.poll}} {
				out := filepath.Join(t.TempDir(), "result.json")
				code, stdout, stderr := runLoad(t, t.Context(), append([]string{"-d", "2s", "--out", out}, args...)...)
				if code != 0 {
					t.Fatalf("load %v: exit %d\n%s\n%s", args, code, stdout, stderr)
				}
				r := readResult(t, out)
				d := r.Metrics[bench.Delivery.String()]
				t.Logf("load %v: delivery n=%d p50=%.3fms p99=%.3fms; clock %+v", args, d.Count, d.P50Ms, d.P99Ms, r.Clock)
				if d.Count == 0 {
					t.Errorf("load %v: no delivery histogram", args)
				}
				if c := r.Clock; c == nil || c.Field != tt.field || c.Unit != tt.unit || c.ResolutionMs > tt.maxResMs || c.ResolutionMs <= 0 {
					t.Errorf("load %v: clock %+v, want %s in %s, resolution at most %vms", args, c, tt.field, tt.unit, tt.maxResMs)
				}
				if !strings.Contains(stdout, "delivery from the payload's "+tt.field+" ("+tt.unit) {
					t.Errorf("load %v: the report does not name the clock:\n%s", args, stdout)
				}
			}
		})
	}
}
