package pubsub

// A hub spread over processes (`rtbench serve --procs N`): each process
// keeps its own Hub, and one Sequencer (in the parent process) orders every
// publish. A member hub that publishes sends the message to the sequencer;
// the sequencer gives it the channel's next seq and its sched_ns and sends
// it, in one order, to every member, the publisher included; each member
// keeps it as a local publish would (Hub.keep) and wakes its subscribers. So
// every process holds the same messages under the same seqs: an SSE
// Last-Event-ID, a poll's ?since=N or an Ably channel serial taken from one
// process resumes in any other, and the delivery latency (sent_ns −
// sched_ns) still counts from the time the message was accepted, now by the
// sequencer, including the hop to the process that delivers it.
//
// The wire is a stream (a unix socket) of JSON lines. Member → sequencer:
//
//	{"op":"pub","id":N,"ch":"news","data":{…},"from":F}   publish; id is the member's
//	{"op":"hold","ch":"news","on":true}                   the member has subscribers of ch (or none: false)
//
// Sequencer → member:
//
//	{"op":"msg","ch":"news","seq":S,"sched":T,"data":{…},"from":F,"member":M,"id":N}
//	{"op":"err","id":N,"err":"…"}                         the publish N was refused
//
// Subscription IDs are unique across members (member << 48 + n), so a
// WebSocket member's own message is skipped in whichever process it comes
// back. The sequencer forgets a channel after IdleTTL with no publish and no
// member holding subscribers, as a single hub does; its seqs then restart
// at 1, and a member that still kept the channel's history (with no
// subscriber, or it would be held) restarts it too.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// ErrRelayClosed is returned by Publish once the link to the sequencer is
// lost (the parent process is gone or stopping).
var ErrRelayClosed = errors.New("the hub's relay to the other processes is closed")

type frame struct {
	Op     string          `json:"op"`
	ID     uint64          `json:"id,omitempty"`
	Ch     string          `json:"ch,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	From   uint64          `json:"from,omitempty"`
	On     bool            `json:"on,omitempty"`
	Seq    uint64          `json:"seq,omitempty"`
	Sched  int64           `json:"sched,omitempty"`
	Member int             `json:"member,omitempty"`
	Err    string          `json:"err,omitempty"`
}

// encode is f as one line. HTML characters stay as they are (json.Marshal
// would escape them), so a message's data is the same bytes in every
// member as in a single hub.
func (f *frame) encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(f) // a frame always encodes; Encode ends the line
	return b.Bytes()
}

// Sequencer orders the publishes of the member hubs connected to it
// (Add). It is safe for concurrent use.
type Sequencer struct {
	opts Options

	mu       sync.Mutex
	members  map[int]*memberConn
	channels map[string]*seqChannel
	swept    int64
}

type seqChannel struct {
	last    uint64
	active  int64        // Unix ns of the last publish or release
	holders map[int]bool // members with subscribers
}

type memberConn struct {
	w   *bufio.Writer
	c   io.Closer
	bad bool // a write failed: the member is gone
}

// NewSequencer returns a sequencer; opts gives IdleTTL and MaxChannels (per
// member) as for a Hub.
func NewSequencer(opts Options) *Sequencer {
	o := New(opts).opts // the defaults
	return &Sequencer{opts: o, members: map[int]*memberConn{}, channels: map[string]*seqChannel{}, swept: o.now().UnixNano()}
}

// Add makes conn the link to member number member (1 or more): from now on
// it gets every message. serve reads the member's frames until conn fails
// or is closed, and closes it; run it on a goroutine of its own.
func (s *Sequencer) Add(member int, conn io.ReadWriteCloser) (serve func() error) {
	mc := &memberConn{w: bufio.NewWriter(conn), c: conn}
	s.mu.Lock()
	s.members[member] = mc
	s.mu.Unlock()
	return func() error { return s.serve(member, conn) }
}

func (s *Sequencer) serve(member int, conn io.ReadWriteCloser) error {
	defer func() {
		s.mu.Lock()
		delete(s.members, member)
		for _, ch := range s.channels {
			delete(ch.holders, member)
		}
		s.mu.Unlock()
		conn.Close()
	}()
	dec := json.NewDecoder(bufio.NewReader(conn))
	for {
		var f frame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch f.Op {
		case "pub":
			s.publish(member, &f)
		case "hold":
			s.hold(member, f.Ch, f.On)
		}
	}
}

func (s *Sequencer) publish(member int, f *frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.now().UnixNano()
	ch := s.channels[f.Ch]
	if ch == nil {
		if now-s.swept >= int64(s.opts.IdleTTL)/4 || len(s.channels) >= s.opts.MaxChannels*max(len(s.members), 1) {
			s.sweepLocked(now)
		}
		if len(s.channels) >= s.opts.MaxChannels*max(len(s.members), 1) {
			s.sendLocked(member, &frame{Op: "err", ID: f.ID, Err: ErrTooManyChannels.Error()})
			return
		}
		ch = &seqChannel{holders: map[int]bool{}}
		s.channels[f.Ch] = ch
	}
	ch.last++
	ch.active = now
	out := frame{Op: "msg", Ch: f.Ch, Seq: ch.last, Sched: now, Data: f.Data, From: f.From, Member: member, ID: f.ID}
	b := out.encode()
	for id := range s.members {
		s.writeLocked(id, b)
	}
}

func (s *Sequencer) hold(member int, name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil {
		if !on {
			return
		}
		ch = &seqChannel{holders: map[int]bool{}, active: s.opts.now().UnixNano()}
		s.channels[name] = ch
	}
	if on {
		ch.holders[member] = true
	} else {
		delete(ch.holders, member)
		ch.active = s.opts.now().UnixNano()
	}
}

func (s *Sequencer) sweepLocked(now int64) {
	s.swept = now
	for name, ch := range s.channels {
		if len(ch.holders) == 0 && now-ch.active >= int64(s.opts.IdleTTL) {
			delete(s.channels, name)
		}
	}
}

func (s *Sequencer) sendLocked(member int, f *frame) { s.writeLocked(member, f.encode()) }

// writeLocked writes one line to a member; a member whose write fails is
// closed (its Serve returns) and skipped from then on.
func (s *Sequencer) writeLocked(member int, line []byte) {
	mc := s.members[member]
	if mc == nil || mc.bad {
		return
	}
	if _, err := mc.w.Write(line); err == nil {
		if err = mc.w.Flush(); err == nil {
			return
		}
	}
	mc.bad = true
	mc.c.Close()
}

// Relay is a hub's link to the sequencer (Join).
type Relay struct {
	hub    *Hub
	member int
	conn   io.ReadWriteCloser
	done   chan struct{} // closed when the reader has ended
	wrote  chan struct{} // closed when the writer has ended

	mu      sync.Mutex
	nextID  uint64
	waiting map[uint64]chan result
	queue   [][]byte      // frames to send, in order
	wake    chan struct{} // a frame was queued
	closed  bool
	err     error
}

type result struct {
	m   *Message
	n   int
	err error
}

// Join makes h member number member (1 to 65535) of the hub the sequencer
// at the other end of conn orders. Call it before the hub is used: every
// Publish then goes through the sequencer. It returns the link, which
// closes conn when Close is called or conn fails.
func (h *Hub) Join(member int, conn io.ReadWriteCloser) *Relay {
	r := &Relay{hub: h, member: member, conn: conn, done: make(chan struct{}), wrote: make(chan struct{}),
		waiting: map[uint64]chan result{}, wake: make(chan struct{}, 1)}
	h.nextID.Store(uint64(member) << 48)
	h.relay.Store(r)
	go r.read()
	go r.write()
	return r
}

// Done is closed once the link is lost or closed.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Err is why the link ended (nil after Close or a clean EOF).
func (r *Relay) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close ends the link: publishes fail with ErrRelayClosed from then on.
func (r *Relay) Close() error {
	r.fail(nil)
	<-r.done
	<-r.wrote
	return nil
}

func (r *Relay) fail(err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed, r.err = true, err
	waiting := r.waiting
	r.waiting = nil
	r.mu.Unlock()
	for _, w := range waiting {
		w <- result{err: ErrRelayClosed}
	}
	r.conn.Close()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a frame for the writer. The queue is unbounded: a member
// never blocks while holding a channel's lock (Subscribe, Close), which the
// reader may need to keep a message, whatever the socket does.
func (r *Relay) enqueue(f *frame) bool {
	b := f.encode()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.queue = append(r.queue, b)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

func (r *Relay) write() {
	defer close(r.wrote)
	w := bufio.NewWriter(r.conn)
	for {
		r.mu.Lock()
		q, closed := r.queue, r.closed
		r.queue = nil
		r.mu.Unlock()
		if closed {
			return
		}
		for _, b := range q {
			if _, err := w.Write(b); err != nil {
				r.fail(err)
				return
			}
		}
		if len(q) > 0 {
			if err := w.Flush(); err != nil {
				r.fail(err)
				return
			}
			continue
		}
		<-r.wake
	}
}

func (r *Relay) read() {
	defer close(r.done)
	dec := json.NewDecoder(bufio.NewReader(r.conn))
	for {
		var f frame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				err = nil
			}
			r.fail(err)
			return
		}
		switch f.Op {
		case "msg":
			m := &Message{Channel: f.Ch, Seq: f.Seq, SchedNS: f.Sched, Data: []byte(f.Data), From: f.From}
			n := r.hub.keep(m)
			if f.Member == r.member {
				r.reply(f.ID, result{m: m, n: n})
			}
		case "err":
			err := errors.New(f.Err)
			if f.Err == ErrTooManyChannels.Error() {
				err = ErrTooManyChannels
			}
			r.reply(f.ID, result{err: err})
		}
	}
}

func (r *Relay) reply(id uint64, res result) {
	r.mu.Lock()
	w := r.waiting[id]
	delete(r.waiting, id)
	r.mu.Unlock()
	if w != nil {
		w <- res
	}
}

// publish sends a validated, compacted message to the sequencer and waits
// until it comes back numbered and kept. n counts the subscriptions of this
// process only.
func (r *Relay) publish(name string, data []byte, from uint64) (*Message, int, error) {
	w := make(chan result, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, 0, ErrRelayClosed
	}
	r.nextID++
	id := r.nextID
	r.waiting[id] = w
	r.mu.Unlock()
	if !r.enqueue(&frame{Op: "pub", ID: id, Ch: name, Data: data, From: from}) {
		return nil, 0, ErrRelayClosed
	}
	res := <-w
	return res.m, res.n, res.err
}

// holding tells the sequencer that this member now has subscribers of
// name (on) or none (off). Called with the channel's mu held, so the
// frames of one channel are queued in order.
func (r *Relay) holding(name string, on bool) {
	r.enqueue(&frame{Op: "hold", Ch: name, On: on})
}
