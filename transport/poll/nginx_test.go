package poll_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/poll"
)

// startNginx runs nginx (the Debian package nginx-light, or any nginx on
// PATH or in /usr/sbin) on a free loopback port with conf's server block
// directives (ROOT in them is the directory of files), serving files. It logs every request as
// "<connection serial> <request number on it> <status>" to the returned log
// file; stop ends nginx gracefully so the log is complete. The test skips
// when nginx is not installed.
func startNginx(t *testing.T, server string, files map[string]string) (base, log string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/nginx"); e != nil {
			t.Skip("nginx is not installed (apt-get install nginx-light): the lean poll path is not checked against it")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log = filepath.Join(dir, "access.log")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers read the test's own temporary directory
	}
	conf := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	log_format conns '$connection $connection_requests $status';
	access_log %[3]s conns;
	client_body_temp_path %[2]s;
	proxy_temp_path %[2]s;
	fastcgi_temp_path %[2]s;
	uwsgi_temp_path %[2]s;
	scgi_temp_path %[2]s;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen %[4]s;
		root %[2]s;
		%[5]s
	}
}
`, user, dir, log, addr, strings.ReplaceAll(server, "ROOT", dir))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGQUIT) // graceful: the log is flushed
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	// Ready when it accepts a connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("nginx exited: %v: %s", waitErr, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s: %s", addr, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "http://" + addr, log, stop
}

// nginxLog reads the log startNginx writes: the connections and the
// requests by status.
func nginxLog(t *testing.T, path string) (conns int, statuses map[string]int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	statuses = map[string]int{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		seen[f[0]] = true
		statuses[f[2]]++
	}
	return len(seen), statuses
}

// TestLeanAgainstNginx: the lean path against a server nobody here wrote.
// 500 closed-loop sessions (`rtbench load -c 500 --interval 0`) open 500
// connections in all, as nginx counts them, whatever the requests; a file
// with an ETag is polled conditionally (200, then 304s); a gzip-compressed
// answer (chunked: nginx compresses on the fly) is read decoded; and a
// location that closes every connection is polled with a reconnect per
// request and no error (TestLeanAgainstNginxAnswers).
func TestLeanAgainstNginx(t *testing.T) {
	base, log, stop := startNginx(t, `location = /json { default_type application/json; return 200 '{"seq":1}'; }`, nil)

	t.Run("500-sessions", func(t *testing.T) {
		const sessions, each = 500, 10
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		obs := make([]*observer, sessions)
		errs := make([]error, sessions)
		for i := range sessions {
			obs[i] = &observer{}
			c := &poll.Client{Request: transport.Request{URL: base + "/json"}, ClosedLoop: true, MaxRequests: each, Lean: &poll.Lean{}}
			wg.Go(func() { errs[i] = c.Run(ctx, obs[i]) })
		}
		wg.Wait()
		for i, o := range obs {
			connects, _, es, _ := o.Snapshot()
			if errs[i] != nil || len(es) != 0 || len(connects) != 1 {
				t.Fatalf("session %d: Run %v, errors %v, %d connects; want one connection and no error", i, errs[i], es, len(connects))
			}
		}
		stop()
		conns, statuses := nginxLog(t, log)
		if conns != sessions || statuses["200"] != sessions*each {
			t.Errorf("nginx saw %d connections and statuses %v; want %d connections (one per session) and %d × 200", conns, statuses, sessions, sessions*each)
		}
	})
}

// TestLeanAgainstNginxAnswers: conditional polls, gzip and Connection:
// close against nginx (a server of its own: the connection count above
// must see only its own sessions).
func TestLeanAgainstNginxAnswers(t *testing.T) {
	state := `{"seq":7,"status":"` + strings.Repeat("ok ", 100) + `"}`
	base, _, _ := startNginx(t, `
		location = /state.json { default_type application/json; etag on; }
		location = /gz/state.json { alias ROOT/state.json; default_type application/json; gzip on; gzip_types application/json; gzip_min_length 1; etag off; if_modified_since off; }
		location = /close { keepalive_timeout 0; default_type application/json; return 200 '{"seq":2}'; }
	`, map[string]string{"state.json": state})
	tests := []struct {
		name        string
		path        string
		header      map[string][]string
		wantStatus  []int
		wantConns   int
		wantEvents  int
		wantGzipped bool
	}{
		{"etag-304", "/state.json", nil, []int{200, 304, 304, 304}, 1, 1, false},
		{"gzip-chunked", "/gz/state.json", map[string][]string{"Accept-Encoding": {"gzip"}}, []int{200, 200, 200}, 1, 1, true},
		{"connection-close", "/close", nil, []int{200, 200, 200}, 3, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			o := &observer{OnExchange: func(n int, _ *transport.Exchange) {
				if n == len(tt.wantStatus) {
					cancel()
				}
			}}
			c := &poll.Client{Request: transport.Request{URL: base + tt.path, Header: tt.header}, ClosedLoop: true, Lean: &poll.Lean{}}
			if err := c.Run(ctx, o); err != nil {
				t.Fatal(err)
			}
			connects, events, errs, _ := o.Snapshot()
			if got := statuses(o.exchanges()); fmt.Sprint(got) != fmt.Sprint(tt.wantStatus) {
				t.Errorf("statuses %v, want %v", got, tt.wantStatus)
			}
			if len(connects) != tt.wantConns || len(errs) != 0 || len(events) != tt.wantEvents {
				t.Fatalf("%d connects, errors %v, %d events; want %d, none, %d", len(connects), errs, len(events), tt.wantConns, tt.wantEvents)
			}
			if tt.path != "/close" && string(events[0].Data) != state {
				t.Errorf("body %q, want the file", events[0].Data)
			}
			if gz := transport.Gzipped(connects[0].Header); gz != tt.wantGzipped {
				t.Errorf("Content-Encoding gzip %v, want %v (headers %v)", gz, tt.wantGzipped, connects[0].Header)
			}
		})
	}
}
