package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench/check"
)

// checkResults are two checks as bench/check returns them: a passing SSE
// check with a warning and a skip, a failing AI check, and an unreachable one.
func checkResults() []*check.Result {
	return []*check.Result{
		{Name: "sse feed", URL: "http://127.0.0.1:8080/sse", Mode: "sse", Detected: true, Sessions: 1, Start: t0, Duration: 2010 * time.Millisecond,
			Outcomes: []check.Outcome{
				{Kind: "status", Name: "status", Verdict: check.Pass, Measured: "200 OK", Want: "2xx", Elapsed: 2 * time.Second},
				{Kind: "events", Name: "events", Verdict: check.Pass, Measured: "3 events in 2.00s", Want: "≥3 within 5s", Elapsed: 2 * time.Second},
				{Kind: "expect", Name: "expect seq > 0", Verdict: check.Pass, Measured: "matched event 1 after 1.00s", Want: "seq > 0", Elapsed: 2 * time.Second},
				{Kind: "headers", Name: "headers", Detector: true, Verdict: check.Warn, Measured: "Cache-Control: none, X-Accel-Buffering: none", Reason: "set them on the response", Elapsed: 2 * time.Second},
				{Kind: "utf8", Name: "utf8", Detector: true, Verdict: check.Skip, Measured: "not checked", Reason: "no text arrived to check", Elapsed: 2 * time.Second},
			}},
		{Name: "assistant", URL: "http://127.0.0.1:8080/v1/chat/completions", Mode: "ai", Sessions: 2, Start: t0, Duration: 3400 * time.Millisecond,
			Outcomes: []check.Outcome{
				{Kind: "ttft", Name: "ttft", Verdict: check.Fail, Measured: "2.01s [2 of 2 sessions]", Want: "≤500ms", Reason: "the first token came late", Elapsed: 3 * time.Second},
				{Kind: "complete", Name: "complete", Verdict: check.Pass, Measured: "openai stream ended with [DONE] after 64 tokens in 3.27s", Want: "[DONE]", Elapsed: 3 * time.Second},
				{Kind: "threshold", Name: "threshold ttft.p99<1s", Verdict: check.Fail, Measured: "2.01s", Want: "ttft.p99<1s", Reason: "the sessions measured beyond the threshold", Elapsed: 3 * time.Second},
				{Kind: "buffering", Name: "buffering", Detector: true, Verdict: check.Fail, Measured: "events arrive in bursts: 4 events sent over 1.50s arrived within 2.00ms", Reason: "a proxy is buffering the stream", Elapsed: 3 * time.Second},
			}},
		{Name: "ws://127.0.0.1:1/ws", URL: "ws://127.0.0.1:1/ws", Mode: "ws", Sessions: 1, Start: t0, Duration: time.Millisecond, Unreachable: true,
			Outcomes: []check.Outcome{
				{Kind: "reach", Name: "reach", Verdict: check.Fail, Measured: "dial tcp 127.0.0.1:1: connect: connection refused (conn_refused)", Reason: "start the server", Elapsed: time.Millisecond},
			}},
	}
}

func TestCheckTextGolden(t *testing.T) {
	rs := checkResults()
	for _, tt := range []struct {
		name    string
		results []*check.Result
		color   bool
	}{
		{"all.txt", rs, false},
		{"all-color.txt", rs, true},
		{"pass.txt", rs[:1], false},
		{"fail.txt", rs[1:2], false},
		{"unreachable.txt", rs[2:], false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := CheckText(&b, tt.results, CheckOptions{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "\x1b[") != tt.color {
				t.Fatalf("colour %v, escapes in %q", tt.color, b.String())
			}
			golden(t, "check/"+tt.name, b.Bytes())
		})
	}
}

func TestCheckJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := CheckJSON(&b, checkResults()); err != nil {
		t.Fatal(err)
	}
	golden(t, "check/all.json", b.Bytes())
	var doc struct {
		Version string `json:"version"`
		Passed  bool   `json:"passed"`
		Checks  []struct {
			Passed   bool              `json:"passed"`
			Outcomes []json.RawMessage `json:"outcomes"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "rtbench.check/v1" || doc.Passed || len(doc.Checks) != 3 || !doc.Checks[0].Passed || doc.Checks[1].Passed || len(doc.Checks[1].Outcomes) != 4 {
		t.Fatalf("%+v", doc)
	}
}

// TestCheckJUnit: the document has the structure JUnit consumers read:
// testsuites > testsuite (name tests failures errors skipped time) >
// testcase (classname name time) > failure (message type) | error | skipped.
func TestCheckJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := CheckJUnit(&b, checkResults()); err != nil {
		t.Fatal(err)
	}
	golden(t, "check/all.xml", b.Bytes())
	if !bytes.HasPrefix(b.Bytes(), []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Fatalf("no XML declaration: %q", b.String()[:40])
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.XMLName.Local != "testsuites" || doc.Tests != 10 || doc.Failures != 3 || doc.Errors != 1 || doc.Skipped != 1 || doc.Time != "3.400" {
		t.Fatalf("testsuites %+v", doc)
	}
	want := []struct {
		name                             string
		tests, failures, errors, skipped int
	}{{"sse feed", 5, 0, 0, 1}, {"assistant", 4, 3, 0, 0}, {"ws://127.0.0.1:1/ws", 1, 0, 1, 0}}
	for i, w := range want {
		s := doc.Suites[i]
		if s.Name != w.name || s.Tests != w.tests || s.Tests != len(s.Cases) || s.Failures != w.failures || s.Errors != w.errors || s.Skipped != w.skipped || s.Time == "" {
			t.Errorf("suite %d: %+v, want %+v", i, s, w)
		}
	}
	ttft := doc.Suites[1].Cases[0]
	if ttft.Classname != "rtbench.check.assistant" || ttft.Name != "ttft" || ttft.Time != "3.000" || ttft.Failure == nil ||
		ttft.Failure.Type != "ttft" || ttft.Failure.Message != "2.01s [2 of 2 sessions] (want ≤500ms)" || !strings.Contains(ttft.Failure.Text, "the first token came late") {
		t.Errorf("ttft testcase %+v %+v", ttft, ttft.Failure)
	}
	if c := doc.Suites[0].Cases[3]; c.Failure != nil || !strings.HasPrefix(c.SystemOut, "WARN headers: ") {
		t.Errorf("a warning passes with the finding in system-out: %+v", c)
	}
	if c := doc.Suites[0].Cases[4]; c.Skipped == nil || c.Skipped.Message != "no text arrived to check" {
		t.Errorf("skipped testcase %+v", c)
	}
	if c := doc.Suites[2].Cases[0]; c.Error == nil || c.Error.Type != "unreachable" || c.Failure != nil {
		t.Errorf("unreachable testcase %+v", c)
	}
	if c := doc.Suites[0].Cases[2]; c.Name != "expect seq > 0" || c.Classname != "rtbench.check.sse_feed" {
		t.Errorf("testcase names %+v", c)
	}
}
