package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// TestJobGuide: the guide's job-status line is computed from the job
// workload's figures: other figures give another line (another pick,
// other numbers), a method that missed jobs is not picked while others saw
// them all, a saturated run says so, and with fewer than two measured
// methods the line falls back to bytes per update.
func TestJobGuide(t *testing.T) {
	tests := []struct {
		name   string
		change func(js map[string]*bench.JobResult)
		ok     bool
		pick   string
		text   string // the whole line's text
	}{
		{name: "the fixture: push is seen soonest", ok: true, pick: "sse",
			text: "completion seen 800µs after it happened on average (p99 3.00ms), for 1 request and 1.4 kB per job; 1.5× sooner than long-poll (1.20ms, 5 requests and 2.3 kB per job); fewest bytes: etag 1s (1.1 kB per job, staleness 505ms)"},
		{name: "long-poll measured sooner: another pick, other numbers", ok: true, pick: "long-poll",
			change: func(js map[string]*bench.JobResult) {
				js["long-poll"].StalenessMeanMs, js["long-poll"].StalenessP99Ms = 0.4, 1.1
				js["sse"].BytesPerJob = 900
			},
			text: "completion seen 400µs after it happened on average (p99 1.10ms), for 5 requests and 2.3 kB per job; 2.0× sooner than sse (800µs, 1 request and 900 B per job)"},
		{name: "the soonest missed jobs: the next that saw them all", ok: true, pick: "long-poll",
			change: func(js map[string]*bench.JobResult) {
				js["sse"].SeenDone, js["sse"].NeverSeenDone, js["sse"].CutOff = 97, 3, 3
			},
			text: "completion seen 1.20ms after it happened on average (p99 4.00ms), for 5 requests and 2.3 kB per job; 418× sooner than poll 1s (502ms, 3.5 requests and 1.6 kB per job); fewest bytes: etag 1s (1.1 kB per job, staleness 505ms); jobs never seen done: sse never saw 3"},
		{name: "polling only, one saturated", ok: true, pick: "poll 1s",
			change: func(js map[string]*bench.JobResult) {
				js["sse"].StalenessMeasured, js["long-poll"].StalenessMeasured = false, false
				js["poll 2s"].Saturated = true
			},
			text: "completion seen 502ms after it happened on average (p99 990ms), for 3.5 requests and 1.6 kB per job; about the same as etag 1s (505ms, 3.5 requests and 1.1 kB per job); rtbench was saturated during poll 2s, whose staleness includes its own delay"},
		{name: "every method saturated: said once", ok: true, pick: "sse",
			change: func(js map[string]*bench.JobResult) {
				for _, j := range js {
					j.Saturated = true
				}
			},
			text: "completion seen 800µs after it happened on average (p99 3.00ms), for 1 request and 1.4 kB per job; 1.5× sooner than long-poll (1.20ms, 5 requests and 2.3 kB per job); fewest bytes: etag 1s (1.1 kB per job, staleness 505ms); rtbench was saturated during every method: the staleness includes its own delay"},
		{name: "one method measured: bytes per update instead", ok: false,
			change: func(js map[string]*bench.JobResult) {
				for n, j := range js {
					j.StalenessMeasured = n == "sse"
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compareFixture(t)
			js := map[string]*bench.JobResult{}
			for _, j := range r.Jobs {
				js[j.Name] = j
			}
			if tt.change != nil {
				tt.change(js)
			}
			l, ok := jobGuide(r.Jobs)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v: %+v", ok, tt.ok, l)
			}
			var line GuideLine
			for _, g := range CompareGuide(r) {
				if g.Need == "job status" {
					line = g
				}
			}
			if !ok {
				if !strings.HasPrefix(line.Text, "bytes per update") {
					t.Errorf("fallback %+v: want the bytes per update line", line)
				}
				return
			}
			if line != l || l.Pick != tt.pick || l.Text != tt.text {
				t.Errorf("got  %s → %s\nwant %s → %s", l.Pick, l.Text, tt.pick, tt.text)
			}
		})
	}
}

// TestJobNotes: what went wrong in a method's run is said under the table.
func TestJobNotes(t *testing.T) {
	r := compareFixture(t)
	r.Jobs[0].NeverSeenDone, r.Jobs[0].FollowFailed, r.Jobs[0].CutOff, r.Jobs[0].SeenDone = 5, 2, 3, 95
	r.Jobs[1].StalenessMeasured = false
	r.Jobs[4].Saturated = true
	var b bytes.Buffer
	if err := CompareText(&b, r, TextOptions{Width: 200}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"poll 1s: 5 of 100 jobs never seen done (2 failed or timed out, 3 cut off by the run's end)",
		"poll 2s: no staleness: the answers that met the condition had no completion time at the --job-done-at path",
		"sse: rtbench was saturated (its self-check ticker ran late): the staleness includes its own delay",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
