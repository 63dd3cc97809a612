package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// A scenario's steps (bench.Result.Steps) show in two places: their
// latencies as rows of the latency tables, in a "steps" group (the step's
// name; "NAME staleness" and "NAME server" for polls that read them), and
// their counts per pass under "steps" after the tables.

// stepKey is the latency tables' key of a step's metric: apart from the
// run's metric names, which a step may share.
const stepKey = "\x00step/"

// stepGroup is the steps' latency rows, or false when r has none.
func stepGroup(r *bench.Result) (group, bool) {
	var g group
	g.name = "steps"
	for i, st := range r.Steps {
		for k, m := range []*bench.MetricResult{st.Latency, st.Staleness, st.ServerDuration} {
			if m == nil {
				continue
			}
			label := st.Name + [...]string{"", " staleness", " server"}[k]
			g.metrics = append(g.metrics, stepKey+strconv.Itoa(i)+"/"+strconv.Itoa(k))
			g.labels = append(g.labels, label)
		}
	}
	return g, len(g.metrics) > 0
}

// resultMetric is the metric behind a latency table row: a run's metric, or a
// step's (stepKey).
func resultMetric(r *bench.Result, key string) bench.MetricResult {
	rest, ok := strings.CutPrefix(key, stepKey)
	if !ok {
		return r.Metrics[key]
	}
	a, b, _ := strings.Cut(rest, "/")
	i, _ := strconv.Atoi(a)
	k, _ := strconv.Atoi(b)
	if i < 0 || i >= len(r.Steps) {
		return bench.MetricResult{}
	}
	st := r.Steps[i]
	if m := []*bench.MetricResult{st.Latency, st.Staleness, st.ServerDuration}[min(max(k, 0), 2)]; m != nil {
		return *m
	}
	return bench.MetricResult{}
}

// StepLines describe each step's passes: completed, failed and cut off,
// and the requests and bytes of one pass; then, for a step that read its
// answer's times (done_at), the staleness it saw the work done with, and
// the work's own duration.
func StepLines(r *bench.Result) []string {
	var out []string
	for _, st := range r.Steps {
		passes := st.Completed + st.Failed + st.CutOff
		parts := []string{count(st.Completed) + " done"}
		if st.Failed > 0 {
			parts = append(parts, count(st.Failed)+" failed")
		}
		if st.CutOff > 0 {
			parts = append(parts, count(st.CutOff)+" cut off")
		}
		line := st.Name + ": " + strings.Join(parts, ", ")
		if passes > 0 && st.Requests > 0 {
			per := round2(float64(st.Requests) / float64(passes))
			what := "requests"
			if per == 1 {
				what = "request"
			}
			line += fmt.Sprintf("; per pass %s %s, %s", trimFloat(per), what, bytesText(float64(st.Bytes)/float64(passes)))
		}
		out = append(out, line)
		if s := st.Staleness; s != nil {
			l := fmt.Sprintf("%s: seen done %s after it was (staleness mean; p50 %s, p99 %s)",
				st.Name, sig3(dur(s.MeanMs)), sig3(dur(s.P50Ms)), sig3(dur(s.P99Ms)))
			if sv := st.ServerDuration; sv != nil {
				l += fmt.Sprintf("; the work itself took %s (mean)", sig3(dur(sv.MeanMs)))
			}
			out = append(out, l)
		}
	}
	return out
}

func round2(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	return v
}

// writeSteps writes StepLines under a title.
func writeSteps(b *bytes.Buffer, r *bench.Result, width int, st loadStyles) {
	lines := StepLines(r)
	if len(lines) == 0 {
		return
	}
	b.WriteByte('\n')
	fmt.Fprintln(b, st.title.Render("steps"))
	for _, l := range lines {
		for i, w := range wrap(oneLine(l), width-4) {
			ind := "  "
			if i > 0 {
				ind = "    "
			}
			fmt.Fprintln(b, ind+w)
		}
	}
}
