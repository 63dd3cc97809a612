package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// DefaultReconnectRate caps the reconnects of a whole run, per second, when
// load is not told otherwise: enough for 10,000 sessions to be back within
// ten seconds of a server restart, few enough that rtbench itself does not
// become the storm that keeps a recovering server down.
const DefaultReconnectRate = 1000

// Gate is a run-wide limit on reconnects: a token bucket of Rate tokens a
// second holding at most Burst. Every session's reconnect (and every restart
// of a closed-model session) takes one token, waiting for it when the bucket
// is empty, so the reconnects that follow a server restart are spread over
// time by this cap on top of each session's own jittered backoff.
//
// It is a GCRA (generic cell rate algorithm): one "theoretical arrival
// time" under a mutex, no goroutine, no timer unless a caller must wait.
type Gate struct {
	interval time.Duration // 1/Rate
	burst    time.Duration // (Burst−1)·interval: how far ahead of tat a caller may go

	mu  sync.Mutex
	tat time.Time // the time the next token is due when the bucket is empty

	delayed atomic.Int64
	passed  atomic.Int64
}

// NewGate returns a Gate passing rate reconnects a second, burst of them at
// once (burst below 1 is 1). rate must be positive and finite.
func NewGate(rate float64, burst int) (*Gate, error) {
	if !(rate > 0) || math.IsInf(rate, 0) || rate > 1e9 {
		return nil, fmt.Errorf("reconnect rate %v: want a number of reconnects per second above 0", rate)
	}
	burst = max(burst, 1)
	iv := time.Duration(float64(time.Second) / rate)
	return &Gate{interval: iv, burst: time.Duration(burst-1) * iv}, nil
}

// Wait takes one token, waiting until one is due or ctx ends (then it
// returns ctx's error and the reserved slot stays used: a cancelled run does
// not need it back).
func (g *Gate) Wait(ctx context.Context) error {
	now := time.Now()
	g.mu.Lock()
	at := g.tat.Add(-g.burst)
	if at.Before(now) {
		at = now
	}
	if g.tat.Before(now) {
		g.tat = now
	}
	g.tat = g.tat.Add(g.interval)
	g.mu.Unlock()
	g.passed.Add(1)
	d := at.Sub(now)
	if d > 0 {
		g.delayed.Add(1)
	}
	return transport.Wait(ctx, d)
}

// Rate is the gate's rate in reconnects per second.
func (g *Gate) Rate() float64 { return float64(time.Second) / float64(g.interval) }

// Passed is how many reconnects took a token; Delayed how many of them had
// to wait for it.
func (g *Gate) Passed() int64  { return g.passed.Load() }
func (g *Gate) Delayed() int64 { return g.delayed.Load() }
