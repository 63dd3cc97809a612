package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/match"
)

// errDone ends a subscription whose until, count or for was met.
var errDone = errors.New("subscription done")

// subscribe opens the step's subscription through the protocol table and
// holds it until its until condition holds on a message, count messages
// arrived, for elapsed, or (an AI stream with none of them) the stream
// ends. Every observation goes on to the session's observer, as a plain
// load session's does; the wrapper adds one check per message.
func (r *runner) subscribe(ctx context.Context, st *Step, s *bench.StepSample) error {
	u, err := r.url(st)
	if err != nil {
		return err
	}
	w := &watch{Observer: r.obs, r: r, st: st, count: st.Count, until: st.until, s: s}
	s.Requests++ // the subscription's request (or WebSocket upgrade)
	if st.untilT != nil {
		if w.until, err = match.Parse(st.untilT.render(r.vals)); err != nil {
			return fmt.Errorf("until: %v", err)
		}
	}
	so := r.o.Session
	so.Request = transport.Request{URL: u, Method: st.Method}
	if len(st.Header) > 0 {
		so.Request.Header = make(http.Header, len(st.Header))
		for _, h := range st.Header {
			so.Request.Header.Set(h.name, h.val.render(r.vals))
		}
	}
	if !st.Body.empty() {
		so.Request.Body = []byte(st.Body.render(r.vals))
	}
	if len(st.send) > 0 {
		ts := make([]*transport.SendTemplate, len(st.send))
		for i, m := range st.send {
			if ts[i], err = transport.ParseSendTemplate(m.render(r.vals), r.lookupEnv); err != nil {
				return fmt.Errorf("send: %v", err)
			}
		}
		so.Request.Send = transport.NewSender(ts, 0)
	}
	so.Reconnect.Policy = transport.PolicyNever
	so.One, so.Repeat, so.Once = true, false, false
	so.First = nil
	if so.HTTP == nil {
		so.HTTP = r.hc
	}
	sctx, cancel := context.WithTimeoutCause(ctx, st.Timeout, errTimeout)
	defer cancel()
	w.cancel = func() { cancel() }
	if st.For > 0 {
		t := time.AfterFunc(st.For, func() { w.done.Store(true); cancel() })
		defer t.Stop()
	}
	runErr := st.proto.New(so).Run(sctx, w)
	if w.captureErr != nil {
		return w.captureErr
	}
	switch {
	case w.done.Load():
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(context.Cause(sctx), errTimeout):
		return &transport.Error{Class: transport.ClassTimeout, Err: fmt.Errorf("%s within its timeout %v", w.unmet(), st.Timeout)}
	case runErr != nil:
		return runErr
	case w.until == nil && w.count == 0 && st.For == 0:
		return nil // an AI stream that ended: done
	}
	return &transport.Error{Class: transport.ClassUntilUnmet, Err: fmt.Errorf("the stream ended: %s", w.unmet())}
}

var errTimeout = errors.New("step timeout")

// watch passes a subscription's observations on and watches its messages.
type watch struct {
	transport.Observer
	r          *runner
	st         *Step
	s          *bench.StepSample // the step's: bytes, and staleness from the message that ended it
	until      *match.Expr
	count      int
	seen       int
	done       atomic.Bool
	cancel     func()
	captureErr error
}

// Event implements transport.Observer.
func (w *watch) Event(e *transport.Event) {
	w.Observer.Event(e)
	if w.done.Load() || (e.Kind != transport.KindMessage && e.Kind != transport.KindToken) {
		return
	}
	w.seen++
	w.s.Bytes += int64(max(e.Size, len(e.Data)))
	if w.until != nil && !w.until.Match(e.Data) {
		return
	}
	if w.until == nil && (w.count == 0 || w.seen < w.count) {
		return
	}
	if w.until != nil && w.count > 0 && w.seen < w.count {
		return
	}
	if len(w.st.capture) > 0 {
		w.captureErr = w.r.capture(w.st, nil, e.Data)
	}
	stale(w.st, w.s, e.At, e.Data)
	w.done.Store(true)
	w.cancel()
}

func (w *watch) unmet() string {
	switch {
	case w.until != nil:
		return fmt.Sprintf("no message matched until %s (%d messages)", w.until, w.seen)
	case w.count > 0:
		return fmt.Sprintf("%d of %d messages", w.seen, w.count)
	}
	return "not done"
}

func (r *runner) lookupEnv(k string) (string, bool) {
	if r.o.Getenv == nil {
		return "", false
	}
	v := r.o.Getenv(k)
	return v, v != ""
}
