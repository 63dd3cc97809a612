package bench_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/transporttest"
	"github.com/rtbench/rtbench/transport/ws"
)

// heldServerEnv makes TestHeldServer serve the mock: the benchmark runs the
// server in a child process, so that only the client's memory is measured.
const heldServerEnv = "RTBENCH_HELD_SERVER"

// TestHeldServer is not a test: run by BenchmarkHeldSessions as a child
// process, it serves `rtbench serve`'s handlers on a loopback port, prints
// the address, and serves until its stdin closes.
func TestHeldServer(t *testing.T) {
	if os.Getenv(heldServerEnv) == "" {
		t.Skip("the server process of BenchmarkHeldSessions")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := mock.New(mock.Config{})
	go s.Serve(ln)
	fmt.Println(ln.Addr().String())
	buf := make([]byte, 1)
	os.Stdin.Read(buf) // the parent closes stdin when it is done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Close(ctx)
}

// startHeldServer starts TestHeldServer in a child process.
func startHeldServer(b testing.TB) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHeldServer$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), heldServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("the server process: %v", err)
	}
	return strings.TrimSpace(line)
}

// heldObserver counts connections and events, and nothing else.
type heldObserver struct {
	connected *atomic.Int64
	events    atomic.Int64
	errors    *atomic.Int64
}

func (o *heldObserver) Connected(*transport.Connect) { o.connected.Add(1) }
func (o *heldObserver) Event(*transport.Event)       { o.events.Add(1) }
func (o *heldObserver) Exchange(*transport.Exchange) {}
func (o *heldObserver) Error(*transport.Error)       { o.errors.Add(1) }
func (o *heldObserver) Closed(*transport.Close)      {}

// heldSessions is how many sessions BenchmarkHeldSessions holds.
const heldSessions = 1000

// BenchmarkHeldSessions holds 1,000 sessions of each pattern against the mock
// (in a child process, at 1 event/s) the way `rtbench load` builds them, and
// reports the client's memory per held session once every one is connected:
// heap in use (after a GC) and goroutine stacks, per session, and goroutines
// per session. The Recorder's per-session state is not included.
//
//	go test -run '^$' -bench BenchmarkHeldSessions -benchtime 1x ./bench/
func BenchmarkHeldSessions(b *testing.B) {
	addr := startHeldServer(b)
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	never := transport.Reconnect{Policy: transport.PolicyNever}
	cases := []struct {
		name  string
		new   func() transport.Session
		start bool // through transport.Starter, as load holds them
	}{
		{"sse-polled", func() transport.Session {
			return &sse.Client{Request: transport.Request{URL: "http://" + addr + "/sse?rate=1"}, HTTP: hc, Reconnect: never, Lean: &sse.Lean{}}
		}, true},
		{"sse", func() transport.Session {
			return &sse.Client{Request: transport.Request{URL: "http://" + addr + "/sse?rate=1"}, HTTP: hc, Reconnect: never, Lean: &sse.Lean{}}
		}, false},
		{"sse-nethttp", func() transport.Session {
			return &sse.Client{Request: transport.Request{URL: "http://" + addr + "/sse?rate=1"}, HTTP: hc, Reconnect: never}
		}, false},
		{"ws", func() transport.Session {
			return &ws.Client{URL: "ws://" + addr + "/ws?rate=1", HTTP: hc, Reconnect: never, Lean: &ws.Lean{}}
		}, false},
		{"ws-coder", func() transport.Session {
			return &ws.Client{URL: "ws://" + addr + "/ws?rate=1", HTTP: hc, Reconnect: never}
		}, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				holdSessions(b, heldSessions, tc.new, tc.start)
			}
		})
	}
}

func holdSessions(b *testing.B, n int, newSession func() transport.Session, start bool) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	var connected, errs atomic.Int64
	var wg sync.WaitGroup
	for range n {
		obs := &heldObserver{connected: &connected, errors: &errs}
		s := newSession()
		if st, ok := s.(transport.Starter); ok && start {
			wg.Add(1)
			st.Start(ctx, obs, func(error) { wg.Done() })
			continue
		}
		wg.Go(func() { s.Run(ctx, obs) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for connected.Load() < int64(n) && errs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
	}
	ok := connected.Load() == int64(n) && errs.Load() == 0
	// Stacks shrink by half per GC while they use under a quarter: two
	// cycles let the dial's deeper stack settle to what reading needs.
	runtime.GC()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	cancel()
	wg.Wait()
	if !ok {
		b.Fatalf("%d of %d sessions connected, %d errors", connected.Load(), n, errs.Load())
	}
	heap := float64(after.HeapInuse) - float64(before.HeapInuse)
	stack := float64(after.StackInuse) - float64(before.StackInuse)
	b.ReportMetric(heap/float64(n), "heap-B/session")
	b.ReportMetric(stack/float64(n), "stack-B/session")
	b.ReportMetric((heap+stack)/float64(n), "B/session")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/session")
}

// heldStackEnv names the case TestHeldStack runs in its child process.
const heldStackEnv = "RTBENCH_HELD_STACK"

// TestHeldStack: a held lean SSE or WebSocket session's goroutine keeps a
// stack of at most 4 KiB while it reads. The connection is opened on a
// goroutine of its own: net's dial and the header parsing would grow the
// holding goroutine's stack to 8 KiB, and the runtime would never shrink it
// back (it halves a stack only while a quarter of it is enough, and a
// reading session needs more than that).
func TestHeldStack(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 200 sessions against a child process")
	}
	if raceEnabled {
		t.Skip("stack sizes under -race are not the real binary's")
	}
	never := transport.Reconnect{Policy: transport.PolicyNever}
	for _, tc := range []struct {
		name string
		new  func(addr string) transport.Session
	}{
		{"sse", func(addr string) transport.Session {
			return &sse.Client{Request: transport.Request{URL: "http://" + addr + "/sse?rate=10"}, Reconnect: never, Lean: &sse.Lean{}}
		}},
		{"ws", func(addr string) transport.Session {
			return &ws.Client{URL: "ws://" + addr + "/ws?rate=10", Reconnect: never, Lean: &ws.Lean{}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each case runs in a process of its own: the runtime keeps
			// freed stacks for reuse, so a second case in the same process
			// would find its stacks already counted.
			if os.Getenv(heldStackEnv) != tc.name {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHeldStack$/^"+tc.name+"$", "-test.v", "-test.count=1")
				// Without asynchronous preemption: on a busy machine the
				// runtime stops a reading goroutine with a signal, whose
				// frame (every register saved) can grow a 4 KiB stack to
				// 8 KiB for good. The test holds the code to its own depth;
				// docs/BENCHMARKS.md gives the busy-machine figure.
				cmd.Env = append(os.Environ(), heldStackEnv+"="+tc.name, "GODEBUG=asyncpreemptoff=1")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("%v\n%s", err, out)
				} else if i := strings.Index(string(out), "bytes of stack"); i >= 0 {
					t.Log(strings.TrimSpace(string(out[strings.LastIndex(string(out[:i]), "\n")+1 : i+len("bytes of stack per held session")])))
				}
				return
			}
			addr := startHeldServer(t)
			const n = 200
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithCancel(context.Background())
			var connected, errs atomic.Int64
			var wg sync.WaitGroup
			defer func() {
				cancel()
				wg.Wait()
			}()
			events := make([]*heldObserver, n)
			for i := range n {
				obs := &heldObserver{connected: &connected, errors: &errs}
				events[i] = obs
				s := tc.new(addr)
				wg.Go(func() { s.Run(ctx, obs) })
			}
			// Every session connected and read an event since (its
			// goroutine has been through the whole read path).
			transporttest.Eventually(t, 30*time.Second, "sessions did not all connect and read", func() bool {
				if errs.Load() > 0 || connected.Load() < n {
					return errs.Load() > 0
				}
				for _, o := range events {
					if o.events.Load() < 2 {
						return false
					}
				}
				return true
			})
			if e := errs.Load(); e > 0 {
				t.Fatalf("%d session errors", e)
			}
			// The held stacks stay; a few other goroutines' (the test's,
			// the runtime's, a session caught mid-call on a starved
			// machine) come and go. The least of up to five samples, each
			// after every session read another event, is the held cost.
			per := math.Inf(1)
			for try := range 5 {
				if try > 0 {
					seen := make([]int64, n)
					for i, o := range events {
						seen[i] = o.events.Load()
					}
					transporttest.Eventually(t, 30*time.Second, "sessions stopped reading", func() bool {
						for i, o := range events {
							if o.events.Load() == seen[i] {
								return errs.Load() > 0
							}
						}
						return true
					})
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				per = min(per, (float64(after.StackInuse)-float64(before.StackInuse))/n)
				if per <= 4096+512 {
					break
				}
			}
			if per > 4096+512 {
				t.Errorf("%.0f bytes of stack per held session, want at most 4 KiB", per)
			}
			t.Logf("%.0f bytes of stack per held session", per)
		})
	}
}
