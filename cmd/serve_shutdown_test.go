//go:build unix

package cmd

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeShutdownCutsStuckClients (issue 12.7): SIGTERM with one client
// trickling a request body and one not reading its event stream: serve cuts
// both at --shutdown-timeout, says so, and exits 0 as the README promises.
func TestServeShutdownCutsStuckClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rtbench serve as a process")
	}
	p := procStart(t, "serve", "--addr", "127.0.0.1:0", "--shutdown-timeout", "1s", "--write-timeout", "1h")
	addrRE := regexp.MustCompile(`listening on http://(\S+)`)
	var addr string
	p.waitFor(t, 10*time.Second, "serve did not say where it listens", func() bool {
		m := addrRE.FindStringSubmatch(p.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})

	// A body promised 1000 bytes long, of which 10 arrive.
	trickle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	io.WriteString(trickle, "POST /api/publish HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"channel\"")

	// A fast stream whose client reads the headers and nothing more.
	// The receive buffer is set before connecting, so the window the
	// server sees is small from the first byte.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	stuck, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	io.WriteString(stuck, "GET /sse?rate=10000&size=65536&retry=0 HTTP/1.1\r\nHost: mock\r\n\r\n")
	stuck.SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReaderSize(stuck, 16), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	// The server is stuck writing once the bytes it has sent stop growing,
	// and stay put for half a second: two equal samples alone can be a
	// writer the scheduler has not run yet (seen on a loaded CI machine,
	// where the handler then saw the shutdown and ended by itself).
	var last int64 = -1
	var since time.Time
	p.waitFor(t, 20*time.Second, "the stream's writes did not block", func() bool {
		n := sseBytesSent(t, addr)
		if n != last {
			last, since = n, time.Now()
			return false
		}
		return n > 1<<20 && time.Since(since) >= 500*time.Millisecond
	})

	p.signal(t, syscall.SIGTERM)
	code := p.wait(t, 15*time.Second)
	stderr := p.stderr.String()
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM with stuck clients, want 0\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "cut 2 stuck connections at --shutdown-timeout 1s") {
		t.Fatalf("stderr does not say 2 connections were cut:\n%s", stderr)
	}
	procNoTrace(t, stderr)
}

// sseBytesSent reads rtbench_serve_bytes_sent_total{pattern="sse"} from
// /metrics, on a connection of its own that it closes.
func sseBytesSent(t *testing.T, addr string) int64 {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `rtbench_serve_bytes_sent_total{pattern="sse"} `); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("no SSE bytes in /metrics:\n%s", b)
	return 0
}
