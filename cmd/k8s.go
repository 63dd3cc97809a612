package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench/k8s"
	"github.com/rtbench/rtbench/transport/client"
)

// K8sJobOptions are the parsed flags of `rtbench k8s job`.
type K8sJobOptions struct {
	Agents    int
	Image     string
	Lead      time.Duration
	RunID     string
	Namespace string
	Name      string
	PortRange string
	// Load are the load flags and URL, verbatim; Size is what they ask of
	// the whole run, from load's own parsing of them.
	Load []string
	Size k8s.Size
	// RunLength is load's planned length; MetricsPort its --prometheus port.
	RunLength   time.Duration
	MetricsPort int

	now func() time.Time
}

// agentFlags are load flags that `k8s job` sets itself in every agent's
// command line: given among the load flags they are refused.
var agentFlags = map[string]string{
	"out":         "each agent writes its result to its log (--out -), for kubectl logs",
	"json":        "each agent writes its result JSON to its log (--out -)",
	"start-at":    "k8s job sets it from --lead",
	"agent-index": "each agent takes its index from the Job (JOB_COMPLETION_INDEX)",
	"threshold": "thresholds apply to the merged result: give them to 'rtbench report' after collecting the agents' results " +
		"(an agent failing its share would fail the Job and stop the others)",
}

// NewCmdK8s builds `rtbench k8s`, the Kubernetes helpers.
func NewCmdK8s(env *Env, runF func(context.Context, *K8sJobOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:   "k8s",
		Short: "Run a load as agents on Kubernetes",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(newCmdK8sJob(env, runF))
	return c
}

func newCmdK8sJob(env *Env, runF func(context.Context, *K8sJobOptions) error) *cobra.Command {
	o := &K8sJobOptions{now: time.Now}
	c := &cobra.Command{
		Use:   "job --agents N --image IMAGE [load flags] URL",
		Short: "Print a Kubernetes Job that runs a load as N agents",
		Long: `Print a batch/v1 Job (YAML, for kubectl apply -f -) whose N pods are the agents of
one rtbench load: an Indexed Job (completions = parallelism = N, backoffLimit 0,
restartPolicy Never), each pod running

  load --agents N --run-id ID --start-at T --out - [load flags] URL

so the agents share -c, --rate and --ramp, take their index from the Job
(JOB_COMPLETION_INDEX), all start at T (now + --lead, time for every pod to be
scheduled and pulled) and write their result JSON to their log, for
'kubectl logs' and 'rtbench report'. The load flags are checked here by load's
own parsing, so a bad one fails now and not in the cluster.

The pods are spread over nodes (a topology spread constraint on
kubernetes.io/hostname, max skew 1), run as the image's non-root user, and get
net.ipv4.ip_local_port_range (a safe, namespaced sysctl: no kubelet setting
needed; refused only with hostNetwork). Each agent's requests and limits come
from its share of the load:

  memory = 64 MiB + sessions x 32 KiB (96 KiB for Pusher and Ably), limit 2x
  cpu    = 250m + 1 core per 10,000 sessions + 200 µs per request or
           handshake per second (--rate, or --ramp), limit 2x (at least 1)

with sessions the agent's share of -c (or of --rate x 10 s in the open model,
at most --max-in-flight). docs/distributed.md walks a whole run.`,
		Example: `  # 100,000 SSE sessions from 10 agents, starting a minute after apply
  rtbench k8s job --agents 10 --image rtbench/rtbench:1.4.0 \
      -c 100000 --ramp 2000/s -d 5m http://target.default.svc:8080/sse > job.yaml
  kubectl apply -f job.yaml
  kubectl wait --for=condition=complete --timeout=15m job/rtbench-RUNID`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			own, load, help := splitK8sArgs(c.Flags(), NewCmdLoad(env, nil).Flags(), args)
			if help {
				return c.Help()
			}
			if err := c.Flags().Parse(own); err != nil {
				return UsageError("%v (see '%s --help')", err, c.CommandPath())
			}
			o.Load = load
			if err := o.validate(env); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return k8sJobRun(env, o)
		},
	}
	f := c.Flags()
	f.IntVar(&o.Agents, "agents", 0, "agents (pods) of the run, 1 to "+strconv.Itoa(k8s.MaxAgents)+"; -c, --rate and --ramp are split among them")
	f.StringVar(&o.Image, "image", "", "the agents' image: rtbench's (rtbench/rtbench:VERSION) or one whose entrypoint is rtbench")
	f.DurationVar(&o.Lead, "lead", time.Minute, "how far ahead of now the agents start together (--start-at), for scheduling and image pulls")
	f.StringVar(&o.RunID, "run-id", "", "the run's id in every result and label (default: generated)")
	f.StringVar(&o.Namespace, "namespace", "", "the Job's namespace (default: kubectl's current one)")
	f.StringVar(&o.Name, "name", "", "the Job's name (default: rtbench-RUNID)")
	f.StringVar(&o.PortRange, "port-range", k8s.DefaultPortRange, "net.ipv4.ip_local_port_range of each pod ('' sets none)")
	return c
}

// splitK8sArgs separates the command's own flags from the load flags and
// URL, keeping those verbatim and in order. A load flag's value is never
// taken for a flag, whatever it looks like (load's flag set says which
// flags take one).
func splitK8sArgs(own, load *pflag.FlagSet, args []string) (mine, rest []string, help bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if a == "-h" || a == "--help" {
			help = true
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		var f *pflag.Flag
		set := load
		takesNext := false
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, hasValue := strings.Cut(name, "=")
			if f = own.Lookup(name); f != nil {
				set = own
			} else {
				f = load.Lookup(name)
			}
			takesNext = f != nil && !hasValue && f.NoOptDefVal == ""
		} else if sh := a[1:]; len(sh) == 1 {
			// -c 100: a single short flag with its value next (-c100 has it attached).
			f = load.ShorthandLookup(sh)
			takesNext = f != nil && f.NoOptDefVal == ""
		}
		n := 1
		if takesNext && i+1 < len(args) {
			n = 2
		}
		if set == own {
			mine = append(mine, args[i:i+n]...)
		} else {
			rest = append(rest, args[i:i+n]...)
		}
		i += n - 1
	}
	return mine, rest, help
}

func (o *K8sJobOptions) validate(env *Env) error {
	if o.Agents < 1 || o.Agents > k8s.MaxAgents {
		return UsageError("--agents %d: want 1 to %d agents (give --agents N)", o.Agents, k8s.MaxAgents)
	}
	if o.Image == "" {
		return UsageError("--image: give the agents' image, e.g. rtbench/rtbench:latest (docs/distributed.md)")
	}
	if o.Lead < 10*time.Second || o.Lead > 24*time.Hour {
		return UsageError("--lead %v: want 10s to 24h, enough for every pod to be scheduled and its image pulled", o.Lead)
	}
	if o.RunID == "" {
		o.RunID = newRunID(o.now())
	}
	if err := k8s.CheckRunID(o.RunID); err != nil {
		return UsageError("--run-id %v", err)
	}
	if o.Name == "" {
		o.Name = "rtbench-" + strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(o.RunID))
		if len(o.Name) > 52 {
			o.Name = strings.TrimRight(o.Name[:52], "-")
		}
	}
	if err := k8s.CheckName(o.Name); err != nil {
		return UsageError("--name %v", err)
	}
	if o.Namespace != "" {
		if err := k8s.CheckNamespace(o.Namespace); err != nil {
			return UsageError("--namespace %v", err)
		}
	}
	if o.PortRange != "" {
		if err := k8s.CheckPortRange(o.PortRange); err != nil {
			return UsageError("--port-range %v", err)
		}
	}
	return o.parseLoad(env)
}

// parseLoad runs the load flags through load's own parsing and validation
// (nothing is run), and takes from them what sizes an agent.
func (o *K8sJobOptions) parseLoad(env *Env) error {
	if len(o.Load) == 0 {
		return UsageError("load flags: give the load's flags and URL after the k8s job flags, e.g. -c 1000 -d 5m URL (see 'rtbench load --help')")
	}
	var lo *LoadOptions
	ld := NewCmdLoad(env, func(_ context.Context, opts *LoadOptions) error { lo = opts; return nil })
	ld.SetArgs(o.Load)
	ld.SetOut(io.Discard)
	ld.SetErr(io.Discard)
	ld.SilenceErrors, ld.SilenceUsage = true, true
	ld.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError("load flags: %v", err) })
	wrapArgs(ld)
	if err := ld.Execute(); err != nil {
		if _, ok := err.(*ExitError); ok {
			return err
		}
		return UsageError("load flags: %v", err)
	}
	if lo == nil {
		return UsageError("load flags: give the load's flags and URL after the k8s job flags (see 'rtbench load --help')")
	}
	for name, why := range agentFlags {
		if f := ld.Flags().Lookup(name); f != nil && f.Changed {
			return UsageError("--%s among the load flags: %s", name, why)
		}
	}
	held := lo.Connections
	var peakRate float64
	for _, st := range lo.Stages.stages {
		held = max(held, int(st.Target))
		peakRate = max(peakRate, st.Target)
	}
	o.Size = k8s.Size{Sessions: held, Ramp: lo.Ramp.rate, MaxInFlight: lo.MaxInFlight}
	if lo.Ramp.time > 0 {
		o.Size.Ramp = float64(held) / lo.Ramp.time.Seconds()
	}
	if lo.Rate.perSecond > 0 {
		o.Size.Sessions = 0
		o.Size.Rate = lo.Rate.perSecond
		if len(lo.Stages.stages) > 0 {
			o.Size.Rate = peakRate
		}
	}
	proto := lo.proto
	if proto == nil {
		proto, _ = client.Scheme(lo.URL)
	}
	o.Size.Heavy = proto != nil && (proto.Name == "pusher" || proto.Name == "ably")
	o.RunLength = lo.runLength()
	if lo.Prometheus != "" {
		_, port, _ := net.SplitHostPort(lo.Prometheus)
		o.MetricsPort, _ = strconv.Atoi(port)
	}
	return nil
}

// newRunID is a run id that sorts by time and does not repeat:
// 20261206-1400-3f9a1c.
func newRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102-1504") + "-" + hex.EncodeToString(b[:])
}

func (o *K8sJobOptions) plan() k8s.Plan {
	return k8s.Plan{
		Name: o.Name, Namespace: o.Namespace, Image: o.Image, RunID: o.RunID,
		Agents: o.Agents, StartAt: o.now().Add(o.Lead).Truncate(time.Second).Add(time.Second),
		RunLength: o.RunLength, Lead: o.Lead, Load: o.Load, Size: o.Size,
		MetricsPort: o.MetricsPort, PortRange: o.PortRange,
	}
}

func k8sJobRun(env *Env, o *K8sJobOptions) error {
	p := o.plan()
	y, err := k8s.Render(p)
	if err != nil {
		return UsageError("%v", err)
	}
	res := p.Size.PerAgent(p.Agents)
	fmt.Fprintf(env.ErrOut, "rtbench k8s job: run %s, %d agents starting at %s (apply it before then); each %s CPU, %d MiB, sized for %d sessions\n",
		p.RunID, p.Agents, p.StartAt.UTC().Format(time.RFC3339), strconv.FormatFloat(float64(res.MilliCPU)/1000, 'f', -1, 64), res.Memory>>20, res.Sessions)
	_, err = env.Out.Write(y)
	return err
}
