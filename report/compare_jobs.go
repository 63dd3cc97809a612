package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// jobTitle heads compare's job-status table.
const jobTitle = "job status: completion → the client sees it, per job"

// jobCols are the job table's columns after the method: staleness (the
// time the client learned the job was done − the job's own completion)
// mean, p50, p99 and max over the jobs seen done; status requests and
// bytes on the wire (both ways, headers included, creates excluded) per
// job seen done; jobs seen done and never seen done.
var jobCols = []string{"stale mean", "p50", "p99", "max", "req/job", "B/job", "seen", "never"}

// jobHeader is the job workload, from its first method (every method has
// the same).
func jobHeader(r *bench.CompareResult) []string {
	j := r.Jobs[0]
	out := []string{fmt.Sprintf("%s jobs/s created for %s per method, every method at once on jobs of its own; staleness = when the client saw the job done − when the job says it completed",
		trimZero(fmt.Sprintf("%.2f", j.RatePerS)), secs(r.DurationS))}
	if r.JobShape != "" {
		out = append(out, "jobs: "+r.JobShape)
	}
	return out
}

// jobCells returns a method's table cells, in jobCols order.
func jobCells(j *bench.JobResult) []string {
	cells := make([]string, 0, len(jobCols))
	if j.StalenessMeasured {
		cells = append(cells, sig3(dur(j.StalenessMeanMs)), sig3(dur(j.StalenessP50Ms)), sig3(dur(j.StalenessP99Ms)), sig3(dur(j.StalenessMaxMs)))
	} else {
		cells = append(cells, "–", "–", "–", "–")
	}
	per := "–"
	bytesPer := "–"
	if j.SeenDone > 0 {
		per = trimZero(fmt.Sprintf("%.2f", j.RequestsPerJob))
		bytesPer = trimZero(fmt.Sprintf("%.0f", math.Round(j.BytesPerJob)))
	}
	return append(cells, per, bytesPer, count(j.SeenDone), count(j.NeverSeenDone))
}

// jobTable renders the job table, dropping columns (max, p50, never, p99,
// in that order) until it fits.
func jobTable(r *bench.CompareResult, width int, st loadStyles) string {
	rows := [][]string{append([]string{"method"}, jobCols...)}
	for _, j := range r.Jobs {
		rows = append(rows, append([]string{j.Name}, jobCells(j)...))
	}
	return fitTable(rows, []string{"max", "p50", "never", "p99"}, width, st)
}

// jobNotes say what went wrong in a method's run: jobs never seen done
// and why, no staleness (the answers lacked the done_at field), and a
// generator too late for its timings to be the method's.
func jobNotes(r *bench.CompareResult) []string {
	var out []string
	all := len(r.Jobs) > 1
	for _, j := range r.Jobs {
		all = all && j.Saturated
	}
	for _, j := range r.Jobs {
		var parts []string
		if j.NeverSeenDone > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s jobs never seen done (%s failed or timed out, %s cut off by the run's end)",
				count(j.NeverSeenDone), count(j.Created), count(j.FollowFailed), count(j.CutOff)))
		}
		if !j.StalenessMeasured && j.SeenDone > 0 {
			parts = append(parts, "no staleness: the answers that met the condition had no completion time at the --job-done-at path")
		}
		if j.Saturated && !all {
			parts = append(parts, "rtbench was saturated (its self-check ticker ran late): the staleness includes its own delay")
		}
		if len(parts) > 0 {
			out = append(out, j.Name+": "+strings.Join(parts, "; "))
		}
	}
	if all {
		out = append(out, "every method: rtbench was saturated (its self-check ticker ran late): the staleness includes its own delay")
	}
	return out
}

// jobGuide is the guide's job-status line from the job workload: the
// method that showed completions soonest (the lowest mean staleness, among
// the methods that saw every job done, or all when none did), at what
// request and byte cost per job, against the runner-up, and the method
// cheapest on the wire when it is neither. False when fewer than two
// methods measured a staleness.
func jobGuide(js []*bench.JobResult) (GuideLine, bool) {
	pool, _, _, ok := guidePool(js, func(j *bench.JobResult) bool { return j.StalenessMeasured && j.SeenDone > 0 },
		func(j *bench.JobResult) bool { return j.NeverSeenDone == 0 })
	if !ok {
		return GuideLine{}, false
	}
	a, b := best2(pool, func(j *bench.JobResult) float64 { return j.StalenessMeanMs })
	cost := func(j *bench.JobResult) string {
		n := trimZero(fmt.Sprintf("%.2f", j.RequestsPerJob))
		unit := "requests"
		if n == "1" {
			unit = "request"
		}
		return fmt.Sprintf("%s %s and %s per job", n, unit, bytesText(j.BytesPerJob))
	}
	text := fmt.Sprintf("completion seen %s after it happened on average (p99 %s), for %s", sig3(dur(a.StalenessMeanMs)), sig3(dur(a.StalenessP99Ms)), cost(a))
	if b != a {
		if rr := ratio(b.StalenessMeanMs, a.StalenessMeanMs); rr == "about the same" {
			text += fmt.Sprintf("; about the same as %s (%s, %s)", b.Name, sig3(dur(b.StalenessMeanMs)), cost(b))
		} else {
			text += fmt.Sprintf("; %s sooner than %s (%s, %s)", rr, b.Name, sig3(dur(b.StalenessMeanMs)), cost(b))
		}
	}
	if c, _ := best2(pool, func(j *bench.JobResult) float64 { return j.BytesPerJob }); c != a && c != b {
		text += fmt.Sprintf("; fewest bytes: %s (%s per job, staleness %s)", c.Name, bytesText(c.BytesPerJob), sig3(dur(c.StalenessMeanMs)))
	}
	var missed, saturated []string
	for _, j := range js {
		if j.NeverSeenDone > 0 {
			missed = append(missed, fmt.Sprintf("%s never saw %s", j.Name, count(j.NeverSeenDone)))
		}
		if j.Saturated {
			saturated = append(saturated, j.Name)
		}
	}
	if len(missed) > 0 {
		text += "; jobs never seen done: " + strings.Join(missed, ", ")
	}
	switch {
	case len(saturated) == len(js) && len(js) > 1:
		text += "; rtbench was saturated during every method: the staleness includes its own delay"
	case len(saturated) > 0:
		text += "; rtbench was saturated during " + strings.Join(saturated, ", ") + ", whose staleness includes its own delay"
	}
	return GuideLine{Need: "job status", Pick: a.Name, Text: text}, true
}
