package report

import (
	"fmt"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// GuideLine is one row of compare's decision guide: a need from the usual
// tutorial table, the pattern the tutorial picks, and what this run
// measured for it.
type GuideLine struct {
	Need, Pick, Text string
}

// CompareGuide turns a comparison into the decision guide: for each need,
// which pattern won on this run on the figure that matters for it, and by
// how much. A need whose patterns did not run is left out.
func CompareGuide(r *bench.CompareResult) []GuideLine {
	var out []GuideLine
	pats := map[string]*bench.PatternResult{}
	var measured []*bench.PatternResult
	for _, p := range r.Patterns {
		if _, ok := p.Delivery(); ok {
			pats[p.Name] = p
			measured = append(measured, p)
		}
	}
	p99 := func(p *bench.PatternResult) float64 { m, _ := p.Delivery(); return m.P99Ms }
	p50 := func(p *bench.PatternResult) float64 { m, _ := p.Delivery(); return m.P50Ms }
	if len(measured) >= 2 {
		a, b := best2(measured, p99)
		out = append(out, GuideLine{"live notifications", "SSE", fmt.Sprintf(
			"lowest delivery p99 is %s (%s), then %s (%s, %s); %s moves %s per update, %s %s",
			a.Name, sig3(dur(p99(a))), b.Name, sig3(dur(p99(b))), ratio(p99(b), p99(a)),
			a.Name, bytesText(a.BytesPerUpdate), b.Name, bytesText(b.BytesPerUpdate))})
	}
	var polls []*bench.PatternResult
	for _, p := range measured {
		if p.Result != nil && (p.Result.Target.Pattern == "poll" || p.Result.Target.Pattern == "long-poll") {
			polls = append(polls, p)
		}
	}
	if len(polls) > 0 {
		bp, _ := best2(append(polls, polls[0]), p50)
		text := fmt.Sprintf("the fastest request/response pattern is %s (p50 %s, %s and %.2f requests per update)",
			bp.Name, sig3(dur(p50(bp))), bytesText(bp.BytesPerUpdate), bp.RequestsPerUpdate)
		if cheap, _ := best2(append(polls, polls[0]), func(p *bench.PatternResult) float64 { return p.BytesPerUpdate }); cheap != bp {
			text += fmt.Sprintf("; the fewest bytes per update: %s (%s)", cheap.Name, bytesText(cheap.BytesPerUpdate))
		}
		if s := pats["sse"]; s != nil && s.BytesPerUpdate > 0 {
			text += fmt.Sprintf("; against SSE it costs %s the bytes per update", ratio(bp.BytesPerUpdate, s.BytesPerUpdate))
		}
		out = append(out, GuideLine{"job status", "polling", text})
	}
	if w, s := pats["ws"], pats["sse"]; w != nil && s != nil {
		win, lose := w, s
		if p99(s) < p99(w) {
			win, lose = s, w
		}
		out = append(out, GuideLine{"chat", "WebSockets", fmt.Sprintf(
			"delivery p99 %s %s vs %s %s (%s); bytes per update ws %s vs sse %s; connections ws %d, sse %d (sending from the client is not measured here)",
			win.Name, sig3(dur(p99(win))), lose.Name, sig3(dur(p99(lose))), ratio(p99(lose), p99(win)),
			bytesText(w.BytesPerUpdate), bytesText(s.BytesPerUpdate), w.ConnectionsPeak, s.ConnectionsPeak)})
	}
	if a := r.AI; a != nil && a.Result != nil {
		var parts []string
		if m, ok := a.Result.Metrics[bench.TTFT.String()]; ok {
			parts = append(parts, "first token after "+sig3(dur(m.P50Ms))+" (p50)")
		}
		if m, ok := a.Result.Metrics[bench.ITLChunk.String()]; ok {
			parts = append(parts, "then a chunk every "+sig3(dur(m.P50Ms)))
		}
		parts = append(parts, fmt.Sprintf("%s tokens/s per stream, %d of %d streams completed",
			trimZero(fmt.Sprintf("%.1f", a.StreamTokensPerS)), a.Completed, a.Streams))
		out = append(out, GuideLine{"AI responses", "SSE streaming", strings.Join(parts, ", ") + " (only SSE streaming was measured for this need)"})
	}
	return out
}

// best2 returns the two patterns with the lowest f (ties: the first).
func best2(ps []*bench.PatternResult, f func(*bench.PatternResult) float64) (a, b *bench.PatternResult) {
	for _, p := range ps {
		switch {
		case a == nil || f(p) < f(a):
			a, b = p, a
		case b == nil || f(p) < f(b):
			b = p
		}
	}
	if b == nil {
		b = a
	}
	return a, b
}

// ratio says how much larger x is than y: "1.8×", or "about the same"
// within 5 %.
func ratio(x, y float64) string {
	if y <= 0 {
		return "–"
	}
	r := x / y
	if r < 1.05 && r > 0.95 {
		return "about the same"
	}
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}
