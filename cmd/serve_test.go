package cmd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport/fault"
)

// TestMain runs the tests, checking for leaked goroutines; or, when
// procStart re-executes the test binary (procEnvVar set), it is rtbench
// itself, so tests can send real signals and set real rlimits.
func TestMain(m *testing.M) {
	if os.Getenv(procEnvVar) == "1" {
		os.Exit(procMain(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// runCmd runs rtbench with args in a test Env and returns the exit code and
// both outputs.
func runCmd(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	code = Run(ctx, env, BuildInfo{Version: "1.2.3", Commit: "abc1234", Date: "2026-11-27"}, args)
	return code, out.String(), errOut.String()
}

// TestServeFlags: args → options, through the real cobra command with the
// run step replaced.
func TestServeFlags(t *testing.T) {
	tests := []struct {
		args  []string
		check func(*ServeOptions) bool
	}{
		{nil, func(o *ServeOptions) bool {
			return o.Addr == "127.0.0.1:8080" && o.Mock.Heartbeat == 15*time.Second && o.Mock.Tokens.TPS == 50 && o.Mock.Hub.RingSize == 1024 &&
				o.Mock.Hub.MaxBytes == 256<<20
		}},
		{[]string{"--hub-memory", "64"}, func(o *ServeOptions) bool { return o.Mock.Hub.MaxBytes == 64<<20 }},
		{[]string{"--addr", "127.0.0.1:0", "--ttft", "800ms", "--tps", "20", "--chunk-tokens", "3"}, func(o *ServeOptions) bool {
			return o.Addr == "127.0.0.1:0" && o.Mock.Tokens.TTFT == 800*time.Millisecond && o.Mock.Tokens.TPS == 20 && o.Mock.Tokens.PerChunk == 3
		}},
		{[]string{"--addr", "[::1]:9000", "--origins", "localhost:*,*.example.com", "--max-conns", "10"}, func(o *ServeOptions) bool {
			return o.Mock.MaxConns == 10 && len(o.Mock.Origins) == 2 && o.Mock.Origins[1] == "*.example.com"
		}},
		{[]string{"--addr", "0.0.0.0:8080", "--allow-remote"}, func(o *ServeOptions) bool { return o.AllowRemote }},
		{[]string{"--tls"}, func(o *ServeOptions) bool { return o.TLS && o.Mock.TLS == nil }}, // the certificate is made by the run
		{[]string{"--fault", "stall:5,line:cr", "--fault-rate", "0.1", "--fault-seed", "9"}, func(o *ServeOptions) bool {
			f := o.Mock.Fault
			return f.Default.Stall && f.Default.StallAfter == 5 && f.Default.Line == fault.LineCR && f.Rate == 0.1 && f.Seed == 9
		}},
		{[]string{"--fault", "status:503", "--fault-rate", "0"}, func(o *ServeOptions) bool { return o.Mock.Fault.Default.IsZero() }},
		{nil, func(o *ServeOptions) bool { return o.Procs == 1 && o.procChild == 0 }},
		{[]string{"--job-queued", "0s", "--job-duration", "2s", "--job-steps", "4"}, func(o *ServeOptions) bool {
			return o.Mock.Jobs.Duration == 2*time.Second && o.Mock.Jobs.Steps == 4
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env, _, _ := TestEnv()
			var got *ServeOptions
			c := NewCmdServe(env, func(_ context.Context, o *ServeOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			if err := c.Execute(); err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Fatalf("options %+v", got)
			}
		})
	}
}

// serveProcsTLSOrOS is what serve --procs 2 --tls is refused for: --tls on
// Linux, the OS elsewhere.
var serveProcsTLSOrOS = map[bool]string{true: "--procs 2 with --tls", false: "--procs 2 needs Linux"}[reusePortSupported]

// TestUsageErrors: bad input is one line on stderr, naming the flag and what
// to do, with exit code 2 and no usage dump or stack trace.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args    []string
		mention string
	}{
		{[]string{"serve", "--addr", "8080"}, "want host:port"},
		{[]string{"serve", "--addr", "127.0.0.1:http-ish"}, "not a port number"},
		{[]string{"serve", "--addr", "0.0.0.0:8080"}, "--allow-remote"},
		{[]string{"serve", "--tps", "0"}, "--tps"},
		{[]string{"serve", "--tps", "fast"}, "invalid argument"},
		{[]string{"serve", "--chunk-tokens", "0"}, "--chunk-tokens"},
		{[]string{"serve", "--ring", "0"}, "--ring"},
		{[]string{"serve", "--hub-memory", "0"}, "--hub-memory 0: want MiB of channel history from 1"},
		{[]string{"serve", "--fault", "stall:x"}, `fault "stall:x"`},
		{[]string{"serve", "--fault-rate", "1.5"}, "--fault-rate"},
		{[]string{"serve", "--write-timeout", "0s"}, "--write-timeout"},
		{[]string{"serve", "--job-steps", "1000"}, "--job-steps"},
		{[]string{"serve", "--procs", "0"}, "--procs 0: want 1 to 64"},
		{[]string{"serve", "--procs", "65"}, "--procs 65: want 1 to 64"},
		{[]string{"serve", "--procs", "2", "--tls"}, serveProcsTLSOrOS},
		// The rate and interval bounds every route shares (issue 12.2).
		{[]string{"serve", "--tps", "1e-9"}, `--tps: want tokens per second, a number from 0.001 to 1e+06; got "1e-09"`},
		{[]string{"serve", "--tps", "1e-300"}, `--tps: want tokens per second, a number from 0.001`},
		{[]string{"serve", "--heartbeat", "1ns"}, `--heartbeat: want a duration, 0 (no heartbeat) or from 1ms to 1h, such as 15s; got "1ns"`},
		{[]string{"serve", "--heartbeat", "2h"}, `--heartbeat: want a duration, 0 (no heartbeat) or from 1ms to 1h`},
		{[]string{"serve", "--retry", "1ns"}, `--retry: want a duration, 0 (no retry: line) or from 1ms`},
		{[]string{"serve", "--stream-interval", "999us"}, `--stream-interval: want a duration from 1ms to 1h`},
		{[]string{"serve", "--shutdown-timeout", "1ns"}, `--shutdown-timeout: want a duration from 1ms to 1h`},
		{[]string{"serve", "--ttft", "6m"}, `--ttft: want a duration from 0s to 5m`},
		{[]string{"serve", "--token-jitter", "-1ms"}, `--token-jitter: want a duration from 0s to 1m`},
		{[]string{"serve", "--job-queued", "11m"}, `--job-queued: want a duration from 0s to 10m`},
		{[]string{"serve", "--nope"}, "unknown flag: --nope"},
		{[]string{"serve", "extra"}, "unknown command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, t.Context(), tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "rtbench: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.mention) {
				t.Errorf("stderr %q: want one line starting 'rtbench: ' that mentions %q", stderr, tt.mention)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "Usage:") {
				t.Errorf("stderr has a stack trace or usage dump: %q", stderr)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCmd(t, t.Context(), "--version")
	if code != 0 || out != "rtbench 1.2.3 (commit abc1234, built 2026-11-27)\n" {
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, _ = runCmd(t, t.Context(), "serve", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "curl -N http://127.0.0.1:8080/sse") {
		t.Errorf("serve --help: %d %q", code, out)
	}
	code, out, _ = runCmd(t, t.Context(), "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: %d, %d bytes", code, len(out))
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{FailedError(errors.New("x")), 1},
		{UsageError("x"), 2},
		{UnreachableError(errors.New("x")), 3},
		{errInterrupted, 130},
		{context.Canceled, 130},
		{errors.Join(errors.New("wrapped"), UsageError("x")), 2},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// syncBuffer is an io.Writer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
	ch chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeRun runs `rtbench serve` on a free port, reads /sse over real
// HTTP, then cancels the context as SIGINT would: the server shuts down
// gracefully and the command exits 0.
func TestServeRun(t *testing.T) {
	env, _, _ := TestEnv()
	errOut := &syncBuffer{ch: make(chan struct{}, 1)}
	env.ErrOut = errOut
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, env, BuildInfo{}, []string{"serve", "--addr", "127.0.0.1:0"}) }()

	var addr string
	for addr == "" {
		select {
		case <-errOut.ch:
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errOut.String())
		}
		if _, rest, ok := strings.Cut(errOut.String(), "listening on http://"); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	resp, err := http.Get("http://" + addr + "/sse?rate=100&count=2")
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	body, _ := io.ReadAll(r)
	resp.Body.Close()
	if strings.Count(string(body), "data: {\"seq\":") != 2 {
		t.Fatalf("/sse body %q", body)
	}

	// Hold a stream open across the shutdown: it must end, not hang.
	stream, err := http.Get("http://" + addr + "/sse?rate=0")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after shutdown: %s", code, errOut.String())
	}
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Fatalf("open stream did not end cleanly: %v", err)
	}
	if !strings.Contains(errOut.String(), "stopped") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runCmd(t, t.Context(), "serve", "--addr", ln.Addr().String())
	if code != ExitUsage || !strings.Contains(stderr, "already in use") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
