package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// TestLoadTextClock: the report names the payload clock delivery came from,
// and warns loudly when it is coarser than the latencies it measured.
func TestLoadTextClock(t *testing.T) {
	for _, coarse := range []bool{false, true} {
		r := sseResult(t)
		r.Clock = &bench.ClockResult{Field: "time", Unit: "ms", ResolutionMs: 1, Coarse: coarse}
		var b bytes.Buffer
		if err := LoadText(&b, r, nil, TextOptions{Width: 100}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "delivery from the payload's time (ms, 1.00ms resolution)") {
			t.Errorf("coarse %v: the clock is not named:\n%s", coarse, out)
		}
		if got := strings.Contains(out, "COARSE CLOCK: the payload's time counts in steps of 1.00ms"); got != coarse {
			t.Errorf("coarse %v: warning shown %v:\n%s", coarse, got, out)
		}
	}
}
