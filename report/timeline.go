package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// series is one quantity of the intervals over time, one value per column
// (a column is one or more seconds).
type series struct {
	Name   string
	Values []float64
	// Always is drawn even when every value is zero.
	Always bool
	format func(float64) string // a value
	unit   string               // after a value or a range: "/s"
}

func (s series) peak() float64 {
	var m float64
	for _, v := range s.Values {
		m = max(m, v)
	}
	return m
}

func (s series) low() float64 {
	if len(s.Values) == 0 {
		return 0
	}
	m := s.Values[0]
	for _, v := range s.Values {
		m = min(m, v)
	}
	return m
}

// intervalSeries turns the intervals into series of per columns, each
// column per seconds wide: open sessions (at the end of the column),
// sessions opened, connections established, closed and failed, events,
// requests and errors (per second, averaged over the column), and the
// headline p99 (the column's highest).
func intervalSeries(ivs []bench.IntervalResult, per int, headline string) []series {
	per = max(per, 1)
	cols := (len(ivs) + per - 1) / per
	mk := func(name string, always bool, f func(float64) string, unit string) series {
		return series{Name: name, Values: make([]float64, cols), Always: always, format: f, unit: unit}
	}
	open := mk("open", true, si, "")
	opened := mk("opened/s", false, si, "/s")
	established := mk("established/s", false, si, "/s")
	closed := mk("closed/s", false, si, "/s")
	failed := mk("failed/s", false, si, "/s")
	events := mk("events/s", false, si, "/s")
	requests := mk("requests/s", false, si, "/s")
	errs := mk("errors/s", false, si, "/s")
	p99 := mk("p99 "+headline, false, func(v float64) string { return sig3(dur(v)) }, "")
	if headline == "" {
		p99.Name = "p99"
	}
	for c := range cols {
		chunk := ivs[c*per : min((c+1)*per, len(ivs))]
		n := float64(len(chunk))
		for _, iv := range chunk {
			opened.Values[c] += float64(iv.Opened) / n
			established.Values[c] += float64(iv.Established) / n
			closed.Values[c] += float64(iv.Closed) / n
			failed.Values[c] += float64(iv.Failed) / n
			events.Values[c] += float64(iv.Events) / n
			requests.Values[c] += float64(iv.Requests) / n
			errs.Values[c] += float64(iv.Errors) / n
			p99.Values[c] = max(p99.Values[c], iv.HeadlineP99Ms)
		}
		open.Values[c] = float64(chunk[len(chunk)-1].Open)
	}
	return []series{open, opened, established, closed, failed, events, requests, errs, p99}
}

// rangeLabel is a series' lowest and highest value: "0–50/s".
func rangeLabel(s series) string { return s.format(s.low()) + "–" + s.format(s.peak()) + s.unit }

// sparkLevels are the eight heights of a sparkline; zero is a space.
var sparkLevels = [...]string{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}

// sparkline draws values scaled to peak: zero is blank, any other value at
// least the lowest block.
func sparkline(values []float64, peak float64) string {
	var b strings.Builder
	for _, v := range values {
		if v <= 0 || peak <= 0 {
			b.WriteByte(' ')
			continue
		}
		l := int(math.Ceil(v/peak*8)) - 1
		b.WriteString(sparkLevels[min(max(l, 0), 7)])
	}
	return b.String()
}

// writeTimeline draws the intervals as one sparkline row per series that has
// values ("open" always), the columns bucketed so they fit width, with each
// row's lowest and highest value; warmup columns are marked on the axis.
func writeTimeline(w io.Writer, r *bench.Result, headline string, width int, st loadStyles) {
	ivs := r.Intervals
	if len(ivs) == 0 {
		return
	}
	// The labels' widths depend on the columns and the columns on the
	// room the labels leave: two passes settle it.
	per, nameW, rangeW := 1, 0, 0
	var ss []series
	for range 2 {
		room := max(width-2-nameW-2-2-rangeW, 8)
		per = columnSeconds(len(ivs), room)
		ss = intervalSeries(ivs, per, headline)
		for _, s := range ss {
			if s.peak() > 0 || s.Always {
				nameW = max(nameW, textWidth(s.Name))
				rangeW = max(rangeW, textWidth(rangeLabel(s)))
			}
		}
	}
	cols := len(ss[0].Values)
	warm := r.MeasuredFrom.Sub(r.StartedAt).Seconds()
	title := fmt.Sprintf("sessions over time (%s; 1 column = %s", secs(float64(len(ivs))), secs(float64(per)))
	if warm > 0 {
		title += fmt.Sprintf("; · = %s warmup", secs(warm))
	}
	title += ")"
	fmt.Fprintln(w, st.title.Render(cut(title, width)))
	labelRoom := max(width-2-nameW-2-cols-2, 4)
	for _, s := range ss {
		peak := s.peak()
		if peak == 0 && !s.Always {
			continue
		}
		fmt.Fprintf(w, "  %s  %s  %s\n", st.key.Render(padRight(s.Name, nameW)),
			st.bar.Render(sparkline(s.Values, peak)), cut(rangeLabel(s), labelRoom))
	}
	// The axis: warmup columns dotted, the rest a rule, seconds at both ends.
	var axis strings.Builder
	for c := range cols {
		t := ivs[min(c*per, len(ivs)-1)].TS
		if t+float64(per) <= warm+1e-9 {
			axis.WriteString("·")
		} else {
			axis.WriteString("─")
		}
	}
	end := ivs[len(ivs)-1].TS + 1
	fmt.Fprintf(w, "  %s  %s  %s\n", padRight("", nameW), st.dim.Render(axis.String()),
		st.dim.Render(cut(secs(ivs[0].TS)+"–"+secs(end), labelRoom)))
}

// columnSeconds is how many seconds of intervals one column of a chart
// width columns wide holds.
func columnSeconds(n, width int) int {
	if width <= 0 {
		return max(n, 1)
	}
	return max((n+width-1)/width, 1)
}
