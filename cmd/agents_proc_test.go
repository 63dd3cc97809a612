package cmd

// N agents of one run as separate rtbench processes against one target:
// the merge, the refusals and the start barrier (docs/agents.md).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
)

func TestAgentsAsProcesses(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	if testing.Short() {
		t.Skip("starts rtbench processes")
	}
	s, base := procMock(t, mock.Config{})
	url := base + "/sse?rate=20"
	dir := t.TempDir()
	const n, sessions = 3, 7
	startAt := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
	at := startAt.Format(time.RFC3339Nano)
	agent := func(file, runID string, i int, header string) *proc {
		return procStart(t, "load", "--agents", fmt.Sprint(n), "--agent-index", fmt.Sprint(i), "--run-id", runID,
			"--start-at", at, "--start-tolerance", "2s", "-c", fmt.Sprint(sessions), "-d", "1500ms",
			"-H", "Authorization: "+header, "--out", filepath.Join(dir, file), url)
	}
	var ps []*proc
	for i := range n {
		ps = append(ps, agent(fmt.Sprintf("a%d.json", i), "run-a", i, "Bearer one"))
	}
	other := agent("other.json", "run-b", 1, "Bearer one")
	changed := agent("hdr.json", "run-a", 1, "Bearer two")
	// Before the start, the agents have probed the target and wait: none
	// holds a session yet.
	if time.Now().Before(startAt.Add(-time.Second)) {
		if open := s.Stats().Snapshot().Open[transport.SSE]; open != 0 {
			t.Errorf("%d sessions open before --start-at", open)
		}
	}
	// An agent that reaches the start too late adds no load: it exits 2.
	late := procStart(t, "load", "--agents", "3", "--agent-index", "2", "--run-id", "run-a",
		"--start-at", time.Now().Add(-5*time.Second).UTC().Format(time.RFC3339), "-c", "3", "-d", "1s", url)
	if code := late.wait(t, 30*time.Second); code != ExitUsage || !strings.Contains(late.stderr.String(), "missed the start") {
		t.Errorf("late agent: exit %d, stderr %q; want 2 and 'missed the start'", code, late.stderr.String())
	}
	for _, p := range append(ps, other, changed) {
		if code := p.wait(t, 40*time.Second); code != 0 {
			t.Fatalf("agent %q exited %d:\n%s", p.args, code, p.stderr.String())
		}
		procNoTrace(t, p.stderr.String())
	}
	f := func(name string) string { return filepath.Join(dir, name) }

	// The merge: one run, every agent, every session once.
	code, out, errOut := runCmd(t, t.Context(), "report", "--json", f("a0.json"), f("a1.json"), f("a2.json"))
	if code != 0 {
		t.Fatalf("report of the 3 agents: exit %d\n%s", code, errOut)
	}
	var m bench.Result
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.Run == nil || m.Run.ID != "run-a" || len(m.Run.Parts) != n || len(m.Run.Missing()) != 0 {
		t.Fatalf("merged run %+v; want run-a with agents 0, 1, 2", m.Run)
	}
	if got := m.Counters["sessions_started"]; got != sessions || m.Params.Connections != sessions {
		t.Errorf("the agents started %d sessions (params %d); want the run's -c %d split over them", got, m.Params.Connections, sessions)
	}
	for _, p := range m.Run.Parts {
		// The start barrier: no agent began before the agreed start, and
		// each within its tolerance after it.
		if skew := p.StartedAt.Sub(startAt); skew < 0 || skew > 2*time.Second {
			t.Errorf("agent %d started %v from --start-at", p.Index, skew)
		}
	}
	if !strings.Contains(errOut, "agent 2") || !strings.Contains(errOut, "start +") {
		t.Errorf("report does not print each agent's start skew:\n%s", errOut)
	}
	for i := range n {
		r, err := bench.ReadFile(f(fmt.Sprintf("a%d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		if want := (bench.Share{Index: i, Count: n}).Of(sessions); r.Params.Connections != want || r.Counters["sessions_started"] != int64(want) {
			t.Errorf("agent %d held %d sessions (params %d), want %d", i, r.Counters["sessions_started"], r.Params.Connections, want)
		}
	}

	// The refusals, each naming the difference.
	for _, tt := range []struct {
		name  string
		files []string
		code  int
		want  string
	}{
		{"another run", []string{"a0.json", "other.json", "a2.json"}, ExitUsage, `run ids differ`},
		{"missing agent", []string{"a0.json", "a2.json"}, ExitUsage, "agents [1] are missing"},
		{"changed headers", []string{"a0.json", "hdr.json", "a2.json"}, ExitUsage, "headers differ: agent 1 sent a different Authorization hash than agent 0"},
	} {
		args := []string{"report"}
		for _, file := range tt.files {
			args = append(args, f(file))
		}
		code, _, errOut := runCmd(t, t.Context(), args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, code, errOut, tt.code, tt.want)
		}
		if strings.Contains(errOut, "Bearer") {
			t.Errorf("%s: a header value reached stderr: %q", tt.name, errOut)
		}
	}
	code, _, errOut = runCmd(t, t.Context(), "report", "--allow-partial", f("a0.json"), f("a2.json"))
	if code != 0 || !strings.Contains(errOut, "PARTIAL") {
		t.Errorf("--allow-partial: exit %d, stderr %q; want 0 and PARTIAL", code, errOut)
	}
}

// load --procs: N agent processes of one command, merged; Ctrl-C reaches
// each and their partial results are merged.
func TestLoadProcs(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	if testing.Short() {
		t.Skip("starts rtbench processes")
	}
	s, base := procMock(t, mock.Config{})
	url := base + "/sse?rate=20"
	t.Run("merged", func(t *testing.T) {
		p := procStart(t, "load", "--procs", "3", "-c", "8", "-d", "3s", "--json", url)
		if code := p.wait(t, 40*time.Second); code != 0 {
			t.Fatalf("exit %d:\n%s", code, p.stderr.String())
		}
		procNoTrace(t, p.stderr.String())
		r, err := bench.Decode(strings.NewReader(p.stdout.String()))
		if err != nil {
			t.Fatalf("stdout is not one result: %v\n%s", err, p.stdout.String())
		}
		if r.Run == nil || r.Run.Agents != 3 || len(r.Run.Parts) != 3 || r.Counters["sessions_started"] != 8 || r.Params.Connections != 8 {
			t.Fatalf("run %+v, %d sessions started; want 3 agents holding 8", r.Run, r.Counters["sessions_started"])
		}
		if len(r.Errors) != 0 {
			t.Errorf("errors %v", r.Errors)
		}
		// Events flow once a session is connected; an agent starved of CPU
		// (-race beside other tests) may end its 3 s before any session
		// connects, and must then count each one as cut off connecting.
		c := r.Counters
		switch {
		case c["connects"] > 0 && c["events"] == 0:
			t.Errorf("%d sessions connected, no event in the merged result", c["connects"])
		case c["connects"]+c["connecting_cut_off"] < 8:
			t.Errorf("connects %d + connecting_cut_off %d, want the 8 sessions", c["connects"], c["connecting_cut_off"])
		case c["connects"] == 0:
			t.Logf("no session connected within the run (machine busy): all 8 counted as cut off connecting")
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		before := s.Stats().Snapshot().Events[transport.SSE]
		p := procStart(t, "load", "--procs", "2", "-c", "4", "-d", "40s", "--out", out, url)
		p.waitFor(t, 30*time.Second, "4 sessions open and events flowing", func() bool {
			snap := s.Stats().Snapshot()
			return snap.Open[transport.SSE] >= 4 && snap.Events[transport.SSE] >= before+40
		})
		p.signal(t, syscall.SIGINT)
		if code := p.wait(t, 20*time.Second); code != ExitInterrupted {
			t.Fatalf("exit %d after Ctrl-C, want 130:\n%s", code, p.stderr.String())
		}
		r, err := bench.ReadFile(out)
		if err != nil {
			t.Fatalf("the partial result was not saved: %v\n%s", err, p.stderr.String())
		}
		if !r.Interrupted || r.Run == nil || len(r.Run.Parts) != 2 || r.Counters["events"] == 0 {
			t.Errorf("interrupted %v, run %+v, events %d: want both agents' partial results merged", r.Interrupted, r.Run, r.Counters["events"])
		}
		if _, err := os.Stat(out); err != nil {
			t.Error(err)
		}
	})
}
