package poll_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/match"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// fast retries at once, so failure tests take milliseconds.
var fast = transport.Reconnect{Initial: time.Millisecond, Floor: time.Millisecond, Cap: 2 * time.Millisecond}

// observer records what a session reports (transporttest.Recorder), plus the
// exchanges and the order of every call, and lets a test act on the n-th
// exchange.
type observer struct {
	transporttest.Recorder
	mu         sync.Mutex
	xs         []transport.Exchange
	log        []string // "connect", "event", "exchange", "error", "close", in call order
	OnExchange func(n int, x *transport.Exchange)
}

func (o *observer) note(kind string) {
	o.mu.Lock()
	o.log = append(o.log, kind)
	o.mu.Unlock()
}

func (o *observer) Connected(c *transport.Connect) { o.note("connect"); o.Recorder.Connected(c) }
func (o *observer) Event(e *transport.Event)       { o.note("event"); o.Recorder.Event(e) }
func (o *observer) Error(e *transport.Error)       { o.note("error"); o.Recorder.Error(e) }
func (o *observer) Closed(c *transport.Close)      { o.note("close"); o.Recorder.Closed(c) }

func (o *observer) Exchange(x *transport.Exchange) {
	o.mu.Lock()
	o.log = append(o.log, "exchange")
	o.xs = append(o.xs, *x)
	n := len(o.xs)
	o.mu.Unlock()
	if o.OnExchange != nil {
		o.OnExchange(n, x)
	}
}

func (o *observer) exchanges() []transport.Exchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.xs)
}

func (o *observer) calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.log)
}

// runUntil runs c until it ends by itself (failing the test after 10s).
func runUntil(t *testing.T, c *poll.Client, o transport.Observer) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := c.Run(ctx, o)
	if ctx.Err() != nil {
		t.Fatal("the session did not end by itself")
	}
	return err
}

// start runs c in the background; wait returns Run's error.
func start(ctx context.Context, c *poll.Client, o transport.Observer) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, o) }()
	return func() error { return <-done }
}

// queries records the raw query of every request whose path has prefix.
type queries struct {
	prefix string
	mu     sync.Mutex
	qs     []url.Values
}

func (q *queries) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, q.prefix) {
			q.mu.Lock()
			q.qs = append(q.qs, r.URL.Query())
			q.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (q *queries) all() []url.Values {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.qs)
}

// count returns how many recorded requests had key=value.
func (q *queries) count(key, value string) int {
	n := 0
	for _, v := range q.all() {
		if v.Get(key) == value {
			n++
		}
	}
	return n
}

func publish(t *testing.T, base, channel string, n int) {
	t.Helper()
	body := fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, channel, n)
	resp, err := http.Post(base+"/api/publish", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: %s", resp.Status)
	}
}

func statuses(xs []transport.Exchange) []int {
	var s []int
	for _, x := range xs {
		s = append(s, x.Status)
	}
	return s
}

func changed(xs []transport.Exchange) []bool {
	var s []bool
	for _, x := range xs {
		s = append(s, x.Changed)
	}
	return s
}

// scripted answers the n-th request (from 0) with bodies[n] (the last one
// after the end), without validators.
func scripted(bodies ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(bodies)-1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(bodies[i]))
	}
}

// TestConditional: with validators a state is fetched once and then
// answered 304 (no change, no event); without If-None-Match the same state
// comes back as 200 but is still no change; without ETags the body decides.
func TestConditional(t *testing.T) {
	base, _, _ := serveMock(t, mock.Config{})
	noETag := httptest.NewServer(scripted(`{"v":"A"}`, `{"v":"A"}`, `{"v":"B"}`, `{"v":"B"}`, `{"v":"C"}`))
	defer noETag.Close()
	noETag2 := httptest.NewServer(scripted(`{"v":"A"}`, `{"v":"A"}`, `{"v":"B"}`, `{"v":"B"}`, `{"v":"C"}`))
	defer noETag2.Close()
	tests := []struct {
		name          string
		url           string
		noConditional bool
		wantStatus    []int
		wantChanged   []bool
		wantEvents    int
	}{
		// rate=0.001: the first tick is 1000s away, so the state never changes.
		{"conditional", base + "/poll?rate=0.001", false, []int{200, 304, 304, 304, 304}, []bool{true, false, false, false, false}, 1},
		{"unconditional", base + "/poll?rate=0.001", true, []int{200, 200, 200, 200, 200}, []bool{true, false, false, false, false}, 1},
		{"no-etag-body-decides", noETag.URL, false, []int{200, 200, 200, 200, 200}, []bool{true, false, true, false, true}, 3},
	}
	for _, path := range paths {
		for _, tt := range tests {
			if tt.url == noETag.URL && path.lean != nil {
				tt.url = noETag2.URL // scripted: a server of its own
			}
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				o := &observer{OnExchange: func(n int, _ *transport.Exchange) {
					if n == len(tt.wantStatus) {
						cancel()
					}
				}}
				c := &poll.Client{Request: transport.Request{URL: tt.url}, Interval: time.Millisecond, NoConditional: tt.noConditional, Lean: path.lean}
				if err := c.Run(ctx, o); err != nil {
					t.Fatalf("Run: %v", err)
				}
				xs := o.exchanges()
				if got := statuses(xs); !slices.Equal(got, tt.wantStatus) {
					t.Errorf("statuses %v, want %v", got, tt.wantStatus)
				}
				for i, x := range xs {
					if x.Lean != (path.lean != nil) {
						t.Errorf("exchange %d: Lean %v on the %s path", i, x.Lean, path.name)
					}
				}
				if got := changed(xs); !slices.Equal(got, tt.wantChanged) {
					t.Errorf("changed %v, want %v", got, tt.wantChanged)
				}
				connects, events, errs, _ := o.Snapshot()
				if len(events) != tt.wantEvents || len(connects) != 1 || len(errs) != 0 {
					t.Errorf("%d events, %d connects, errors %v; want %d, 1 (keep-alive), none", len(events), len(connects), errs, tt.wantEvents)
				}
				for _, e := range events {
					if e.Type != "change" || e.Kind != transport.KindMessage || e.Size != len(e.Data) {
						t.Errorf("event %+v: want a change message with its size", e)
					}
				}
			})
		}
	}
}

// TestLongPollEveryTick: each long poll carries since= and wait= and is held
// until the next tick, so every tick arrives exactly once, in order (at a
// rate the client can follow; see TestConformance).
func TestLongPollEveryTick(t *testing.T) {
	q := &queries{prefix: "/poll"}
	base, _, _ := serveMock(t, mock.Config{}, q.wrap)
	const want = 10
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	o := &observer{}
	o.OnEvent = func(n int, _ *transport.Event) {
		if n == want {
			cancel()
		}
	}
	c := &poll.Client{Request: transport.Request{URL: base + "/poll?rate=10&wait=1s"}, LongPoll: 5 * time.Second}
	if err := c.Run(ctx, o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	_, events, _, _ := o.Snapshot()
	if len(events) < want {
		t.Fatalf("%d events, want %d", len(events), want)
	}
	for i, e := range events {
		if !e.Stamp.HasSeq || i > 0 && e.Stamp.Seq != events[i-1].Stamp.Seq+1 {
			t.Fatalf("event %d: seq %d after %d: want every tick once, in order", i, e.Stamp.Seq, events[max(i-1, 0)].Stamp.Seq)
		}
	}
	qs := q.all()
	if _, ok := qs[0]["wait"]; ok {
		t.Fatalf("first request wait=%v, want a plain poll for the current state", qs[0]["wait"])
	}
	for i, v := range qs[1:] {
		if v.Get("wait") != "5s" || len(v["wait"]) != 1 || v.Get("since") == "" {
			t.Fatalf("request %d: %v, want since= and the client's wait=5s replacing the URL's", i+1, v)
		}
	}
	if got, want := qs[1].Get("since"), strconv.FormatUint(events[0].Stamp.Seq, 10); got != want {
		t.Fatalf("second request since=%s, want the first event's seq %s", got, want)
	}
}

// TestChannelMessages: the messages page is split into one event per
// message, the next poll resumes with since=last, and three publishes give
// three events, none lost or repeated, in both plain and long polling.
func TestChannelMessages(t *testing.T) {
	tests := []struct {
		name       string
		client     poll.Client
		sinceAgain int // requests with since=3 to see before stopping
	}{
		{"interval", poll.Client{Interval: 2 * time.Millisecond}, 3},
		{"long-poll", poll.Client{LongPoll: 5 * time.Second}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &queries{prefix: "/api/channels/"}
			base, _, _ := serveMock(t, mock.Config{}, q.wrap)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			firstX := make(chan struct{})
			gotFirst := make(chan struct{})
			o := &observer{OnExchange: func(n int, _ *transport.Exchange) {
				if n == 1 {
					close(firstX)
				}
			}}
			o.OnEvent = func(n int, _ *transport.Event) {
				if n == 1 {
					close(gotFirst)
				}
			}
			c := tt.client
			c.Request.URL = base + "/api/channels/news/messages"
			wait := start(ctx, &c, o)

			<-firstX // the channel exists, empty
			publish(t, base, "news", 1)
			<-gotFirst
			publish(t, base, "news", 2)
			publish(t, base, "news", 3)
			transporttest.Eventually(t, 5*time.Second, "no poll resumed from since=3", func() bool {
				return q.count("since", "3") >= tt.sinceAgain
			})
			cancel()
			if err := wait(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			_, events, errs, _ := o.Snapshot()
			if len(events) != 3 || len(errs) != 0 {
				t.Fatalf("%d events, errors %v; want 3, none", len(events), errs)
			}
			for i, e := range events {
				want := fmt.Sprintf(`"data":{"n":%d}`, i+1)
				if e.Type != "message" || e.Stamp.Seq != uint64(i+1) || !strings.Contains(string(e.Data), want) {
					t.Errorf("event %d: type %q seq %d data %s; want a message with seq %d and %s", i, e.Type, e.Stamp.Seq, e.Data, i+1, want)
				}
			}
			var last uint64
			for i, v := range q.all() {
				s := v.Get("since")
				if i == 0 {
					if s != "" {
						t.Errorf("first request since=%s, want none", s)
					}
					continue
				}
				n, err := strconv.ParseUint(s, 10, 64)
				if err != nil || n < last {
					t.Fatalf("request %d since=%q after %d: want since=last, never going back", i, s, last)
				}
				last = n
			}
		})
	}
}

// TestChannelMissed: messages that left the ring before the poll are
// reported as one non-fatal error; the ones still there arrive.
func TestChannelMissed(t *testing.T) {
	base, _, _ := serveMock(t, mock.Config{Hub: pubsub.Options{RingSize: 2}})
	for i := 1; i <= 5; i++ {
		publish(t, base, "news", i)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	o := &observer{OnExchange: func(int, *transport.Exchange) { cancel() }}
	c := &poll.Client{Request: transport.Request{URL: base + "/api/channels/news/messages?since=0"}}
	if err := c.Run(ctx, o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	_, events, errs, _ := o.Snapshot()
	if len(events) != 2 || events[0].Stamp.Seq != 4 || events[1].Stamp.Seq != 5 {
		t.Fatalf("events %v, want seq 4 and 5", events)
	}
	if len(errs) != 1 || errs[0].Class != transport.ClassOther || errs[0].Fatal || !strings.Contains(errs[0].Error(), "3 messages missed") {
		t.Fatalf("errors %+v, want one non-fatal %q error saying 3 messages missed", errs, transport.ClassOther)
	}
}

// TestJobUntilCompleted: the job status polling flow. POST a job, poll its
// Location until `--until status==completed` matches, and the caller (here
// the observer, as `rtbench listen` does) cancels. Long polling sees every
// state of the job exactly once: the current one, then each change.
func TestJobUntilCompleted(t *testing.T) {
	base, _, _ := serveMock(t, mock.Config{})
	states := []string{
		"status==queued && progress==0",
		"status==running && progress==0",
		"status==running && progress==25",
		"status==running && progress==50",
		"status==running && progress==75",
		"status==completed && progress==100 && result.steps==4",
	}
	tests := []struct {
		name      string
		client    poll.Client
		everyOnce bool
	}{
		{"interval", poll.Client{Interval: 5 * time.Millisecond}, false},
		{"long-poll", poll.Client{LongPoll: 5 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(`{"queued":"100ms","duration":"400ms","steps":4}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /api/jobs: %s", resp.Status)
			}

			until, err := match.Parse("status==completed")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			o := &observer{}
			o.OnEvent = func(_ int, e *transport.Event) {
				if until.Match(e.Data) {
					cancel() // what listen --until does
				}
			}
			c := tt.client
			c.Request.URL = base + resp.Header.Get("Location")
			if err := c.Run(ctx, o); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatal("the job never matched status==completed")
			}
			_, events, errs, _ := o.Snapshot()
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			for i, e := range events {
				if until.Match(e.Data) != (i == len(events)-1) {
					t.Fatalf("event %d %s: only the last should match", i, e.Data)
				}
			}
			if tt.everyOnce {
				if len(events) != len(states) {
					for _, e := range events {
						t.Logf("%s", e.Data)
					}
					t.Fatalf("%d events, want one per state: %d", len(events), len(states))
				}
				for i, e := range events {
					if !match.MustParse(states[i]).Match(e.Data) {
						t.Errorf("event %d %s: want %s", i, e.Data, states[i])
					}
				}
			}
		})
	}
}

// TestBadURL: a URL the session cannot poll is a fatal error at once, not
// a failure retried forever.
func TestBadURL(t *testing.T) {
	for _, u := range []string{"http://%zz", "localhost:8080/poll", "ftp://h/x", "http:///poll"} {
		o := &observer{}
		err := (&poll.Client{Request: transport.Request{URL: u}}).Run(t.Context(), o)
		var e *transport.Error
		if !errors.As(err, &e) || !e.Fatal || e.Class != transport.ClassOther {
			t.Errorf("%q: Run = %v, want a fatal %s error", u, err, transport.ClassOther)
		}
		if _, _, errs, _ := o.Snapshot(); len(errs) != 1 {
			t.Errorf("%q: %d errors reported, want 1", u, len(errs))
		}
	}
}

// TestFirstOpened: a response mode detection already received is the first
// exchange; the request is not sent twice.
func TestFirstOpened(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		fmt.Fprintf(w, `{"seq":%d}`, n)
	}))
	defer srv.Close()
	hc := srv.Client()
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	var opened transport.Opened
	resp, err := transport.Do(hc, req, &opened.Connect)
	if err != nil {
		t.Fatal(err)
	}
	opened.Resp = resp

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	o := &observer{OnExchange: func(n int, _ *transport.Exchange) {
		if n == 3 {
			cancel()
		}
	}}
	c := &poll.Client{Request: transport.Request{URL: srv.URL}, HTTP: hc, Interval: time.Millisecond, First: &opened}
	if err := c.Run(ctx, o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	xs := o.exchanges()
	connects, events, _, _ := o.Snapshot()
	if got := requests.Load(); got != 3 {
		t.Errorf("the server got %d requests for 3 exchanges", got)
	}
	if !xs[0].Start.Equal(opened.Connect.Start) || events[0].Stamp.Seq != 1 {
		t.Errorf("first exchange started %v with seq %d; want the opened response (%v, seq 1)", xs[0].Start, events[0].Stamp.Seq, opened.Connect.Start)
	}
	if len(connects) != 1 {
		t.Errorf("%d connects, want 1", len(connects))
	}
}

// TestConnections: Connected once per TCP connection, not per request; a
// server that closes every connection gives one Connected per poll, each
// preceded by a clean Close of the previous one.
func TestConnections(t *testing.T) {
	tests := []struct {
		name  string
		close bool
		want  []string
	}{
		{"keep-alive", false, []string{"connect", "event", "exchange", "event", "exchange", "event", "exchange"}},
		{"connection-close", true, []string{"connect", "event", "exchange", "close", "connect", "event", "exchange", "close", "connect", "event", "exchange"}},
	}
	for _, path := range paths {
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				var n atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tt.close {
						w.Header().Set("Connection", "close")
					}
					fmt.Fprintf(w, `{"seq":%d}`, n.Add(1))
				}))
				defer srv.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				o := &observer{OnExchange: func(n int, _ *transport.Exchange) {
					if n == 3 {
						cancel()
					}
				}}
				c := &poll.Client{Request: transport.Request{URL: srv.URL}, Interval: time.Millisecond, Lean: path.lean}
				if err := c.Run(ctx, o); err != nil {
					t.Fatalf("Run: %v", err)
				}
				calls := o.calls()
				if got := calls[:len(calls)-1]; !slices.Equal(got, tt.want) { // the last is the Close of the cancel
					t.Fatalf("calls %v, want %v", got, tt.want)
				}
				connects, _, _, closes := o.Snapshot()
				for i, c := range connects {
					if c.Attempt != i || c.Reused {
						t.Errorf("connect %d: Attempt %d Reused %v", i, c.Attempt, c.Reused)
					}
				}
				for _, c := range closes[:len(closes)-1] {
					if !c.Clean || !c.Reconnect {
						t.Errorf("close %+v: want clean, reconnecting", c)
					}
				}
				if last := closes[len(closes)-1]; last.Reconnect || last.Reason != "canceled" {
					t.Errorf("last close %+v: want the cancel's", last)
				}
			})
		}
	}
}

// TestCancelHeldLongPoll: cancelling the session cancels the request the
// server is holding, and Run returns nil.
func TestCancelHeldLongPoll(t *testing.T) {
	held, released := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(held)
		<-r.Context().Done()
		close(released)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	o := &observer{}
	wait := start(ctx, &poll.Client{Request: transport.Request{URL: srv.URL}, LongPoll: 30 * time.Second}, o)
	<-held
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v, want nil after cancel", err)
	}
	<-released // the server saw the request end
	if _, _, errs, _ := o.Snapshot(); len(errs) != 0 {
		t.Fatalf("errors %v: a cancel is not an error", errs)
	}
}

// TestServerDown: a server that goes away mid-session gives non-fatal,
// classified errors, one reconnecting Close each, and polling goes on until
// the server is back, on a new connection.
func TestServerDown(t *testing.T) {
	base, _, shutdown := serveMock(t, mock.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	o := &observer{}
	c := &poll.Client{Request: transport.Request{URL: base + "/poll?rate=1000"}, Interval: 2 * time.Millisecond, Reconnect: fast}
	wait := start(ctx, c, o)
	transporttest.Eventually(t, 5*time.Second, "no events before the shutdown", func() bool {
		_, events, _, _ := o.Snapshot()
		return len(events) >= 2
	})
	shutdown()
	transporttest.Eventually(t, 5*time.Second, "no errors while the server is down", func() bool {
		_, _, errs, _ := o.Snapshot()
		return len(errs) >= 3
	})
	serveMockAt(t, strings.TrimPrefix(base, "http://"), mock.Config{})
	_, before, _, _ := o.Snapshot()
	transporttest.Eventually(t, 5*time.Second, "no events after the restart", func() bool {
		_, events, _, _ := o.Snapshot()
		return len(events) > len(before)
	})
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	connects, _, errs, closes := o.Snapshot()
	refused := 0
	for _, e := range errs {
		if e.Fatal {
			t.Errorf("fatal error %v while the policy retries", e.Error())
		}
		if e.Class == transport.ClassRefused {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("errors %v: want conn_refused among them", errs)
	}
	reconnecting := 0
	for _, c := range closes {
		if c.Reconnect && !c.Clean {
			reconnecting++
		}
	}
	if reconnecting != len(errs) {
		t.Errorf("%d reconnecting closes for %d errors, want one each", reconnecting, len(errs))
	}
	if len(connects) < 2 || connects[len(connects)-1].Attempt != len(connects)-1 {
		t.Errorf("connects %d (last attempt %d): want a new connection after the restart", len(connects), connects[len(connects)-1].Attempt)
	}
}

// delayer is a fake HTTP transport for synctest bubbles: answer n takes
// delays[n] of (fake) time, and carries {"seq":n+1}. It calls the trace
// hooks a real connection would: one connection, reused after the first.
type delayer struct {
	delays []time.Duration
	status []int               // per answer; 200 when missing
	header map[int]http.Header // per answer
	body   string              // every answer's body; empty: {"seq":<n+1>}
	n      int
}

func (d *delayer) RoundTrip(r *http.Request) (*http.Response, error) {
	i := d.n
	d.n++
	trace := httptraceOf(r)
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(gotConn(i > 0))
	}
	if i < len(d.delays) {
		t := time.NewTimer(d.delays[i])
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil, r.Context().Err()
		}
	}
	status := http.StatusOK
	if i < len(d.status) {
		status = d.status[i]
	}
	body := fmt.Sprintf(`{"seq":%d}`, i+1)
	if d.body != "" {
		body = d.body
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range d.header[i] {
		h[k] = v
	}
	return &http.Response{
		StatusCode: status, Status: strconv.Itoa(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: bodyOf(body),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

func httptraceOf(r *http.Request) *httptrace.ClientTrace {
	return httptrace.ContextClientTrace(r.Context())
}

func gotConn(reused bool) httptrace.GotConnInfo { return httptrace.GotConnInfo{Reused: reused} }

func bodyOf(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// TestClientMaxRequests: the session ends cleanly after MaxRequests answered
// exchanges, the server having seen exactly that many requests.
func TestClientMaxRequests(t *testing.T) {
	for _, max := range []int{1, 3} {
		var hits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := hits.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"n":%d}`, n)
		}))
		var rec transporttest.Recorder
		c := &poll.Client{Request: transport.Request{URL: srv.URL}, Interval: time.Millisecond, MaxRequests: max}
		if err := c.Run(t.Context(), &rec); err != nil {
			t.Fatalf("MaxRequests %d: Run: %v", max, err)
		}
		srv.Close()
		_, events, _, closes := rec.Snapshot()
		if hits.Load() != int64(max) || len(events) != max || len(closes) != 1 || !closes[0].Clean || closes[0].Reconnect {
			t.Fatalf("MaxRequests %d: %d requests, %d events, closes %+v", max, hits.Load(), len(events), closes)
		}
	}
}
