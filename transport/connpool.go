package transport

import (
	"io"
	"sync"
)

// ConnPool keeps idle keep-alive connections for the open model's
// one-request sessions on a lean path (poll.Lean): a session takes one
// when it starts and gives it back when it ends with the connection still
// usable, so a run at a steady rate holds about as many connections as it
// has requests in flight, instead of dialing one per request. Connections
// are kept per key (the destination and source address), at most max in
// all; one offered past that is refused and the caller closes it. An item
// is whatever the lean path keeps per connection. It is safe for concurrent
// use; the zero value is not ready, use NewConnPool.
type ConnPool struct {
	mu   sync.Mutex
	idle map[string][]io.Closer
	n    int
	max  int
}

// NewConnPool returns a pool of at most max idle connections.
func NewConnPool(max int) *ConnPool {
	return &ConnPool{idle: map[string][]io.Closer{}, max: max}
}

// Get takes an idle connection for key, most recently used first; nil when
// there is none.
func (p *ConnPool) Get(key string) io.Closer {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[key]
	if len(l) == 0 {
		return nil
	}
	c := l[len(l)-1]
	l[len(l)-1] = nil
	p.idle[key] = l[:len(l)-1]
	p.n--
	return c
}

// Put offers an idle connection for key; false when the pool is full (the
// caller closes it).
func (p *ConnPool) Put(key string, c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n >= p.max || p.idle == nil {
		return false
	}
	p.idle[key] = append(p.idle[key], c)
	p.n++
	return true
}

// Close ends every idle connection; the pool refuses connections after it.
func (p *ConnPool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.n = nil, 0
	p.mu.Unlock()
	for _, l := range idle {
		for _, c := range l {
			c.Close()
		}
	}
}
