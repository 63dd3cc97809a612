//go:build linux

package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServeProcs starts `rtbench serve --procs n` as a process and returns
// it, its address and its children's pids.
func startServeProcs(t *testing.T, n int) (*proc, string, []int) {
	t.Helper()
	p := procStart(t, "serve", "--procs", strconv.Itoa(n), "--addr", "127.0.0.1:0", "--shutdown-timeout", "2s")
	addrRE := regexp.MustCompile(`listening on http://(\S+) with`)
	var addr string
	p.waitFor(t, 20*time.Second, "serve --procs did not say where it listens", func() bool {
		m := addrRE.FindStringSubmatch(p.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	kids := childPIDs(t, p.cmd.Process.Pid)
	if len(kids) != n {
		t.Fatalf("serve --procs %d has %d child processes %v", n, len(kids), kids)
	}
	return p, addr, kids
}

// childPIDs lists pid's children from /proc (every thread's).
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that ended
		}
		for _, w := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(w)
			pids = append(pids, n)
		}
	}
	return pids
}

// gone reports whether no process pid exists any more (reaped: not even a
// zombie).
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// TestServeProcsOneHub: serve --procs 2 spreads connections over two
// processes (each names itself in X-RTBench-Process); SSE subscribers of one
// channel in each process both get a message published once, with one seq
// and one sched_ns; SIGTERM stops everything, exit 0, one banner, and no
// process left behind.
func TestServeProcsOneHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rtbench serve as processes")
	}
	p, addr, kids := startServeProcs(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Each process runs with its share of the cores, as load --procs
	// agents do: two runtimes sized for every core would fight for them.
	want := "GOMAXPROCS=" + strconv.Itoa(max(1, runtime.NumCPU()/2))
	for _, k := range kids {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", k))
		if err != nil {
			t.Fatal(err)
		}
		vars := strings.Split(string(env), "\x00")
		if i := slices.IndexFunc(vars, func(v string) bool { return strings.HasPrefix(v, "GOMAXPROCS=") }); i < 0 || vars[i] != want {
			t.Errorf("serve process %d runs without %s", k, want)
		}
	}

	// New connections until one lands in each process: the kernel picks
	// by a hash of the source port, so each try is a coin toss.
	streams := map[string]*bufio.Reader{}
	for try := 0; len(streams) < 2 && try < 200; try++ {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/sse?channel=procs&retry=0", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		proc := resp.Header.Get("X-RTBench-Process")
		if proc != "1" && proc != "2" {
			t.Fatalf("X-RTBench-Process %q, want 1 or 2", proc)
		}
		if streams[proc] != nil {
			resp.Body.Close()
			continue
		}
		defer resp.Body.Close()
		streams[proc] = bufio.NewReader(resp.Body)
	}
	if len(streams) < 2 {
		t.Fatalf("200 connections all landed in process %v", streams)
	}

	resp, err := http.Post("http://"+addr+"/api/publish", "application/json",
		strings.NewReader(`{"channel":"procs","data":{"text":"once"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %s", resp.Status)
	}
	dataRE := regexp.MustCompile(`^data: \{"channel":"procs","seq":1,"sched_ns":(\d+),"sent_ns":\d+,"data":\{"text":"once"\}\}$`)
	sched := map[string]string{}
	for proc, r := range streams {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("process %s's stream ended before the message: %v", proc, err)
			}
			if m := dataRE.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
				sched[proc] = m[1]
				break
			}
			if strings.HasPrefix(line, "data:") {
				t.Fatalf("process %s: unexpected %q", proc, line)
			}
		}
	}
	if sched["1"] != sched["2"] {
		t.Errorf("sched_ns %s in process 1, %s in process 2: want the sequencer's one", sched["1"], sched["2"])
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0\n%s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	if n := strings.Count(stderr, "listening on"); n != 1 {
		t.Errorf("%d listening banners, want 1:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "stopped; 2 processes exited") {
		t.Errorf("stderr does not say the processes stopped:\n%s", stderr)
	}
	for _, k := range kids {
		if !gone(k) {
			t.Errorf("child process %d is still there after serve exited", k)
			syscall.Kill(k, syscall.SIGKILL)
		}
	}
	procNoTrace(t, stderr)
}

// TestServeProcsChildDies: when one process dies, serve stops the others
// and exits 1 naming it.
func TestServeProcsChildDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rtbench serve as processes")
	}
	p, _, kids := startServeProcs(t, 2)
	if err := syscall.Kill(kids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != ExitFailed {
		t.Fatalf("exit %d after a child died, want %d\n%s", code, ExitFailed, p.stderr.String())
	}
	if !regexp.MustCompile(`serve process \d of 2 exited \(signal: killed\); stopped the others`).MatchString(p.stderr.String()) {
		t.Errorf("stderr does not name the process that died:\n%s", p.stderr.String())
	}
	for _, k := range kids {
		if !gone(k) {
			t.Errorf("child process %d is still there after serve exited", k)
			syscall.Kill(k, syscall.SIGKILL)
		}
	}
}

// TestServeProcsAblySerials: Ably REST publishes that land in different
// processes get serials of one sequence under one instance, so a serial
// taken from one process is a position in every other.
func TestServeProcsAblySerials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rtbench serve as processes")
	}
	p, addr, _ := startServeProcs(t, 2)
	serials := map[string][]string{} // by process
	for try := 0; try < 200 && (len(serials["1"]) == 0 || len(serials["2"]) == 0); try++ {
		req, _ := http.NewRequest("POST", "http://"+addr+"/channels/procs/messages", strings.NewReader(`{"name":"n","data":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("rtbench.local", "rtbench-local-secret")
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Serials []string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 201 && resp.StatusCode != 200 || len(body.Serials) != 1 {
			t.Fatalf("publish: %s %v %+v", resp.Status, err, body)
		}
		proc := resp.Header.Get("X-RTBench-Process")
		serials[proc] = append(serials[proc], body.Serials[0])
	}
	if len(serials["1"]) == 0 || len(serials["2"]) == 0 {
		t.Fatalf("200 publishes did not reach both processes: %v", serials)
	}
	var all []string
	for _, s := range serials {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(a, b string) int {
		_, x, _ := strings.Cut(a, ":")
		_, y, _ := strings.Cut(b, ":")
		n, _ := strconv.Atoi(x)
		m, _ := strconv.Atoi(y)
		return n - m
	})
	instance, _, _ := strings.Cut(all[0], ":")
	for i, s := range all {
		if want := instance + ":" + strconv.Itoa(i+1); s != want {
			t.Fatalf("serials %v: want %s:1 … %s:%d, one instance and one sequence across processes", all, instance, instance, len(all))
		}
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p.stderr.String())
	}
}

// TestServeProcsNodeSubscribers: serve --procs 2 with subscribers nobody here
// wrote. testdata/procpeer/subscribe.js opens EventSource (npm eventsource)
// and WebSocket (npm ws) subscribers until each kind has two in each
// process; then messages are published through POST /api/publish, by new
// connections until both processes took some. Every subscriber must
// receive every message exactly once, in the order of the seqs the
// publishes were given, with those seqs: the sequencer's one order reaches
// clients in every process.
func TestServeProcsNodeSubscribers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rtbench serve as processes and Node subscribers")
	}
	const procs, per, minMessages = 2, 2, 20
	p, addr, _ := startServeProcs(t, procs)
	const channel = "procs-node"
	peer := nodeScript(t, "procpeer", "subscribe.js", addr, channel, strconv.Itoa(procs), strconv.Itoa(per))
	type line struct {
		Ready map[string]map[string]int
		Sub   string
		Proc  string
		Data  string
	}
	next := func() line {
		t.Helper()
		var l line
		b, _ := json.Marshal(peer.next(t, time.Minute))
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s printed %s: %v", peer.name, b, err)
		}
		return l
	}
	ready := next()
	for _, kind := range []string{"sse", "ws"} {
		for proc := 1; proc <= procs; proc++ {
			if n := ready.Ready[kind][strconv.Itoa(proc)]; n != per {
				t.Fatalf("ready %v: want %d %s subscribers in process %d", ready.Ready, per, kind, proc)
			}
		}
	}

	// Publish until at least minMessages went out and both processes took
	// some; seqs[n-1] is the seq message n was given.
	var seqs []uint64
	by := map[string]int{}
	for n := 1; n <= minMessages || len(by) < procs; n++ {
		if n > 200 {
			t.Fatalf("200 publishes all landed in processes %v", by)
		}
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		resp, err := c.Post("http://"+addr+"/api/publish", "application/json",
			strings.NewReader(fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, channel, n)))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Seq uint64 }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || body.Seq == 0 {
			t.Fatalf("publish %d: %s %v %+v", n, resp.Status, err, body)
		}
		by[resp.Header.Get("X-RTBench-Process")]++
		seqs = append(seqs, body.Seq)
	}
	order := make([]int, len(seqs)) // message numbers in seq order
	for i := range order {
		order[i] = i + 1
	}
	slices.SortFunc(order, func(a, b int) int { return int(seqs[a-1]) - int(seqs[b-1]) })

	// Each subscriber: the messages in seq order, each once. The last one
	// in seq order ends a subscriber's wait; anything before it that is
	// missing, repeated or out of order fails.
	last := order[len(order)-1]
	got := map[string][]int{}
	done := 0
	for done < 2*procs*per {
		l := next()
		var env struct {
			Channel string
			Seq     uint64
			Data    struct{ N int }
		}
		if err := json.Unmarshal([]byte(l.Data), &env); err != nil || env.Channel != channel || env.Data.N < 1 || env.Data.N > len(seqs) {
			t.Fatalf("%s (process %s) received %q, want a message of %s", l.Sub, l.Proc, l.Data, channel)
		}
		if env.Seq != seqs[env.Data.N-1] {
			t.Errorf("%s (process %s): message %d with seq %d, want %d", l.Sub, l.Proc, env.Data.N, env.Seq, seqs[env.Data.N-1])
		}
		got[l.Sub] = append(got[l.Sub], env.Data.N)
		if env.Data.N == last {
			done++
		}
	}
	for sub, ns := range got {
		if !slices.Equal(ns, order) {
			t.Errorf("%s received messages %v, want %v (every message once, in seq order)", sub, ns, order)
		}
	}
	if len(got) != 2*procs*per {
		t.Errorf("%d subscribers received messages, want %d", len(got), 2*procs*per)
	}
	t.Logf("%d messages (publishes per process %v) to %d subscribers", len(seqs), by, len(got))

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p.stderr.String())
	}
}
