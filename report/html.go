package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
)

// Sizes of the HTML report's charts, in CSS pixels.
const (
	HTMLHistWidth    = 720 // the headline histogram
	HTMLHistHeight   = 220
	HTMLSparkWidth   = 160 // the small histogram in each metric's row
	HTMLSparkHeight  = 28
	HTMLSeriesWidth  = 720 // the charts over time
	HTMLSeriesHeight = 180
)

// LoadHTML writes the load report as one self-contained HTML page: inline
// CSS and inline SVG, no script, nothing fetched from the network. It holds
// what LoadText does: the header and warnings, the latency table (with a
// small histogram per metric), the headline histogram, charts of sessions,
// throughput, errors and the headline p99 over time, the counters, the error
// classes and the thresholds. Every text from the result is escaped.
func LoadHTML(w io.Writer, r *bench.Result, outcomes []bench.Outcome) error {
	if r == nil {
		return fmt.Errorf("html report: no result")
	}
	p := newHTMLPage(r, outcomes)
	var b bytes.Buffer
	if err := loadPage.Execute(&b, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type htmlPage struct {
	Title, URL, Pattern string
	Header              []htmlLine
	Partial, Saturated  string
	Cols                []string
	Span                int // columns of the metric table
	Groups              []htmlGroup
	Notes               []string
	HistTitle           string
	Hist                template.HTML
	Charts              []htmlChart
	Counters            []counterItem
	CountersTitle       string
	ErrorsTitle         string
	Errors              []htmlError
	ErrorNotes          []string
	ThresholdsTitle     string
	ThresholdsOK        bool
	Thresholds          []htmlOutcome
	Footer              string
}

type htmlLine struct {
	Key   string
	Items []string
}

type htmlGroup struct {
	Name string
	Rows []htmlRow
}

type htmlRow struct {
	Name  string
	Cells []string
	Spark template.HTML
}

type htmlChart struct {
	Title string
	SVG   template.HTML
}

type htmlError struct {
	Class, Count, Example string
	Counted               bool
}

type htmlOutcome struct {
	Verdict, Threshold, Value string
	Pass                      bool
}

func newHTMLPage(r *bench.Result, outcomes []bench.Outcome) *htmlPage {
	p := &htmlPage{
		Title:   "rtbench load · " + r.Target.Pattern + " · " + r.Target.URL,
		URL:     r.Target.URL,
		Pattern: r.Target.Pattern,
		Footer:  fmt.Sprintf("%s %s · %s", r.Tool.Name, r.Tool.Version, r.Schema),
	}
	var defs []string
	for _, k := range slices.Sorted(maps.Keys(r.Params.Defaults)) {
		defs = append(defs, k+"="+r.Params.Defaults[k])
	}
	p.Header = []htmlLine{{"load", loadShape(r.Params)}, {"run", runItems(r)}, {"defaults", defs}, {"result", resultItems(r)}}
	if r.Interrupted {
		p.Partial = partialText(r)
	}
	if r.Saturated {
		p.Saturated = saturatedText(r)
	}

	for _, c := range metricCols {
		p.Cols = append(p.Cols, c.name)
	}
	p.Span = len(p.Cols) + 2
	for _, g := range metricGroups(r) {
		hg := htmlGroup{Name: g.name}
		for j, name := range g.metrics {
			m := resultMetric(r, name)
			row := htmlRow{Name: g.label(j)}
			if dropped(r) > 0 {
				row.Name += " " + droppedMark
			}
			for _, c := range metricCols {
				row.Cells = append(row.Cells, c.get(m, r.DurationS))
			}
			if h, err := m.Histogram(); err == nil {
				row.Spark = svgHistogram(h, HTMLSparkWidth, HTMLSparkHeight)
			}
			hg.Rows = append(hg.Rows, row)
		}
		p.Groups = append(p.Groups, hg)
	}
	if n := dropped(r); n > 0 {
		p.Notes = append(p.Notes, droppedNote(r, n))
	}
	for _, name := range metricOrder(r) {
		m := r.Metrics[name]
		if m.Overflow > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %s above 1h counted at 1h", name, plural64(m.Overflow, "value")))
		}
		if m.Negative > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %s negative (clock skew) clamped to 0", name, count(m.Negative)))
		}
	}
	if name, ok := drawnMetric(r); ok {
		m := r.Metrics[name]
		if h, err := m.Histogram(); err == nil {
			p.HistTitle = fmt.Sprintf("%s histogram: %s values, log-spaced buckets", name, count(m.Count))
			if n := dropped(r); n > 0 {
				p.HistTitle += fmt.Sprintf(" (%s dropped starts not in it)", count(n))
			}
			p.Hist = svgHistogram(h, HTMLHistWidth, HTMLHistHeight)
		}
	}
	p.Charts = intervalCharts(r)
	p.Counters = counterItems(r)
	p.CountersTitle = fmt.Sprintf("counters (per measured second over %s)", secs(r.DurationS))

	p.ErrorsTitle = errorsTitle(r)
	if n := dropped(r); n > 0 {
		p.Errors = append(p.Errors, htmlError{Class: bench.Dropped.String(), Count: count(n),
			Example: "intended starts never sent: the open model's worker limit was reached", Counted: true})
	}
	for _, c := range errorClasses(r) {
		e := r.Errors[c]
		why, skip := notCounted[transport.Class(c)]
		p.Errors = append(p.Errors, htmlError{Class: c, Count: count(e.Count), Example: e.Example, Counted: !skip})
		if skip {
			p.ErrorNotes = append(p.ErrorNotes, c+": "+why)
		}
	}
	if len(outcomes) > 0 {
		p.ThresholdsTitle, p.ThresholdsOK = thresholdsTitle(outcomes)
		for _, o := range outcomes {
			ho := htmlOutcome{Verdict: "PASS", Threshold: o.Threshold, Value: o.Value, Pass: o.Pass}
			if !o.Pass {
				ho.Verdict = "FAIL"
			}
			if o.Missing {
				ho.Value = "missing: " + o.Value
			}
			p.Thresholds = append(p.Thresholds, ho)
		}
	}
	return p
}

// intervalCharts draws the intervals: sessions open, throughput, errors
// (when any) and the headline p99 per second (when any).
func intervalCharts(r *bench.Result) []htmlChart {
	ivs := r.Intervals
	if len(ivs) == 0 {
		return nil
	}
	headline, _ := resultHeadline(r)
	ss := intervalSeries(ivs, 1, headline)
	by := make(map[string]series, len(ss))
	for _, s := range ss {
		by[s.Name] = s
	}
	t := make([]float64, len(ivs))
	for i, iv := range ivs {
		t[i] = iv.TS
	}
	warm := r.MeasuredFrom.Sub(r.StartedAt).Seconds()
	chart := func(title string, f func(float64) string, names ...string) (htmlChart, bool) {
		c := seriesChart{Title: title, Format: f, T: t, Step: 1, Warm: warm, Width: HTMLSeriesWidth, Height: HTMLSeriesHeight}
		for _, n := range names {
			if s, ok := by[n]; ok && (s.peak() > 0 || s.Always) {
				c.Lines = append(c.Lines, chartLine{Name: s.Name, Values: s.Values})
			}
		}
		if len(c.Lines) == 0 {
			return htmlChart{}, false
		}
		return htmlChart{Title: title, SVG: svgSeries(c)}, true
	}
	var out []htmlChart
	add := func(c htmlChart, ok bool) {
		if ok {
			out = append(out, c)
		}
	}
	add(chart("sessions open", nil, "open"))
	add(chart("sessions per second", nil, "opened/s", "established/s", "closed/s"))
	add(chart("throughput", nil, "events/s", "requests/s"))
	add(chart("errors per second", nil, "errors/s", "failed/s"))
	p99 := "p99"
	if headline != "" {
		p99 += " " + headline
	}
	add(chart(p99+" per second", func(v float64) string { return sig3(dur(v)) }, p99))
	return out
}

var loadPage = withStyle(template.New("load"), `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{template "style"}}</style>
</head>
<body>
<header>
<h1>rtbench load</h1>
<p><span class="pattern">{{.Pattern}}</span> <code>{{.URL}}</code></p>
<dl class="header">
{{- range .Header}}{{if .Items}}
<dt>{{.Key}}</dt><dd>{{range .Items}}<span>{{.}}</span>{{end}}</dd>
{{- end}}{{end}}
</dl>
</header>
{{- if .Partial}}
<p class="alert" id="partial">{{.Partial}}</p>
{{- end}}
{{- if .Saturated}}
<p class="alert" id="saturated">{{.Saturated}}</p>
{{- end}}
{{- if .Groups}}
<section id="latency">
<h2>latency</h2>
<table class="metrics">
<thead><tr><th>metric</th>{{range .Cols}}<th class="num">{{.}}</th>{{end}}<th>histogram</th></tr></thead>
{{- range .Groups}}
<tbody>
<tr><th colspan="{{$.Span}}">{{.Name}}</th></tr>
{{- range .Rows}}
<tr><td class="mono">{{.Name}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}<td>{{.Spark}}</td></tr>
{{- end}}
</tbody>
{{- end}}
</table>
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
</section>
{{- end}}
{{- if .Hist}}
<section id="histogram">
<h2>{{.HistTitle}}</h2>
{{.Hist}}
</section>
{{- end}}
{{- if .Charts}}
<section id="over-time">
<h2>over time</h2>
{{- range .Charts}}
<h3 class="dim">{{.Title}}</h3>
{{.SVG}}
{{- end}}
</section>
{{- end}}
{{- if .Counters}}
<section id="counters">
<h2>{{.CountersTitle}}</h2>
<table>
<thead><tr><th>counter</th><th class="num">value</th><th class="num">per second</th></tr></thead>
<tbody>
{{- range .Counters}}
<tr><td class="mono">{{.Name}}</td><td class="num">{{.Value}}</td><td class="num">{{.Rate}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
<section id="errors">
<h2>{{.ErrorsTitle}}</h2>
{{- if .Errors}}
<table>
<thead><tr><th>class</th><th class="num">count</th><th>example</th></tr></thead>
<tbody>
{{- range .Errors}}
<tr{{if not .Counted}} class="dim"{{end}}><td class="mono">{{.Class}}</td><td class="num">{{.Count}}</td><td><code>{{.Example}}</code></td></tr>
{{- end}}
</tbody>
</table>
{{- range .ErrorNotes}}
<p class="note">not counted as errors: {{.}}</p>
{{- end}}
{{- end}}
</section>
{{- if .Thresholds}}
<section id="thresholds">
<h2 class="{{if .ThresholdsOK}}pass{{else}}fail{{end}}">{{.ThresholdsTitle}}</h2>
<table>
<tbody>
{{- range .Thresholds}}
<tr><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}</td><td><code>{{.Threshold}}</code></td><td class="num">{{.Value}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
<footer>{{.Footer}}</footer>
</body>
</html>
`)

// pageStyle is the stylesheet every HTML report shares (load, compare):
// one palette, light and dark, and the classes the SVG builders in svg.go
// emit.
const pageStyle = `{{define "style"}}:root { --fg: #1d232a; --dim: #66707a; --bg: #ffffff; --line: #d8dde2; --bar: #2f7d4f; --q: #b5452f;
  --s0: #2563a8; --s1: #2f7d4f; --s2: #b5452f; --s3: #8a5cb8; --warm: #f1f3f5; --bad: #b42318; --good: #2f7d4f; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e3e6e9; --dim: #98a1aa; --bg: #14181c; --line: #333b43; --bar: #5cbf83; --q: #f08a6c;
    --s0: #6aa7ef; --s1: #5cbf83; --s2: #f08a6c; --s3: #c19cf0; --warm: #1f252b; --bad: #f97066; --good: #5cbf83; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
  margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.05rem; margin: 2rem 0 .5rem; }
h3 { font-size: .9rem; margin: 1rem 0 .25rem; font-weight: 600; }
code, td.num, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.pattern { font-weight: 600; }
dl.header { display: grid; grid-template-columns: 6rem 1fr; gap: .15rem 1rem; margin: 0; }
dl.header dt { color: var(--dim); }
dl.header dd { margin: 0; }
dl.header span + span::before { content: " · "; color: var(--dim); }
.alert { border: 2px solid var(--bad); color: var(--bad); font-weight: 700; padding: .6rem .8rem; border-radius: 6px; }
table { border-collapse: collapse; margin: .25rem 0; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody th { color: var(--dim); font-weight: 600; padding-top: .7rem; }
.note, .dim { color: var(--dim); }
.pass { color: var(--good); font-weight: 700; }
.fail { color: var(--bad); font-weight: 700; }
svg { display: block; overflow: visible; }
svg text { font: 11px system-ui, sans-serif; fill: var(--dim); }
svg .bar { fill: var(--bar); }
svg .axis { stroke: var(--dim); stroke-width: 1; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .q { stroke: var(--q); stroke-dasharray: 3 3; }
svg text.q { fill: var(--q); stroke: none; }
svg .warm { fill: var(--warm); }
svg .line { fill: none; stroke-width: 1.5; }
svg .line.s0 { stroke: var(--s0); } svg .line.s1 { stroke: var(--s1); } svg .line.s2 { stroke: var(--s2); } svg .line.s3 { stroke: var(--s3); }
svg text.s0 { fill: var(--s0); } svg text.s1 { fill: var(--s1); } svg text.s2 { fill: var(--s2); } svg text.s3 { fill: var(--s3); }
footer { margin-top: 2.5rem; color: var(--dim); font-size: .85rem; }
{{end}}`

// withStyle parses page into t together with the shared stylesheet.
func withStyle(t *template.Template, page string) *template.Template {
	return template.Must(template.Must(t.Parse(page)).Parse(pageStyle))
}
