package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// CompareBuckets is how many log-spaced buckets compare's latency
// histograms share (the terminal draws at most one cell per bucket).
const CompareBuckets = 40

// CompareText writes compare's report: the workload, the side-by-side table
// (delivery p50/p90/p99/max, lost, duplicated, bytes, requests and CPU per
// delivered update, connections held), the AI section, one delivery
// histogram per pattern on a single shared log scale, and the measured
// decision guide. Every line fits o.Width; without colour there is no
// escape.
func CompareText(w io.Writer, r *bench.CompareResult, o TextOptions) error {
	if r == nil {
		return fmt.Errorf("compare report: no result")
	}
	width := fitWidth(o.Width)
	st := newLoadStyles(w, o.Color)
	var b bytes.Buffer
	fmt.Fprintln(&b, st.title.Render("rtbench compare")+"  "+cut(compareTargetText(r), width-17))
	for _, line := range compareHeader(r) {
		for i, l := range wrap(line[1], width-10) {
			key := ""
			if i == 0 {
				key = line[0]
			}
			fmt.Fprintln(&b, st.key.Render(padRight(key, 10))+l)
		}
	}
	if r.Interrupted {
		fmt.Fprintln(&b, st.loud.Render("interrupted: the patterns that did not run are missing"))
		for _, p := range r.Patterns {
			if p.CutOff > 0 {
				for _, l := range wrap(fmt.Sprintf("%s: %s (subscriber, update) pairs still on their way were cut off by the interruption, not counted as lost", p.Name, count(p.CutOff)), width) {
					fmt.Fprintln(&b, st.loud.Render(l))
				}
			}
		}
	}
	if len(r.Patterns) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.title.Render("delivery: publish → receipt, per delivered update"))
		b.WriteString(compareTable(r, width, st))
	}
	if len(r.Chat) > 0 {
		writeSection(&b, st, chatTitle, chatHeader(r), chatTable(r, width, st), chatNotes(r), width)
	}
	if len(r.Jobs) > 0 {
		writeSection(&b, st, jobTitle, jobHeader(r), jobTable(r, width, st), jobNotes(r), width)
	}
	if r.AI != nil {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.title.Render("AI token streams (SSE)"))
		for _, l := range aiLines(r.AI) {
			for _, ll := range wrap(l, width-2) {
				fmt.Fprintln(&b, "  "+ll)
			}
		}
	}
	if len(r.AIFormats) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.title.Render("AI stream formats on one token schedule (p50)"))
		for _, l := range aiFormatLines(r.AIFormats) {
			fmt.Fprintln(&b, "  "+l)
		}
	}
	if hs := compareHists(r); len(hs.rows) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.title.Render("delivery histograms, one log scale"))
		writeSharedHists(&b, hs, width, st)
	}
	if g := CompareGuide(r); len(g) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.title.Render("decision guide, measured on this run"))
		for _, l := range g {
			lines := wrap(l.Need+" → "+l.Pick+": "+l.Text, width-4)
			for i, ll := range lines {
				if i == 0 {
					fmt.Fprintln(&b, "  "+ll)
				} else {
					fmt.Fprintln(&b, "    "+ll)
				}
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeSection writes a workload's section: its title, its header lines
// (wrapped), its table, then its notes, each wrapped with a hanging
// indent.
func writeSection(b *bytes.Buffer, st loadStyles, title string, header []string, table string, notes []string, width int) {
	fmt.Fprintln(b)
	fmt.Fprintln(b, st.title.Render(title))
	for _, l := range header {
		for _, ll := range wrap(l, width-2) {
			fmt.Fprintln(b, "  "+ll)
		}
	}
	b.WriteString(table)
	for _, l := range notes {
		for i, ll := range wrap(l, width-4) {
			if i == 0 {
				fmt.Fprintln(b, "  "+ll)
			} else {
				fmt.Fprintln(b, "    "+ll)
			}
		}
	}
}

func compareTargetText(r *bench.CompareResult) string {
	if r.Embedded {
		return r.Target + " (embedded rtbench serve)"
	}
	return r.Target
}

// compareHeader is the workload, as key/value lines.
func compareHeader(r *bench.CompareResult) [][2]string {
	if len(r.Patterns) == 0 && (len(r.Chat) > 0 || len(r.Jobs) > 0) && r.AI == nil && len(r.AIFormats) == 0 {
		// Chat or jobs only: their own headers say their workload.
		return [][2]string{{"cpu", r.CPUScope}}
	}
	return [][2]string{
		{"workload", fmt.Sprintf("%d subscribers · %s updates/s of %s · %s per pattern (%d updates) · settle ≤ %s · drain %s",
			r.Subscribers, trimZero(fmt.Sprintf("%.2f", r.UpdatesPerS)), bytesText(float64(r.SizeBytes)),
			secs(r.DurationS), r.UpdatesSent, secs(r.SettleS), secs(r.DrainS))},
		{"cpu", r.CPUScope},
	}
}

// compareCols are the table's columns after the pattern name.
var compareCols = []string{"p50", "p90", "p99", "max", "lost", "dup", "B/upd", "req/upd", "conns", "cpu µs/upd"}

// compareCells returns a pattern's table cells, in compareCols order.
func compareCells(p *bench.PatternResult) []string {
	cells := make([]string, 0, len(compareCols))
	if m, ok := p.Delivery(); ok {
		cells = append(cells, sig3(dur(m.P50Ms)), sig3(dur(m.P90Ms)), sig3(dur(m.P99Ms)), sig3(dur(m.MaxMs)))
	} else {
		cells = append(cells, "–", "–", "–", "–")
	}
	cpu := "–"
	if p.CPUMeasured && p.Delivered > 0 {
		cpu = trimZero(fmt.Sprintf("%.1f", p.CPUUsPerUpdate))
	}
	per := func(v float64) string {
		if p.Delivered == 0 {
			return "–"
		}
		return trimZero(fmt.Sprintf("%.2f", v))
	}
	return append(cells, count(p.Lost), count(p.Duplicates), per(math.Round(p.BytesPerUpdate)), per(p.RequestsPerUpdate),
		count(p.ConnectionsPeak), cpu)
}

// compareTable renders the side-by-side table, dropping columns (p90, max,
// dup, conns, req/upd, lost, in that order) until it fits.
func compareTable(r *bench.CompareResult, width int, st loadStyles) string {
	rows := [][]string{append([]string{"pattern"}, compareCols...)}
	for _, p := range r.Patterns {
		rows = append(rows, append([]string{p.Name}, compareCells(p)...))
	}
	return fitTable(rows, []string{"p90", "max", "dup", "conns", "req/upd", "lost"}, width, st)
}

// fitTable renders rows (the first is the header) as aligned columns,
// dropping the columns named in drop, in that order, until it fits width.
func fitTable(rows [][]string, drop []string, width int, st loadStyles) string {
	keep := make([]bool, len(rows[0]))
	for i := range keep {
		keep[i] = true
	}
	render := func() (string, int) {
		ws := make([]int, len(rows[0]))
		for _, row := range rows {
			for i, c := range row {
				ws[i] = max(ws[i], textWidth(c))
			}
		}
		var b strings.Builder
		wide := 0
		for k, row := range rows {
			var line strings.Builder
			line.WriteString("  ")
			for i, c := range row {
				if !keep[i] {
					continue
				}
				if i == 0 {
					line.WriteString(padRight(c, ws[i]))
				} else {
					line.WriteString("  " + padLeft(c, ws[i]))
				}
			}
			s := strings.TrimRight(line.String(), " ")
			wide = max(wide, textWidth(s))
			if k == 0 {
				s = st.key.Render(s)
			}
			b.WriteString(s + "\n")
		}
		return b.String(), wide
	}
	for _, drop := range drop {
		s, wide := render()
		if wide <= width {
			return s
		}
		for i, c := range rows[0] {
			if c == drop {
				keep[i] = false
			}
		}
	}
	s, _ := render()
	return s
}

// aiLines describes the AI section.
func aiLines(a *bench.AIResult) []string {
	m := a.Result.Metrics
	q := func(name string) string {
		v, ok := m[name]
		if !ok || v.Count == 0 {
			return "–"
		}
		return "p50 " + sig3(dur(v.P50Ms)) + " · p99 " + sig3(dur(v.P99Ms))
	}
	lines := []string{
		fmt.Sprintf("%d concurrent streams of %d tokens, %d completed", a.Streams, a.Tokens, a.Completed),
		"ttft       " + q(bench.TTFT.String()),
		"itl_chunk  " + q(bench.ITLChunk.String()),
		fmt.Sprintf("tokens/s   %s per stream · %s in all", trimZero(fmt.Sprintf("%.1f", a.StreamTokensPerS)), trimZero(fmt.Sprintf("%.0f", a.TokensPerS))),
	}
	if tok := a.Result.Counters[bench.Tokens.String()]; tok > 0 && a.CPUMeasured {
		lines = append(lines, fmt.Sprintf("cost       %s and %s µs of CPU per token", bytesText(float64(a.BytesRead+a.BytesWritten)/float64(tok)),
			trimZero(fmt.Sprintf("%.1f", a.CPUMs*1000/float64(tok)))))
	}
	return lines
}

// aiFormatLines is the per-format table: the same token schedule read in
// each format, whether ttft and itl_chunk differ (p50), and what it costs
// on the wire: bytes both ways and events (content or not) per token.
func aiFormatLines(fs []*bench.AIResult) []string {
	const row = "%-16s %7s %7s %6s %6s %5s"
	lines := []string{fmt.Sprintf(row, "format", "ttft", "itl", "B/tok", "ev/tok", "done")}
	for _, a := range fs {
		p50 := func(name string) string {
			if m, ok := a.Result.Metrics[name]; ok && m.Count > 0 {
				return sig3(dur(m.P50Ms))
			}
			return "–"
		}
		lines = append(lines, fmt.Sprintf(row, a.Format, p50(bench.TTFT.String()), p50(bench.ITLChunk.String()),
			trimZero(fmt.Sprintf("%.0f", a.BytesPerToken)), trimZero(fmt.Sprintf("%.2f", a.WireEventsPerToken)), fmt.Sprintf("%d/%d", a.Completed, a.Streams)))
	}
	return lines
}

// sharedHists is every pattern's delivery histogram over the same
// log-spaced buckets.
type sharedHists struct {
	edges []time.Duration // len(bucket counts)+1
	rows  []sharedRow
}

type sharedRow struct {
	name     string
	counts   []int64
	p50, p99 time.Duration
}

// compareHists buckets every pattern's delivery histogram on one log scale
// from the smallest value of all (at least 10 µs) to the largest.
func compareHists(r *bench.CompareResult) sharedHists {
	type h struct {
		name string
		h    *bench.Hist
	}
	var hs []h
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for _, p := range r.Patterns {
		m, ok := p.Delivery()
		if !ok {
			continue
		}
		hh, err := m.Histogram()
		if err != nil {
			continue
		}
		hs = append(hs, h{p.Name, hh})
		lo, hi = min(lo, max(hh.Min(), 10*time.Microsecond)), max(hi, hh.Max())
	}
	if len(hs) == 0 {
		return sharedHists{}
	}
	hi = max(hi, lo*10)
	n := CompareBuckets
	edges := make([]time.Duration, n+1)
	span := math.Log(float64(hi) / float64(lo))
	for i := range edges {
		edges[i] = time.Duration(float64(lo) * math.Exp(span*float64(i)/float64(n)))
	}
	edges[n] = hi
	out := sharedHists{edges: edges}
	for _, x := range hs {
		row := sharedRow{name: x.name, counts: make([]int64, n), p50: x.h.Quantile(50), p99: x.h.Quantile(99)}
		for _, bar := range x.h.Bars() {
			if bar.Count == 0 {
				continue
			}
			v := time.Duration(bar.From) * time.Microsecond
			i := 0
			if v > lo {
				i = min(int(float64(n)*math.Log(float64(v)/float64(lo))/span), n-1)
			}
			row.counts[i] += bar.Count
		}
		out.rows = append(out.rows, row)
	}
	return out
}

// writeSharedHists draws one sparkline per pattern over the shared buckets,
// each scaled to its own peak, under an axis with the scale's edges.
func writeSharedHists(b *bytes.Buffer, hs sharedHists, width int, st loadStyles) {
	nameW := 0
	for _, r := range hs.rows {
		nameW = max(nameW, textWidth(r.name))
	}
	n := len(hs.rows[0].counts)
	// Merge neighbouring buckets until a row fits: name, bar, p50/p99.
	per := 1
	for 2+nameW+2+(n+per-1)/per+2+24 > width && per < n {
		per++
	}
	cols := (n + per - 1) / per
	for _, r := range hs.rows {
		vals := make([]float64, cols)
		var peak float64
		for i, c := range r.counts {
			vals[i/per] += float64(c)
		}
		for _, v := range vals {
			peak = max(peak, v)
		}
		line := "  " + padRight(r.name, nameW) + " │" + st.bar.Render(sparkZero(vals, peak)) + "│ "
		fmt.Fprintln(b, line+st.dim.Render("p50 "+sig3(r.p50)+" p99 "+sig3(r.p99)))
	}
	lo, mid, hi := sig3(hs.edges[0]), sig3(hs.edges[len(hs.edges)/2]), sig3(hs.edges[len(hs.edges)-1])
	axis := []rune(strings.Repeat(" ", cols+2))
	put := func(s string, at int) {
		rs := []rune(s)
		at = min(max(at, 0), len(axis)-len(rs))
		if at < 0 {
			return
		}
		copy(axis[at:], rs)
	}
	put(lo, 0)
	put(hi, cols+2-len([]rune(hi)))
	if m := cols/2 + 1 - len([]rune(mid))/2; m > len([]rune(lo))+1 && m+len([]rune(mid)) < cols+1-len([]rune(hi)) {
		put(mid, m)
	}
	fmt.Fprintln(b, st.dim.Render(strings.TrimRight("  "+strings.Repeat(" ", nameW)+" "+string(axis), " ")))
}

// sparkZero is sparkline with a blank for an empty bucket, so the shape of
// each distribution shows against the shared scale.
func sparkZero(vals []float64, peak float64) string {
	var s strings.Builder
	for _, v := range vals {
		if v <= 0 || peak <= 0 {
			s.WriteByte(' ')
			continue
		}
		i := int(math.Ceil(v/peak*float64(len(sparkLevels)))) - 1
		s.WriteString(sparkLevels[min(max(i, 0), len(sparkLevels)-1)])
	}
	return s.String()
}

// CompareJSON writes r as indented JSON (bench.CompareSchema), each pattern
// holding its full rtbench.result/v2.
func CompareJSON(w io.Writer, r *bench.CompareResult) error {
	if r == nil {
		return fmt.Errorf("compare report: no result")
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(JSONSafe(b), '\n'))
	return err
}
