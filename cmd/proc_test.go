package cmd

// Process-level tests: rtbench runs as a process of its own (this test
// binary re-executed, see TestMain), so real signals, real rlimits, real exit
// codes and whatever reaches the real stderr (a panic's trace included) are
// what the tests see.

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/transporttest"
	"github.com/rtbench/rtbench/transport/ws"
)

const (
	// procEnvVar set to 1 makes the test binary rtbench (TestMain).
	procEnvVar = "RTBENCH_TEST_MAIN"
	// procMarker precedes rtbench's arguments on the re-executed binary's
	// command line.
	procMarker = "--rtbench-test-main--"
	// procTimeout is the hard bound on one rtbench process: past it, its
	// process group is killed.
	procTimeout = 45 * time.Second
)

// procMain is TestMain when procEnvVar is set: rtbench with the arguments
// after procMarker.
func procMain(args []string) int {
	i := slices.Index(args, procMarker)
	if i < 0 {
		fmt.Fprintf(os.Stderr, "%s=1 but no %s in the arguments\n", procEnvVar, procMarker)
		return ExitUsage
	}
	// load --procs starts this binary again: as rtbench, with the marker.
	agentExec = func() (string, []string, error) {
		p, err := os.Executable()
		return p, []string{procMarker}, err
	}
	return Main(BuildInfo{Version: "proc-test"}, args[i+1:])
}

// proc is one rtbench process started by procStart.
type proc struct {
	args           []string
	cmd            *exec.Cmd
	stdout, stderr procBuffer
	done           chan struct{} // closed once the process has exited
	code           int           // its exit code, -1 when killed by a signal
	exited         time.Time
}

// procStart starts rtbench with args as a process of its own, in its own
// process group, killed after procTimeout at the latest.
func procStart(t *testing.T, args ...string) *proc {
	t.Helper()
	return procStartShell(t, "", args...)
}

// procStartShell is procStart with rtbench started by `sh -c 'SHELL && exec
// rtbench ARGS'`: SHELL is, say, "ulimit -n 256".
func procStartShell(t *testing.T, shell string, args ...string) *proc {
	t.Helper()
	var wrap []string
	if shell != "" {
		wrap = []string{"sh", "-c", shell + ` && exec "$@"`, "sh"}
	}
	return procStartWrapped(t, wrap, args, args...)
}

// procStartWrapped starts rtbench with args as the command wrap runs (the
// rtbench command line appended to it: `sh -c …`, `ip netns exec NS`; none
// when wrap is empty), in its own process group, killed after procTimeout
// at the latest. label names the process in failures.
func procStartWrapped(t *testing.T, wrap, label []string, args ...string) *proc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(slices.Clone(wrap), self, procMarker), args...)
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	p := &proc{args: label, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), procEnvVar+"=1", "NO_COLOR=1", "COLUMNS=100")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	newProcessGroup(p.cmd)
	p.cmd.Cancel = func() error { return killProcessGroup(p.cmd.Process.Pid, syscall.SIGKILL) }
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting rtbench %q: %v", label, err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		_ = p.cmd.Wait()
		p.exited = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = killProcessGroup(p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			t.Logf("rtbench %q was still running at the end of the test: killed", label)
		}
	})
	return p
}

// signal sends sig to the rtbench process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit, at most within, and returns its exit
// code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Fatalf("rtbench %q did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.args, within, p.stdout.String(), p.stderr.String())
		return -1
	}
}

// waitFor waits until cond holds, checking it with a short backoff; it fails
// t when the deadline passes or the process exits first.
func (p *proc) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := 200 * time.Microsecond
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("rtbench %q exited %d before %s\nstdout:\n%s\nstderr:\n%s", p.args, p.code, what, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s\nstderr:\n%s", timeout, what, p.stderr.String())
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// procBuffer is an io.Writer safe to read while the process writes to it.
type procBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *procBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *procBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// procNoTrace fails t when s holds what a panic or a crash prints.
func procNoTrace(t *testing.T, s string) {
	t.Helper()
	for _, bad := range []string{"panic", "goroutine ", ".go:", "fatal error", "WARNING: DATA RACE"} {
		if strings.Contains(s, bad) {
			t.Errorf("output holds %q:\n%s", bad, s)
		}
	}
}

// procMock serves rtbench serve's handlers on a loopback port for one test
// and returns the server (for its counters) and its base URL.
func procMock(t *testing.T, cfg mock.Config) (*mock.Server, string) {
	t.Helper()
	return mocktest.Start(t, cfg)
}

// procWS is a WebSocket server for the interrupt tests. Each connection gets
// a stamped text message ({"seq","sched_ns"}) every 20 ms, and the code of
// every close frame a client sends is recorded. A silent server never answers
// a close frame (a raw RFC 6455 server, since coder/websocket always answers),
// so a client's close handshake runs until its own timeout
// (ws.DefaultCloseTimeout): a shutdown that takes a known, long time.
type procWS struct {
	URL    string
	silent bool

	opened atomic.Int64 // connections upgraded
	sent   atomic.Int64 // messages sent, all connections

	mu     sync.Mutex
	closes []int // the close code of each close frame received

	quit chan struct{}
	wg   sync.WaitGroup
}

func newProcWS(t *testing.T, silent bool) *procWS {
	s := &procWS{silent: silent, quit: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		if s.silent {
			s.serveSilent(w, r)
		} else {
			s.serveAnswering(w, r)
		}
	}))
	s.URL = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		close(s.quit) // hijacked connections are not httptest's to close
		s.wg.Wait()
		srv.Close()
	})
	return s
}

func (s *procWS) closeCodes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closes)
}

func (s *procWS) gotClose(code int) {
	s.mu.Lock()
	s.closes = append(s.closes, code)
	s.mu.Unlock()
}

// stamp is the n-th message: what rtbench serve sends, so that delivery
// latency is measured.
func (s *procWS) stamp(n int) []byte {
	s.sent.Add(1)
	return fmt.Appendf(nil, `{"seq":%d,"sched_ns":%d}`, n, time.Now().UnixNano())
}

// serveAnswering is a conformant server (coder/websocket): it answers the
// client's close frame and records its code.
func (s *procWS) serveAnswering(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	s.opened.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-s.quit:
				c.CloseNow()
				return
			case <-tick.C:
				if c.Write(ctx, websocket.MessageText, s.stamp(n)) != nil {
					return
				}
			}
		}
	})
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				s.gotClose(int(code))
			}
			return
		}
	}
}

// serveSilent upgrades by hand and never answers a close frame: it stops
// sending, records the code and reads on until the client drops the
// connection.
func (s *procWS) serveSilent(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if _, err := fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:])); err != nil {
		return
	}
	s.opened.Add(1)
	closed := make(chan struct{}) // a close frame arrived, or the reader ended
	s.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-closed:
				return
			case <-s.quit:
				nc.Close()
				return
			case <-tick.C:
				msg := s.stamp(n)
				if _, err := nc.Write(append([]byte{0x81, byte(len(msg))}, msg...)); err != nil {
					return
				}
			}
		}
	})
	var once sync.Once
	defer once.Do(func() { close(closed) })
	for {
		op, payload, err := transporttest.ReadWSClientFrame(brw.Reader)
		if err != nil {
			return
		}
		if op == 0x8 {
			code := 1005
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
			s.gotClose(code)
			once.Do(func() { close(closed) })
		}
	}
}

// procPoll is a polling endpoint for the open-model tests: every request is
// counted and answered with a JSON state, after hold (0: at once); with hold
// < 0, never (the request waits until the client leaves).
type procPoll struct {
	URL      string
	requests atomic.Int64
	first    atomic.Int64 // UnixNano of the first request
}

func newProcPoll(t *testing.T, hold time.Duration) *procPoll {
	s := &procPoll{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		s.first.CompareAndSwap(0, time.Now().UnixNano())
		if hold != 0 {
			var after <-chan time.Time
			if hold > 0 {
				after = time.After(hold)
			}
			select {
			case <-r.Context().Done():
				return
			case <-after:
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"seq":%d,"sched_ns":%d}`, n, time.Now().UnixNano())
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/state"
	return s
}

// TestProcHarness: procStart's process is rtbench, and what it prints when it
// crashes reaches the test. SIGQUIT makes the Go runtime dump its goroutines
// and exit 2, the usage code: the reason TestBadInput checks stderr for
// traces and not only the exit code.
//
// Go 1.26's SIGQUIT handler itself sometimes dies of SIGSEGV in the middle
// of the dump, when a goroutine's stack changes under its traceback. A
// 40-line net/http client does it too: bench/scripts/sigquit-segv.sh counts
// it (1 to 6 of 60 tries on the 2-core VM this was written on).
// Such a try is logged and made again, three tries at most.
func TestProcHarness(t *testing.T) {
	_, base := procMock(t, mock.Config{})
	for try := 1; ; try++ {
		p := procStart(t, "listen", base+"/sse?rate=50")
		p.waitFor(t, 20*time.Second, "listen printed no event", func() bool { return strings.Contains(p.stdout.String(), "\n") })
		p.signal(t, syscall.SIGQUIT)
		code := p.wait(t, 10*time.Second)
		stderr := p.stderr.String()
		if ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() && ws.Signal() == syscall.SIGSEGV && try < 3 {
			t.Logf("try %d: the runtime died of SIGSEGV after %d bytes of its dump; again", try, len(stderr))
			continue
		}
		// A goroutine woken while it is traced can come out cut short
		// (goroutine 1, reading the stream, may lose its frames down to
		// cmd.Main): any of rtbench's cmd frames names the program.
		if code != ExitUsage || !strings.Contains(stderr, "SIGQUIT: quit") || !strings.Contains(stderr, "github.com/rtbench/rtbench/cmd.") {
			t.Fatalf("exit %d (%v), want 2 and a goroutine dump of rtbench's cmd on stderr:\n%.2000s", code, p.cmd.ProcessState, stderr)
		}
		return
	}
}

// TestMatrixRow39Interrupt: REFERENCE §5 row 39. SIGINT or SIGTERM during the
// ramp, in steady state and during the shutdown after -d, for SSE,
// WebSocket and open-model (--rate) runs: rtbench stops spawning, closes
// WebSockets with 1001, writes the partial result (interrupted, with what
// was measured) through a temp file and a rename, and exits 130.
func TestMatrixRow39Interrupt(t *testing.T) {
	type target struct {
		url string
		// ready holds once the run is in the phase to interrupt.
		ready func() bool
		// check checks the server's side after the exit.
		check func(t *testing.T, r *bench.Result)
	}
	sseTarget := func(t *testing.T, sessions, events int64) target {
		s, base := procMock(t, mock.Config{})
		return target{
			url: base + "/sse?rate=20",
			ready: func() bool {
				snap := s.Stats().Snapshot()
				return snap.Open[transport.SSE] >= sessions && snap.Events[transport.SSE] >= events
			},
		}
	}
	wsTarget := func(t *testing.T, sessions int64) target {
		s := newProcWS(t, false)
		return target{
			url:   s.URL,
			ready: func() bool { return s.opened.Load() >= sessions && s.sent.Load() >= 2*sessions },
			check: func(t *testing.T, r *bench.Result) {
				// Every connection the client had open was closed with
				// 1001 Going Away; the server records a code once it has
				// answered, which may be after the client exited. A
				// session still in its handshake when the signal came
				// (the server may have sent its 101 already) is counted
				// in connecting_cut_off and has no WebSocket to close.
				opened := int(s.opened.Load())
				connects, cut := int(r.Counters["connects"]), int(r.Counters["connecting_cut_off"])
				deadline := time.Now().Add(5 * time.Second)
				for len(s.closeCodes()) < connects && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				codes := s.closeCodes()
				if len(codes) < connects || slices.ContainsFunc(codes, func(c int) bool { return c != int(websocket.StatusGoingAway) }) {
					t.Errorf("close codes %v for %d connections the client counted: want 1001 on every one", codes, connects)
				}
				if opened < connects || opened > connects+cut {
					t.Errorf("the server upgraded %d connections, the result counts %d connects and %d still connecting", opened, connects, cut)
				}
			},
		}
	}
	tests := []struct {
		name   string
		sig    syscall.Signal
		args   []string
		target func(t *testing.T) target
		// Sessions (closed model) or requests (open model) the result
		// must hold: at least minimum, fewer than below (the ramp was cut).
		minimum, below int64
		// maxExit bounds the time from the signal to the exit.
		maxExit time.Duration
		// held: the server answers no request, so none is measured.
		held bool
	}{
		{
			name: "sse ramp SIGINT", sig: syscall.SIGINT, args: []string{"-c", "200", "--ramp", "20s", "-d", "1m"},
			target:  func(t *testing.T) target { return sseTarget(t, 10, 20) },
			minimum: 10, below: 200, maxExit: 15 * time.Second,
		},
		{
			name: "sse steady SIGTERM", sig: syscall.SIGTERM, args: []string{"-c", "20", "-d", "1m"},
			target:  func(t *testing.T) target { return sseTarget(t, 20, 60) },
			minimum: 20, below: 21, maxExit: 15 * time.Second,
		},
		{
			name: "ws ramp SIGTERM", sig: syscall.SIGTERM, args: []string{"-c", "200", "--ramp", "20s", "-d", "1m"},
			target:  func(t *testing.T) target { return wsTarget(t, 10) },
			minimum: 10, below: 200, maxExit: 15 * time.Second,
		},
		{
			name: "ws steady SIGINT", sig: syscall.SIGINT, args: []string{"-c", "10", "-d", "1m"},
			target:  func(t *testing.T) target { return wsTarget(t, 10) },
			minimum: 10, below: 11, maxExit: 15 * time.Second,
		},
		{
			// The run ends after 1s; its sessions close with 1001 and the
			// server never answers, so the shutdown lasts the client's
			// close timeout. The signal comes once every close frame has
			// arrived: inside that shutdown.
			name: "ws shutdown SIGINT", sig: syscall.SIGINT, args: []string{"-c", "5", "-d", "1s"},
			target: func(t *testing.T) target {
				s := newProcWS(t, true)
				return target{
					url:   s.URL,
					ready: func() bool { return len(s.closeCodes()) >= 5 },
					check: func(t *testing.T, _ *bench.Result) {
						if codes := s.closeCodes(); len(codes) != 5 || slices.ContainsFunc(codes, func(c int) bool { return c != 1001 }) {
							t.Errorf("close codes %v: want 1001 from each of the 5 sessions", codes)
						}
					},
				}
			},
			minimum: 5, below: 6, maxExit: 15 * time.Second,
		},
		{
			name: "open model ramp SIGINT", sig: syscall.SIGINT, args: []string{"--mode", "poll", "--rate", "1", "--stages", "20s:40", "-d", "20s"},
			target: func(t *testing.T) target {
				s := newProcPoll(t, 0)
				return target{url: s.URL, ready: func() bool { return s.requests.Load() >= 5 }}
			},
			minimum: 5, below: 400, maxExit: 15 * time.Second,
		},
		{
			name: "open model steady SIGTERM", sig: syscall.SIGTERM, args: []string{"--mode", "poll", "--rate", "20/s", "-d", "1m"},
			target: func(t *testing.T) target {
				s := newProcPoll(t, 0)
				return target{url: s.URL, ready: func() bool { return s.requests.Load() >= 10 }}
			},
			minimum: 10, below: 1200, maxExit: 15 * time.Second,
		},
		{
			// The server holds every request, so when the 1s run ends they
			// are all in flight and the engine drains them for
			// bench.DefaultDrain (10s). The signal comes past the planned
			// end and must cut the drain short.
			name: "open model drain SIGTERM", sig: syscall.SIGTERM, args: []string{"--mode", "poll", "--rate", "10/s", "-d", "1s"},
			target: func(t *testing.T) target {
				s := newProcPoll(t, -1)
				return target{url: s.URL, ready: func() bool {
					// The run starts before its first request arrives, so
					// its planned end is before first+1s: past that (and
					// a margin for the clocks' reading), the engine is
					// draining. This waits for wall time to pass; the
					// request count below is what synchronises.
					first := s.first.Load()
					return s.requests.Load() >= 5 && first != 0 && time.Since(time.Unix(0, first)) > 1200*time.Millisecond
				}}
			},
			minimum: 5, below: 12, maxExit: bench.DefaultDrain / 2, held: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := tt.target(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "result.json")
			p := procStart(t, append(append([]string{"load", "--out", out}, tt.args...), tg.url)...)
			p.waitFor(t, 20*time.Second, "the run did not reach the phase to interrupt", tg.ready)
			signalled := time.Now()
			p.signal(t, tt.sig)
			code := p.wait(t, 30*time.Second)
			stdout, stderr := p.stdout.String(), p.stderr.String()
			if code != ExitInterrupted {
				t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if took := p.exited.Sub(signalled); took > tt.maxExit {
				t.Errorf("exited %v after the signal, want within %v", took, tt.maxExit)
			}
			procNoTrace(t, stderr)
			if !strings.Contains(stdout, "PARTIAL RESULT") || !strings.Contains(stderr, "the partial result is saved in "+out) {
				t.Errorf("the report and stderr should say the result is partial and saved:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			// Written through a temp file and a rename: nothing else is
			// left in the directory.
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the output directory holds %v, want only result.json", entries)
			}
			r := readResult(t, out)
			if !r.Interrupted || !strings.Contains(r.Reason, "interrupted") {
				t.Errorf("interrupted %v, reason %q: want the result marked interrupted", r.Interrupted, r.Reason)
			}
			// sessions_started counts the open model's requests too.
			if n := r.Counters["sessions_started"]; n < tt.minimum || n >= tt.below {
				t.Errorf("%d sessions or requests started, want %d to %d (counters %v)", n, tt.minimum, tt.below-1, r.Counters)
			}
			switch {
			case tt.held:
			case slices.Contains(tt.args, "--rate"):
				if r.Counters["requests"] == 0 || r.Metrics["request"].Count == 0 {
					t.Errorf("%d requests, %d request latencies: want what was measured before the signal", r.Counters["requests"], r.Metrics["request"].Count)
				}
			default:
				if r.Counters["events"] == 0 || r.Metrics["delivery"].Count == 0 {
					t.Errorf("%d events, %d deliveries: want what was measured before the signal", r.Counters["events"], r.Metrics["delivery"].Count)
				}
			}
			if tg.check != nil {
				tg.check(t, r)
			}
		})
	}

	// A second signal while the first one's shutdown is still in progress
	// (the sessions' close handshakes wait on a server that never answers,
	// ws.DefaultCloseTimeout) exits at once: no result is written.
	t.Run("second signal exits at once", func(t *testing.T) {
		t.Parallel()
		s := newProcWS(t, true)
		out := filepath.Join(t.TempDir(), "result.json")
		p := procStart(t, "load", "--out", out, "-c", "5", "-d", "1m", s.URL)
		p.waitFor(t, 20*time.Second, "the 5 sessions did not connect", func() bool { return s.opened.Load() >= 5 && s.sent.Load() >= 10 })
		p.signal(t, syscall.SIGINT)
		p.waitFor(t, 10*time.Second, "no close frame after the first signal", func() bool { return len(s.closeCodes()) >= 5 })
		second := time.Now()
		p.signal(t, syscall.SIGTERM)
		code := p.wait(t, 10*time.Second)
		took := p.exited.Sub(second)
		stderr := p.stderr.String()
		if code != ExitInterrupted || !strings.Contains(stderr, "second signal, exiting now") {
			t.Fatalf("exit %d, stderr %q: want 130 and the second signal named", code, stderr)
		}
		if took >= ws.DefaultCloseTimeout {
			t.Errorf("exited %v after the second signal; the shutdown it cuts short lasts %v", took, ws.DefaultCloseTimeout)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) || strings.Contains(stderr, "partial result is saved") {
			t.Errorf("the process should have exited before saving: stat %v, stderr %q", err, stderr)
		}
		procNoTrace(t, stderr)
	})

	// listen stopped by Ctrl-C prints its summary and exits 130.
	t.Run("listen SIGINT", func(t *testing.T) {
		t.Parallel()
		_, base := procMock(t, mock.Config{})
		p := procStart(t, "listen", base+"/sse?rate=50")
		p.waitFor(t, 20*time.Second, "listen printed no events", func() bool { return strings.Count(p.stdout.String(), "\n") >= 3 })
		p.signal(t, syscall.SIGINT)
		code := p.wait(t, 10*time.Second)
		stdout, stderr := p.stdout.String(), p.stderr.String()
		if code != ExitInterrupted {
			t.Fatalf("exit %d, want 130\nstderr:\n%s", code, stderr)
		}
		printed := strings.Count(stdout, "\n")
		if !strings.Contains(stderr, strconv.Itoa(printed)+" events in ") {
			t.Errorf("stderr %q: want the summary counting the %d events printed", stderr, printed)
		}
		procNoTrace(t, stderr)
	})
}

// TestMatrixRow37LowUlimit: REFERENCE §5 row 37, a low `ulimit -n` with
// -c 500.
func TestMatrixRow37LowUlimit(t *testing.T) {
	_, hard, err := bench.OpenFileLimit()
	if err != nil {
		t.Skipf("RLIMIT_NOFILE: %v", err)
	}

	// A low hard limit: pre-flight refuses before any connection, in one
	// line with both numbers, how many sessions fit and what to do.
	t.Run("hard limit 256", func(t *testing.T) {
		t.Parallel()
		s, base := procMock(t, mock.Config{})
		p := procStartShell(t, "ulimit -n 256", "load", "-c", "500", "-d", "2s", base+"/sse")
		code := p.wait(t, 20*time.Second)
		stdout, stderr := p.stdout.String(), p.stderr.String()
		if code != ExitUsage || stdout != "" {
			t.Fatalf("exit %d, want 2 (a pre-flight refusal)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "rtbench: pre-flight check failed: ") {
			t.Errorf("stderr %q: want one line from pre-flight", stderr)
		}
		for _, want := range []string{
			"500 connections need about 564 open files",
			"soft limit 256, hard limit 256",
			"Lower -c to at most 192",
			"raise the hard limit (`ulimit -Hn`",
			"split the load over several processes",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr should say %q:\n%s", want, stderr)
			}
		}
		procNoTrace(t, stderr)
		if n := s.Stats().Snapshot().Open[transport.SSE]; n != 0 {
			t.Errorf("%d sessions reached the server; pre-flight should refuse before any", n)
		}
	})

	// A low soft limit under a high hard one: Go raises the soft limit to
	// the hard one at start-up (os/rlimit.go, go.dev/issue/46279), so
	// pre-flight passes and all 500 sessions run. The proof is more
	// connections open than 256 files allow and no emfile error; on a loaded
	// machine a few dials may still be under way when the run ends: those
	// are counted in connecting_cut_off, not as errors.
	t.Run("soft limit 256, hard limit high", func(t *testing.T) {
		if hard < 1024 {
			t.Skipf("the hard limit is %d here; this needs at least 1024", hard)
		}
		t.Parallel()
		_, base := procMock(t, mock.Config{})
		out := filepath.Join(t.TempDir(), "result.json")
		p := procStartShell(t, "ulimit -Sn 256", "load", "-c", "500", "--ramp", "2000/s", "-d", "4s", "--out", out, base+"/sse?rate=2")
		code := p.wait(t, 30*time.Second)
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout.String(), p.stderr.String())
		}
		r := readResult(t, out)
		started, connects, cut := r.Counters["sessions_started"], r.Counters["connects"], r.Counters["connecting_cut_off"]
		if started != 500 || connects+cut != 500 || connects <= 256 {
			t.Errorf("%d sessions started, %d connects, %d still connecting at the end; want 500 started, each connected or still connecting, and more connects than the soft limit of 256 files allows", started, connects, cut)
		}
		if len(r.Errors) != 0 {
			t.Errorf("errors %v, want none", r.Errors)
		}
	})

	// Mid-run: the open model has no fixed number of sessions, so
	// pre-flight does not check files (there is no flag to skip pre-flight
	// for -c); requests the server holds pile up until sockets run out.
	// The failures are classed emfile, and the requests that got through are
	// still measured and reported. (--reconnect never: no retries, so the
	// run ends once the held requests are answered.)
	t.Run("emfile mid-run", func(t *testing.T) {
		t.Parallel()
		s := newProcPoll(t, time.Second)
		out := filepath.Join(t.TempDir(), "result.json")
		p := procStartShell(t, "ulimit -n 48", "load", "--mode", "poll", "--rate", "100/s", "-d", "1s", "--reconnect", "never", "--out", out, s.URL)
		code := p.wait(t, 30*time.Second)
		stdout, stderr := p.stdout.String(), p.stderr.String()
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		procNoTrace(t, stderr)
		r := readResult(t, out)
		e := r.Errors[string(transport.ClassEMFILE)]
		if e.Count == 0 || !strings.Contains(e.Example, "too many open files") {
			t.Fatalf("errors %+v: want requests failed with class emfile", r.Errors)
		}
		if r.Counters["requests"] == 0 || r.Metrics["request"].Count == 0 {
			t.Errorf("%d requests measured: want the ones that got a socket", r.Counters["requests"])
		}
		if !strings.Contains(stdout, "emfile") {
			t.Errorf("the report should name the emfile errors:\n%s", stdout)
		}
	})

	// The classification itself, for each way the error reaches a session.
	t.Run("classify", func(t *testing.T) {
		for _, err := range []error{
			&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)},
			fmt.Errorf("GET http://x/: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}),
			syscall.ENFILE,
		} {
			if got := transport.Classify(err); got != transport.ClassEMFILE {
				t.Errorf("Classify(%v) = %s, want emfile", err, got)
			}
		}
	})
}
