package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Chat defaults: compare's chat workload is ChatMembers members of one
// room, each sending ChatRate messages per second.
const (
	DefaultChatMembers = 10
	DefaultChatRate    = 1.0
)

// ChatMessage is one message a member sends: ID numbers it in the run
// (member m's k-th message is m×per + k + 1), Sched is its intended send
// time, from which its delivery is measured (open loop: a send that waits
// counts), and Data its JSON, which carries both (ChatData).
type ChatMessage struct {
	ID    uint64
	Sched time.Time
	Data  []byte
}

// ChatRun is one protocol of compare's chat workload.
type ChatRun struct {
	Name    string // in the table: "ws room", "sse + POST" …
	Pattern string // the Result's pattern
	URL     string // the members' receiving URL, for the Result
	// Sends says how members send, for the table: "socket", "POST
	// /api/publish", …
	Sends string
	// Warm is waited after every member connected, before sending (a
	// long-poll client's first held request follows its first poll).
	Warm     time.Duration
	Defaults map[string]string
	// NewSession returns member i's session, using hc. With Send nil the
	// session also sends: each value on outbox is one message's data, sent
	// on its connection; otherwise outbox is nil.
	NewSession func(i int, hc *http.Client, outbox <-chan []byte) transport.Session
	// Send, when set, sends member i's message over HTTP with hc (its own
	// client, whose bytes and requests are counted as the member's).
	Send func(ctx context.Context, hc *http.Client, member int, m ChatMessage) error
	// StampIDs: the path cannot carry ChatData (Pusher's publisher writes
	// {"seq","sched_ns"} itself): read the ID from the payload's seq and
	// the send time from its sched_ns.
	StampIDs bool
}

// ChatResult is what one protocol's chat run measured. Per-message figures
// divide by Delivered: one message received by one member.
type ChatResult struct {
	Name      string  `json:"name"`
	Sends     string  `json:"sends"`
	Members   int     `json:"members"`
	RatePerS  float64 `json:"rate_per_member_per_s"`
	Connected int     `json:"connected"`
	// Sent are the messages members sent (handed to their connection, or
	// answered 2xx); members that had not connected when sending began
	// send nothing, and lose every message. Expected = Sent × Members: every member receives
	// every message, its own included.
	Sent       int64  `json:"sent"`
	SendErrors int64  `json:"send_errors"`
	SendError  string `json:"send_error,omitempty"`
	Expected   int64  `json:"expected"`
	Delivered  int64  `json:"delivered"`
	Lost       int64  `json:"lost"`
	Duplicates int64  `json:"duplicates"`
	// CutOff, in an interrupted run only: the (member, message) pairs not
	// received of messages sent within Drain before the interruption,
	// still on their way; they are not Lost.
	CutOff int64 `json:"cut_off,omitempty"`
	// Bytes on the wire counted at the members' connections, headers
	// included: Up is what members wrote (sends, requests, frames), Down
	// what they read. Requests are HTTP exchanges: up the sending POSTs,
	// down the polls (or one per connection of a stream).
	BytesUp           int64   `json:"bytes_up"`
	BytesDown         int64   `json:"bytes_down"`
	RequestsUp        int64   `json:"requests_up"`
	RequestsDown      int64   `json:"requests_down"`
	ConnectionsPeak   int64   `json:"connections_peak"`
	ConnectionsDialed int64   `json:"connections_dialed"`
	CPUMs             float64 `json:"cpu_ms"`
	CPUMeasured       bool    `json:"cpu_measured"`

	BytesUpPerMsg      float64 `json:"bytes_up_per_msg"`
	BytesDownPerMsg    float64 `json:"bytes_down_per_msg"`
	RequestsUpPerMsg   float64 `json:"requests_up_per_msg"`
	RequestsDownPerMsg float64 `json:"requests_down_per_msg"`
	CPUUsPerMsg        float64 `json:"cpu_us_per_msg"`

	// Result holds the send → receive latency (delivery) over all members.
	Result *Result `json:"result"`
}

// Delivery returns the run's send → receive summary and false when it has
// none.
func (r *ChatResult) Delivery() (MetricResult, bool) {
	if r == nil || r.Result == nil {
		return MetricResult{}, false
	}
	m, ok := r.Result.Metrics[Delivery.String()]
	return m, ok && m.Count > 0
}

// ChatCount returns how many messages each member sends in one run.
func (c Compare) ChatCount() int {
	c = c.withDefaults()
	return max(int(math.Ceil(c.ChatRate*c.Duration.Seconds()-1e-9)), 1)
}

// chatMark opens the member-message field of ChatData.
const chatMark = `"chat":"`

// ChatData is message m's JSON: {"chat":"ID.SCHED_NS","p":"xxx…"}, at least
// size bytes.
func ChatData(m ChatMessage, size int) []byte {
	head := `{` + chatMark + strconv.FormatUint(m.ID, 10) + "." + strconv.FormatInt(m.Sched.UnixNano(), 10) + `","p":"`
	return []byte(head + strings.Repeat("x", max(size-len(head)-2, 0)) + `"}`)
}

// ParseChatMark finds ChatData's field in b (the data itself, an envelope
// holding it, or an echo) and returns the message's ID and send time.
func ParseChatMark(b []byte) (id uint64, sched int64, ok bool) {
	i := bytes.Index(b, []byte(chatMark))
	if i < 0 {
		return 0, 0, false
	}
	rest := b[i+len(chatMark):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, 0, false
	}
	a, s, found := bytes.Cut(rest[:end], []byte("."))
	if !found {
		return 0, 0, false
	}
	id, err := strconv.ParseUint(string(a), 10, 64)
	if err != nil || id == 0 {
		return 0, 0, false
	}
	sched, err = strconv.ParseInt(string(s), 10, 64)
	if err != nil || sched <= 0 {
		return 0, 0, false
	}
	return id, sched, true
}

// RunChat runs one protocol of the chat workload: ChatMembers members join
// (each a session of run), and once all have connected (or after Settle)
// each sends ChatRate messages per second for Duration, message k of a
// member at a random moment of its k-th slot. Every member should receive
// every message once, its own included; the run waits up to Drain after
// the last send for that, then measures send → receive latency, loss and
// duplicates per member, and the bytes, requests, connections and CPU they
// cost.
func (c Compare) RunChat(ctx context.Context, run ChatRun) (*ChatResult, error) {
	c = c.withDefaults()
	if run.NewSession == nil {
		return nil, errors.New("compare: a chat run needs sessions")
	}
	members, per := c.ChatMembers, c.ChatCount()
	total := members * per
	down, up := &transport.CountingDialer{}, &transport.CountingDialer{}
	recv := make([]*http.Client, members)
	send := make([]*http.Client, members)
	outbox := make([]chan []byte, members)
	for i := range members {
		recv[i] = c.countingClient(down, 1)
		if run.Send != nil {
			send[i] = c.countingClient(up, 1)
		} else {
			outbox[i] = make(chan []byte, per)
		}
	}
	defer func() {
		for i := range members {
			recv[i].CloseIdleConnections()
			if send[i] != nil {
				send[i].CloseIdleConnections()
			}
		}
	}()
	st := &chatState{members: make([]*chatMember, members), sentAt: make([]int64, total)}
	for i := range st.members {
		st.members[i] = &chatMember{st: st, seen: make([]uint64, total/64+1), total: uint64(total), stampIDs: run.StampIDs}
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	e := &Engine{
		Plan: Plan{Connections: members, Duration: c.Settle + run.Warm + c.Duration + c.Drain + 10*time.Second},
		NewSession: func(i int) transport.Session {
			var ob <-chan []byte
			if outbox[i] != nil {
				ob = outbox[i]
			}
			return &chatSession{s: run.NewSession(i, recv[i], ob), m: st.members[i]}
		},
	}
	out := &ChatResult{Name: run.Name, Sends: run.Sends, Members: members, RatePerS: c.ChatRate}
	cpu0, cpuOK := processCPU()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stop(errRunDone)
		c.chatSend(runCtx, run, st, per, send, outbox, out)
	})
	rec, err := e.Run(runCtx)
	stop(errRunDone)
	wg.Wait()
	cpu1, _ := processCPU()
	end := time.Now()
	if err != nil {
		return nil, err
	}
	if ctx.Err() == nil && errors.Is(context.Cause(runCtx), errRunDone) {
		rec.Interrupted, rec.Reason = false, ""
	}
	if cpuOK {
		out.CPUMs, out.CPUMeasured = float64(cpu1-cpu0)/float64(time.Millisecond), true
	}
	out.Sent = st.sent.Load()
	out.Expected = out.Sent * int64(members)
	// Each sent message a member did not receive is lost, unless the run
	// was interrupted within Drain of its sending: then it is cut off.
	recent := end.Add(-c.Drain).UnixNano()
	for _, m := range st.members {
		for k, at := range st.sentAt {
			if at == 0 || m.seen[k/64]&(1<<(k%64)) != 0 {
				continue
			}
			if ctx.Err() != nil && at > recent {
				out.CutOff++
			} else {
				out.Lost++
			}
		}
	}
	for _, m := range st.members {
		out.Delivered += m.uniq
		out.Duplicates += m.dup
		if m.exchanges > 0 {
			out.RequestsDown += m.exchanges
		} else {
			out.RequestsDown += m.connects
		}
	}
	if run.Send != nil {
		out.RequestsUp = out.Sent + out.SendErrors
	}
	dn, upc := down.Counts(), up.Counts()
	out.BytesDown = dn.Read + upc.Read
	out.BytesUp = dn.Written + upc.Written
	out.ConnectionsPeak, out.ConnectionsDialed = dn.Peak+upc.Peak, dn.Dialed+upc.Dialed
	if out.Delivered > 0 {
		d := float64(out.Delivered)
		out.BytesUpPerMsg = round6(float64(out.BytesUp) / d)
		out.BytesDownPerMsg = round6(float64(out.BytesDown) / d)
		out.RequestsUpPerMsg = round6(float64(out.RequestsUp) / d)
		out.RequestsDownPerMsg = round6(float64(out.RequestsDown) / d)
		out.CPUUsPerMsg = round6(out.CPUMs * 1000 / d)
	}
	defaults := map[string]string{"members": strconv.Itoa(members), "rate_per_member": fmt.Sprint(c.ChatRate),
		"size_bytes": strconv.Itoa(c.Size), "sends": run.Sends, "settle": c.Settle.String(), "drain": c.Drain.String()}
	for k, v := range run.Defaults {
		defaults[k] = v
	}
	res, err := NewResult(rec, Meta{Version: c.Version, Host: c.Host, URL: run.URL, Pattern: run.Pattern,
		Params: Params{Connections: members, DurationS: c.Duration.Seconds(), Defaults: defaults}})
	if err != nil {
		return nil, err
	}
	res.Counters[Lost.String()] = out.Lost
	res.Counters[Duplicates.String()] = out.Duplicates
	out.Result = res
	if out.SendError != "" && out.Sent < int64(total)/2 {
		return out, fmt.Errorf("compare chat %s: sending failed: %s", run.Name, out.SendError)
	}
	return out, nil
}

// chatSend waits for the members, sends every member's messages on its
// own schedule, then waits up to Drain for every connected member to have
// received all that was sent.
func (c Compare) chatSend(ctx context.Context, run ChatRun, st *chatState, per int, send []*http.Client, outbox []chan []byte, out *ChatResult) {
	connected := c.settle(ctx, &st.connected, len(st.members))
	if ctx.Err() != nil {
		return
	}
	out.Connected = connected
	if transport.Wait(ctx, run.Warm) != nil {
		return
	}
	t0 := time.Now()
	slot := float64(time.Second) / c.ChatRate
	var errMu sync.Mutex
	var wg sync.WaitGroup
	for i, mem := range st.members {
		if !mem.connected.Load() {
			continue // a member that never joined the room says nothing
		}
		wg.Go(func() {
			for k := range per {
				at := t0.Add(time.Duration((float64(k) + rand.Float64()) * slot))
				if transport.Wait(ctx, time.Until(at)) != nil {
					return
				}
				m := ChatMessage{ID: uint64(i*per + k + 1), Sched: at}
				m.Data = ChatData(m, c.Size)
				if run.Send == nil {
					outbox[i] <- m.Data // buffered for all of the member's messages
					st.sentAt[m.ID-1] = at.UnixNano()
					st.sent.Add(1)
					continue
				}
				if err := run.Send(ctx, send[i], i, m); err != nil {
					if ctx.Err() != nil {
						return
					}
					errMu.Lock()
					out.SendErrors++
					if out.SendError == "" {
						out.SendError = err.Error()
					}
					errMu.Unlock()
					continue
				}
				st.sentAt[m.ID-1] = at.UnixNano()
				st.sent.Add(1)
			}
		})
	}
	wg.Wait()
	sent := st.sent.Load()
	if sent == 0 {
		return
	}
	waitUntil(ctx, c.Drain, func() bool {
		for _, m := range st.members {
			if m.connected.Load() && m.got.Load() < sent {
				return false
			}
		}
		return true
	})
}

// chatState is one chat run's state shared by its members and senders.
type chatState struct {
	members   []*chatMember
	connected atomic.Int64
	sent      atomic.Int64
	// sentAt[ID-1] is message ID's send time, Unix ns; 0: not sent. Each
	// member's sender writes its own IDs; RunChat reads them once the
	// senders have returned.
	sentAt []int64
}

// chatMember is one member's receiving side, kept across its session's
// restarts; only its session's goroutine writes it.
type chatMember struct {
	st        *chatState
	seen      []uint64 // bit ID-1: message ID received
	total     uint64
	stampIDs  bool
	uniq, dup int64
	exchanges int64
	connects  int64
	got       atomic.Int64
	connected atomic.Bool
}

func (m *chatMember) markConnected() {
	if !m.connected.Swap(true) {
		m.st.connected.Add(1)
	}
}

// message returns the chat message e carries, if any.
func (m *chatMember) message(e *transport.Event) (id uint64, sched int64, ok bool) {
	if e.Kind != transport.KindMessage && e.Kind != transport.KindEcho {
		return 0, 0, false
	}
	if id, sched, ok = ParseChatMark(e.Data); ok {
		return id, sched, true
	}
	if m.stampIDs && e.Stamp.HasSeq && e.Stamp.HasSched && e.Stamp.Seq > 0 {
		return e.Stamp.Seq, e.Stamp.SchedNS, true
	}
	return 0, 0, false
}

// chatSession runs a member's session with an Observer that feeds its
// chatMember and hands the engine only chat messages, stamped with their
// send time.
type chatSession struct {
	s transport.Session
	m *chatMember
}

func (s *chatSession) Run(ctx context.Context, obs transport.Observer) error {
	return s.s.Run(ctx, &chatObserver{Observer: obs, m: s.m})
}

type chatObserver struct {
	transport.Observer
	m *chatMember
}

func (o *chatObserver) Connected(c *transport.Connect) {
	o.m.connects++
	o.m.markConnected()
	o.Observer.Connected(c)
}

func (o *chatObserver) Exchange(x *transport.Exchange) {
	o.m.exchanges++
	if x.Status != 0 {
		o.m.markConnected()
	}
	o.Observer.Exchange(x)
}

func (o *chatObserver) Event(e *transport.Event) {
	id, sched, ok := o.m.message(e)
	if !ok {
		if e.Kind != transport.KindMessage && e.Kind != transport.KindEcho {
			o.Observer.Event(e) // pongs, comments
		}
		return
	}
	m := o.m
	if id > m.total {
		return
	}
	k := id - 1
	bit := uint64(1) << (k % 64)
	if m.seen[k/64]&bit != 0 {
		m.dup++
		return
	}
	m.seen[k/64] |= bit
	m.uniq++
	m.got.Add(1)
	ev := *e
	ev.Kind = transport.KindMessage
	ev.Stamp = transport.Stamp{SchedNS: sched, HasSched: true}
	o.Observer.Event(&ev)
}
