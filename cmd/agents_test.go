package cmd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// TestAgentFlags: args (and $JOB_COMPLETION_INDEX) → options, through the
// real command with the run step replaced.
func TestAgentFlags(t *testing.T) {
	const url = "http://127.0.0.1:1/sse"
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string
		check func(o *LoadOptions) bool
	}{
		{name: "one agent", args: nil, check: func(o *LoadOptions) bool {
			return o.share.Whole() && strings.HasPrefix(o.RunID, "r-") && o.startAt.IsZero()
		}},
		{name: "agent of three", args: []string{"--agents", "3", "--agent-index", "2", "--run-id", "n-7"}, check: func(o *LoadOptions) bool {
			return o.share.Index == 2 && o.share.Count == 3 && o.RunID == "n-7"
		}},
		{name: "index from the Job", args: []string{"--agents", "4", "--run-id", "k"}, env: map[string]string{jobIndexEnv: "3"},
			check: func(o *LoadOptions) bool { return o.share.Index == 3 }},
		{name: "flag beats the Job", args: []string{"--agents", "4", "--agent-index", "1", "--run-id", "k"}, env: map[string]string{jobIndexEnv: "3"},
			check: func(o *LoadOptions) bool { return o.share.Index == 1 }},
		{name: "start at", args: []string{"--start-at", "2026-01-02T03:04:05.5Z", "--start-tolerance", "3s"}, check: func(o *LoadOptions) bool {
			return o.startAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)) && o.StartTolerance == 3*time.Second
		}},
		{name: "out to stdout", args: []string{"--out", "-"}, check: func(o *LoadOptions) bool { return stdoutOut(o.Out) }},
		{name: "no index", args: []string{"--agents", "3", "--run-id", "x"}, err: "needs this agent's --agent-index"},
		{name: "index out of range", args: []string{"--agents", "3", "--agent-index", "3", "--run-id", "x"}, err: "--agent-index 3: want 0 to 2"},
		{name: "bad Job index", args: []string{"--agents", "3", "--run-id", "x"}, env: map[string]string{jobIndexEnv: "two"}, err: "JOB_COMPLETION_INDEX"},
		{name: "no run id", args: []string{"--agents", "2", "--agent-index", "0"}, err: "needs a --run-id"},
		{name: "bad run id", args: []string{"--run-id", "a/b"}, err: "--run-id"},
		{name: "bad start", args: []string{"--start-at", "tomorrow"}, err: "--start-at \"tomorrow\": want an RFC 3339 time"},
		{name: "procs with agents", args: []string{"--procs", "2", "--agents", "2", "--agent-index", "0", "--run-id", "x"}, err: "--procs runs its own agents"},
		{name: "too many procs", args: []string{"--procs", "1000"}, err: "--procs 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := TestEnv()
			env.Getenv = func(k string) string { return tt.env[k] }
			var got *LoadOptions
			c := NewCmdLoad(env, func(_ context.Context, o *LoadOptions) error { got = o; return nil })
			c.SetArgs(append(append([]string{"-d", "1s"}, tt.args...), url))
			c.SetOut(new(strings.Builder))
			c.SetErr(new(strings.Builder))
			c.SilenceErrors, c.SilenceUsage = true, true
			err := c.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || exitCode(err) != ExitUsage {
					t.Fatalf("err %v (exit %d), want a usage error saying %q", err, exitCode(err), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("options %+v", got.AgentFlags)
			}
		})
	}
}

// The flags given are passed on to --procs' agents, but those it sets per
// agent or applies to the merged result.
func TestChildFlagArgs(t *testing.T) {
	env, _, _ := TestEnv()
	var got *LoadOptions
	c := NewCmdLoad(env, func(_ context.Context, o *LoadOptions) error { got = o; return nil })
	c.SetArgs([]string{"--procs", "2", "-c", "10", "-d", "2s", "-H", "A: 1", "-H", "B: 2", "--ramp", "5/s", "--insecure",
		"--threshold", "errors<1%", "--out", "-", "--json", "http://127.0.0.1:1/sse"})
	c.SilenceErrors, c.SilenceUsage = true, true
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(got.childArgs, " ")
	for _, want := range []string{"--connections=10", "--duration=2s", "--header=A: 1", "--header=B: 2", "--ramp=5/s", "--insecure=true"} {
		if !strings.Contains(args, want) {
			t.Errorf("agent args %q lack %q", args, want)
		}
	}
	for _, skip := range []string{"procs", "threshold", "out", "json"} {
		if strings.Contains(args, "--"+skip+"=") {
			t.Errorf("agent args %q pass --%s", args, skip)
		}
	}
}

// TestAutoSources: a lone load spreads its connections over 127.0.0.x
// only where one address would take more than SessionsPerSource of them
// towards a loopback target it dials itself, one connection per session.
func TestAutoSources(t *testing.T) {
	per := bench.SessionsPerSource()
	for _, tc := range []struct {
		name, url, proxy string
		http1, http2     bool
		held, want       int
	}{
		{name: "few sessions", url: "http://127.0.0.1:8080/sse", held: per, want: 0},
		{name: "one past the budget", url: "http://127.0.0.1:8080/sse", held: per + 1, want: 2},
		{name: "WebSocket", url: "ws://127.0.0.1:8080/ws", held: 3 * per, want: 3},
		{name: "another loopback address", url: "http://127.9.9.9:8080/sse", held: 2*per + 1, want: 3},
		{name: "remote target", url: "http://10.0.0.1:8080/sse", held: 3 * per, want: 0},
		{name: "IPv6 loopback", url: "http://[::1]:8080/sse", held: 3 * per, want: 0},
		{name: "a name, not an address", url: "http://localhost:8080/sse", held: 3 * per, want: 0},
		{name: "https may be HTTP/2 streams", url: "https://127.0.0.1:8443/sse", held: 3 * per, want: 0},
		{name: "https with --http1.1", url: "https://127.0.0.1:8443/sse", http1: true, held: 3 * per, want: 3},
		{name: "h2c with --http2", url: "http://127.0.0.1:8080/sse", http2: true, held: 3 * per, want: 0},
		{name: "through a proxy", url: "http://127.0.0.1:8080/sse", proxy: "http://127.0.0.1:3128", held: 3 * per, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &LoadOptions{}
			o.URL, o.HTTP1, o.HTTP2 = tc.url, tc.http1, tc.http2
			if err := o.httpVersion(false); err != nil {
				t.Fatal(err)
			}
			if tc.proxy != "" {
				o.proxy, _ = url.Parse(tc.proxy)
			}
			got := o.autoSources(tc.held)
			want := tc.want
			if runtime.GOOS != "linux" {
				want = 0
			}
			if len(got) != want {
				t.Fatalf("%d sessions to %s: %d source addresses %v, want %d", tc.held, tc.url, len(got), got, want)
			}
			for i, ip := range got {
				if w := fmt.Sprintf("127.0.0.%d", i+1); ip.String() != w {
					t.Errorf("address %d is %v, want %s", i, ip, w)
				}
			}
		})
	}
}

func TestProcSources(t *testing.T) {
	o := &LoadOptions{}
	o.URL = "http://127.0.0.1:8080/sse"
	got, err := procSources(o, 3, 100_000)
	// 33,334 sessions for agent 0, one address per SessionsPerSource of them.
	k := (33_334 + bench.SessionsPerSource() - 1) / bench.SessionsPerSource()
	want0, want2 := fmt.Sprintf("127.0.1.1-127.0.1.%d", k), fmt.Sprintf("127.0.3.1-127.0.3.%d", k)
	if runtime.GOOS != "linux" {
		want0, want2 = "", "" // only Linux owns every 127/8 address
	}
	if err != nil || got[0] != want0 || got[2] != want2 {
		t.Errorf("loopback target, 3 agents, 100k sessions: %q %v; want %q … %q", got, err, want0, want2)
	}
	o.URL = "http://10.0.0.1:8080/sse"
	if got, _ := procSources(o, 2, 10); got[0] != "" || got[1] != "" {
		t.Errorf("a remote target gets source addresses: %q", got)
	}
	o.sources = []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.3"), net.ParseIP("127.0.0.4"), net.ParseIP("127.0.0.5")}
	if got, err := procSources(o, 2, 10); err != nil || got[0] != "127.0.0.2,127.0.0.4" || got[1] != "127.0.0.3,127.0.0.5" {
		t.Errorf("--source-ips dealt out: %q %v", got, err)
	}
	if _, err := procSources(o, 3, 10); err == nil {
		t.Error("4 addresses over 3 agents accepted")
	}
}
