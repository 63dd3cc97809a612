package cmd

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
)

// diffResult saves a result whose delivery latencies are all lat.
func diffResult(t *testing.T, path string, lat time.Duration, events int64) {
	t.Helper()
	rec := bench.NewRecording()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec.Start, rec.MeasureFrom, rec.End = t0, t0, t0.Add(10*time.Second)
	for range 100 {
		rec.Hists[bench.Delivery].Record(lat)
	}
	rec.Counters[bench.Events] = events
	r, err := bench.NewResult(rec, bench.Meta{Version: "1", URL: "http://127.0.0.1:1/sse", Pattern: "sse", Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bench.WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
}

func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	diffResult(t, a, 10*time.Millisecond, 1000)
	diffResult(t, b, 12*time.Millisecond, 1000)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"table", []string{"diff", a, b}, 0, []string{"delivery.p99", "+20.0%", "events"}},
		{"regression", []string{"diff", a, b, "--fail-if", "delivery.p99>+10%"}, ExitFailed, []string{"REGRESSED", "delivery.p99>+10%"}},
		{"within budget", []string{"diff", a, b, "--fail-if", "delivery.p99>+25%", "--fail-if", "events<-5%"}, 0, []string{"ok"}},
		{"improvement", []string{"diff", b, a, "--fail-if", "delivery.p99>+10%"}, 0, []string{"-16.7%"}},
		{"bad condition", []string{"diff", a, b, "--fail-if", "delivery.p99>10"}, ExitUsage, []string{`--fail-if "delivery.p99>10"`}},
		{"missing file", []string{"diff", a, filepath.Join(dir, "nope.json")}, ExitUsage, []string{"no such file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, t.Context(), tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
	code, out, _ := runCmd(t, t.Context(), "diff", "--json", a, b, "--fail-if", "delivery.p99>+10%")
	var doc report.DiffDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitFailed {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if doc.Schema != report.DiffSchema || len(doc.Checks) != 1 || !doc.Checks[0].Regressed || len(doc.Rows) == 0 {
		t.Errorf("--json doc %+v", doc)
	}
}
