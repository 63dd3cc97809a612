package cmd

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
)

// AgentFlags are load's flags for a run driven by several agents (processes,
// machines, Kubernetes pods): docs/agents.md.
type AgentFlags struct {
	Agents         int
	AgentIndex     int
	RunID          string
	StartAt        string
	StartTolerance time.Duration
	Procs          int
	// ProgressLines: write machine-readable progress lines on stderr (a
	// --procs child to its parent).
	ProgressLines bool

	share     bench.Share
	startAt   time.Time
	childArgs []string // the flags given, for --procs' agents
	indexOK   bool     // --agent-index was given
}

// jobIndexEnv is the variable Kubernetes sets in each pod of an Indexed
// Job: the pod's completion index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// defaultStartTolerance is how late after --start-at an agent may begin.
const defaultStartTolerance = time.Second

func (a *AgentFlags) addAgentFlags(f *pflag.FlagSet) {
	f.IntVar(&a.Agents, "agents", 1, "agents in the run: -c, --rate, --ramp and --stages are the run's totals, this agent drives its share (docs/agents.md)")
	f.IntVar(&a.AgentIndex, "agent-index", 0, "this agent's index, 0 to --agents−1 (default $"+jobIndexEnv+", which an Indexed Kubernetes Job sets)")
	f.StringVar(&a.RunID, "run-id", "", "the run's id, the same for every agent: results of other runs are not merged with it (default: a random id)")
	f.StringVar(&a.StartAt, "start-at", "", "do the pre-flight, then start at this time (RFC 3339, e.g. 2026-01-02T15:04:05Z), with the other agents")
	f.DurationVar(&a.StartTolerance, "start-tolerance", defaultStartTolerance, "an agent that reaches --start-at later than this exits (code 2) instead of adding skewed load")
	f.IntVar(&a.Procs, "procs", 0, "run the load as this many agent processes of rtbench on this machine, merged into one report (0 = in this process)")
	f.BoolVar(&a.ProgressLines, "progress-lines", false, "write progress as lines of JSON on stderr (for a parent process)")
	f.MarkHidden("progress-lines")
}

// validateAgents checks the agent flags; getenv reads JOB_COMPLETION_INDEX
// when --agent-index is not given.
func (a *AgentFlags) validateAgents(f *pflag.FlagSet, getenv func(string) string) error {
	a.indexOK = f.Changed("agent-index")
	if !a.indexOK && a.Agents > 1 {
		if v := getenv(jobIndexEnv); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				return UsageError("$%s=%q: want the agent's index, a number", jobIndexEnv, v)
			}
			a.AgentIndex, a.indexOK = i, true
		}
	}
	switch {
	case a.Agents < 1 || a.Agents > bench.MaxAgents:
		return UsageError("--agents %d: want 1 to %d", a.Agents, bench.MaxAgents)
	case a.Agents > 1 && !a.indexOK:
		return UsageError("--agents %d needs this agent's --agent-index (0 to %d), or $%s as an Indexed Kubernetes Job sets it", a.Agents, a.Agents-1, jobIndexEnv)
	case a.AgentIndex < 0 || a.AgentIndex >= a.Agents:
		return UsageError("--agent-index %d: want 0 to %d for --agents %d", a.AgentIndex, a.Agents-1, a.Agents)
	case a.Agents > 1 && a.RunID == "":
		return UsageError("--agents %d needs a --run-id shared by every agent, so their results can be merged and checked as one run", a.Agents)
	case a.StartTolerance <= 0:
		return UsageError("--start-tolerance %v: want a positive duration such as 1s", a.StartTolerance)
	case a.Procs < 0 || a.Procs > maxProcs:
		return UsageError("--procs %d: want 1 to %d processes (0 runs in this process)", a.Procs, maxProcs)
	case a.Procs > 0 && (a.Agents > 1 || a.indexOK):
		return UsageError("--procs runs its own agents: give it without --agents and --agent-index")
	}
	if a.RunID != "" {
		if err := bench.ValidRunID(a.RunID); err != nil {
			return UsageError("--run-id: %v", err)
		}
	} else {
		a.RunID = bench.NewRunID()
	}
	if a.StartAt != "" {
		t, err := time.Parse(time.RFC3339Nano, a.StartAt)
		if err != nil {
			return UsageError("--start-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", a.StartAt)
		}
		a.startAt = t
	}
	a.share = bench.Share{Index: a.AgentIndex, Count: a.Agents}
	return nil
}

// maxProcs bounds --procs.
const maxProcs = 256

// runInfo is the run's id, start and fingerprint for the result. total is
// the run's params (before the agent's share was taken).
func (a *AgentFlags) runInfo(version, url, pattern string, total bench.Params, header http.Header, body []byte, send []string) *bench.RunInfo {
	ri := &bench.RunInfo{ID: a.RunID, Agents: a.Agents, Total: total}
	if !a.startAt.IsZero() {
		t := a.startAt.UTC()
		ri.StartAt = &t
	}
	fp := bench.Fingerprint{Target: url, Pattern: pattern, Shape: bench.Shape(total), Version: version,
		Headers: bench.HashHeaders(a.RunID, header)}
	if len(body) > 0 || len(send) > 0 {
		fp.Body = bench.HashValue(a.RunID, []byte(string(body)+"\x00"+strings.Join(send, "\x00")))
	}
	ri.Fingerprint = fp
	return ri
}

// stdoutOut reports whether --out - sends the result to stdout.
func stdoutOut(out string) bool { return out == "-" }
