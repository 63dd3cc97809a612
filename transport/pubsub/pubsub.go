// Package pubsub is the channel hub behind the mock server's managed pub/sub
// pattern: a message published to a channel reaches every SSE, WebSocket and
// polling subscriber of that channel, in order, each with a per-channel
// sequence number.
//
// Each channel keeps its last RingSize messages in a ring. Subscribers do not
// own queues: each holds a cursor into the ring and waits on a broadcast
// channel that is closed on every publish, so publishing costs the same for
// one subscriber or ten thousand, a slow subscriber never blocks a fast one,
// and resuming after a reconnect (SSE Last-Event-ID, a poll's ?since=N) is a
// read of the ring from the client's cursor: no gap and no duplicate as long
// as the client is less than RingSize messages behind.
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
	DefaultRingSize    = 1024
	DefaultMaxChannels = 10000
	DefaultMaxData     = 64 << 10
)

// Options configures a Hub. The zero value gives the defaults.
type Options struct {
	RingSize    int // messages kept per channel for replay and polling; default 1024
	MaxChannels int // channels that may exist at once; default 10000
	MaxData     int // bytes of one message's data; default 64 KiB
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

	mu       sync.RWMutex
	channels map[string]*channel
}

type channel struct {
	name string

	mu      sync.RWMutex
	ring    []*Message
	last    uint64        // seq of the newest message; 0 when none
	changed chan struct{} // closed and replaced on every publish
	subs    int           // live subscriptions
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
	return &Hub{opts: opts, channels: make(map[string]*channel)}
}

// RingSize is the number of messages each channel keeps.
func (h *Hub) RingSize() int { return h.opts.RingSize }

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

func (h *Hub) channel(name string) (*channel, error) {
	if !ValidChannel(name) {
		return nil, ErrBadChannel
	}
	h.mu.RLock()
	ch := h.channels[name]
	h.mu.RUnlock()
	if ch != nil {
		return ch, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch = h.channels[name]; ch != nil {
		return ch, nil
	}
	if len(h.channels) >= h.opts.MaxChannels {
		return nil, ErrTooManyChannels
	}
	ch = &channel{name: name, ring: make([]*Message, h.opts.RingSize), changed: make(chan struct{})}
	h.channels[name] = ch
	return ch, nil
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
	ch, err := h.channel(name)
	if err != nil {
		return nil, 0, err
	}
	var compact bytes.Buffer
	compact.Grow(len(data))
	if err := json.Compact(&compact, data); err != nil {
		return nil, 0, ErrBadData
	}
	m := &Message{Channel: name, Data: compact.Bytes(), From: from}

	ch.mu.Lock()
	// The timestamp is taken under the lock so that seq order and sched_ns
	// order agree.
	m.Seq = ch.last + 1
	m.SchedNS = time.Now().UnixNano()
	m.encode()
	ch.ring[m.Seq%uint64(len(ch.ring))] = m
	ch.last = m.Seq
	close(ch.changed)
	ch.changed = make(chan struct{})
	n := ch.subs
	ch.mu.Unlock()
	return m, n, nil
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
	ch, err := h.channel(name)
	if err != nil {
		return nil, nil, err
	}
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	if ch.last == 0 {
		return nil, ch.changed, nil
	}
	return ch.ring[ch.last%uint64(len(ch.ring))], ch.changed, nil
}

// Subscription is one subscriber's cursor into a channel. It is used by one
// goroutine at a time.
type Subscription struct {
	ID      uint64
	SkipOwn bool // skip messages this subscription published (a chat member's own echo)

	ch     *channel
	cursor uint64
	closed bool
}

// Subscribe starts a subscription. With resume, delivery starts after seq
// after (an SSE Last-Event-ID or a poll's since); otherwise it starts with the
// next message published. Close it when done.
func (h *Hub) Subscribe(name string, after uint64, resume bool) (*Subscription, error) {
	ch, err := h.channel(name)
	if err != nil {
		return nil, err
	}
	s := &Subscription{ID: h.nextID.Add(1), ch: ch}
	ch.mu.Lock()
	ch.subs++
	s.cursor = ch.last
	if resume && after < ch.last {
		s.cursor = after
	}
	ch.mu.Unlock()
	return s, nil
}

// Next appends to dst the messages after the cursor, oldest first, and moves
// the cursor past them. missed counts messages that had already left the ring
// and cannot be delivered (the subscriber was more than RingSize behind); the
// receiver sees them as a gap in seq. changed is closed when a message newer
// than the ones returned is published.
func (s *Subscription) Next(dst []*Message) (msgs []*Message, missed uint64, changed <-chan struct{}) {
	ch := s.ch
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	size := uint64(len(ch.ring))
	if ch.last > size && s.cursor < ch.last-size {
		missed = ch.last - size - s.cursor
		s.cursor = ch.last - size
	}
	for seq := s.cursor + 1; seq <= ch.last; seq++ {
		m := ch.ring[seq%size]
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
	s.ch.subs--
	s.ch.mu.Unlock()
}
