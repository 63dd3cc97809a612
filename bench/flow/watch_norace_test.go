//go:build !race

package flow

import (
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/match"
)

// TestWatchAllocs: a subscribe step's per-message work on top of the
// recorder's (one count, one until match) allocates nothing.
func TestWatchAllocs(t *testing.T) {
	w := &watch{Observer: nopObs{}, st: &Step{}, s: &bench.StepSample{}, until: match.MustParse("text==never"), count: 1 << 30, cancel: func() {}}
	e := &transport.Event{Kind: transport.KindMessage, Data: []byte(`{"text":"hello","n":1}`), At: time.Now()}
	if n := testing.AllocsPerRun(1000, func() { w.Event(e) }); n != 0 {
		t.Errorf("%v allocations per message, want 0", n)
	}
}
