package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// htmlNode is an element of a parsed page.
type htmlNode struct {
	name    string
	attrs   map[string]string
	parents []string // "tag#id" or "tag.class" of every ancestor, outermost first
}

// parseHTML parses a page with encoding/xml in its HTML mode (void
// elements auto-closed, HTML entities known): mismatched or unclosed tags
// fail the test. It returns the elements and the text, joined.
func parseHTML(t *testing.T, page string) ([]htmlNode, string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var nodes []htmlNode
	var stack []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := htmlNode{name: tok.Name.Local, attrs: map[string]string{}, parents: append([]string(nil), stack...)}
			label := tok.Name.Local
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
				switch a.Name.Local {
				case "id":
					label += "#" + a.Value
				case "class":
					label += "." + a.Value
				}
			}
			nodes = append(nodes, n)
			stack = append(stack, label)
		case xml.EndElement:
			if len(stack) == 0 {
				t.Fatalf("unbalanced </%s>", tok.Name.Local)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			text.Write(tok)
			text.WriteByte(' ')
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
	return nodes, text.String()
}

func (n htmlNode) in(label string) bool {
	for _, p := range n.parents {
		if p == label {
			return true
		}
	}
	return false
}

func loadHTML(t *testing.T, r *bench.Result, outcomes []bench.Outcome) string {
	t.Helper()
	var b bytes.Buffer
	if err := LoadHTML(&b, r, outcomes); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLoadHTMLGolden(t *testing.T) {
	tests := []struct {
		name     string
		result   func(*testing.T) *bench.Result
		outcomes func(*testing.T, *bench.Result) []bench.Outcome
	}{
		{"sse", sseResult, sseOutcomes},
		{"poll", pollResult, nil},
		{"ai", aiResult, aiOutcomes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.result(t)
			var outcomes []bench.Outcome
			if tt.outcomes != nil {
				outcomes = tt.outcomes(t, r)
			}
			page := loadHTML(t, r, outcomes)
			golden(t, "load/"+tt.name+".html", []byte(page))
			checkPage(t, r, outcomes, page)
		})
	}
}

// checkPage checks the structure: it parses, it is self-contained, it has
// one SVG per chart with the data drawn.
func checkPage(t *testing.T, r *bench.Result, outcomes []bench.Outcome, page string) {
	t.Helper()
	nodes, text := parseHTML(t, page)
	var svgs, rowSVGs, histBars, charts, polylines int
	for _, n := range nodes {
		switch n.name {
		case "script", "link", "img", "iframe", "object", "embed", "base":
			t.Errorf("<%s> in a self-contained page", n.name)
		}
		for _, a := range []string{"src", "href", "xlink:href", "action"} {
			if v, ok := n.attrs[a]; ok {
				t.Errorf("<%s %s=%q>: a reference out of the page", n.name, a, v)
			}
		}
		switch {
		case n.name == "svg":
			svgs++
			if n.in("table.metrics") {
				rowSVGs++
			}
			if n.in("section#over-time") {
				charts++
			}
		case n.name == "rect" && n.attrs["class"] == "bar" && n.in("section#histogram"):
			histBars++
		case n.name == "polyline" && n.in("section#over-time"):
			polylines++
		}
	}
	for _, bad := range []string{"url(", "@import", "@font-face", "<script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// One small histogram per metric, one headline histogram with a bar
	// per bucket, and the charts over time.
	if rowSVGs != len(r.Metrics) {
		t.Errorf("%d histograms in the metric table, want %d", rowSVGs, len(r.Metrics))
	}
	name, _ := drawnMetric(r)
	h, err := r.Metrics[name].Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(logBuckets(h, HistogramRows)); histBars != want {
		t.Errorf("headline histogram has %d bars, want %d", histBars, want)
	}
	if want := len(intervalCharts(r)); charts != want || charts < 3 || polylines < charts {
		t.Errorf("%d charts (%d lines), want %d", charts, polylines, want)
	}
	if svgs != rowSVGs+1+charts {
		t.Errorf("%d <svg> in all, want %d", svgs, rowSVGs+1+charts)
	}
	for _, want := range []string{r.Target.URL, r.Target.Pattern, errorsTitle(r)} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	for _, o := range outcomes {
		if !strings.Contains(text, o.Threshold) {
			t.Errorf("page text lacks threshold %q", o.Threshold)
		}
	}
	if r.Interrupted != strings.Contains(text, "PARTIAL RESULT") || r.Saturated != strings.Contains(text, "SATURATED") {
		t.Errorf("warnings: interrupted %v, saturated %v; page text:\n%s", r.Interrupted, r.Saturated, text)
	}
}

// Every text taken from the result is escaped: markup in it is shown, not
// run.
func TestLoadHTMLEscapes(t *testing.T) {
	const evil = `"><script>alert(1)</script><b x='`
	r := aiResult(t)
	r.Target.URL = "http://x/?q=" + evil
	r.Target.Pattern = "sse" + evil
	r.Hosts = []string{"host" + evil}
	r.Reason = "stop" + evil
	r.Interrupted = true
	r.Params.Defaults["knob"+evil] = "v" + evil
	r.Errors["class"+evil] = bench.ErrorResult{Count: 1, Example: "example" + evil}
	r.Metrics["metric"+evil] = r.Metrics["ttft"]
	r.Counters["counter"+evil] = 5
	outcomes := []bench.Outcome{{Threshold: "t" + evil, Value: "v" + evil}}
	page := loadHTML(t, r, outcomes)
	if strings.Contains(page, "<script") || strings.Contains(page, "<b x=") {
		t.Fatal("markup from the result reached the page unescaped")
	}
	_, text := parseHTML(t, page)
	for _, want := range []string{"http://x/?q=" + evil, "example" + evil, "class" + evil, "metric" + evil, "knob" + evil, "t" + evil, "counter" + evil, "host" + evil} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
}

func TestLoadHTMLErrors(t *testing.T) {
	if err := LoadHTML(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("nil result: no error")
	}
	if err := LoadHTML(failWriter{}, sseResult(t), nil); err == nil {
		t.Error("failing writer: no error")
	}
}

func BenchmarkLoadHTML(b *testing.B) {
	t := &testing.T{}
	r := aiResult(t)
	outcomes := aiOutcomes(t, r)
	b.ReportAllocs()
	for b.Loop() {
		if err := LoadHTML(io.Discard, r, outcomes); err != nil {
			b.Fatal(err)
		}
	}
}
