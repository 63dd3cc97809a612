package cmd

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// ecoFence returns the body of the fenced code block of docs/ci.md whose
// info string is info.
func ecoFence(t *testing.T, info string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	in, found := false, false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```"+info:
			if found {
				t.Fatalf("docs/ci.md has two ```%s blocks", info)
			}
			in, found = true, true
		case in && strings.TrimSpace(line) == "```":
			in = false
		case in:
			body = append(body, line)
		}
	}
	if !found || in {
		t.Fatalf("docs/ci.md has no closed ```%s block", info)
	}
	return strings.Join(body, "\n") + "\n"
}

// ecoStep is one shell step of a documented CI job.
type ecoStep struct {
	name, script string
}

// ecoRunSteps runs the steps in dir as the CI job would, one bash each (GitHub's
// `bash -eo pipefail`), with env added and PATH starting with rtbench.
// Processes a step leaves in the background (the service) are in its
// process group, which is sent SIGTERM when the test ends.
func ecoRunSteps(t *testing.T, dir string, env []string, steps []ecoStep) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("the CI steps need bash on PATH")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the CI steps wait for the service with curl; install it")
	}
	env = append(append(os.Environ(), env...), "PATH="+ecoBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, st := range steps {
		c := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", st.script)
		c.Dir, c.Env = dir, env
		newProcessGroup(c)
		c.WaitDelay = 5 * time.Second // a background child holding the output pipes
		out, err := c.CombinedOutput()
		if c.Process != nil {
			pgid := c.Process.Pid
			t.Cleanup(func() { _ = killProcessGroup(pgid, syscall.SIGTERM) })
		}
		if err != nil {
			t.Fatalf("step %q: %v\n%s\n%s", st.name, err, st.script, out)
		}
		t.Logf("step %q:\n%s", st.name, out)
	}
}

// ecoFreeAddr returns a loopback address with a port that was free a moment
// ago.
func ecoFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ecoJUnit parses the JUnit report the check wrote and returns its test
// count; it fails t when the report is missing, unparseable or has failures.
func ecoJUnit(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the check left no JUnit report: %v", err)
	}
	var r struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s is not JUnit XML: %v\n%s", path, err, b)
	}
	cases := 0
	for _, s := range r.Suites {
		for _, c := range s.Cases {
			cases++
			if c.Failure != nil {
				t.Errorf("%s: %s failed", s.Name, c.Name)
			}
		}
	}
	if cases == 0 || cases != r.Tests || r.Failures != 0 {
		t.Errorf("%s: %d test cases, tests=%d failures=%d; want some, all passed", path, cases, r.Tests, r.Failures)
	}
	return cases
}

// ecoWaitClosed waits until nothing listens on addr any more: the service
// the steps started has stopped.
func ecoWaitClosed(t *testing.T, addr string) {
	t.Cleanup(func() {
		transporttest.Eventually(t, 10*time.Second, "the service the steps started to stop", func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return true
			}
			c.Close()
			return false
		})
	})
}

// TestCIDocsGitHubActions runs the GitHub Actions workflow of docs/ci.md:
// its run steps in order, except the install step, against rtbench serve
// on a free port; the check passes and leaves a JUnit report that the
// upload and reporter steps pick up.
func TestCIDocsGitHubActions(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	var wf struct {
		Jobs map[string]struct {
			Env   map[string]string `yaml:"env"`
			Steps []struct {
				ID   string         `yaml:"id"`
				Name string         `yaml:"name"`
				If   string         `yaml:"if"`
				Uses string         `yaml:"uses"`
				Run  string         `yaml:"run"`
				With map[string]any `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(ecoFence(t, "yaml github-actions")), &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(wf.Jobs))
	}
	addr := ecoFreeAddr(t)
	port := func(s string) string { return strings.ReplaceAll(s, "127.0.0.1:8080", addr) }
	var env []string
	for _, job := range wf.Jobs {
		for k, v := range job.Env {
			env = append(env, k+"="+port(v))
		}
		var steps []ecoStep
		uploads, reports := false, false
		for _, st := range job.Steps {
			switch {
			case st.ID == "install":
				if !strings.Contains(st.Run, "go install github.com/rtbench/rtbench@") {
					t.Errorf("install step %q does not install rtbench", st.Run)
				}
			case strings.HasPrefix(st.Uses, "actions/upload-artifact@"):
				uploads = st.If == "always()" && strings.Contains(fmt.Sprint(st.With["path"]), "rtbench.xml")
			case strings.Contains(st.Uses, "junit"):
				reports = st.If == "always()" && st.With["report_paths"] == "rtbench.xml"
			case st.Run != "":
				steps = append(steps, ecoStep{st.Name, port(st.Run)})
			}
		}
		if !uploads || !reports {
			t.Errorf("upload-artifact step of rtbench.xml on always(): %v; JUnit reporter step: %v", uploads, reports)
		}
		if len(steps) != 3 || !strings.Contains(steps[2].script, "rtbench check") || !strings.Contains(steps[2].script, "--junit rtbench.xml") {
			t.Fatalf("want 3 run steps after the install (start, wait, rtbench check --junit rtbench.xml), got %q", steps)
		}
		dir := t.TempDir()
		ecoWaitClosed(t, addr)
		ecoRunSteps(t, dir, env, steps)
		ecoJUnit(t, filepath.Join(dir, "rtbench.xml"))
	}
}

// TestCIDocsGitLab runs the GitLab CI job of docs/ci.md: its script (one
// shell, as GitLab runs it) without the before_script that installs
// rtbench, against rtbench serve on a free port.
func TestCIDocsGitLab(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	var jobs map[string]struct {
		Image        string            `yaml:"image"`
		Variables    map[string]string `yaml:"variables"`
		BeforeScript []string          `yaml:"before_script"`
		Script       []string          `yaml:"script"`
		Artifacts    struct {
			When    string   `yaml:"when"`
			Paths   []string `yaml:"paths"`
			Reports struct {
				JUnit string `yaml:"junit"`
			} `yaml:"reports"`
		} `yaml:"artifacts"`
	}
	if err := yaml.Unmarshal([]byte(ecoFence(t, "yaml gitlab-ci")), &jobs); err != nil {
		t.Fatalf("the job is not YAML: %v", err)
	}
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	addr := ecoFreeAddr(t)
	port := func(s string) string { return strings.ReplaceAll(s, "127.0.0.1:8080", addr) }
	for name, job := range jobs {
		if len(job.BeforeScript) != 1 || !strings.Contains(job.BeforeScript[0], "go install github.com/rtbench/rtbench@") {
			t.Errorf("%s: before_script %q, want only the install", name, job.BeforeScript)
		}
		a := job.Artifacts
		if a.When != "always" || a.Reports.JUnit != "rtbench.xml" || !slices.Contains(a.Paths, "rtbench.xml") {
			t.Errorf("%s: artifacts %+v; want rtbench.xml as the junit report, always", name, a)
		}
		if !strings.Contains(strings.Join(job.Script, "\n"), "--junit rtbench.xml") {
			t.Fatalf("%s: the script does not write rtbench.xml: %q", name, job.Script)
		}
		var env []string
		for k, v := range job.Variables {
			env = append(env, k+"="+port(v))
		}
		dir := t.TempDir()
		ecoWaitClosed(t, addr)
		ecoRunSteps(t, dir, env, []ecoStep{{name, port(strings.Join(job.Script, "\n"))}})
		ecoJUnit(t, filepath.Join(dir, "rtbench.xml"))
	}
}

// TestCIDocsFailingCheckFailsTheJob: the documented check step fails the
// job (exit 1) and still leaves its JUnit report when the service is
// broken, so the workflows above are not green by construction.
func TestCIDocsFailingCheckFailsTheJob(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(ecoFence(t, "yaml github-actions")), &wf); err != nil {
		t.Fatal(err)
	}
	var check string
	for _, j := range wf.Jobs {
		for _, st := range j.Steps {
			if strings.HasPrefix(st.Run, "rtbench check") {
				check = st.Run
			}
		}
	}
	if check == "" {
		t.Fatal("no rtbench check step")
	}
	// The same step against a service that answers 503.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	c := exec.CommandContext(t.Context(), "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", check)
	c.Dir = dir
	c.Env = append(os.Environ(), "SERVICE_URL="+srv.URL, "PATH="+ecoBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitFailed {
		t.Fatalf("check step against a slow stream: %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "FAIL") {
		t.Errorf("no FAIL line:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "rtbench.xml")); err != nil {
		t.Errorf("no JUnit report for the failed check: %v", err)
	}
}
