package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// CompareHTML writes compare's report as one self-contained HTML page
// (inline CSS and SVG, no script, nothing fetched): the workload, the table,
// the AI section, one delivery histogram per pattern on the shared log
// scale, delivery latency over time per pattern (mean and max per second)
// and the decision guide. Every text from the result is escaped.
func CompareHTML(w io.Writer, r *bench.CompareResult) error {
	if r == nil {
		return fmt.Errorf("compare html report: no result")
	}
	p := comparePage{Title: "rtbench compare", Target: compareTargetText(r), Cols: compareCols, Guide: CompareGuide(r)}
	for _, h := range compareHeader(r) {
		p.Header = append(p.Header, htmlLine{Key: h[0], Items: []string{h[1]}})
	}
	for _, pr := range r.Patterns {
		p.Rows = append(p.Rows, compareRow{Name: pr.Name, Cells: compareCells(pr)})
	}
	if len(r.Chat) > 0 {
		p.Chat = &workloadTable{ID: "chat", Title: chatTitle, First: "protocol", Cols: chatCols, Header: chatHeader(r), Notes: chatNotes(r)}
		for _, c := range r.Chat {
			p.Chat.Rows = append(p.Chat.Rows, compareRow{Name: c.Name, Cells: chatCells(c)})
		}
	}
	if len(r.Jobs) > 0 {
		p.Jobs = &workloadTable{ID: "jobs", Title: jobTitle, First: "method", Cols: jobCols, Header: jobHeader(r), Notes: jobNotes(r)}
		for _, j := range r.Jobs {
			p.Jobs.Rows = append(p.Jobs.Rows, compareRow{Name: j.Name, Cells: jobCells(j)})
		}
	}
	if r.AI != nil {
		p.AI = aiLines(r.AI)
	}
	hs := compareHists(r)
	for _, row := range hs.rows {
		p.Hists = append(p.Hists, htmlChart{Title: fmt.Sprintf("%s · p50 %s · p99 %s", row.name, sig3(row.p50), sig3(row.p99)),
			SVG: svgShared(hs.edges, row.counts, HTMLHistWidth, 120)})
	}
	for _, pr := range r.Patterns {
		if len(pr.Series) == 0 {
			continue
		}
		c := seriesChart{Title: pr.Name + ": delivery latency per second (ms)", Step: 1, Width: HTMLSeriesWidth, Height: HTMLSeriesHeight,
			Format: func(v float64) string { return sig3(dur(v)) }}
		mean, mx := chartLine{Name: "mean"}, chartLine{Name: "max"}
		for _, s := range pr.Series {
			c.T = append(c.T, s.TS)
			mean.Values = append(mean.Values, s.MeanMs)
			mx.Values = append(mx.Values, s.MaxMs)
		}
		c.Lines = []chartLine{mean, mx}
		p.Series = append(p.Series, htmlChart{Title: c.Title, SVG: svgSeries(c)})
	}
	p.Footer = "rtbench " + r.Tool.Version + " · " + bench.CompareSchema
	var b bytes.Buffer
	if err := comparePageTmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("compare html report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type comparePage struct {
	Title, Target string
	Header        []htmlLine
	Cols          []string
	Rows          []compareRow
	// The chat and job-status tables, when those workloads ran.
	Chat, Jobs    *workloadTable
	AI            []string
	Hists, Series []htmlChart
	Guide         []GuideLine
	Footer        string
}

// workloadTable is a workload's section of the page: its title, header
// lines, table (the first column named First) and notes.
type workloadTable struct {
	ID, Title, First string
	Cols             []string
	Header, Notes    []string
	Rows             []compareRow
}

type compareRow struct {
	Name  string
	Cells []string
}

// svgShared draws one pattern's counts over the shared log-spaced buckets:
// one <rect class="bar"> per bucket with a tooltip, the scale's edges
// below.
func svgShared(edges []time.Duration, counts []int64, width, height int) template.HTML {
	var peak, total int64
	for _, c := range counts {
		peak = max(peak, c)
		total += c
	}
	if total == 0 {
		return ""
	}
	ml, mt, mb := 4.0, 6.0, 20.0
	pw, ph := float64(width)-2*ml, float64(height)-mt-mb
	bw := pw / float64(len(counts))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="hist" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="delivery histogram of %s values">`,
		width, height, width, height, count(total))
	fmt.Fprintf(&s, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, ml, mt+ph, ml+pw, mt+ph)
	for i, c := range counts {
		if c == 0 {
			continue
		}
		bh := max(float64(c)/float64(peak)*ph, 1)
		fmt.Fprintf(&s, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			ml+float64(i)*bw+0.5, mt+ph-bh, bw-1, bh,
			esc(fmt.Sprintf("%s – %s: %s (%.1f%%)", sig3(edges[i]), sig3(edges[i+1]), count(c), 100*float64(c)/float64(total))))
	}
	y := mt + ph + 14
	n := len(counts)
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="start">%s</text>`, ml, y, esc(sig3(edges[0])))
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, ml+float64(n/2)*bw, y, esc(sig3(edges[n/2])))
	fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, ml+pw, y, esc(sig3(edges[n])))
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

var comparePageTmpl = withStyle(template.New("compare"), `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{template "style"}}
/* compare's over-time charts draw max in red (s1), as its legend says */
:root { --s1: #b5452f; --s2: #2f7d4f; }
@media (prefers-color-scheme: dark) { :root { --s1: #f08a6c; --s2: #5cbf83; } }
</style>
</head>
<body>
<header>
<h1>rtbench compare</h1>
<p><code>{{.Target}}</code></p>
<dl class="header">
{{- range .Header}}
<dt>{{.Key}}</dt><dd>{{range .Items}}{{.}}{{end}}</dd>
{{- end}}
</dl>
</header>
{{- if .Rows}}
<section id="table">
<h2>delivery: publish → receipt, per delivered update</h2>
<table>
<thead><tr><th>pattern</th>{{range .Cols}}<th class="num">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr><td class="mono">{{.Name}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
{{- with .Chat}}{{template "workload" .}}{{end}}
{{- with .Jobs}}{{template "workload" .}}{{end}}
{{- if .AI}}
<section id="ai">
<h2>AI token streams (SSE)</h2>
<ul>{{range .AI}}<li class="mono">{{.}}</li>{{end}}</ul>
</section>
{{- end}}
{{- if .Hists}}
<section id="histograms">
<h2>delivery histograms, one log scale</h2>
{{- range .Hists}}
<h3>{{.Title}}</h3>
{{.SVG}}
{{- end}}
</section>
{{- end}}
{{- if .Series}}
<section id="over-time">
<h2>delivery latency over time</h2>
{{- range .Series}}
<h3>{{.Title}}</h3>
{{.SVG}}
{{- end}}
</section>
{{- end}}
{{- if .Guide}}
<section id="guide">
<h2>decision guide, measured on this run</h2>
<ul>
{{- range .Guide}}
<li><strong>{{.Need}} → {{.Pick}}</strong>: {{.Text}}</li>
{{- end}}
</ul>
</section>
{{- end}}
<footer>{{.Footer}}</footer>
</body>
</html>
{{- define "workload"}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{- range .Header}}
<p>{{.}}</p>
{{- end}}
<table>
<thead><tr><th>{{.First}}</th>{{range .Cols}}<th class="num">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr><td class="mono">{{.Name}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
</section>
{{- end}}
`)
