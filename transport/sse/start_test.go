package sse

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/internal/netpoll"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// countingObserver counts a session's events and those that are not what
// the server sends.
type countingObserver struct {
	events atomic.Int64
	bad    atomic.Int64 // events that were not what the server sends
	first  func(data []byte) bool
}

func (o *countingObserver) Event(e *transport.Event) {
	if !o.first(e.Data) {
		o.bad.Add(1)
	}
	o.events.Add(1)
}

func (o *countingObserver) Connected(*transport.Connect) {}
func (o *countingObserver) Exchange(*transport.Exchange) {}
func (o *countingObserver) Error(*transport.Error)       {}
func (o *countingObserver) Closed(*transport.Close)      {}

// TestStartHoldsNoGoroutine holds 200 lean sessions started with Start
// against rtbench's own stream and against the Node.js server the tutorial
// writes (testdata/nodesse/server.js): every session gets its events, while
// they are held the process has far fewer goroutines than sessions (the
// pollers read them), and after cancel every done returns nil and no
// goroutine is left, the pollers' included.
func TestStartHoldsNoGoroutine(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no pollers here: Start reads on a goroutine per session")
	}
	ignore := goleak.IgnoreCurrent()
	node := transporttest.ScriptPeer(t, "node", filepath.Join("..", "..", "testdata", "nodesse", "server.js"))
	mux := http.NewServeMux()
	mux.Handle("GET /api/stream", &TutorialStream{})
	srv := httptest.NewServer(mux)
	isTutorial := func(d []byte) bool {
		s := string(d)
		return s == "connected" || strings.HasPrefix(s, `{"time":`)
	}
	for _, tc := range []struct {
		name, url string
		ok        func([]byte) bool
	}{
		{"rtbench", srv.URL + "/api/stream?interval=20ms", isTutorial},
		{"node", node + "/api/stream?interval=20ms", isTutorial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c := &Client{Request: transport.Request{URL: tc.url}, Lean: &Lean{}, Parser: ParserOptions{NoEventIDs: true}}
			obs := make([]*countingObserver, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range obs {
				obs[i] = &countingObserver{first: tc.ok}
				wg.Add(1)
				c.Start(ctx, obs[i], func(err error) { errs <- err; wg.Done() })
			}
			transporttest.Eventually(t, 20*time.Second, "every session to get 3 events", func() bool {
				for _, o := range obs {
					if o.events.Load() < 3 {
						return false
					}
				}
				return true
			})
			if g := sessionGoroutines(); g > n/4 {
				t.Errorf("%d goroutines in a session's code while %d sessions are held, want none but a few opening", g, n)
			}
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("done(%v), want nil after cancel", err)
				}
			}
			for i, o := range obs {
				if o.bad.Load() != 0 {
					t.Errorf("session %d: %d events not what the server sends", i, o.bad.Load())
				}
			}
		})
	}
	srv.Close()
	goleak.VerifyNone(t, ignore)
}

// sessionGoroutines counts the goroutines with a client session's function
// on their stack (the test's server runs in this process too).
func sessionGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sse.(*session)") || strings.Contains(g, "sse.(*Client)") {
			count++
		}
	}
	return count
}

// TestStartBurst: a burst of events far over PollBudget, written at once and
// then nothing, arrives whole and in order: the poller comes back for what
// its budget left in the parser's buffer although the socket has nothing new.
func TestStartBurst(t *testing.T) {
	const n = 5000
	var burst strings.Builder
	for i := range n {
		fmt.Fprintf(&burst, "data: %d\n\n", i)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		io.WriteString(w, burst.String())
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan string, n)
	obs := &countingObserver{first: func(d []byte) bool { got <- string(d); return true }}
	done := make(chan error, 1)
	c := &Client{Request: transport.Request{URL: srv.URL}, Lean: &Lean{}}
	c.Start(ctx, obs, func(err error) { done <- err })
	for i := range n {
		select {
		case d := <-got:
			if d != strconv.Itoa(i) {
				t.Fatalf("event %d: %q", i, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d events arrived", i, n)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("done(%v), want nil", err)
	}
}
