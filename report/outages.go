package report

import (
	"bytes"
	"fmt"

	"github.com/charmbracelet/lipgloss"

	"github.com/rtbench/rtbench/bench"
)

// shownOutages is how many outages the text report lists; the result file
// keeps up to bench.MaxOutages.
const shownOutages = 5

// outagesTitle is the section's title: how many outages, and the reconnect
// cap when it held reconnects back.
func outagesTitle(r *bench.Result) string {
	n := max(r.Counters[bench.Outages.String()], int64(len(r.Outages)))
	title := "outages: " + count(n) + " (connections lost, then back)"
	if n == 1 {
		title = "outages: 1 (connections lost, then back)"
	}
	return title
}

// writeOutages lists the largest episodes of lost connections: when, how
// many sessions, the downtime the sessions saw (until the first was back)
// and the time until all were back; then each session's time to reconnect
// and what the run's reconnect cap did. Nothing when no connection was lost.
func writeOutages(b *bytes.Buffer, r *bench.Result, width int, st loadStyles) {
	if len(r.Outages) == 0 {
		return
	}
	b.WriteByte('\n')
	fmt.Fprintln(b, st.title.Render(cut(outagesTitle(r), width)))
	for i, o := range r.Outages {
		if i == shownOutages {
			more := max(r.Counters[bench.Outages.String()], int64(len(r.Outages))) - shownOutages
			fmt.Fprintln(b, st.dim.Render(cut(fmt.Sprintf("  … %s more, smaller (the result file keeps the %d largest)", count(more), bench.MaxOutages), width)))
			break
		}
		line := fmt.Sprintf("+%s: %s lost, ", secs(o.Start.Sub(r.StartedAt).Seconds()), plural64(o.Sessions, "session"))
		style := st.r.NewStyle()
		switch {
		case o.FirstBack == nil:
			line += fmt.Sprintf("none back by the end (down %s)", sig3(dur(o.DowntimeMs)))
			style = st.bad
		case o.RecoveryMs == nil:
			line += fmt.Sprintf("first back after %s, %s of %s back by the end", sig3(dur(o.DowntimeMs)), count(o.Recovered), count(o.Sessions))
			style = st.warn
		case o.Recovered < o.Sessions:
			line += fmt.Sprintf("first back after %s, %s back and %s stopped trying after %s",
				sig3(dur(o.DowntimeMs)), count(o.Recovered), count(o.Sessions-o.Recovered), sig3(dur(*o.RecoveryMs)))
		default:
			line += fmt.Sprintf("first back after %s, all after %s", sig3(dur(o.DowntimeMs)), sig3(dur(*o.RecoveryMs)))
		}
		writeWrapped(b, line, width, style)
	}
	if m, ok := r.Metrics[bench.Reconnect.String()]; ok {
		writeWrapped(b, fmt.Sprintf("time to reconnect, per session: p50 %s, p99 %s, max %s (%s reconnects)",
			sig3(dur(m.P50Ms)), sig3(dur(m.P99Ms)), sig3(dur(m.MaxMs)), count(m.Count)), width, st.r.NewStyle())
	}
	if cap, ok := r.Params.Defaults["reconnect_rate"]; ok {
		note := "reconnects capped at " + cap + " for the run (--reconnect-rate)"
		if cap == "0" {
			note = "no cap on reconnects (--reconnect-rate 0)"
		} else if n := r.Counters[bench.ReconnectsDelayed.String()]; n > 0 {
			note += ": " + plural64(n, "reconnect") + " waited for it"
		}
		writeWrapped(b, note, width, st.dim)
	}
}

// writeWrapped writes text indented by two, wrapped to width.
func writeWrapped(b *bytes.Buffer, text string, width int, style lipgloss.Style) {
	for _, l := range wrap(text, width-2) {
		fmt.Fprintln(b, "  "+style.Render(l))
	}
}
