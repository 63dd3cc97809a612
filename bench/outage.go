package bench

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// MaxOutages bounds the outages a Recording (and a result file) keeps: the
// largest, by sessions affected. Counter Outages still counts every one.
const MaxOutages = 100

// Outage is one episode of lost connections, as the sessions saw it. It
// starts when a session that was connected loses its connection (and will
// try again) while no other session is waiting to reconnect, and ends when
// no session is waiting any more. A server restart under 1,000 sessions is
// one outage of 1,000 sessions; a fault that breaks one stream now and then
// makes many outages of one session each.
type Outage struct {
	Start time.Time // the first connection of the episode was lost
	// FirstBack is when the first of its sessions was connected again: the
	// downtime as the clients saw it is FirstBack − Start. Zero when none
	// came back before the run ended.
	FirstBack time.Time
	// End is when the last waiting session was connected again (or stopped
	// trying); zero when sessions were still waiting at the end of the run.
	End       time.Time
	Sessions  int64 // connections lost during the episode
	Recovered int64 // of those, connected again within it
}

// outageOrder sorts outages largest first, then earliest, then by every other
// field, so that keeping the first MaxOutages of a union is the same however
// the union was put together (result files merge associatively).
func outageOrder(a, b Outage) int {
	return cmp.Or(
		cmp.Compare(b.Sessions, a.Sessions),
		a.Start.Compare(b.Start),
		a.FirstBack.Compare(b.FirstBack),
		a.End.Compare(b.End),
		cmp.Compare(b.Recovered, a.Recovered),
	)
}

// keepOutages sorts os by outageOrder and cuts it to MaxOutages.
func keepOutages(os []Outage) []Outage {
	slices.SortFunc(os, outageOrder)
	if len(os) > MaxOutages {
		os = os[:MaxOutages]
	}
	return os
}

// outages follows the run's sessions in and out of "waiting to reconnect".
// Sessions call it when a connection is lost and when they connect again,
// so once per connection, never per event.
type outages struct {
	mu      sync.Mutex
	waiting int64
	cur     Outage
	done    []Outage
	count   int64
}

func (o *outages) lost(at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waiting == 0 {
		o.cur = Outage{Start: at}
		o.count++
	}
	o.waiting++
	o.cur.Sessions++
}

// back: a waiting session connected again (recovered) or stopped trying.
func (o *outages) back(at time.Time, recovered bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waiting == 0 {
		return
	}
	if recovered {
		o.cur.Recovered++
		if o.cur.FirstBack.IsZero() {
			o.cur.FirstBack = at
		}
	}
	if o.waiting--; o.waiting == 0 {
		o.cur.End = at
		o.done = append(o.done, o.cur)
		if len(o.done) >= 2*MaxOutages {
			o.done = keepOutages(o.done)
		}
	}
}

// started is how many outages have begun so far, the open one included:
// the live counter (Progress) that finish's count ends as.
func (o *outages) started() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count
}

// finish returns the outages, the one still open (End zero) included, and
// their count.
func (o *outages) finish() ([]Outage, int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.done)
	if o.waiting > 0 {
		out = append(out, o.cur)
	}
	return keepOutages(out), o.count
}
