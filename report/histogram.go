package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// HistogramRows is the most buckets a latency histogram is drawn with, in
// the terminal and in HTML. A histogram with fewer distinct values gets one
// bucket per value.
const HistogramRows = 16

// bucket is one bar of a drawn histogram: the values from Lo up to Hi (the
// last bucket includes Hi).
type bucket struct {
	Lo, Hi time.Duration
	Count  int64
}

// TailFactor: when a histogram's largest value is more than TailFactor
// times its p99.9, the log-spaced buckets stop at the p99.9 and one last
// bucket holds the tail up to the largest value, so a single outlier (a
// value stuck at the 1-hour ceiling) does not leave most rows empty.
const TailFactor = 10

// logBuckets spreads h's values over at most n buckets whose edges are
// evenly spaced on a log scale from h's smallest to its largest value (or
// to its p99.9, then one tail bucket: see TailFactor), so a long tail and a
// tight body both show. Zeros (clamped negatives) fall in the first bucket.
// Every value of h is in exactly one bucket.
func logBuckets(h *bench.Hist, n int) []bucket {
	if h == nil || h.Count() == 0 || n < 1 {
		return nil
	}
	bars := h.Bars()
	var lo int64 = -1 // smallest non-zero value, µs
	distinct := 0
	for _, b := range bars {
		if b.Count == 0 {
			continue
		}
		distinct++
		if lo < 0 && b.From > 0 {
			lo = b.From
		}
	}
	minD, maxD := h.Min(), h.Max()
	hi := maxD.Microseconds()
	n = min(n, distinct)
	if lo < 0 || hi <= lo || n == 1 {
		return []bucket{{Lo: minD, Hi: maxD, Count: h.Count()}}
	}
	body := n // log-spaced buckets; the others hold the tail
	if q := h.Quantile(99.9).Microseconds(); n >= 3 && q > lo && hi > TailFactor*q {
		body, hi = n-1, q
	}
	span := math.Log(float64(hi) / float64(lo))
	out := make([]bucket, n)
	for i := range body {
		out[i].Lo = time.Duration(math.Round(float64(lo)*math.Exp(span*float64(i)/float64(body)))) * time.Microsecond
	}
	if body < n {
		out[body].Lo = time.Duration(hi) * time.Microsecond
	}
	for i := range out {
		if i+1 < n {
			out[i].Hi = out[i+1].Lo
		}
	}
	out[0].Lo = minD
	out[n-1].Hi = maxD
	for _, b := range bars {
		if b.Count == 0 {
			continue
		}
		i := 0
		if b.From > lo {
			i = int(float64(body) * math.Log(float64(b.From)/float64(lo)) / span)
		}
		i = min(max(i, 0), n-1)
		// Float rounding at an edge, and the tail: the edges decide.
		v := time.Duration(b.From) * time.Microsecond
		for i+1 < n && v >= out[i+1].Lo {
			i++
		}
		for i > 0 && v < out[i].Lo {
			i--
		}
		out[i].Count += b.Count
	}
	return out
}

// bucketOf returns the index of the bucket holding d.
func bucketOf(bs []bucket, d time.Duration) int {
	for i := len(bs) - 1; i > 0; i-- {
		if d >= bs[i].Lo {
			return i
		}
	}
	return 0
}

// eighths are the partial blocks, from one eighth to seven.
var eighths = [...]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// blockBar draws v of full as a bar of at most w cells in eighth blocks; a
// non-zero value gets at least one eighth.
func blockBar(v, full int64, w int) string {
	if v <= 0 || full <= 0 || w <= 0 {
		return ""
	}
	e := int(math.Round(float64(v) * float64(w*8) / float64(full)))
	e = max(e, 1)
	return strings.Repeat("█", e/8) + eighths[e%8]
}

// writeHistogram draws h as horizontal bars over log-spaced buckets, one
// line per bucket: "  1.20ms – 1.50ms │████████▍   1,234  23.4% ◂ p50".
// The bars use Unicode eighth blocks, with or without colour.
func writeHistogram(w io.Writer, h *bench.Hist, width int, st loadStyles) {
	bs := logBuckets(h, HistogramRows)
	if len(bs) == 0 {
		return
	}
	total := h.Count()
	var peak int64
	los, his := make([]string, len(bs)), make([]string, len(bs))
	loW, hiW, cW := 0, 0, 0
	for i, b := range bs {
		peak = max(peak, b.Count)
		los[i], his[i] = sig3(b.Lo), sig3(b.Hi)
		loW, hiW = max(loW, len([]rune(los[i]))), max(hiW, len([]rune(his[i])))
		cW = max(cW, len(count(b.Count)))
	}
	marks := make([]string, len(bs))
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p99", 99}} {
		i := bucketOf(bs, h.Quantile(q.q))
		if marks[i] == "" {
			marks[i] = " ◂"
		}
		marks[i] += " " + q.name
	}
	markW := 0
	for _, m := range marks {
		markW = max(markW, textWidth(m))
	}
	// "  lo – hi │bar count  pct%marks": the percentages, then the marks,
	// go when the bar would be narrower than minBar.
	const minBar = 6
	showPct := true
	fixed := 2 + loW + 3 + hiW + 2 + 1 + cW
	if fixed+8+markW+minBar > width {
		showPct = false
	} else {
		fixed += 8
	}
	if fixed+markW+minBar > width {
		marks, markW = make([]string, len(bs)), 0
	}
	barW := max(width-fixed-markW, minBar)
	for i, b := range bs {
		label := padLeft(los[i], loW) + " – " + padRight(his[i], hiW)
		bar := padRight(blockBar(b.Count, peak, barW), barW)
		line := fmt.Sprintf("  %s │%s %s", label, st.bar.Render(bar), padLeft(count(b.Count), cW))
		if showPct {
			line += fmt.Sprintf("  %5.1f%%", 100*float64(b.Count)/float64(total))
		}
		if marks[i] != "" {
			line += st.dim.Render(marks[i])
		}
		fmt.Fprintln(w, line)
	}
}
