package cmd

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// The golden files' -update flag, unless another test file of the package
// registered it first.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func checkUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkCmd runs `rtbench check` with args, bounded in time, with getenv as
// the environment.
func checkCmd(t *testing.T, getenv map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	env.Getenv = func(k string) string { return getenv[k] }
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	code = Run(ctx, env, BuildInfo{}, append([]string{"check"}, args...))
	if ctx.Err() != nil {
		t.Fatalf("check %v did not finish within 40s", args)
	}
	return code, out.String(), errOut.String()
}

var (
	checkPort   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	checkWant   = regexp.MustCompile(`\(want [^)]*\)`)
	checkDur    = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:µs|ms|s|m)\b`)
	checkBig    = regexp.MustCompile(`\d{6,}`)
	checkSeq    = regexp.MustCompile(`"seq":\d+`)
	checkLength = regexp.MustCompile(`Content-Length: \d+`)
)

// checkMask makes a report byte-stable: ports, measured durations (not the
// bounds in "(want …)"), stamps, sequence numbers and body lengths are
// masked; counts, verdicts, bounds and reasons stay.
func checkMask(s string) string {
	s = checkPort.ReplaceAllString(s, "127.0.0.1:PORT")
	var b strings.Builder
	for len(s) > 0 {
		loc := checkWant.FindStringIndex(s)
		if loc == nil {
			loc = []int{len(s), len(s)}
		}
		b.WriteString(checkDur.ReplaceAllString(s[:loc[0]], "<d>"))
		b.WriteString(s[loc[0]:loc[1]])
		s = s[loc[1]:]
	}
	s = checkBig.ReplaceAllString(b.String(), "N")
	s = checkLength.ReplaceAllString(s, "Content-Length: N")
	return checkSeq.ReplaceAllString(s, `"seq":N`)
}

// checkMeasured returns the duration measured on the line of kind, parsed
// back from the report.
func checkMeasured(t *testing.T, stdout, kind, prefix string) time.Duration {
	t.Helper()
	for _, l := range lines(stdout) {
		if len(l) > 6 && strings.HasPrefix(strings.TrimSpace(l[6:]), kind+" ") {
			rest := strings.TrimSpace(l[6+len(kind)+1:])
			rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), prefix))
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			d, err := time.ParseDuration(strings.TrimSuffix(f[0], ";"))
			if err != nil {
				t.Fatalf("%s line %q: %v", kind, l, err)
			}
			return d
		}
	}
	t.Fatalf("no %s line in\n%s", kind, stdout)
	return 0
}

// TestCheckAssertions: each assertion kind and each detector, passing against
// rtbench serve's handlers and failing against the matching injected fault,
// through the whole command: exit code, and the report a person reads, in a
// golden file (cmd/testdata/check/NAME.txt, measured durations masked).
func TestCheckAssertions(t *testing.T) {
	base := startMock(t, mock.Config{Tokens: aistream.Tokens{TTFT: 10 * time.Millisecond, TPS: 2000, Length: 8}})
	ws := "ws" + strings.TrimPrefix(base, "http")
	tests := []struct {
		name string
		args []string
		code int
		nums func(t *testing.T, stdout string) // the masked numbers, checked here
	}{
		{"sse-pass", []string{base + "/sse?rate=10", "--events", "3", "--within", "5s"}, 0, func(t *testing.T, out string) {
			if d := checkMeasured(t, out, "events", "3 events in"); d < 150*time.Millisecond || d > 5*time.Second {
				t.Errorf("3 events at 10/s in %v", d)
			}
		}},
		{"events-too-few", []string{base + "/sse?rate=10&count=2", "--events", "3", "--within", "5s"}, 1, nil},
		{"first-event-pass", []string{base + "/sse?rate=10", "--first-event", "2s"}, 0, nil},
		{"first-event-late", []string{base + "/sse?rate=0", "--first-event", "200ms"}, 1, func(t *testing.T, out string) {
			if d := checkMeasured(t, out, "first-event", "none in"); d != 200*time.Millisecond {
				t.Errorf("waited %v for the first event, want the bound, 200ms", d)
			}
		}},
		{"expect-pass", []string{base + "/sse?rate=10", "--expect", "seq>0", "--expect", "sent_ns>0 && sched_ns>0"}, 0, nil},
		{"expect-unmatched", []string{base + "/sse?rate=10&count=3", "--expect", "status==completed"}, 1, nil},
		{"status-failed", []string{base + "/sse?fault=status:503"}, 1, nil},
		{"no-headers", []string{base + "/sse?fault=delay:10s", "--timeout", "1s"}, 1, nil},
		{"content-type-wrong", []string{"--mode", "sse", base + "/sse?fault=content-type:text/html"}, 1, nil},
		{"buffering-pass", []string{base + "/sse?rate=10", "--events", "4"}, 0, nil},
		{"buffering-burst", []string{base + "/sse?rate=10&fault=burst:3", "--events", "3", "--within", "5s"}, 1, func(t *testing.T, out string) {
			if !strings.Contains(out, "3 events sent over ") {
				t.Errorf("the burst line does not count 3 events:\n%s", out)
			}
		}},
		// The mock's gzip flushes per event: a warning, judged by what the
		// compressor does (testdata/gzippeer's /hold is the failure).
		{"gzip", []string{base + "/sse?rate=10&fault=gzip"}, 0, func(t *testing.T, out string) {
			if !strings.Contains(out, "WARN  compression    Content-Encoding: gzip: events arrive on their cadence") {
				t.Errorf("no compression warning:\n%s", out)
			}
		}},
		{"non-streaming", []string{base + "/sse?rate=10&fault=no-stream:3"}, 1, func(t *testing.T, out string) {
			if !regexp.MustCompile(`Content-Length: [1-9]\d+ on an event stream`).MatchString(out) {
				t.Errorf("no Content-Length measured:\n%s", out)
			}
		}},
		{"bare-headers", []string{base + "/sse?rate=10&fault=bare-headers"}, 0, nil},
		{"ai-pass", []string{"--mode", "ai", base + "/v1/chat/completions", "--ttft", "1s"}, 0, nil},
		{"ai-slow-first-token", []string{"--mode", "ai", base + "/v1/chat/completions?ttft=2000", "--ttft", "500ms"}, 1, func(t *testing.T, out string) {
			if d := checkMeasured(t, out, "ttft", ""); d < 2*time.Second {
				t.Errorf("ttft %v with the server's ttft=2000", d)
			}
		}},
		{"ai-no-terminator", []string{"--mode", "ai", base + "/v1/chat/completions?fault=no-done"}, 1, nil},
		{"ai-anthropic", []string{"--data", `{"model":"m","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, base + "/v1/messages?fault=no-done"}, 1, nil},
		{"ws-pass", []string{ws + "/ws?rate=10", "--events", "3"}, 0, nil},
		{"ws-echo", []string{ws + "/ws?rate=0", "--echo"}, 0, nil},
		{"ws-no-echo", []string{ws + "/ws?rate=0&fault=no-pong", "--echo", "--timeout", "1s"}, 1, nil},
		{"ws-upgrade-refused", []string{ws + "/ws?fault=status:403"}, 1, nil},
		{"ws-invalid-utf8", []string{ws + "/ws?rate=10&fault=invalid-utf8:1"}, 1, nil},
		{"threshold-pass", []string{base + "/sse?rate=10", "--threshold", "first_event.p99<5s", "--threshold", "events>=3"}, 0, nil},
		{"threshold-failed", []string{base + "/sse?rate=10", "--threshold", "events>100", "--threshold", "ttft.p99<1s"}, 1, nil},
		{"concurrency", []string{base + "/sse?rate=10", "-c", "3", "--events", "3"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := checkCmd(t, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.code == 1 && !strings.Contains(stderr, "check failed") {
				t.Errorf("stderr %q, want the one-line failure", stderr)
			}
			transporttest.Golden(t, "check/"+tt.name+".txt", []byte(checkMask(stdout)), checkUpdating())
			if tt.nums != nil {
				tt.nums(t, stdout)
			}
		})
	}
}

// TestCheckFreshClone: the issue's own command line, against the mock with
// its default settings (one event a second), passes.
func TestCheckFreshClone(t *testing.T) {
	base := startMock(t, mock.Config{})
	code, stdout, stderr := checkCmd(t, nil, base+"/sse", "--events", "3", "--within", "5s")
	if code != 0 || !strings.Contains(stdout, "check: PASS (8 assertions") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestCheckPollJob: polling mode, detected: a job polled until it completes.
func TestCheckPollJob(t *testing.T) {
	base := startMock(t, mock.Config{})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/api/jobs?queued=0s&duration=200ms&steps=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	code, stdout, stderr := checkCmd(t, nil, base+loc, "--expect", "status==completed", "--timeout", "10s")
	if code != 0 || !strings.Contains(stdout, "poll (detected)") || !strings.Contains(stdout, "PASS  expect         matched event") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestCheckExitCodes: 3 for a target nobody answers, 2 for usage errors
// (each a one-line error naming what was wrong).
func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("checks:\n  - url: http://127.0.0.1:1/sse\n    evnts: 3\n"), 0o644)
	tests := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"http://" + deadAddr(t) + "/sse"}, 3, "cannot reach"},
		{[]string{"ws://" + deadAddr(t) + "/ws"}, 3, "cannot reach"},
		{nil, 2, "give the URL to check"},
		{[]string{"http://x/sse", "-f", bad}, 2, "not both"},
		{[]string{"-f", bad}, 2, `bad.yaml:3: unknown key "evnts"`},
		{[]string{"-f", filepath.Join(dir, "none.yaml")}, 2, "no such file"},
		{[]string{"-f", bad, "--events", "3"}, 2, "--events cannot be combined with -f"},
		{[]string{"http://x/sse", "--ttft", "1s", "--mode", "sse"}, 2, "--ttft applies to AI streams"},
		{[]string{"http://x/sse", "--mode", "sse", "--echo"}, 2, "--echo applies to WebSockets"},
		{[]string{"ws://x/ws", "--status", "200"}, 2, "--status"},
		{[]string{"http://x/sse", "--expect", "a=b"}, 2, "--expect"},
		{[]string{"http://x/sse", "--threshold", "p99<1s"}, 2, `--threshold "p99<1s"`},
		{[]string{"http://x/sse", "--within", "1m"}, 2, "longer than the check's timeout"},
		{[]string{"http://x/sse", "--status", "ok"}, 2, "want HTTP statuses"},
		{[]string{"http://x/sse", "-c", "0"}, 2, "-c 0"},
		{[]string{"x/sse"}, 2, "has no scheme"},
		{[]string{"http://x/sse", "--junit", dir}, 2, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := checkCmd(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.mention) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line mentioning %q\nstdout:\n%s", code, stderr, tt.code, tt.mention, stdout)
			}
		})
	}
}

// TestCheckFile: a checks file with two checks run concurrently under the
// file's total timeout, ${VAR} from the environment, and the JUnit report
// validated against the schema's structure.
func TestCheckFile(t *testing.T) {
	base := startMock(t, mock.Config{})
	host := strings.TrimPrefix(base, "http://")
	dir := t.TempDir()
	file := filepath.Join(dir, "checks.yaml")
	os.WriteFile(file, []byte(`# two checks at once; the total timeout cuts the one that waits forever
timeout: 1s
checks:
  - name: live feed
    url: http://${HOST}/sse?rate=20
    events: 2
  - name: silent feed
    url: http://${HOST}/sse?rate=0
    headers: {Authorization: "Bearer ${TOKEN}"}
    events: 1
    timeout: 30s
`), 0o644)
	junit := filepath.Join(dir, "report.xml")
	code, stdout, stderr := checkCmd(t, map[string]string{"HOST": host, "TOKEN": "t0k"}, "-f", file, "--json", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doc struct {
		Version string `json:"version"`
		Passed  bool   `json:"passed"`
		Checks  []struct {
			Name      string    `json:"name"`
			URL       string    `json:"url"`
			Passed    bool      `json:"passed"`
			StartedAt time.Time `json:"started_at"`
			DurationS float64   `json:"duration_s"`
			Outcomes  []struct {
				Kind, Verdict, Measured string
			} `json:"outcomes"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if doc.Version != "rtbench.check/v1" || doc.Passed || len(doc.Checks) != 2 {
		t.Fatalf("document %+v", doc)
	}
	live, silent := doc.Checks[0], doc.Checks[1]
	if live.Name != "live feed" || !live.Passed || silent.Passed || !strings.Contains(live.URL, host) {
		t.Fatalf("checks %+v", doc.Checks)
	}
	// The silent check asked for 30s: the file's total timeout (1s) ended it,
	// while the live one ran: the two overlapped.
	ev := silent.Outcomes[2]
	if ev.Kind != "events" || ev.Verdict != "fail" || !strings.HasPrefix(ev.Measured, "0 events in ") {
		t.Fatalf("silent feed's events outcome %+v", ev)
	}
	if liveEnd := live.StartedAt.Add(time.Duration(live.DurationS * float64(time.Second))); !silent.StartedAt.Before(liveEnd) {
		t.Fatalf("checks ran one after the other: live %v+%vs, silent from %v", live.StartedAt, live.DurationS, silent.StartedAt)
	}

	// The JUnit file, decoded into the schema's elements.
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Classname string `xml:"classname,attr"`
				Name      string `xml:"name,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &x); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(x.Suites) != 2 || x.Suites[0].Name != "live feed" || x.Suites[1].Name != "silent feed" {
		t.Fatalf("suites %+v", x.Suites)
	}
	total, failures := 0, 0
	for i, s := range x.Suites {
		if s.Tests != len(s.Cases) || s.Time == "" {
			t.Errorf("suite %d: tests=%d for %d cases, time %q", i, s.Tests, len(s.Cases), s.Time)
		}
		total += s.Tests
		failures += s.Failures
		for _, c := range s.Cases {
			if c.Classname != "rtbench.check."+strings.ReplaceAll(s.Name, " ", "_") || c.Name == "" || c.Time == "" {
				t.Errorf("testcase %+v", c)
			}
		}
	}
	if x.Tests != total || x.Failures != failures || x.Suites[0].Failures != 0 || x.Suites[1].Failures != 1 {
		t.Fatalf("counts: %d tests, %d failures; suites %+v", x.Tests, x.Failures, x.Suites)
	}
	var f = x.Suites[1].Cases[2]
	// Why none came: the stream was silent, or (a starved -race run) the
	// session was still connecting at the check's timeout.
	why := f.Failure != nil && (strings.Contains(f.Failure.Text, "no event arrived") || strings.Contains(f.Failure.Text, "the session failed: the check's timeout"))
	if f.Name != "events" || f.Failure == nil || f.Failure.Type != "events" || !strings.HasPrefix(f.Failure.Message, "0 events in ") || !strings.HasSuffix(f.Failure.Message, " (want ≥1 within 1s)") || !why {
		t.Fatalf("the failing testcase %+v %+v", f, f.Failure)
	}
	if x.Suites[1].Skipped != 2 { // buffering and utf8 had nothing to judge
		t.Errorf("silent feed skipped %d, want 2", x.Suites[1].Skipped)
	}
}

// TestCheckExamples: the documented examples in testdata/check parse, and
// the one meant for rtbench serve passes against it.
func TestCheckExamples(t *testing.T) {
	base := startMock(t, mock.Config{})
	env := map[string]string{"RTBENCH_HOST": strings.TrimPrefix(base, "http://"), "API_TOKEN": "t"}
	for _, f := range []string{"serve.yaml", "every-key.yaml"} {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "check", f)
			var got *CheckOptions
			cmd := NewCmdCheck(&Env{Getenv: func(k string) string { return env[k] }}, func(_ context.Context, o *CheckOptions) error { got = o; return nil })
			cmd.SetArgs([]string{"-f", path})
			if err := cmd.Execute(); err != nil || got == nil || len(got.specs) == 0 {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
	code, stdout, stderr := checkCmd(t, env, "-f", filepath.Join("..", "testdata", "check", "serve.yaml"))
	if code != 0 {
		t.Fatalf("serve.yaml against rtbench serve: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestCheckReportColor: colour only on a terminal, and never with NO_COLOR.
func TestCheckReportColor(t *testing.T) {
	base := startMock(t, mock.Config{})
	for _, tt := range []struct {
		tty     bool
		noColor string
		escapes bool
	}{{false, "", false}, {true, "", true}, {true, "1", false}} {
		env, out, _ := TestEnv()
		env.OutTTY = tt.tty
		env.Getenv = func(k string) string {
			if k == "NO_COLOR" {
				return tt.noColor
			}
			return ""
		}
		code := Run(t.Context(), env, BuildInfo{}, []string{"check", base + "/sse?rate=20", "--events", "1"})
		if code != 0 || strings.Contains(out.String(), "\x1b[") != tt.escapes {
			t.Errorf("tty=%v NO_COLOR=%q: exit %d, escapes %v:\n%q", tt.tty, tt.noColor, code, !tt.escapes, out.String())
		}
	}
}
