package flow

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record is an observer that keeps what a flow reports.
type record struct {
	mu     sync.Mutex
	steps  map[string][]bench.StepSample
	flows  []bench.StepOutcome
	errs   []*transport.Error
	events int
	names  []string
}

func newRecord(sc *Scenario) *record {
	return &record{steps: map[string][]bench.StepSample{}, names: sc.StepNames()}
}

func (r *record) Connected(*transport.Connect) {}
func (r *record) Event(e *transport.Event) {
	r.mu.Lock()
	r.events++
	r.mu.Unlock()
}
func (r *record) Exchange(*transport.Exchange) {}
func (r *record) Closed(*transport.Close)      {}
func (r *record) Error(e *transport.Error) {
	if e.Class == transport.ClassCanceled {
		return
	}
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
}
func (r *record) Step(i int, s bench.StepSample) {
	r.mu.Lock()
	r.steps[r.names[i]] = append(r.steps[r.names[i]], s)
	r.mu.Unlock()
}
func (r *record) Flow(start, end time.Time, o bench.StepOutcome) {
	r.mu.Lock()
	r.flows = append(r.flows, o)
	r.mu.Unlock()
}

func (r *record) outcome(t *testing.T, step string) bench.StepOutcome {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.steps[step]
	if len(s) != 1 {
		t.Fatalf("step %s ran %d times, want 1 (steps %v)", step, len(s), r.steps)
	}
	return s[0].Outcome
}
