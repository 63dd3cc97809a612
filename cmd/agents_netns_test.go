//go:build linux

package cmd

// Agents and the target in network namespaces of their own, joined by veth
// links, so each agent has its own address as Kubernetes pods would. The
// namespaces and links exist only inside this machine and are removed when
// the test ends.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// nsRun runs `ip args…`, bounded in time, and returns its combined output.
func nsRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// nsStart starts rtbench with args inside network namespace ns.
func nsStart(t *testing.T, ns string, args ...string) *proc {
	t.Helper()
	return procStartWrapped(t, []string{"ip", "netns", "exec", ns}, append([]string{"[netns " + ns + "]"}, args...), args...)
}

func TestAgentsInNetworkNamespaces(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	if testing.Short() {
		t.Skip("creates network namespaces and starts rtbench processes")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: no `ip` command (iproute2) to create network namespaces")
	}
	// Names unique to this test process, so parallel runs do not collide.
	tag := fmt.Sprintf("rtb%d", os.Getpid()%100000)
	srv := tag + "-srv"
	if out, err := nsRun("netns", "add", srv); err != nil {
		t.Skipf("skipped: creating a network namespace is not allowed here (ip netns add: %s); run as root with CAP_SYS_ADMIN to test agents in namespaces", out)
	}
	t.Cleanup(func() { nsRun("netns", "del", srv) })
	must := func(args ...string) {
		t.Helper()
		if out, err := nsRun(args...); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// The target: 10.213.0.1 on the server namespace's loopback device,
	// reached by each agent over its own veth link.
	const target = "10.213.0.1"
	must("-n", srv, "link", "set", "lo", "up")
	must("-n", srv, "addr", "add", target+"/32", "dev", "lo")
	const agents = 2
	var names []string
	for i := range agents {
		ns := fmt.Sprintf("%s-a%d", tag, i)
		if out, err := nsRun("netns", "add", ns); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() { nsRun("netns", "del", ns) })
		names = append(names, ns)
		host, peer := fmt.Sprintf("%sv%d", tag, i), fmt.Sprintf("%sp%d", tag, i)
		must("link", "add", host, "type", "veth", "peer", "name", peer)
		must("link", "set", host, "netns", ns)
		must("link", "set", peer, "netns", srv)
		agentIP, srvIP := fmt.Sprintf("10.213.%d.2", i+1), fmt.Sprintf("10.213.%d.1", i+1)
		must("-n", ns, "addr", "add", agentIP+"/24", "dev", host)
		must("-n", srv, "addr", "add", srvIP+"/24", "dev", peer)
		for _, l := range []string{"lo", host} {
			must("-n", ns, "link", "set", l, "up")
		}
		must("-n", srv, "link", "set", peer, "up")
		must("-n", ns, "route", "add", target+"/32", "via", srvIP)
	}

	// --allow-remote: the address exists only inside the namespaces.
	serve := nsStart(t, srv, "serve", "--allow-remote", "--addr", target+":18080")
	serve.waitFor(t, 20*time.Second, "serve listening", func() bool { return strings.Contains(serve.stderr.String(), "listening on") })
	url := "http://" + target + ":18080/sse?rate=20"
	dir := t.TempDir()
	startAt := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	var ps []*proc
	for i, ns := range names {
		ps = append(ps, nsStart(t, ns, "load", "--agents", fmt.Sprint(agents), "--agent-index", fmt.Sprint(i), "--run-id", "netns",
			"--start-at", startAt, "--start-tolerance", "2s", "-c", "5", "-d", "1500ms", "--out", "-", url))
	}
	var files []string
	for i, p := range ps {
		if code := p.wait(t, 40*time.Second); code != 0 {
			t.Fatalf("agent %d exited %d:\n%s", i, code, p.stderr.String())
		}
		procNoTrace(t, p.stderr.String())
		f := filepath.Join(dir, fmt.Sprintf("a%d.json", i))
		if err := os.WriteFile(f, []byte(p.stdout.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// Each agent could reach the target only through its own link, from its
	// own address: the namespace holds no other route.
	for i, ns := range names {
		out, err := nsRun("-n", ns, "route", "get", target)
		if want := fmt.Sprintf("src 10.213.%d.2", i+1); err != nil || !strings.Contains(out, want) {
			t.Errorf("agent %d's route to the target: %q (%v), want %q", i, out, err, want)
		}
	}
	code, out, errOut := runCmd(t, t.Context(), append([]string{"report", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	var m bench.Result
	if err := json.NewDecoder(bytes.NewReader([]byte(out))).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Run == nil || len(m.Run.Parts) != agents || m.Counters["sessions_started"] != 5 || m.Counters["events"] == 0 || len(m.Errors) != 0 {
		t.Errorf("merged: run %+v, sessions %d, events %d, errors %v; want 2 agents holding 5 sessions, no error",
			m.Run, m.Counters["sessions_started"], m.Counters["events"], m.Errors)
	}
	serve.signal(t, syscall.SIGTERM)
	serve.wait(t, 15*time.Second)
}
