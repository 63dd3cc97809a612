package bench

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// fakeSub is a subscriber that connects, then receives the seqs of script
// (relative to the published base) as soon as they are published.
type fakeSub struct {
	seqs    []uint64 // to deliver, in order; each waits until it is published
	pub     *fakePub
	connect bool
}

type fakePub struct {
	seqs []chan struct{} // closed when seq i+1 is published
}

func (s *fakeSub) Run(ctx context.Context, obs transport.Observer) error {
	if !s.connect {
		<-ctx.Done()
		return nil
	}
	obs.Connected(&transport.Connect{Start: time.Now(), Headers: time.Now(), Status: 200})
	for _, q := range s.seqs {
		select {
		case <-ctx.Done():
			return nil
		case <-s.pub.seqs[q-1]:
		}
		now := time.Now()
		obs.Event(&transport.Event{Kind: transport.KindMessage, At: now,
			Stamp: transport.Stamp{HasSeq: true, Seq: q, HasSched: true, SchedNS: now.Add(-time.Millisecond).UnixNano()}})
	}
	<-ctx.Done()
	return nil
}

func TestCompareRunPattern(t *testing.T) {
	tests := []struct {
		name           string
		subs           []fakeSub
		delivered      int64
		lost, dup      int64
		connected      int
		minBytesUpdate float64
	}{
		{"every update once", []fakeSub{{seqs: []uint64{1, 2, 3, 4}, connect: true}, {seqs: []uint64{1, 2, 3, 4}, connect: true}}, 8, 0, 0, 2, 0},
		{"a gap and a duplicate", []fakeSub{{seqs: []uint64{1, 2, 3, 4}, connect: true}, {seqs: []uint64{1, 1, 3, 4}, connect: true}}, 7, 1, 1, 2, 0},
		{"a subscriber that never connected loses all", []fakeSub{{seqs: []uint64{1, 2, 3, 4}, connect: true}, {}}, 4, 4, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePub{}
			for range 4 {
				pub.seqs = append(pub.seqs, make(chan struct{}))
			}
			next := uint64(0)
			// Settle bounds the wait for subscribers to connect before the
			// first update (Connected is counted then): it ends as soon as
			// all did, so a generous bound costs only the case whose
			// subscriber never connects, and a busy machine that takes
			// 200 ms to start a goroutine no longer counts none.
			c := Compare{Subscribers: len(tt.subs), Updates: 40, Duration: 100 * time.Millisecond, Settle: 3 * time.Second,
				Drain: 200 * time.Millisecond,
				Publish: func(context.Context, string, []byte) (uint64, error) {
					next++
					close(pub.seqs[next-1])
					return next, nil
				}}
			run := CompareRun{Name: "fake", Pattern: "sse", URL: "http://fake/", Channel: "c",
				NewSession: func(i int, _ *http.Client) transport.Session {
					s := tt.subs[i]
					s.pub = pub
					return &s
				}}
			pr, err := c.RunPattern(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Published != 4 || pr.Delivered != tt.delivered || pr.Lost != tt.lost || pr.Duplicates != tt.dup || pr.Connected != tt.connected {
				t.Errorf("published %d delivered %d lost %d dup %d connected %d; want 4 %d %d %d %d",
					pr.Published, pr.Delivered, pr.Lost, pr.Duplicates, pr.Connected, tt.delivered, tt.lost, tt.dup, tt.connected)
			}
			if pr.Result.Interrupted || pr.Result.Counters["lost"] != tt.lost {
				t.Errorf("result interrupted %v, lost counter %d", pr.Result.Interrupted, pr.Result.Counters["lost"])
			}
			if m, ok := pr.Delivery(); !ok || m.Count != tt.delivered+tt.dup {
				t.Errorf("delivery histogram %+v", m)
			}
			var n int64
			for _, s := range pr.Series {
				n += s.Count
			}
			if n != tt.delivered {
				t.Errorf("series counts %d deliveries, want %d", n, tt.delivered)
			}
		})
	}
}

func TestUpdateData(t *testing.T) {
	for _, size := range []int{8, 9, 128, 4096} {
		if d := updateData(size); len(d) != size || d[0] != '{' || d[len(d)-1] != '}' {
			t.Errorf("size %d: %q", size, d)
		}
	}
}

// TestCompareInterruptedCutOff: an interrupted run does not count as lost
// the updates still on their way: only the gaps below each subscriber's
// last update are lost; what is past it was cut off.
func TestCompareInterruptedCutOff(t *testing.T) {
	pub := &fakePub{}
	for range 4 {
		pub.seqs = append(pub.seqs, make(chan struct{}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := []fakeSub{{seqs: []uint64{1, 2}, connect: true}, {seqs: []uint64{1, 3}, connect: true}}
	var received sync.WaitGroup
	received.Add(4)
	next := uint64(0)
	c := Compare{Subscribers: 2, Updates: 40, Duration: 100 * time.Millisecond, Settle: 3 * time.Second, Drain: 5 * time.Second,
		Publish: func(context.Context, string, []byte) (uint64, error) {
			next++
			close(pub.seqs[next-1])
			if next == 4 {
				received.Wait() // both subscribers got what they will get
				cancel()        // Ctrl-C, with update 4 still on its way
			}
			return next, nil
		}}
	run := CompareRun{Name: "fake", Pattern: "sse", URL: "http://fake/", Channel: "c",
		NewSession: func(i int, _ *http.Client) transport.Session {
			s := subs[i]
			s.pub = pub
			return &countingSub{fakeSub: &s, done: &received}
		}}
	pr, err := c.RunPattern(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Published != 4 || pr.Delivered != 4 || pr.Lost != 1 || pr.CutOff != 3 || pr.Result.Counters["lost"] != 1 {
		t.Errorf("published %d delivered %d lost %d (counter %d) cut off %d; want 4 4 1 3: only subscriber 2's update 2 is lost",
			pr.Published, pr.Delivered, pr.Lost, pr.Result.Counters["lost"], pr.CutOff)
	}
}

// countingSub is a fakeSub that marks each event it delivers done.
type countingSub struct {
	*fakeSub
	done *sync.WaitGroup
}

func (s *countingSub) Run(ctx context.Context, obs transport.Observer) error {
	return s.fakeSub.Run(ctx, &doneObserver{Observer: obs, done: s.done})
}

type doneObserver struct {
	transport.Observer
	done *sync.WaitGroup
}

func (o *doneObserver) Event(e *transport.Event) {
	o.Observer.Event(e)
	o.done.Done()
}
