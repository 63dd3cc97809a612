package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// The SVG builders return inline SVG (no script, no external reference) for
// the HTML reports, load's and compare's. Every text they take from a
// result is escaped; colours come from CSS classes the page defines (bar,
// axis, grid, q, s0 … s3, warm), so the charts follow the page's theme.

// svgSmall is the height below which a chart is a bare sparkline: no axes,
// no labels.
const svgSmall = 60

// svgHistogram draws h as one vertical bar per log-spaced bucket (the
// buckets of the terminal histogram, logBuckets with HistogramRows), each a
// <rect class="bar"> with a <title> tooltip, under lines marking p50 and p99
// and over labels of the bucket edges. Below svgSmall height it draws the
// bars only.
func svgHistogram(h *bench.Hist, width, height int) template.HTML {
	bs := logBuckets(h, HistogramRows)
	if len(bs) == 0 {
		return ""
	}
	small := height < svgSmall
	ml, mr, mt, mb := 4.0, 4.0, 16.0, 20.0
	if small {
		ml, mr, mt, mb = 1, 1, 1, 1
	}
	pw, ph := float64(width)-ml-mr, float64(height)-mt-mb
	var peak int64
	for _, b := range bs {
		peak = max(peak, b.Count)
	}
	total := h.Count()
	bw := pw / float64(len(bs))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="hist" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="histogram of %s values">`,
		width, height, width, height, count(total))
	if !small {
		fmt.Fprintf(&s, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, ml, mt+ph, ml+pw, mt+ph)
	}
	for i, b := range bs {
		bh := 0.0
		if b.Count > 0 {
			bh = max(float64(b.Count)/float64(peak)*ph, 1)
		}
		gap := min(1, bw/4)
		fmt.Fprintf(&s, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			ml+float64(i)*bw+gap/2, mt+ph-bh, bw-gap, bh,
			esc(fmt.Sprintf("%s – %s: %s (%.1f%%)", sig3(b.Lo), sig3(b.Hi), count(b.Count), 100*float64(b.Count)/float64(total))))
	}
	if !small {
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 50}, {"p99", 99}} {
			v := h.Quantile(q.q)
			x := ml + (float64(bucketOf(bs, v))+0.5)*bw
			fmt.Fprintf(&s, `<line class="q" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, mt-2, x, mt+ph)
			fmt.Fprintf(&s, `<text class="q" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, mt-4, esc(q.name+" "+sig3(v)))
		}
		// Edge labels: first, middle and last.
		y := mt + ph + 14
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="start">%s</text>`, ml, y, esc(sig3(bs[0].Lo)))
		if n := len(bs); n >= 4 {
			fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, ml+float64(n/2)*bw, y, esc(sig3(bs[n/2].Lo)))
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, ml+pw, y, esc(sig3(bs[len(bs)-1].Hi)))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// chartLine is one series of a seriesChart.
type chartLine struct {
	Name   string
	Values []float64 // one per T
}

// seriesChart is a line chart over time: one or more series on one y scale
// from zero, with a shaded warmup. compare draws two runs' series on one.
type seriesChart struct {
	Title  string
	Format func(float64) string // y-axis labels; si when nil
	T      []float64            // seconds, one per value: where each value's span starts
	Step   float64              // the span of a value (1 for per-second intervals); 0: points
	Lines  []chartLine          // drawn with classes s0, s1 …
	Warm   float64              // seconds before which the run was warming up; 0 none
	Width  int
	Height int
}

// svgSeries draws c: axes, the warmup shaded, a grid line at half and at
// the top of the scale, one <polyline class="line sN"> per series and a
// legend.
func svgSeries(c seriesChart) template.HTML {
	if len(c.T) == 0 || len(c.Lines) == 0 {
		return ""
	}
	f := c.Format
	if f == nil {
		f = si
	}
	width, height := float64(c.Width), float64(c.Height)
	ml, mr, mt, mb := 52.0, 8.0, 22.0, 20.0
	pw, ph := width-ml-mr, height-mt-mb
	t0, t1 := c.T[0], c.T[len(c.T)-1]+c.Step
	if t1 <= t0 {
		t1 = t0 + 1
	}
	var peak float64
	for _, l := range c.Lines {
		for _, v := range l.Values {
			peak = max(peak, v)
		}
	}
	top := niceCeil(peak)
	x := func(t float64) float64 { return ml + (t-t0)/(t1-t0)*pw }
	y := func(v float64) float64 { return mt + ph - v/top*ph }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="series" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		c.Width, c.Height, c.Width, c.Height, esc(c.Title))
	if c.Warm > t0 {
		fmt.Fprintf(&s, `<rect class="warm" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>warmup</title></rect>`,
			ml, mt, x(min(c.Warm, t1))-ml, ph)
	}
	for _, v := range []float64{top / 2, top} {
		fmt.Fprintf(&s, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, ml, y(v), ml+pw, y(v))
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, ml-4, y(v)+4, esc(f(v)))
	}
	fmt.Fprintf(&s, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, ml, mt+ph, ml+pw, mt+ph)
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, ml-4, mt+ph+4, esc(f(0)))
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="start">%s</text>`, ml, mt+ph+15, esc(secs(t0)))
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, ml+pw, mt+ph+15, esc(secs(t1)))
	for i, l := range c.Lines {
		cls := fmt.Sprintf("s%d", i%4)
		var pts strings.Builder
		for k, v := range l.Values {
			if k >= len(c.T) {
				break
			}
			if k > 0 {
				pts.WriteByte(' ')
			}
			fmt.Fprintf(&pts, "%.1f,%.1f", x(c.T[k]+c.Step/2), y(v))
		}
		fmt.Fprintf(&s, `<polyline class="line %s" points="%s"><title>%s</title></polyline>`, cls, pts.String(), esc(l.Name))
		fmt.Fprintf(&s, `<text class="%s" x="%.1f" y="14">%s</text>`, cls, ml+float64(i)*150, esc("■ "+l.Name))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for v ≤ 0), so
// the top of a scale is a round number.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string { return template.HTMLEscapeString(s) }
