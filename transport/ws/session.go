package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

const (
	echoQueue   = 8        // received messages waiting to be echoed
	maxKeptEcho = 64 << 10 // echo buffers above this are not kept for reuse
)

// closeErr ends a connection with a close frame.
type closeErr struct {
	code   websocket.StatusCode
	reason string // at most 123 bytes
}

func (e *closeErr) Error() string { return e.reason }

var (
	errSlowConsumer = &closeErr{websocket.StatusPolicyViolation, "slow consumer"}
	errCountReached = &closeErr{websocket.StatusNormalClosure, "count reached"}
	errShutdown     = &closeErr{websocket.StatusGoingAway, "server shutting down"}
	errTooLarge     = &closeErr{websocket.StatusMessageTooBig, "message too large for a channel"}
	errPublish      = &closeErr{websocket.StatusInternalError, "publish failed"}
	errInvalidText  = &closeErr{websocket.StatusInvalidFramePayloadData, "invalid UTF-8 in a text message"}

	errStopping = errors.New("connection closing")
)

// closedChan is a closed channel: a select on it proceeds at once.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// echo is one received message on its way back.
type echo struct {
	typ websocket.MessageType
	b   []byte
}

// session is one open connection. Two goroutines run it: the handler's own
// is the only writer of data frames (ticks, room messages, echoes, in one
// order); the reader always runs, so pings are answered and close frames
// seen, and hands echoes to the writer through a bounded queue.
type session struct {
	conn     *websocket.Conn
	raw      net.Conn // the hijacked connection, for write and close deadlines
	hub      *pubsub.Hub
	sub      *pubsub.Subscription // nil without ?channel
	stats    *transport.ServerStats
	p        params
	tl       transport.Timeline
	pushType websocket.MessageType // of ticks and room messages

	writeTimeout time.Duration
	closeTimeout time.Duration

	buf  []byte            // the pushed payload, reused
	msgs []*pubsub.Message // reused by sub.Next

	free     chan []byte // echo buffers the reader may fill
	echoes   chan echo   // filled buffers for the writer; never blocks, as buffers are bounded
	stopping chan struct{}
	readDone chan struct{}
	readErr  error // why the reader stopped; read after readDone

	f *wsFault // injected faults; nil on the normal path
}

func newSession(h *Handler, p params, conn *websocket.Conn, raw net.Conn, sub *pubsub.Subscription) *session {
	s := &session{
		conn:         conn,
		raw:          raw,
		hub:          h.Hub,
		sub:          sub,
		stats:        h.Stats,
		p:            p,
		tl:           h.timeline(p).Spread(p.spread, raw.RemoteAddr().String()),
		pushType:     websocket.MessageText,
		writeTimeout: or(h.WriteTimeout, DefaultWriteTimeout),
		closeTimeout: or(h.CloseTimeout, DefaultCloseTimeout),
		buf:          make([]byte, 0, 256+p.size),
		free:         make(chan []byte, echoQueue),
		echoes:       make(chan echo, echoQueue),
		stopping:     make(chan struct{}),
		readDone:     make(chan struct{}),
	}
	if p.binary {
		s.pushType = websocket.MessageBinary
	}
	for range echoQueue {
		s.free <- nil
	}
	return s
}

// run serves the connection until it ends and both goroutines are done.
func (s *session) run(ctx context.Context) {
	go s.read()
	ce := s.write(ctx)
	close(s.stopping)
	if ce != nil {
		s.close(ce)
	}
	s.conn.CloseNow()
	<-s.readDone
}

// close runs the close handshake, bounded by closeTimeout: coder/websocket
// alone would wait up to 5 s to write the frame and 5 s more for the reply.
func (s *session) close(ce *closeErr) {
	s.raw.SetDeadline(time.Now().Add(s.closeTimeout))
	s.conn.Close(ce.code, ce.reason)
}

// write is the writer loop. It returns how to close, or nil to drop the
// connection (the client closed it, or a write failed).
func (s *session) write(ctx context.Context) *closeErr {
	var (
		tick  <-chan time.Time
		timer *time.Timer
		seq   uint64 // the next tick
		sent  uint64 // ticks written
	)
	if s.tl.Ticking() {
		now := time.Now().UnixNano()
		seq = s.tl.Due(now) + 1
		timer = time.NewTimer(time.Duration(s.tl.Sched(seq) - now))
		defer timer.Stop()
		tick = timer.C
	}
	var changed <-chan struct{}
	if s.sub != nil {
		changed = closedChan // deliver what was published since Subscribe
	}
	if s.f != nil {
		if ce, stop := s.inject(ctx); stop {
			return ce
		}
	}
	for {
		select {
		case <-ctx.Done():
			return errShutdown
		case <-s.readDone:
			var ce *closeErr
			if errors.As(s.readErr, &ce) {
				return ce
			}
			return nil
		case e := <-s.echoes:
			err := s.send(e.typ, e.b)
			if cap(e.b) > maxKeptEcho {
				e.b = nil
			}
			s.free <- e.b[:0]
			if err != nil {
				return nil
			}
		case <-changed:
			s.msgs, _, changed = s.sub.Next(s.msgs[:0])
			for _, m := range s.msgs {
				s.buf = m.AppendJSON(s.buf[:0], time.Now().UnixNano())
				if err := s.send(s.pushType, s.buf); err != nil {
					return nil
				}
				if s.f != nil {
					if ce, stop := s.pushed(ctx); stop {
						return ce
					}
				}
			}
			clear(s.msgs)
		case <-tick:
			now := time.Now().UnixNano()
			sched := s.tl.Sched(seq)
			if sched > now { // the wall clock and the timer's monotonic clock disagree
				timer.Reset(time.Duration(sched - now))
				continue
			}
			s.buf = transport.AppendTick(s.buf[:0], seq, sched, now, s.p.size)
			if err := s.send(s.pushType, s.buf); err != nil {
				return nil
			}
			if sent++; s.p.count > 0 && sent >= s.p.count {
				return errCountReached
			}
			if s.f != nil {
				if ce, stop := s.pushed(ctx); stop {
					return ce
				}
			}
			seq++
			timer.Reset(time.Duration(s.tl.Sched(seq) - time.Now().UnixNano()))
		}
	}
}

// send writes one message under a deadline on the raw connection. The
// context has no Done channel, which keeps coder/websocket from allocating a
// context.AfterFunc per frame; the deadline is cleared afterwards so that
// pongs and the close frame written later are not cut short by it.
func (s *session) send(typ websocket.MessageType, p []byte) error {
	if err := s.raw.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		return err
	}
	err := s.conn.Write(context.Background(), typ, p)
	s.raw.SetWriteDeadline(time.Time{})
	if err != nil {
		return err
	}
	s.stats.Sent(transport.WS, len(p))
	return nil
}

func (s *session) read() {
	defer close(s.readDone)
	s.readErr = s.readLoop()
}

// readLoop reads messages until the connection fails or closes, queueing
// each for its echo and publishing it to the room.
func (s *session) readLoop() error {
	// No Done channel, as in send: reads end when the connection closes.
	ctx := context.Background()
	for {
		if s.f != nil {
			if err := s.f.beforeRead(s.stopping); err != nil {
				return err
			}
		}
		typ, r, err := s.conn.Reader(ctx)
		if err != nil {
			return err
		}
		b, err := takeBuffer(s.free, s.stopping, s.writeTimeout)
		if err != nil {
			return err
		}
		if b, err = readMessage(r, b); err != nil {
			return err
		}
		// coder/websocket does not check text; RFC 6455 §8.1 fails the
		// connection with 1007 rather than echo or publish it.
		if typ == websocket.MessageText && !utf8.Valid(b) {
			return errInvalidText
		}
		if s.sub != nil {
			if err := s.publish(b); err != nil {
				return err
			}
		}
		s.echoes <- echo{typ, b}
	}
}

// publish sends a member's message to the room: to the other members and
// to the channel's SSE and polling subscribers.
func (s *session) publish(b []byte) error {
	_, _, err := s.hub.Publish(s.p.channel, pubsub.JSONData(b), s.sub.ID)
	switch {
	case errors.Is(err, pubsub.ErrTooLarge):
		return errTooLarge
	case err != nil:
		return errPublish
	}
	s.stats.Published()
	return nil
}

// takeBuffer returns a free echo buffer. When every buffer is waiting to be
// echoed, it waits up to wait for the writer to free one, which pushes back
// on the client through TCP; past that the client is reading too slowly to
// take its echoes and the result is errSlowConsumer.
func takeBuffer(free <-chan []byte, stopping <-chan struct{}, wait time.Duration) ([]byte, error) {
	select {
	case b := <-free:
		return b, nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case b := <-free:
		return b, nil
	case <-stopping:
		return nil, errStopping
	case <-t.C:
		return nil, errSlowConsumer
	}
}

// readMessage appends the rest of r to b, growing b only when it is full.
func readMessage(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
