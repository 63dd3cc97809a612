package transport

import (
	"context"
	"io"
	"sync"
)

// ConnPool shares keep-alive connections among the open model's
// one-request sessions on a lean path (poll.Lean): a session takes an idle
// connection when it starts and gives it back when it ends with the
// connection still usable, so a steady rate holds about as many connections
// as it has requests in flight instead of dialing one per request. At most
// Max connections exist per key (the destination and source address), idle
// and lent together: a session that finds none idle and the maximum
// reached waits for one to be given back or closed, as wrk2's requests wait
// for one of its -c connections; its latency, counted from its intended
// start, shows the wait. That bounds the dials a burst of late requests can
// set off. It is safe for concurrent use.
type ConnPool struct {
	max    int
	mu     sync.Mutex
	keys   map[string]*subpool
	closed bool
}

type subpool struct {
	idle  chan io.Closer
	slots chan struct{} // one per connection that exists
}

// NewConnPool returns a pool of at most max connections per key.
func NewConnPool(max int) *ConnPool {
	return &ConnPool{max: max, keys: map[string]*subpool{}}
}

func (p *ConnPool) sub(key string) *subpool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.keys[key]
	if s == nil {
		s = &subpool{idle: make(chan io.Closer, p.max), slots: make(chan struct{}, p.max)}
		p.keys[key] = s
	}
	return s
}

// Get returns an idle connection for key, or nil when the caller may dial
// a new one (it then holds a slot until it calls Put or Discard); it waits
// while neither is possible, until ctx ends (its error).
func (p *ConnPool) Get(ctx context.Context, key string) (io.Closer, error) {
	s := p.sub(key)
	select {
	case c := <-s.idle:
		return c, nil
	default:
	}
	select {
	case c := <-s.idle:
		return c, nil
	case s.slots <- struct{}{}:
		return nil, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Put gives back an idle connection got from Get or dialed with its slot.
func (p *ConnPool) Put(key string, c io.Closer) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	s := p.sub(key)
	if closed {
		c.Close()
		p.Discard(key)
		return
	}
	s.idle <- c // never blocks: at most max connections exist
}

// Discard frees the slot of a connection that was closed.
func (p *ConnPool) Discard(key string) {
	<-p.sub(key).slots
}

// Close ends every idle connection; connections given back after it are
// closed.
func (p *ConnPool) Close() {
	p.mu.Lock()
	p.closed = true
	subs := make([]*subpool, 0, len(p.keys))
	for _, s := range p.keys {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	for _, s := range subs {
		for {
			select {
			case c := <-s.idle:
				c.Close()
				<-s.slots
				continue
			default:
			}
			break
		}
	}
}
