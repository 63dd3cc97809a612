package flow

import (
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/match"
)

type nopObs struct{ transport.Observer }

func (nopObs) Event(*transport.Event) {}

// BenchmarkWatchEvent is the cost a subscribe step adds per message to a
// plain load session's: the wrapper's count and until match.
func BenchmarkWatchEvent(b *testing.B) {
	w := &watch{Observer: nopObs{}, st: &Step{}, s: &bench.StepSample{}, until: match.MustParse("text==never"), count: 1 << 62, cancel: func() {}}
	e := &transport.Event{Kind: transport.KindMessage, Data: []byte(`{"text":"hello","n":1}`), At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		w.Event(e)
	}
}
