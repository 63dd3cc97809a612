package mock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// rawGet sends a keep-alive GET on c and reads the response's status and
// body.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) (int, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: mock\r\n\r\n", path)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func dialKeepAlive(t *testing.T, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// TestMaxConnsCountsKeepAlives (issue 12.6): idle keep-alive connections
// count against --max-conns; at the cap the server closes an idle one to
// make room; with the cap full of busy streams, the reserve still answers
// /healthz and /metrics (503 for the rest), and past the reserve a
// connection gets 503 at once.
func TestMaxConnsCountsKeepAlives(t *testing.T) {
	const max = 3
	s, base := start(t, Config{MaxConns: max})

	// Three idle keep-alives fill the cap.
	var idleConns []net.Conn
	for range max {
		c, br := dialKeepAlive(t, base)
		if code, _ := rawGet(t, c, br, "/healthz"); code != 200 {
			t.Fatalf("healthz %d", code)
		}
		idleConns = append(idleConns, c)
	}
	transporttest.Eventually(t, 5*time.Second, "the server did not count 3 idle connections", func() bool {
		return s.ln.Open() == max && len(s.idleSet()) == max
	})
	// A fourth connection is served: an idle one was shed for it.
	c, br := dialKeepAlive(t, base)
	if code, body := rawGet(t, c, br, "/poll"); code != 200 {
		t.Fatalf("a request at the cap with idle keep-alives: %d %s, want 200", code, body)
	}
	// Shed before the fourth was served: exactly one of the three is gone
	// from the server's connections.
	open := map[string]bool{}
	s.ln.mu.Lock()
	for c := range s.ln.conns {
		open[c.RemoteAddr().String()] = true
	}
	s.ln.mu.Unlock()
	kept := 0
	for _, c := range idleConns {
		if open[c.LocalAddr().String()] {
			kept++
		}
	}
	if kept != max-1 {
		t.Fatalf("%d of %d idle connections still open after a request at the cap, want %d", kept, max, max-1)
	}
	if n := s.ln.Open(); n > max {
		t.Fatalf("%d connections open, cap %d", n, max)
	}
	for _, c := range idleConns {
		c.Close()
	}
	c.Close()
	transporttest.Eventually(t, 5*time.Second, "connections were not released", func() bool { return s.ln.Open() == 0 })

	// Three streams fill the cap with busy connections.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range max {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sse?rate=0&retry=0", nil)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", resp, err)
		}
		defer resp.Body.Close()
	}
	// The reserve answers health and metrics, and refuses the rest.
	c, br = dialKeepAlive(t, base)
	if code, _ := rawGet(t, c, br, "/healthz"); code != 200 {
		t.Fatalf("healthz over the cap: %d", code)
	}
	if code, body := rawGet(t, c, br, "/metrics"); code != 200 || !strings.Contains(body, fmt.Sprintf("\nrtbench_serve_connections %d\n", max+1)) {
		t.Fatalf("metrics over the cap: %d, want 200 counting %d connections:\n%s", code, max+1, body)
	}
	c2, br2 := dialKeepAlive(t, base)
	if code, body := rawGet(t, c2, br2, "/sse"); code != 503 || !strings.Contains(body, "--max-conns") {
		t.Fatalf("a stream over the cap: %d %s, want 503 naming --max-conns", code, body)
	}
	// Fill the reserve with connections that send nothing (c, idle now,
	// would be shed for them): then a connection gets 503 before it sends
	// anything.
	c.Close()
	for range ReserveConns {
		dialKeepAlive(t, base)
	}
	transporttest.Eventually(t, 5*time.Second, "the reserve did not fill", func() bool { return s.ln.Open() == max+ReserveConns })
	c3, br3 := dialKeepAlive(t, base)
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br3, nil)
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the reserve: %v %v, want 503 with Retry-After at once", resp, err)
	}
	if n := s.ln.Open(); n > max+ReserveConns {
		t.Fatalf("%d connections open, want at most %d", n, max+ReserveConns)
	}
}

// idleSet returns the idle keep-alive connections the listener tracks.
func (s *Server) idleSet() []*capConn {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	var out []*capConn
	for c := range s.ln.idle {
		out = append(out, c)
	}
	return out
}

// emfileListener fails Accept with EMFILE n times, then accepts.
type emfileListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.n > 0 {
		l.n--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: &osSyscallError{syscall.EMFILE}}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

type osSyscallError struct{ errno syscall.Errno }

func (e *osSyscallError) Error() string { return "accept4: " + e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }

// TestAcceptEMFILELogsOnce: a burst of "too many open files" is one log
// line with a count, not a line per failure, and the accept loop carries on.
func TestAcceptEMFILELogsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	logf := func(f string, a ...any) { mu.Lock(); lines = append(lines, fmt.Sprintf(f, a...)); mu.Unlock() }
	s := New(Config{MaxConns: 10, Logf: logf})
	done := make(chan error, 1)
	go func() { done <- s.Serve(&emfileListener{Listener: ln, n: 5}) }()
	defer func() {
		s.Close(t.Context())
		<-done
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after EMFILE: %v %v", resp, err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 1 || !strings.Contains(lines[0], "too many open files") || !strings.Contains(lines[0], "ulimit -n") {
		t.Fatalf("log lines %q: want one naming the error and the fix", lines)
	}
}

// TestHubBudgetThroughPublish: messages published over HTTP to many
// channels stay within --hub-memory, and /metrics shows what is kept.
func TestHubBudgetThroughPublish(t *testing.T) {
	s, base := start(t, Config{Hub: pubsub.Options{MaxBytes: 1 << 20}})
	data := strings.Repeat("z", 30<<10)
	for i := range 60 {
		resp, body := do(t, "POST", base+"/api/publish", fmt.Sprintf(`{"channel":"c%d","data":%q}`, i%40, data), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("publish %d: %d %s", i, resp.StatusCode, body)
		}
	}
	u := s.Hub().Usage()
	if u.Bytes > 1<<20 || u.Bytes < 512<<10 {
		t.Fatalf("hub keeps %d B after 1.8 MiB published, want just under its 1 MiB budget", u.Bytes)
	}
	_, metrics := do(t, "GET", base+"/metrics", "", nil)
	if want := fmt.Sprintf("\nrtbench_serve_hub_bytes %d\n", u.Bytes); !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
	}
}
