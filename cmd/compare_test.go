package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

func TestCompareArgs(t *testing.T) {
	jobs := JobFlags{JobRate: bench.DefaultCompareJobRate, Job: "POST:/api/jobs", Until: "status==completed", JobDoneAt: "updated_at"}
	tests := []struct {
		args    []string
		want    CompareOptions
		wantErr string
	}{
		{args: nil, want: CompareOptions{Subscribers: 100, Updates: 10, Duration: 5 * time.Second, Size: bench.DefaultCompareSize,
			PollInterval: time.Second, AITokens: 64, ChatMembers: 10, ChatRate: 1, JobFlags: jobs, Patterns: comparePatterns}},
		{args: []string{"-c", "20", "--updates", "5", "-d", "2s", "--poll-interval", "500ms", "--patterns", "sse,poll"},
			want: CompareOptions{Subscribers: 20, Updates: 5, Duration: 2 * time.Second, Size: bench.DefaultCompareSize,
				PollInterval: 500 * time.Millisecond, PollGiven: true, AITokens: 64, ChatMembers: 10, ChatRate: 1, JobFlags: jobs, Patterns: []string{"sse", "poll"}}},
		{args: []string{"--target", "http://h:1/"}, want: CompareOptions{Subscribers: 100, Updates: 10, Duration: 5 * time.Second,
			Size: bench.DefaultCompareSize, PollInterval: time.Second, AITokens: 64, ChatMembers: 10, ChatRate: 1, JobFlags: jobs, Patterns: comparePatterns, Target: "http://h:1"}},
		{args: []string{"--patterns", "jobs", "--job-rate", "5", "--job", "PUT:/jobs", "--until", "state==done", "--job-done-at", "data.finished_at", "--job-header", "Authorization: Bearer t"},
			want: CompareOptions{Subscribers: 100, Updates: 10, Duration: 5 * time.Second, Size: bench.DefaultCompareSize, PollInterval: time.Second, AITokens: 64,
				ChatMembers: 10, ChatRate: 1, Patterns: []string{"jobs"}, JobFlags: JobFlags{JobRate: 5, Job: "PUT:/jobs", Until: "state==done",
					JobDoneAt: "data.finished_at", JobHeader: []string{"Authorization: Bearer t"}}}},
		{args: []string{"--patterns", "smoke"}, wantErr: `--patterns "smoke"`},
		{args: []string{"-c", "0"}, wantErr: "-c 0"},
		{args: []string{"--size", "2"}, wantErr: "--size 2"},
		{args: []string{"--target", "ftp://x"}, wantErr: "--target"},
		{args: []string{"--chat-members", "0"}, wantErr: "--chat-members 0"},
		{args: []string{"--chat-rate", "0"}, wantErr: "--chat-rate 0"},
		{args: []string{"--job-rate", "0"}, wantErr: "--job-rate 0"},
		{args: []string{"--job", "/api/jobs"}, wantErr: `--job "/api/jobs"`},
		{args: []string{"--until", "status=="}, wantErr: "until"},
		{args: []string{"--job-done-at", "a..b"}, wantErr: "done_at"},
		{args: []string{"--job-header", "no colon"}, wantErr: `--job-header "no colon"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env, _, _ := TestEnv()
			var got *CompareOptions
			c := NewCmdCompare(env, func(_ context.Context, o *CompareOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			err := c.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if exitCode(err) != ExitUsage {
					t.Errorf("exit %d, want %d", exitCode(err), ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tt.want)
			if string(g) != string(w) {
				t.Errorf("options\n got %s\nwant %s", g, w)
			}
		})
	}
}

// runCompare runs `rtbench compare --json args…` and decodes its output.
func runCompare(t *testing.T, args ...string) *bench.CompareResult {
	t.Helper()
	env, stdout, stderr := TestEnv()
	if code := Run(context.Background(), env, BuildInfo{}, append([]string{"compare", "--json"}, args...)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r bench.CompareResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("decoding the JSON: %v\n%s", err, stdout)
	}
	return &r
}

// TestComparePhysics runs a small comparison on the embedded server and
// checks what the patterns must show: polling waits about half its interval,
// pushes far less; polling moves more bytes per update than SSE; nothing is
// lost.
func TestComparePhysics(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s end-to-end run")
	}
	const interval = 500 * time.Millisecond
	r := runCompare(t, "-c", "20", "--updates", "5", "-d", "2s", "--poll-interval", interval.String(), "--patterns", "sse,ws,poll,long-poll")
	if r.Schema != bench.CompareSchema || !r.Embedded || r.CPUScope != bench.CPUScopeEmbedded {
		t.Errorf("envelope %q embedded %v cpu %q", r.Schema, r.Embedded, r.CPUScope)
	}
	by := map[string]*bench.PatternResult{}
	for _, p := range r.Patterns {
		by[p.Name] = p
		m, ok := p.Delivery()
		if !ok {
			t.Fatalf("%s: no delivery latency", p.Name)
		}
		t.Logf("%-10s p50 %7.2fms p99 %7.2fms lost %d dup %d bytes/update %.0f requests/update %.2f conns %d",
			p.Name, m.P50Ms, m.P99Ms, p.Lost, p.Duplicates, p.BytesPerUpdate, p.RequestsPerUpdate, p.ConnectionsPeak)
		if p.Published != 10 || p.Lost != 0 || p.Delivered != 200 {
			t.Errorf("%s: published %d, delivered %d, lost %d; want 10, 200, 0", p.Name, p.Published, p.Delivered, p.Lost)
		}
		if p.Result == nil || p.Result.Schema != bench.SchemaV2 || p.Result.Interrupted {
			t.Errorf("%s: result %+v", p.Name, p.Result)
		}
	}
	poll, sse, ws, lp := by["poll 500ms"], by["sse"], by["ws"], by["long-poll"]
	if poll == nil || sse == nil || ws == nil || lp == nil {
		t.Fatalf("patterns run: %v", by)
	}
	half := float64(interval/time.Millisecond) / 2
	if m, _ := poll.Delivery(); m.P50Ms < 0.7*half || m.P50Ms > 1.3*half {
		t.Errorf("poll p50 %.1fms, want 35–65%% of the %v interval", m.P50Ms, interval)
	}
	for _, p := range []*bench.PatternResult{sse, ws, lp} {
		if m, _ := p.Delivery(); m.P50Ms > 0.1*float64(interval/time.Millisecond) {
			t.Errorf("%s p50 %.1fms, want under 10%% of the interval", p.Name, m.P50Ms)
		}
	}
	if poll.BytesPerUpdate <= sse.BytesPerUpdate {
		t.Errorf("poll moves %.0f bytes per update, sse %.0f: want polling above", poll.BytesPerUpdate, sse.BytesPerUpdate)
	}
	if sse.ConnectionsPeak != 20 || ws.ConnectionsPeak != 20 {
		t.Errorf("connections sse %d ws %d, want 20 each", sse.ConnectionsPeak, ws.ConnectionsPeak)
	}
	if poll.RequestsPerUpdate <= sse.RequestsPerUpdate {
		t.Errorf("requests per update poll %.2f, sse %.2f", poll.RequestsPerUpdate, sse.RequestsPerUpdate)
	}
}

// TestCompareTarget runs the comparison against a separately started mock
// server: publishing goes through POST /api/publish.
func TestCompareTarget(t *testing.T) {
	s, base := mocktest.Start(t, mock.Config{})
	r := runCompare(t, "--target", base, "-c", "3", "--updates", "10", "-d", "500ms", "--patterns", "sse,ws,ai", "--ai-streams", "2", "--ai-tokens", "5")
	if r.Embedded || r.Target != base || r.CPUScope != bench.CPUScopeClient {
		t.Errorf("target %q embedded %v cpu %q", r.Target, r.Embedded, r.CPUScope)
	}
	if len(r.Patterns) != 2 {
		t.Fatalf("%d patterns, want 2", len(r.Patterns))
	}
	for _, p := range r.Patterns {
		if p.Published != 5 || p.Delivered != 15 || p.Lost != 0 {
			t.Errorf("%s: published %d delivered %d lost %d; want 5, 15, 0", p.Name, p.Published, p.Delivered, p.Lost)
		}
	}
	if snap := s.Stats().Snapshot(); snap.Published != 10 {
		t.Errorf("the target saw %d publishes, want 10", snap.Published)
	}
	if r.AI == nil || r.AI.Completed != 2 || r.AI.Result.Counters["tokens"] != 10 {
		t.Errorf("ai section %+v", r.AI)
	}
}
