package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// The secrets of TestURLSecretsNeverPrintedOrSaved: long enough that they
// cannot occur by chance in a base64 histogram.
const (
	secretPassword = "Pw0rd-9f3kQ"
	secretToken    = "SECRET-T0KEN-7d1c"
)

// TestURLSecretsNeverPrintedOrSaved: every command, given URLs with a
// password and a token in the query, never prints or saves either, in any
// byte of stdout, stderr or a written file (result JSON, HTML, JUnit),
// whether it succeeds or fails; the requests still carry them (the mock
// answers, the user name is still shown).
func TestURLSecretsNeverPrintedOrSaved(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{})
	host := strings.TrimPrefix(base, "http://")
	auth := "user:" + secretPassword + "@"
	sse := "http://" + auth + host + "/sse?rate=20&token=" + secretToken
	ws := "ws://" + auth + host + "/ws?rate=20&api_key=" + secretToken
	poll := "http://" + auth + host + "/poll?rate=20&Access_Token=" + secretToken
	ai := "http://" + auth + host + "/v1/chat/completions?ttft=1ms&tps=2000&tokens=5&key=" + secretToken
	chat := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	gone := "http://" + auth + "127.0.0.1:1/sse?token=" + secretToken
	missing := "http://" + auth + host + "/nope?sig=" + secretToken
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }

	runs := []struct {
		args []string
		ok   bool
		tty  bool
	}{
		{[]string{"listen", sse, "-n", "2"}, true, false},
		{[]string{"listen", sse, "-n", "2"}, true, true},
		{[]string{"listen", sse, "-n", "2", "--json"}, true, false},
		{[]string{"listen", ws, "-n", "1"}, true, true},
		// /poll refuses parameters it does not know (400): the error line
		// names the parameter, not its value.
		{[]string{"listen", poll, "-n", "1", "--interval", "50ms"}, false, true},
		{[]string{"listen", "--data", chat, ai}, true, true},
		{[]string{"load", "-c", "2", "-d", "1s", sse, "--out", out("result.json")}, true, false},
		{[]string{"load", "-c", "2", "-d", "1s", ws, "--json"}, true, true},
		{[]string{"load", "--rate", "20/s", "-d", "1s", "--data", chat, ai, "--out", out("ai.json")}, true, false},
		{[]string{"report", out("result.json"), "--html", out("report.html"), "--out", out("merged.json")}, true, false},
		{[]string{"report", out("result.json"), "--json"}, true, false},
		{[]string{"check", sse, "--junit", out("check.xml")}, true, false},
		{[]string{"check", sse, "--json"}, true, false},
		{[]string{"compare", "--target", "http://" + auth + host, "-c", "5", "--updates", "5", "-d", "1s", "--patterns", "sse,poll", "--html", out("compare.html")}, true, false},
		{[]string{"compare", "--target", "http://" + auth + host, "-c", "5", "--updates", "5", "-d", "1s", "--patterns", "sse", "--json"}, true, false},
		// Failures: the target cannot be reached, or answers 404.
		{[]string{"listen", gone}, false, true},
		{[]string{"listen", missing}, false, true},
		{[]string{"load", "-c", "1", "-d", "1s", gone}, false, false},
		{[]string{"check", gone, "--junit", out("gone.xml")}, false, false},
		{[]string{"check", missing, "--json"}, false, false},
	}
	for _, r := range runs {
		code, stdout, stderr := runTTY(t, r.tty, r.args...)
		if r.ok && code == ExitFailed && r.args[0] == "check" && failedOnTimingOnly(stdout) {
			// The buffering and compression detectors judge arrival times,
			// which a starved -race run can bunch up; the secrets are what
			// this test is about.
			t.Logf("%q: a timing detector failed on this busy machine", r.args)
		} else if (code == 0) != r.ok {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", r.args, code, stdout, stderr)
		}
		for what, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
			if strings.Contains(s, secretPassword) || strings.Contains(s, secretToken) {
				t.Errorf("%q: the %s holds a secret:\n%s", r.args, what, s)
			}
		}
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 7 {
		t.Errorf("%d files written, want 7: %v", len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(out(f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secretPassword) || strings.Contains(string(b), secretToken) {
			t.Errorf("%s holds a secret", f.Name())
		}
		if !strings.Contains(string(b), "user:xxxxx@") {
			t.Errorf("%s does not name the target as user:xxxxx@…", f.Name())
		}
	}
}

// failedOnTimingOnly says whether every failed outcome in check's output,
// text or --json, is one of the detectors that judge arrival times.
func failedOnTimingOnly(stdout string) bool {
	timing := map[string]bool{"buffering": true, "compression": true}
	var doc struct {
		Checks []struct {
			Outcomes []struct{ Kind, Verdict string }
		}
	}
	failed := 0
	if json.Unmarshal([]byte(stdout), &doc) == nil {
		for _, c := range doc.Checks {
			for _, o := range c.Outcomes {
				if o.Verdict == "fail" {
					if !timing[o.Kind] {
						return false
					}
					failed++
				}
			}
		}
		return failed > 0
	}
	for line := range strings.Lines(stdout) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "FAIL" {
			continue // the summary line is "check: FAIL (…)"
		}
		if !timing[f[1]] {
			return false
		}
		failed++
	}
	return failed > 0
}

func TestFailedOnTimingOnly(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		want      bool
	}{
		{"text, buffering", "  PASS  status  200 OK\n  FAIL  buffering  events arrive in bursts\ncheck: FAIL (8 assertions)\n", true},
		{"text, events too", "  FAIL  events  0 events\n  FAIL  buffering  bursts\ncheck: FAIL\n", false},
		{"text, passed", "  PASS  status  200 OK\ncheck: PASS\n", false},
		{"json, compression", `{"checks":[{"outcomes":[{"kind":"status","verdict":"pass"},{"kind":"compression","verdict":"fail"}]}]}`, true},
		{"json, status", `{"checks":[{"outcomes":[{"kind":"status","verdict":"fail"},{"kind":"buffering","verdict":"fail"}]}]}`, false},
	} {
		if got := failedOnTimingOnly(tt.out); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
