package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
)

// ListenSummary writes listen's closing summary: one line of what arrived,
// one of errors when there were any. end is when the session stopped.
func ListenSummary(w io.Writer, t *bench.Tally, p transport.Pattern, end time.Time) {
	var parts []string
	elapsed := end.Sub(t.Start)
	if p == transport.AIStream && t.Last.Format != "" {
		parts = aiSummary(t)
	} else {
		unit := "event"
		if p == transport.WS {
			unit = "message"
		} else if p == transport.Poll {
			unit = "change"
		}
		s := fmt.Sprintf("%s in %s", plural(t.Events, unit), ms(elapsed))
		if t.Events > 0 && elapsed > 0 {
			s += fmt.Sprintf(" (%.1f/s)", float64(t.Events)/elapsed.Seconds())
		}
		parts = append(parts, s)
		if t.Events > 0 {
			parts = append(parts, "first after "+ms(t.FirstEvent.Sub(t.Start)))
		}
		if p == transport.Poll {
			parts = append(parts, plural(t.Exchanges, "request"))
		}
		if p == transport.SSE || p == transport.WS {
			parts = append(parts, plural(t.Reconnects(), "reconnect"))
		}
		if t.SeqGaps > 0 {
			parts = append(parts, plural(t.SeqGaps, "seq gap"))
		}
		if t.Pongs > 0 {
			parts = append(parts, plural(t.Pongs, "pong"))
		}
	}
	if t.Proto == "HTTP/2.0" { // HTTP/1.1 is the rule: named only when it is not
		parts = append(parts, "over HTTP/2")
	}
	if t.LastClose != nil {
		parts = append(parts, "last: "+CloseText(t.LastClose))
	}
	fmt.Fprintln(w, Visible(strings.Join(parts, " · ")))
	if len(t.Errors) > 0 {
		classes := make([]string, 0, len(t.Errors))
		for c, n := range t.Errors {
			// A class seen once was printed as it happened (listen prints
			// every error and warning on its own line; with --quiet there is
			// no summary): one error, one line.
			if n == 1 {
				continue
			}
			classes = append(classes, string(c))
		}
		sort.Strings(classes)
		var errs []string
		for _, c := range classes {
			n := t.Errors[transport.Class(c)]
			errs = append(errs, fmt.Sprintf("%s ×%d (%s)", c, n, oneLine(t.FirstErrors[transport.Class(c)])))
		}
		if len(errs) > 0 {
			fmt.Fprintln(w, "errors: "+strings.Join(errs, "; "))
		}
	}
}

func aiSummary(t *bench.Tally) []string {
	x := &t.Last
	m := bench.ComputeAI(x, x.Start)
	source := "counted from deltas: the stream carried no usage"
	if x.TokensFromUsage {
		source = "from usage"
		if x.TokensSource != "" {
			source = "from " + x.TokensSource
		}
	}
	parts := []string{fmt.Sprintf("%d tokens (%s) in %d chunks", x.Tokens, source, x.Chunks)}
	if x.ReasoningChunks > 0 {
		parts = append(parts, fmt.Sprintf("ttfr %s, reasoning %s in %s", ms(m.TTFR), ms(m.Reasoning), plural(x.ReasoningChunks, "chunk")))
	}
	if x.ToolChunks > 0 {
		parts = append(parts, plural(x.ToolChunks, "tool-argument chunk"))
	}
	parts = append(parts, "ttft "+ms(m.TTFT))
	if m.ServerPrefill > 0 || m.ServerTPOT > 0 {
		parts = append(parts, fmt.Sprintf("server's own: prefill %s, tpot %s (%s)", ms(m.ServerPrefill), ms(m.ServerTPOT), plural(x.Server.EvalCount, "token")))
	}
	if !x.CutOff {
		parts = append(parts, "e2e "+ms(m.E2E))
	}
	switch {
	case m.TPOT > 0:
		parts = append(parts, "tpot "+ms(m.TPOT), fmt.Sprintf("%.1f tokens/s decode", m.DecodeTPS))
	case m.TPOTChunk > 0:
		why := "per chunk: no usage"
		if x.TokensFromUsage {
			why = "per chunk: the usage does not say which tokens were reasoning"
		}
		parts = append(parts, "tpot_chunk "+ms(m.TPOTChunk)+" ("+why+")", fmt.Sprintf("%.1f chunks/s decode", m.DecodeTPS))
	}
	if x.Complete {
		parts = append(parts, x.Format+" stream complete")
	} else {
		parts = append(parts, x.Format+" stream INCOMPLETE (no terminator)")
	}
	if x.BadChunks > 0 {
		parts = append(parts, plural(x.BadChunks, "bad chunk"))
	}
	return parts
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
