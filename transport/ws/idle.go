package ws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// errIdle is the cause of a connection ended by IdleSession.
var errIdle = errors.New("idle timeout")

// IdleSession ends a WebSocket connection on which nothing arrived (no
// message, no pong) for Timeout after it opened: an idle_timeout error,
// after which the session reconnects as Reconnect says (PolicyNever ends
// it; otherwise, as after an abnormal close, it connects again after
// Reconnect's delay).
type IdleSession struct {
	Inner     transport.Session
	Timeout   time.Duration
	Reconnect transport.Reconnect
}

func (s *IdleSession) Run(ctx context.Context, obs transport.Observer) error {
	for n := 1; ; n++ {
		runCtx, cancel := context.WithCancelCause(ctx)
		w := &idleWatch{Observer: obs, timeout: s.Timeout, fire: func() { cancel(errIdle) }}
		err := s.Inner.Run(runCtx, w)
		w.stop()
		idle := context.Cause(runCtx) == errIdle && ctx.Err() == nil
		cancel(nil)
		if !idle {
			return err
		}
		again := s.Reconnect.Policy != transport.PolicyNever
		e := &transport.Error{Class: transport.ClassIdleTimeout, At: time.Now(), Fatal: !again,
			Err: fmt.Errorf("nothing arrived for %v (--idle-timeout)", s.Timeout)}
		obs.Error(e)
		if !again {
			return e
		}
		if w.delivered {
			n = 1
		}
		if err := transport.Wait(ctx, s.Reconnect.Delay(n, 0, nil)); err != nil {
			return nil
		}
		if g := s.Reconnect.Gate; g != nil {
			if err := g(ctx); err != nil {
				return nil
			}
		}
	}
}

// idleWatch passes observations on and runs a timer from each connection
// and each message: when it expires, fire is called.
type idleWatch struct {
	transport.Observer
	timeout   time.Duration
	fire      func()
	mu        sync.Mutex
	timer     *time.Timer
	delivered bool
}

func (w *idleWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.timeout, w.fire)
		return
	}
	w.timer.Reset(w.timeout)
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *idleWatch) Connected(c *transport.Connect) {
	w.arm()
	w.Observer.Connected(c)
}

func (w *idleWatch) Event(e *transport.Event) {
	w.delivered = true
	w.arm()
	w.Observer.Event(e)
}

func (w *idleWatch) Closed(c *transport.Close) {
	w.stop()
	w.Observer.Closed(c)
}
