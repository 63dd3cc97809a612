// Package pubsub is the channel hub behind the mock server's managed pub/sub
// pattern: a message published to a channel reaches every SSE, WebSocket and
// polling subscriber of that channel, in order, each with a per-channel
// sequence number.
//
// Each channel keeps its last messages: at most RingSize of them and at most
// ChannelBytes bytes, and all channels together at most MaxBytes bytes; past
// either bound the oldest messages are dropped first (the hub-wide oldest for
// MaxBytes). A channel with no subscriber and no publish for IdleTTL is
// evicted with its history. So the hub's memory is bounded whatever clients
// publish: MaxBytes of kept messages plus MaxChannels empty channels.
// Subscribers do not own queues: each holds a cursor into the kept messages and waits on a broadcast
// channel that is closed on every publish, so publishing costs the same for
// one subscriber or ten thousand, a slow subscriber never blocks a fast one,
// and resuming after a reconnect (SSE Last-Event-ID, a poll's ?since=N) is a
// read of the kept messages from the client's cursor: no gap and no duplicate as long
// as the client is less than the kept messages behind.
package pubsub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultRingSize     = 1024
	DefaultMaxChannels  = 10000
	DefaultMaxData      = 64 << 10
	DefaultMaxBytes     = 256 << 20
	DefaultChannelBytes = 16 << 20
	DefaultIdleTTL      = 5 * time.Minute
)

// Options configures a Hub. The zero value gives the defaults.
type Options struct {
	RingSize    int // messages kept per channel for replay and polling; default 1024
	MaxChannels int // channels that may exist at once; default 10000
	MaxData     int // bytes of one message's data; default 64 KiB
	// MaxBytes bounds the messages kept by all channels together (their
	// Size); past it the hub-wide oldest are dropped. Default 256 MiB.
	MaxBytes int64
	// ChannelBytes bounds the messages kept by one channel; default 16 MiB,
	// and never more than MaxBytes.
	ChannelBytes int64
	// IdleTTL is how long a channel with no subscriber and no publish is
	// kept; default 5m.
	IdleTTL time.Duration

	now func() time.Time // the clock; tests replace it
}

// Errors returned by the hub.
var (
	ErrBadChannel      = errors.New("channel names are 1-128 characters of A-Z a-z 0-9 _ - . :")
	ErrTooManyChannels = errors.New("too many channels")
	ErrTooLarge        = errors.New("message data too large")
	ErrBadData         = errors.New("message data is not valid JSON")
)

// Message is one published message. It is immutable once published and shared
// by every subscriber that delivers it.
type Message struct {
	Channel string
	Seq     uint64 // per channel, from 1
	SchedNS int64  // when the hub accepted it, Unix ns: the reference for delivery latency
	Data    []byte // compact JSON
	From    uint64 // subscription ID of the WebSocket member that sent it; 0 for HTTP publishes

	head, tail []byte // the JSON envelope around sent_ns, encoded once
}

// messageOverhead is what a kept message costs beyond its bytes: the
// Message struct, its slice headers and its slot in the channel.
const messageOverhead = 160

// Size is the bytes a kept message counts against the hub's budget: its
// data, its encoded envelope and a fixed overhead.
func (m *Message) Size() int64 {
	return int64(len(m.Data)+len(m.head)+len(m.tail)) + messageOverhead
}

// AppendJSON appends the message's envelope to dst:
//
//	{"channel":"c","seq":N,"sched_ns":S,"sent_ns":T,"data":...}
//
// with T = sent, the time of the write. It does not allocate when dst has
// room, so delivering one message to many subscribers encodes it once.
func (m *Message) AppendJSON(dst []byte, sent int64) []byte {
	dst = append(dst, m.head...)
	dst = strconv.AppendInt(dst, sent, 10)
	return append(dst, m.tail...)
}

// Hub holds the channels. It is safe for concurrent use.
type Hub struct {
	opts   Options
	nextID atomic.Uint64
	total  atomic.Int64 // bytes of the messages kept by every channel
	count  atomic.Int64 // messages kept by every channel
	swept  atomic.Int64 // Unix ns of the last sweep for idle channels

	mu       sync.RWMutex
	channels map[string]*channel

	// fifo has one entry per kept message, in publish order, naming its
	// channel: popping it drops that channel's oldest message, which is
	// how MaxBytes drops the hub-wide oldest. Entries of messages a
	// channel dropped itself are skipped (channel.skip), those of evicted
	// channels ignored. Lock order: budget, then a channel's mu.
	budget sync.Mutex
	fifo   []*channel

	// relay, when set (Join), makes this hub one member of a hub spread
	// over processes: see relay.go.
	relay atomic.Pointer[Relay]
}

type channel struct {
	name string

	mu      sync.RWMutex
	kept    []*Message    // oldest first; kept[i].Seq == last-len(kept)+1+i
	bytes   int64         // sum of the kept messages' Size
	last    uint64        // seq of the newest message; 0 when none
	changed chan struct{} // closed and replaced on every publish
	subs    int           // live subscriptions
	active  int64         // Unix ns of the last publish, subscribe or close
	skip    int           // fifo entries of messages this channel dropped itself
	gone    bool          // evicted: look the channel up again
}

// first is the seq of the oldest kept message (last+1 when none is kept).
func (ch *channel) first() uint64 { return ch.last - uint64(len(ch.kept)) + 1 }

// dropOldest drops the oldest kept message and returns its size.
func (ch *channel) dropOldest() int64 {
	m := ch.kept[0]
	ch.kept[0] = nil
	ch.kept = ch.kept[1:]
	if len(ch.kept) == 0 {
		ch.kept = nil // let the backing array go
	}
	ch.bytes -= m.Size()
	return m.Size()
}

// New returns a hub.
func New(opts Options) *Hub {
	if opts.RingSize <= 0 {
		opts.RingSize = DefaultRingSize
	}
	if opts.MaxChannels <= 0 {
		opts.MaxChannels = DefaultMaxChannels
	}
	if opts.MaxData <= 0 {
		opts.MaxData = DefaultMaxData
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.ChannelBytes <= 0 {
		opts.ChannelBytes = DefaultChannelBytes
	}
	opts.ChannelBytes = min(opts.ChannelBytes, opts.MaxBytes)
	if opts.IdleTTL <= 0 {
		opts.IdleTTL = DefaultIdleTTL
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	h := &Hub{opts: opts, channels: make(map[string]*channel)}
	h.swept.Store(opts.now().UnixNano())
	return h
}

// RingSize is the number of messages each channel keeps at most.
func (h *Hub) RingSize() int { return h.opts.RingSize }

// Usage is what the hub holds.
type Usage struct {
	Channels int   // channels that exist
	Messages int   // messages kept by all of them
	Bytes    int64 // their Size, counted against MaxBytes
}

// Usage reports what the hub holds now.
func (h *Hub) Usage() Usage {
	h.mu.RLock()
	defer h.mu.RUnlock()
	u := Usage{Channels: len(h.channels), Bytes: h.total.Load()}
	for _, ch := range h.channels {
		ch.mu.RLock()
		u.Messages += len(ch.kept)
		ch.mu.RUnlock()
	}
	return u
}

// ValidChannel reports whether name may be used as a channel name.
func ValidChannel(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// lock returns the channel named name, created if need be, with its mu held
// for writing.
func (h *Hub) lock(name string) (*channel, error) { return h.lockChannel(name, false) }

// lockChannel is lock; force creates the channel past MaxChannels (a
// message the relay's sequencer accepted must be kept in every member).
func (h *Hub) lockChannel(name string, force bool) (*channel, error) {
	for {
		ch, err := h.channel(name, force)
		if err != nil {
			return nil, err
		}
		ch.mu.Lock()
		if !ch.gone {
			return ch, nil
		}
		ch.mu.Unlock() // evicted between the lookup and the lock
	}
}

func (h *Hub) channel(name string, force bool) (*channel, error) {
	if !ValidChannel(name) {
		return nil, ErrBadChannel
	}
	h.mu.RLock()
	ch := h.channels[name]
	h.mu.RUnlock()
	if ch != nil {
		return ch, nil
	}
	now := h.opts.now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch = h.channels[name]; ch != nil {
		return ch, nil
	}
	if len(h.channels) >= h.opts.MaxChannels || now-h.swept.Load() >= int64(h.opts.IdleTTL)/4 {
		h.sweepLocked(now)
	}
	if len(h.channels) >= h.opts.MaxChannels && !force {
		return nil, ErrTooManyChannels
	}
	ch = &channel{name: name, changed: make(chan struct{}), active: now}
	h.channels[name] = ch
	return ch, nil
}

// sweepLocked evicts the channels that had no subscriber and no publish for
// IdleTTL. h.mu is held for writing.
func (h *Hub) sweepLocked(now int64) {
	h.swept.Store(now)
	for name, ch := range h.channels {
		ch.mu.Lock()
		if ch.subs == 0 && now-ch.active >= int64(h.opts.IdleTTL) {
			ch.gone = true
			h.total.Add(-ch.bytes)
			h.count.Add(-int64(len(ch.kept)))
			ch.kept, ch.bytes = nil, 0
			delete(h.channels, name)
		}
		ch.mu.Unlock()
	}
}

// Sweep evicts the idle channels now. The hub also sweeps on its own, as
// channels are created.
func (h *Hub) Sweep() {
	now := h.opts.now().UnixNano()
	h.mu.Lock()
	h.sweepLocked(now)
	h.mu.Unlock()
}

// JSONData turns b into a compact JSON value: b itself (compacted) when it is
// valid JSON, otherwise b as a JSON string. WebSocket chat members send
// either.
func JSONData(b []byte) []byte {
	if json.Valid(b) {
		var buf bytes.Buffer
		if json.Compact(&buf, b) == nil {
			return buf.Bytes()
		}
	}
	s, _ := json.Marshal(string(b)) // invalid UTF-8 becomes U+FFFD
	return s
}

// Publish appends data (which must be valid JSON) to the channel and wakes
// every subscriber. It returns the message and the number of subscriptions
// that were live when it was published. from is the publishing subscription's
// ID, 0 for an HTTP publish.
func (h *Hub) Publish(name string, data []byte, from uint64) (*Message, int, error) {
	if len(data) > h.opts.MaxData {
		return nil, 0, ErrTooLarge
	}
	if !json.Valid(data) {
		return nil, 0, ErrBadData
	}
	var compact bytes.Buffer
	compact.Grow(len(data))
	if err := json.Compact(&compact, data); err != nil {
		return nil, 0, ErrBadData
	}
	ch, err := h.lock(name)
	if err != nil {
		return nil, 0, err
	}
	if r := h.relay.Load(); r != nil {
		// The sequencer numbers the message and sends it back to every
		// member, this one included; it is kept when it comes back.
		ch.mu.Unlock()
		return r.publish(name, compact.Bytes(), from)
	}
	m := &Message{Channel: name, Data: compact.Bytes(), From: from}
	// The timestamp is taken under the lock so that seq order and sched_ns
	// order agree.
	m.Seq = ch.last + 1
	m.SchedNS = h.opts.now().UnixNano()
	return m, h.keepLocked(ch, m), nil
}

// keepLocked appends m (its Seq and SchedNS set) to ch, whose mu is held
// and is released, wakes the subscribers and returns how many there were.
func (h *Hub) keepLocked(ch *channel, m *Message) int {
	m.encode()
	ch.kept = append(ch.kept, m)
	ch.bytes += m.Size()
	ch.last = m.Seq
	ch.active = m.SchedNS
	var dropped, ndropped int64
	for len(ch.kept) > 1 && (len(ch.kept) > h.opts.RingSize || ch.bytes > h.opts.ChannelBytes) {
		dropped += ch.dropOldest()
		ndropped++
		ch.skip++
	}
	close(ch.changed)
	ch.changed = make(chan struct{})
	n := ch.subs
	ch.mu.Unlock()
	h.total.Add(m.Size() - dropped)
	h.count.Add(1 - ndropped)
	h.account(ch)
	return n
}

// keep applies a message the relay's sequencer numbered (m.Seq, m.SchedNS
// set): every member keeps the same messages under the same seqs. A seq
// that does not follow the channel's last (the channel was evicted here,
// or the sequencer forgot it) restarts the channel's history at m.
func (h *Hub) keep(m *Message) int {
	ch, err := h.lockChannel(m.Channel, true)
	if err != nil { // a bad name: the sequencer checks none, the publishing member did
		return 0
	}
	if m.Seq != ch.last+1 {
		var dropped, ndropped int64
		for len(ch.kept) > 0 {
			dropped += ch.dropOldest()
			ndropped++
			ch.skip++
		}
		ch.last = m.Seq - 1
		h.total.Add(-dropped)
		h.count.Add(-ndropped)
	}
	return h.keepLocked(ch, m)
}

// account records a message just kept by ch and drops the hub-wide oldest
// while the hub is over MaxBytes.
func (h *Hub) account(ch *channel) {
	h.budget.Lock()
	defer h.budget.Unlock()
	h.fifo = append(h.fifo, ch)
	for h.total.Load() > h.opts.MaxBytes && len(h.fifo) > 0 {
		c := h.fifo[0]
		h.fifo[0] = nil
		h.fifo = h.fifo[1:]
		c.mu.Lock()
		switch {
		case c.gone:
		case c.skip > 0:
			c.skip--
		case len(c.kept) > 0:
			h.total.Add(-c.dropOldest())
			h.count.Add(-1)
		}
		c.mu.Unlock()
	}
	if len(h.fifo) == 0 {
		h.fifo = nil
	} else if int64(len(h.fifo)) > 2*h.count.Load()+1024 {
		h.compactLocked()
	}
}

// compactLocked removes the fifo entries that no longer stand for a kept
// message (evicted channels, messages a channel dropped itself), so the
// fifo stays proportional to the messages kept.
func (h *Hub) compactLocked() {
	out := make([]*channel, 0, len(h.fifo))
	for _, c := range h.fifo {
		c.mu.Lock()
		switch {
		case c.gone:
		case c.skip > 0:
			c.skip--
		default:
			out = append(out, c)
		}
		c.mu.Unlock()
	}
	h.fifo = out
}

func (m *Message) encode() {
	head := make([]byte, 0, 64+len(m.Channel))
	head = append(head, `{"channel":"`...)
	head = append(head, m.Channel...) // ValidChannel needs no escaping
	head = append(head, `","seq":`...)
	head = strconv.AppendUint(head, m.Seq, 10)
	head = append(head, `,"sched_ns":`...)
	head = strconv.AppendInt(head, m.SchedNS, 10)
	head = append(head, `,"sent_ns":`...)
	tail := make([]byte, 0, len(m.Data)+10)
	tail = append(tail, `,"data":`...)
	tail = append(tail, m.Data...)
	tail = append(tail, '}')
	m.head, m.tail = head, tail
}

// Latest returns the newest message of a channel, or nil, and a channel that
// is closed when a newer one is published.
func (h *Hub) Latest(name string) (*Message, <-chan struct{}, error) {
	ch, err := h.lock(name)
	if err != nil {
		return nil, nil, err
	}
	defer ch.mu.Unlock()
	ch.active = h.opts.now().UnixNano()
	if len(ch.kept) == 0 {
		return nil, ch.changed, nil
	}
	return ch.kept[len(ch.kept)-1], ch.changed, nil
}

// Subscription is one subscriber's cursor into a channel. It is used by one
// goroutine at a time.
type Subscription struct {
	ID      uint64
	SkipOwn bool // skip messages this subscription published (a chat member's own echo)

	ch     *channel
	hub    *Hub
	cursor uint64
	closed bool
}

// Subscribe starts a subscription. With resume, delivery starts after seq
// after (an SSE Last-Event-ID or a poll's since); otherwise it starts with the
// next message published. Close it when done.
func (h *Hub) Subscribe(name string, after uint64, resume bool) (*Subscription, error) {
	ch, err := h.lock(name)
	if err != nil {
		return nil, err
	}
	s := &Subscription{ID: h.nextID.Add(1), ch: ch, hub: h}
	if ch.subs++; ch.subs == 1 {
		if r := h.relay.Load(); r != nil {
			r.holding(name, true)
		}
	}
	s.cursor = ch.last
	if resume && after < ch.last {
		s.cursor = after
	}
	ch.mu.Unlock()
	return s, nil
}

// Next appends to dst the messages after the cursor, oldest first, and moves
// the cursor past them. missed counts messages that had already been dropped
// and cannot be delivered (the subscriber was further behind than the kept
// messages reach); the
// receiver sees them as a gap in seq. changed is closed when a message newer
// than the ones returned is published.
func (s *Subscription) Next(dst []*Message) (msgs []*Message, missed uint64, changed <-chan struct{}) {
	ch := s.ch
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	if s.cursor > ch.last { // the channel restarted (relay.go): deliver from its start
		s.cursor = ch.first() - 1
	}
	if first := ch.first(); s.cursor+1 < first {
		missed = first - 1 - s.cursor
		s.cursor = first - 1
	}
	for _, m := range ch.kept[s.cursor+1-ch.first():] {
		if s.SkipOwn && m.From == s.ID {
			continue
		}
		dst = append(dst, m)
	}
	s.cursor = ch.last
	return dst, missed, ch.changed
}

// Cursor is the seq of the last message handed out.
func (s *Subscription) Cursor() uint64 { return s.cursor }

// Close ends the subscription. It is idempotent.
func (s *Subscription) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.ch.mu.Lock()
	if s.ch.subs--; s.ch.subs == 0 {
		if r := s.hub.relay.Load(); r != nil {
			r.holding(s.ch.name, false)
		}
	}
	s.ch.active = s.hub.opts.now().UnixNano()
	s.ch.mu.Unlock()
}
