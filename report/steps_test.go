package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// TestSteps: a scenario's steps show as rows of the latency tables (after
// flow, apart from run metrics of the same name) and as a line per step.
func TestSteps(t *testing.T) {
	m := func(ms float64) *bench.MetricResult {
		return &bench.MetricResult{Count: 10, MinMs: ms, MeanMs: ms, P50Ms: ms, P90Ms: ms, P99Ms: ms, P999Ms: ms, MaxMs: ms}
	}
	r := &bench.Result{
		Target:  bench.TargetInfo{URL: "http://h:1", Pattern: "flow"},
		Metrics: map[string]bench.MetricResult{"flow": *m(8000), "request": *m(1)},
		Steps: []bench.StepResult{
			{Name: "request", Completed: 10, Requests: 10, Bytes: 1520, Latency: m(2)},
			{Name: "wait", Completed: 9, Failed: 1, CutOff: 2, Requests: 60, Bytes: 9000, Latency: m(7000), Staleness: m(994), ServerDuration: m(7010)},
		},
		DurationS: 10,
	}
	var b bytes.Buffer
	if err := LoadText(&b, r, nil, TextOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| steps ", "| flow ", "| request ", "| wait ", "| wait staleness ", "| wait server ",
		"request: 10 done; per pass 1 request, 152 B",
		"wait: 9 done, 1 failed, 2 cut off; per pass 5 requests, 750 B",
		"wait: seen done 994ms after it was (staleness mean; p50 994ms, p99 994ms); the work itself took",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The step named request and the run's request metric are two rows.
	if n := strings.Count(out, "| request "); n != 2 {
		t.Errorf("%d rows named request, want the metric's and the step's:\n%s", n, out)
	}
}

// TestStepsHTML: the HTML page shows the steps' rows by their names.
func TestStepsHTML(t *testing.T) {
	m := &bench.MetricResult{Count: 1, MeanMs: 5, P50Ms: 5, P99Ms: 5, MaxMs: 5, MinMs: 5}
	r := &bench.Result{Schema: bench.SchemaV2, Target: bench.TargetInfo{URL: "http://h:1", Pattern: "flow"},
		Metrics: map[string]bench.MetricResult{"flow": *m}, Counters: map[string]int64{},
		Steps: []bench.StepResult{{Name: "login", Completed: 1, Latency: m}}}
	var b bytes.Buffer
	if err := LoadHTML(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, ">login<") || strings.Contains(out, "step/") {
		t.Errorf("HTML lacks the login row, or shows an internal key")
	}
}
