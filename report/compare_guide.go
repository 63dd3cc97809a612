package report

import (
	"fmt"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// GuideLine is one row of compare's decision guide: a need, the pattern
// that measured best on the figure that matters for it, and the figures.
type GuideLine struct {
	Need, Pick, Text string
}

// CompareGuide turns a comparison into the decision guide, computed from
// the run's numbers only: for each need, the pattern that measured best on
// its figure (lower is better), by how much against the runner-up, and
// SSE's own figure when SSE is neither. A need whose patterns did not run
// is left out.
//
//	live notifications  delivery p99, every pattern
//	job status          the job workload's staleness (completion seen − the
//	                    job's own completion), mean, among the methods that
//	                    saw every job done, with its requests and bytes per
//	                    job; without it, bytes on the wire per update, every
//	                    pattern (and the cheapest request/response pattern)
//	chat                the chat table's send → receive p99 (members sending
//	                    and receiving), among the protocols that lost
//	                    nothing; without it, delivery p99 of ws and sse
//	AI responses        the AI stream's own figures (only SSE streaming runs)
func CompareGuide(r *bench.CompareResult) []GuideLine {
	var out []GuideLine
	pats := map[string]*bench.PatternResult{}
	var measured, polls []*bench.PatternResult
	for _, p := range r.Patterns {
		if _, ok := p.Delivery(); ok {
			pats[p.Name] = p
			measured = append(measured, p)
			if p.Result != nil && (p.Result.Target.Pattern == "poll" || p.Result.Target.Pattern == "long-poll") {
				polls = append(polls, p)
			}
		}
	}
	p99 := func(p *bench.PatternResult) float64 { m, _ := p.Delivery(); return m.P99Ms }
	bytesPer := func(p *bench.PatternResult) float64 { return p.BytesPerUpdate }
	durShow := func(v float64) string { return sig3(dur(v)) }
	sse := pats["sse"]
	if len(measured) >= 2 {
		out = append(out, needLine("live notifications", "delivery p99", measured, p99, durShow, sse))
	}
	if l, ok := jobGuide(r.Jobs); ok {
		out = append(out, l)
	} else if len(measured) >= 2 {
		l := needLine("job status", "bytes per update", measured, bytesPer, bytesText, sse)
		if len(polls) > 0 {
			if bp, _ := best2(polls, bytesPer); bp != nil && bp.Name != l.Pick {
				l.Text += fmt.Sprintf("; of the request/response patterns, %s (%s, %.2f requests per update)", bp.Name, bytesText(bp.BytesPerUpdate), bp.RequestsPerUpdate)
			}
		}
		out = append(out, l)
	}
	if l, ok := chatGuide(r.Chat); ok {
		out = append(out, l)
	} else if w := pats["ws"]; w != nil && sse != nil {
		l := needLine("chat", "delivery p99", []*bench.PatternResult{w, sse}, p99, durShow, sse)
		l.Text += fmt.Sprintf("; connections ws %d, sse %d (sending from the client is not measured here)", w.ConnectionsPeak, sse.ConnectionsPeak)
		out = append(out, l)
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
		out = append(out, GuideLine{"AI responses", "sse", strings.Join(parts, ", ") + " (only SSE streaming was measured for this need)"})
	}
	return out
}

// needLine names the pattern of ps with the lowest f, its figure, how much
// lower than the runner-up's it is, and sse's figure when sse is neither.
func needLine(need, figure string, ps []*bench.PatternResult, f func(*bench.PatternResult) float64, show func(float64) string, sse *bench.PatternResult) GuideLine {
	a, b := best2(ps, f)
	text := figure + " " + show(f(a))
	if b != a {
		if rr := ratio(f(b), f(a)); rr == "about the same" {
			text += fmt.Sprintf(", about the same as %s (%s)", b.Name, show(f(b)))
		} else {
			text += fmt.Sprintf(", %s lower than %s (%s)", rr, b.Name, show(f(b)))
		}
	}
	if sse != nil && sse != a && sse != b {
		text += fmt.Sprintf("; sse %s", show(f(sse)))
	}
	return GuideLine{Need: need, Pick: a.Name, Text: text}
}

// best2 returns the two of ps with the lowest f (ties: the first); with
// one, it is both.
func best2[T comparable](ps []T, f func(T) float64) (a, b T) {
	var none T
	for _, p := range ps {
		switch {
		case a == none || f(p) < f(a):
			a, b = p, a
		case b == none || f(p) < f(b):
			b = p
		}
	}
	if b == none {
		b = a
	}
	return a, b
}

// guidePool returns the candidates for a need: measured are the xs that
// measured its figure, pool those of them that also kept everything
// (lossless: at least one did), or all measured when none did. ok is false
// when fewer than two measured: no comparison.
func guidePool[T any](xs []T, isMeasured, kept func(T) bool) (pool, measured []T, lossless, ok bool) {
	var whole []T
	for _, x := range xs {
		if isMeasured(x) {
			measured = append(measured, x)
			if kept(x) {
				whole = append(whole, x)
			}
		}
	}
	if len(measured) < 2 {
		return nil, measured, false, false
	}
	if len(whole) == 0 {
		return measured, measured, false, true
	}
	return whole, measured, true, true
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
