package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
)

// agentExec is how load --procs starts rtbench again: the executable and the
// arguments that come before the command's. Tests replace it (the test
// binary is rtbench only with a marker argument).
var agentExec = func() (string, []string, error) {
	p, err := os.Executable()
	return p, nil, err
}

// procsLead is how far ahead load --procs sets the agents' common start when
// no --start-at is given: time for every child to start, pre-flight and
// probe the target.
const procsLead = 3 * time.Second

// agentSkip are the flags load --procs does not pass to its agents: it sets
// them per agent, or applies them itself to the merged result.
var agentSkip = map[string]bool{
	"procs": true, "agents": true, "agent-index": true, "run-id": true, "start-at": true,
	"out": true, "json": true, "threshold": true, "allow-saturated": true, "progress-lines": true,
	"prometheus": true, "source-ips": true,
}

// childFlagArgs returns the flags given on the command line as arguments
// for an agent process, but those in agentSkip.
func childFlagArgs(f *pflag.FlagSet) []string {
	var out []string
	f.Visit(func(fl *pflag.Flag) {
		if agentSkip[fl.Name] {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+fl.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+fl.Name+"="+fl.Value.String())
	})
	return out
}

// agentProc is one agent process of load --procs.
type agentProc struct {
	index  int
	cmd    *exec.Cmd
	stdout bytes.Buffer
	tail   []string // its last stderr lines that were not progress
	err    error    // how it ended
}

// loadProcs runs the load as o.Procs agent processes of this rtbench, each
// with --agents N --agent-index i --out -, and merges their results.
func loadProcs(parent context.Context, env *Env, o *LoadOptions) error {
	n := o.Procs
	exe, prefix, err := agentExec()
	if err != nil {
		return fmt.Errorf("--procs: finding rtbench's own executable: %w", err)
	}
	startAt := o.startAt
	if startAt.IsZero() {
		startAt = time.Now().Add(procsLead).Truncate(time.Millisecond)
	}
	held := o.Connections
	for _, st := range o.Stages.stages {
		held = max(held, int(st.Target))
	}
	sources, err := procSources(o, n, held)
	if err != nil {
		return err
	}
	// Each agent gets its share of the cores; the file limit is per process
	// (Go raises the soft limit to the hard one in each), so N agents hold
	// N times what one process may. Raising the hard limit needs root.
	bench.RaiseFileLimit(uint64(bench.Share{Count: n}.Of(held)) + bench.FileHeadroom)

	var progress *report.Progress
	if env.ErrTTY && !o.JSON {
		progress = report.NewProgress(env.ErrOut, report.ProgressOptions{Total: o.runLength(), Width: env.Width, Color: !env.NoColor()})
	}
	var mu sync.Mutex
	last := make([]bench.Progress, n)
	var errMu sync.Mutex // children's messages, one line at a time

	// Every agent's arguments first, so a bad one starts none.
	argv := make([][]string, n)
	for i := range n {
		args := slices.Clone(prefix)
		args = append(args, "load")
		args = append(args, o.childArgs...)
		args = append(args, "--agents="+strconv.Itoa(n), "--agent-index="+strconv.Itoa(i), "--run-id="+o.RunID,
			"--start-at="+startAt.UTC().Format(time.RFC3339Nano), "--out=-", "--progress-lines")
		if sources[i] != "" {
			args = append(args, "--source-ips="+sources[i])
		}
		if o.Prometheus != "" {
			addr, err := shiftPort(o.Prometheus, i)
			if err != nil {
				return err
			}
			args = append(args, "--prometheus="+addr)
			if o.PrometheusAllowRemote {
				args = append(args, "--prometheus-allow-remote")
			}
		}
		argv[i] = append(args, "--", o.URL)
	}

	procs := make([]*agentProc, n)
	var wg sync.WaitGroup
	for i, args := range argv {
		p := &agentProc{index: i, cmd: exec.Command(exe, args...)}
		p.cmd.Env = childEnv(n)
		p.cmd.Stdout = &p.stdout
		p.cmd.SysProcAttr = agentProcAttr()
		stderr, err := p.cmd.StderrPipe()
		if err != nil {
			stopAgents(procs[:i])
			wg.Wait()
			return fmt.Errorf("--procs: %w", err)
		}
		if err := p.cmd.Start(); err != nil {
			stopAgents(procs[:i])
			wg.Wait()
			return fmt.Errorf("--procs: starting agent %d: %w", i, err)
		}
		procs[i] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Bytes()
				if agent, pr, ok := bench.ParseProgressLine(line); ok && agent == p.index {
					mu.Lock()
					last[p.index] = pr
					sum := bench.SumProgress(last)
					mu.Unlock()
					progress.Update(sum)
					continue
				}
				errMu.Lock()
				p.tail = append(p.tail, string(line))
				if len(p.tail) > 5 {
					p.tail = p.tail[1:]
				}
				if progress == nil {
					fmt.Fprintf(env.ErrOut, "agent %d: %s\n", p.index, report.Visible(string(line)))
				}
				errMu.Unlock()
			}
			io.Copy(io.Discard, stderr)
			p.err = p.cmd.Wait()
		}()
	}
	// Ctrl-C (or SIGTERM) reaches every agent once: each stops, and writes
	// its partial result, which is merged below.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-parent.Done():
		stopAgents(procs)
		<-done
	}
	if progress != nil {
		progress.Done()
		for _, p := range procs {
			for _, l := range p.tail {
				fmt.Fprintf(env.ErrOut, "agent %d: %s\n", p.index, report.Visible(l))
			}
		}
	}

	var results []*bench.Result
	var failures []string
	failCode := 0
	for _, p := range procs {
		if p.stdout.Len() == 0 {
			code := exitCodeOf(p.err)
			failCode = max(failCode, code)
			why := "no result"
			if len(p.tail) > 0 {
				why = p.tail[len(p.tail)-1]
			}
			failures = append(failures, fmt.Sprintf("agent %d exited %d with no result (%s)", p.index, code, why))
			continue
		}
		r, err := bench.Decode(&p.stdout)
		if err != nil {
			failures = append(failures, fmt.Sprintf("agent %d wrote no readable result: %v", p.index, err))
			failCode = max(failCode, ExitFailed)
			continue
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		if parent.Err() != nil {
			return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted before the agents started: nothing was measured")}
		}
		return &ExitError{Code: cmpOr(failCode, ExitFailed), Err: fmt.Errorf("--procs %d: %s", n, strings.Join(failures, "; "))}
	}
	merged, err := bench.Merge(results...)
	if err != nil {
		return fmt.Errorf("--procs: merging the agents' results: %w", err)
	}
	if len(failures) > 0 {
		merged.Reason = strings.Join(append([]string{merged.Reason}, failures...), "; ")
		merged.Reason = strings.TrimPrefix(merged.Reason, "; ")
		fmt.Fprintf(env.ErrOut, "rtbench: PARTIAL: %s; the report holds %d of %d agents\n", strings.Join(failures, "; "), len(results), n)
	}
	ferr := finishLoad(parent, env, o, merged)
	if ferr == nil && len(failures) > 0 {
		return &ExitError{Code: cmpOr(failCode, ExitFailed), Err: fmt.Errorf("--procs %d: %d agents failed", n, len(failures))}
	}
	return ferr
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// exitCodeOf is an agent process's exit code; -1 when a signal ended it.
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return ExitFailed
	}
	return 0
}

// stopAgents asks every started agent to stop (SIGTERM, once): each ends its
// run and writes what it measured.
func stopAgents(procs []*agentProc) {
	for _, p := range procs {
		if p != nil && p.cmd.Process != nil {
			stopAgent(p.cmd.Process)
		}
	}
}

// procSources spreads the agents over source addresses: the --source-ips
// given, dealt out in turn (as many to each); or, for a target on IPv4 loopback, addresses of
// 127.0.i+1.0/24 for agent i, one per bench.SessionsPerSource of its
// sessions (Linux only: bench.LoopbackSources).
// An empty string leaves an agent on the system's choice.
func procSources(o *LoadOptions, n, held int) ([]string, error) {
	out := make([]string, n)
	if len(o.sources) > 0 {
		// As many to each: agents of one run must record the same knobs.
		if len(o.sources)%n != 0 {
			return nil, UsageError("--procs %d with --source-ips of %d addresses: give a multiple of %d, as many to each agent", n, len(o.sources), n)
		}
		for i, ip := range o.sources {
			if out[i%n] != "" {
				out[i%n] += ","
			}
			out[i%n] += ip.String()
		}
		return out, nil
	}
	if !o.loopbackV4() || n > 254 {
		return out, nil
	}
	// The largest share (agent 0's) sets how many each gets, so every agent
	// records the same number.
	share := bench.Share{Index: 0, Count: n}.Of(held)
	for i := range n {
		if ips := bench.LoopbackSources(fmt.Sprintf("127.0.%d", i+1), share); len(ips) > 0 {
			out[i] = ips[0].String() + "-" + ips[len(ips)-1].String()
		}
	}
	return out, nil
}

// shiftPort is addr with its port moved up by i: agent i's --prometheus.
func shiftPort(addr string, i int) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", UsageError("--prometheus %q: want host:port", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p+i > 65535 || (p == 0 && i > 0) {
		return "", UsageError("--prometheus %q: with --procs give a numbered port; agent i listens on port+i", addr)
	}
	if p == 0 {
		return addr, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(p+i)), nil
}
