package transporttest

import (
	"sync"

	"github.com/rtbench/rtbench/transport"
)

// Recorder is an Observer that keeps copies of everything, for tests. It is
// safe for concurrent use, and OnEvent, when set, is called after each event
// is stored (with the number stored so far) so a test can cancel at a count.
type Recorder struct {
	mu        sync.Mutex
	Connects  []transport.Connect
	Events    []transport.Event
	Exchanges []transport.Exchange
	Errors    []transport.Error
	Closes    []transport.Close

	OnEvent func(n int, e *transport.Event)
}

func (r *Recorder) Connected(c *transport.Connect) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Connects = append(r.Connects, *c)
}

func (r *Recorder) Event(e *transport.Event) {
	r.mu.Lock()
	cp := *e
	cp.Data = append([]byte(nil), e.Data...)
	r.Events = append(r.Events, cp)
	n := len(r.Events)
	r.mu.Unlock()
	if r.OnEvent != nil {
		r.OnEvent(n, e)
	}
}

func (r *Recorder) Exchange(x *transport.Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *x
	cp.Text = append([]byte(nil), x.Text...)
	r.Exchanges = append(r.Exchanges, cp)
}

func (r *Recorder) Error(e *transport.Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors = append(r.Errors, *e)
}

func (r *Recorder) Closed(c *transport.Close) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Closes = append(r.Closes, *c)
}

// Snapshot returns copies of the slices, safe to read while the session runs.
func (r *Recorder) Snapshot() (connects []transport.Connect, events []transport.Event, errs []transport.Error, closes []transport.Close) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(connects, r.Connects...), append(events, r.Events...), append(errs, r.Errors...), append(closes, r.Closes...)
}
