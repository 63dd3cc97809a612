package cmd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench/k8s"
)

// runK8sJob runs `rtbench k8s job args` with the run step captured.
func runK8sJob(t *testing.T, args ...string) (*K8sJobOptions, error) {
	t.Helper()
	env, _, _ := TestEnv()
	var got *K8sJobOptions
	c := NewCmdK8s(env, func(_ context.Context, o *K8sJobOptions) error { got = o; return nil })
	c.SetArgs(append([]string{"job"}, args...))
	c.SilenceErrors, c.SilenceUsage = true, true
	err := c.Execute()
	return got, err
}

// TestK8sJobFlags: args → options. The load flags pass through verbatim, in
// order, whatever their values look like; the command's own flags are taken
// out wherever they stand.
func TestK8sJobFlags(t *testing.T) {
	tests := []struct {
		args  []string
		check func(*K8sJobOptions) bool
	}{
		{[]string{"--agents", "10", "--image", "rtbench/rtbench:1", "-c", "100000", "--ramp", "2000/s", "-d", "5m", "http://t:8080/sse"},
			func(o *K8sJobOptions) bool {
				return o.Agents == 10 && o.Lead == time.Minute && o.PortRange == k8s.DefaultPortRange &&
					slices.Equal(o.Load, []string{"-c", "100000", "--ramp", "2000/s", "-d", "5m", "http://t:8080/sse"}) &&
					o.Size == k8s.Size{Sessions: 100_000, Ramp: 2000, MaxInFlight: o.Size.MaxInFlight} && o.RunLength == 5*time.Minute &&
					o.RunID != "" && o.Name == "rtbench-"+strings.ToLower(o.RunID)
			}},
		// Own flags between load flags; a load flag's value that looks like
		// one of ours stays with it.
		{[]string{"-c", "10", "--agents=2", "-H", "--image: x", "--image", "img", "--run-id", "Run_1", "--lead", "90s", "http://t/sse"},
			func(o *K8sJobOptions) bool {
				return o.Agents == 2 && o.Image == "img" && o.RunID == "Run_1" && o.Name == "rtbench-run-1" && o.Lead == 90*time.Second &&
					slices.Equal(o.Load, []string{"-c", "10", "-H", "--image: x", "http://t/sse"})
			}},
		// The open model sizes by rate; --prometheus gives the metrics port;
		// an Ably URL is a heavy session.
		{[]string{"--agents", "4", "--image", "i", "--namespace", "load", "--name", "ai", "--port-range", "",
			"--rate", "400/s", "--prometheus", "0.0.0.0:9464", "--prometheus-allow-remote", "-d", "1m", "http://t/v1/chat/completions"},
			func(o *K8sJobOptions) bool {
				return o.Namespace == "load" && o.Name == "ai" && o.PortRange == "" && o.Size.Rate == 400 && o.Size.Sessions == 0 &&
					o.MetricsPort == 9464
			}},
		{[]string{"--agents", "2", "--image", "i", "-c", "50", "--ramp", "10s", "ably+http://a.b:s@127.0.0.1:8080/chat"},
			func(o *K8sJobOptions) bool { return o.Size.Heavy && o.Size.Ramp == 5 && o.Size.Sessions == 50 }},
		// Everything after -- is load's.
		{[]string{"--agents", "1", "--image", "i", "--", "http://t/sse"},
			func(o *K8sJobOptions) bool { return slices.Equal(o.Load, []string{"--", "http://t/sse"}) }},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := runK8sJob(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Errorf("options %+v", *o)
			}
		})
	}
}

// TestK8sJobRefuses: bad input fails here, with exit 2 and a line naming it,
// bad load flags included.
func TestK8sJobRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", "i", "http://t/sse"}, "--agents 0"},
		{[]string{"--agents", "100001", "--image", "i", "http://t/sse"}, "--agents 100001"},
		{[]string{"--agents", "2", "http://t/sse"}, "--image"},
		{[]string{"--agents", "2", "--image", "i", "--lead", "1s", "http://t/sse"}, "--lead 1s"},
		{[]string{"--agents", "2", "--image", "i", "--run-id", "a b", "http://t/sse"}, `--run-id "a b"`},
		{[]string{"--agents", "2", "--image", "i", "--name", "Job", "http://t/sse"}, `--name "Job"`},
		{[]string{"--agents", "2", "--image", "i", "--namespace", "a.b", "http://t/sse"}, `--namespace "a.b"`},
		{[]string{"--agents", "2", "--image", "i", "--port-range", "1024", "http://t/sse"}, "--port-range"},
		{[]string{"--agents", "2", "--image", "i"}, "load flags"},
		{[]string{"--agents", "2", "--image", "i", "-c", "0", "http://t/sse"}, "-c 0"},
		{[]string{"--agents", "2", "--image", "i", "--threshold", "p99<", "http://t/sse"}, "p99<"},
		{[]string{"--agents", "2", "--image", "i", "--threshold", "delivery.p99<1s", "http://t/sse"}, "--threshold among the load flags"},
		{[]string{"--agents", "2", "--image", "i", "--no-such-flag", "http://t/sse"}, "unknown flag: --no-such-flag"},
		{[]string{"--agents", "2", "--image", "i", "ftp://t/sse"}, "ftp"},
		{[]string{"--agents", "2", "--image", "i", "--out", "r.json", "http://t/sse"}, "--out among the load flags"},
		{[]string{"--agents", "2", "--image", "i", "--json", "http://t/sse"}, "--json among the load flags"},
		{[]string{"--agents", "x", "--image", "i", "http://t/sse"}, "--agents"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runK8sJob(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if code := exitCode(err); code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
		})
	}
}

// TestK8sJobOutput: options → output. The manifest goes to stdout (for
// kubectl apply -f -) and names the start a lead after now; the summary
// goes to stderr.
func TestK8sJobOutput(t *testing.T) {
	env, stdout, stderr := TestEnv()
	now := time.Date(2026, 12, 6, 13, 0, 0, 500e6, time.UTC)
	c := NewCmdK8s(env, func(_ context.Context, o *K8sJobOptions) error {
		o.now = func() time.Time { return now }
		return k8sJobRun(env, o)
	})
	c.SetArgs([]string{"job", "--agents", "4", "--image", "rtbench/rtbench:1", "--run-id", "r1", "--lead", "2m",
		"-c", "1000", "-d", "30s", "http://t:8080/sse"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	y := stdout.String()
	for _, want := range []string{"name: rtbench-r1\n", "completions: 4\n", `- "2026-12-06T13:02:01Z"`, "- http://t:8080/sse\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("manifest lacks %q:\n%s", want, y)
		}
	}
	if want := "run r1, 4 agents starting at 2026-12-06T13:02:01Z"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}

// FuzzSplitK8sArgs: whatever the command line, the split keeps every word
// but -h/--help exactly once and in order, gives k8s job only its own flags
// (never a flag of load, nor a word a load flag takes as its value), and
// never panics.
func FuzzSplitK8sArgs(f *testing.F) {
	for _, s := range []string{
		"--agents 10 --image img -c 100 --ramp 10/s http://t/sse",
		"-c 10 --agents=2 -H --image: x --image img http://t/sse",
		"--agents 1 --image i -- --agents http://t/sse",
		"--data --lead --lead 90s -c100 -h http://t",
		"--image",
		"- -- --",
	} {
		f.Add(s)
	}
	env, _, _ := TestEnv()
	own := newCmdK8sJob(env, nil).Flags()
	load := NewCmdLoad(env, nil).Flags()
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		mine, rest, help := splitK8sArgs(own, load, args)
		// Only -h and --help words are dropped (a -h that is a load flag's
		// value stays), and dropping one is asking for help.
		helps := 0
		for _, a := range args {
			if a == "-h" || a == "--help" {
				helps++
			}
		}
		dropped := len(args) - len(mine) - len(rest)
		if dropped < 0 || dropped > helps || help != (dropped > 0) {
			t.Fatalf("%q: split into %q and %q (help %v)", args, mine, rest, help)
		}
		// Each part keeps the order of the command line.
		for _, part := range [][]string{mine, rest} {
			k := 0
			for _, a := range args {
				if k < len(part) && part[k] == a {
					k++
				}
			}
			if k != len(part) {
				t.Fatalf("%q: %q is not in the command line's order", args, part)
			}
		}
		// k8s job's words are its own flags, each maybe with its value.
		for k := 0; k < len(mine); k++ {
			name, _, hasValue := strings.Cut(strings.TrimPrefix(mine[k], "--"), "=")
			fl := own.Lookup(name)
			if !strings.HasPrefix(mine[k], "--") || fl == nil {
				t.Fatalf("%q: k8s job took %q, not one of its flags", args, mine[k])
			}
			if !hasValue && fl.NoOptDefVal == "" {
				k++ // its value
			}
		}
	})
}
