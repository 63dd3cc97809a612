package flow

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// startApp starts testdata/flow/app.py, a Python (http.server) app that
// logs users in and runs jobs: a server rtbench did not write.
func startApp(t *testing.T) string {
	t.Helper()
	return transporttest.ScriptPeer(t, "python3", filepath.Join("..", "..", "testdata", "flow", "app.py"))
}

func parse(t *testing.T, base, yml string) *Scenario {
	t.Helper()
	sc, err := Parse("s.yaml", []byte(yml), func(k string) string { return map[string]string{"PASSWORD": "secret"}[k] }, base)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runOnce(t *testing.T, ctx context.Context, sc *Scenario) *record {
	t.Helper()
	rec := newRecord(sc)
	if err := sc.Session(7, Options{Once: true}).Run(ctx, rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec
}

const appFlow = `
scenario: log in, run a job, listen
steps:
  - name: login
    request:
      method: POST
      url: /login
      body: '{"user":"ann-${session}","password":"${PASSWORD}"}'
    capture:
      token: token
  - name: create
    request:
      method: POST
      url: /api/jobs?ms=300
      headers:
        Authorization: Bearer ${token}
      status: 202
    capture:
      job: header:Location
  - name: wait
    poll:
      url: ${job}
      headers:
        Authorization: Bearer ${token}
      interval: 50ms
      until: status==done
      done_at: finished_at
      started_at: created_at
      timeout: 10s
  - name: listen
    subscribe:
      url: /events?token=${token}
      until: n>=3 && msg==hello-ann
      count: 3
      timeout: 5s
    capture:
      greeting: msg
`

// TestAppFlow runs a whole flow against the Python app: a captured token
// authorises the later steps, a captured Location is polled until done, and
// the SSE subscription (through the protocol table) meets its condition.
func TestAppFlow(t *testing.T) {
	base := startApp(t)
	sc := parse(t, base, strings.Replace(appFlow, "msg==hello-ann", `msg=="hello ann-7"`, 1))
	rec := runOnce(t, context.Background(), sc)
	for _, e := range rec.errs {
		t.Errorf("error: %v", e)
	}
	for _, name := range []string{"login", "create", "wait", "listen"} {
		if o := rec.outcome(t, name); o != bench.StepOK {
			t.Errorf("step %s: outcome %d", name, o)
		}
	}
	w := rec.steps["wait"][0]
	if !w.HasStaleness || !w.HasServer || w.Requests < 2 {
		t.Errorf("wait: %+v: want staleness, the server's duration and several polls", w)
	}
	// The job runs 300 ms: the server's own duration says so (to the
	// float's precision), whatever the machine's load.
	if d := w.Server; d < 299*time.Millisecond || d > 301*time.Millisecond {
		t.Errorf("server duration %v, want 300ms", d)
	}
	if rec.events < 3 {
		t.Errorf("%d events reached the observer, want 3 or more", rec.events)
	}
	if len(rec.flows) != 1 || rec.flows[0] != bench.StepOK {
		t.Errorf("flows %v", rec.flows)
	}
}

// TestAppCaptureFails: a capture of a field the answer does not have fails
// its step with an error that names the step and the field, and the flow
// stops there.
func TestAppCaptureFails(t *testing.T) {
	base := startApp(t)
	sc := parse(t, base, strings.Replace(appFlow, "token: token", "token: data.token", 1))
	rec := runOnce(t, context.Background(), sc)
	if o := rec.outcome(t, "login"); o != bench.StepFailed {
		t.Fatalf("login: outcome %d, want failed", o)
	}
	if len(rec.steps["create"]) != 0 {
		t.Error("the flow went on after a failed capture")
	}
	if len(rec.errs) != 1 {
		t.Fatalf("errors %v, want one", rec.errs)
	}
	e := rec.errs[0]
	msg := e.Error()
	if e.Class != transport.ClassCapture || !strings.Contains(msg, "step login") || !strings.Contains(msg, "no field data.token (it has token, user)") || strings.Contains(msg, `"token":`) {
		t.Errorf("error %s %q: want capture_failed naming step login, data.token and the answer's keys, not the token", e.Class, msg)
	}
	if len(rec.flows) != 1 || rec.flows[0] != bench.StepFailed {
		t.Errorf("flows %v", rec.flows)
	}
}

// TestAppStepTimeout: a poll whose job outlasts the step's timeout fails
// with a timeout naming the step.
func TestAppStepTimeout(t *testing.T) {
	base := startApp(t)
	yml := strings.Replace(appFlow, "ms=300", "ms=60000", 1)
	yml = strings.Replace(yml, "timeout: 10s", "timeout: 300ms", 1)
	sc := parse(t, base, yml)
	rec := runOnce(t, context.Background(), sc)
	if o := rec.outcome(t, "wait"); o != bench.StepFailed {
		t.Fatalf("wait: outcome %d, want failed", o)
	}
	if len(rec.errs) != 1 || rec.errs[0].Class != transport.ClassTimeout || !strings.Contains(rec.errs[0].Error(), "step wait: not done within its timeout 300ms") {
		t.Fatalf("errors %v: want one timeout naming step wait", rec.errs)
	}
	if len(rec.steps["listen"]) != 0 {
		t.Error("the flow went on after a timeout")
	}
}

// TestAppCutOff: cancelling mid-flow (Ctrl-C, the run's end) reports the
// step in progress cut off, not failed or completed, and nothing after it.
func TestAppCutOff(t *testing.T) {
	base := startApp(t)
	sc := parse(t, base, strings.Replace(appFlow, "ms=300", "ms=60000", 1))
	ctx, cancel := context.WithCancel(context.Background())
	rec := newRecord(sc)
	done := make(chan error, 1)
	go func() { done <- sc.Session(1, Options{Once: true}).Run(ctx, rec) }()
	// Cancel once the poll has begun: create is done.
	transporttest.Eventually(t, 5*time.Second, "step create done", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.steps["create"]) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if o := rec.outcome(t, "wait"); o != bench.StepCutOff {
		t.Errorf("wait: outcome %d, want cut off", o)
	}
	if len(rec.errs) != 0 || len(rec.steps["listen"]) != 0 {
		t.Errorf("errors %v, listen %v: a cut-off flow reports neither", rec.errs, rec.steps["listen"])
	}
	if len(rec.flows) != 1 || rec.flows[0] != bench.StepCutOff {
		t.Errorf("flows %v", rec.flows)
	}
}
