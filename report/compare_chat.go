package report

import (
	"fmt"
	"math"

	"github.com/rtbench/rtbench/bench"
)

// chatTitle heads compare's chat table.
const chatTitle = "chat: send → receive, every member receives every message"

// chatCols are the chat table's columns after the protocol: send → receive
// latency over all members, loss, bytes and requests per delivered message
// in both directions (up: what members wrote; down: what they read),
// connections held and CPU per delivered message.
var chatCols = []string{"p50", "p99", "max", "lost", "dup", "B up", "B down", "req up", "req down", "conns", "cpu µs"}

// chatHeader is the chat workload, from its first run (every run has the
// same).
func chatHeader(r *bench.CompareResult) []string {
	c := r.Chat[0]
	return []string{fmt.Sprintf("%d members of one room, each sending %s message(s)/s of %s for %s; per delivered message (one message received by one member)",
		c.Members, trimZero(fmt.Sprintf("%.2f", c.RatePerS)), bytesText(float64(r.SizeBytes)), secs(r.DurationS))}
}

// chatCells returns a chat run's table cells, in chatCols order.
func chatCells(c *bench.ChatResult) []string {
	cells := make([]string, 0, len(chatCols))
	if m, ok := c.Delivery(); ok {
		cells = append(cells, sig3(dur(m.P50Ms)), sig3(dur(m.P99Ms)), sig3(dur(m.MaxMs)))
	} else {
		cells = append(cells, "–", "–", "–")
	}
	per := func(v float64, digits int) string {
		if c.Delivered == 0 {
			return "–"
		}
		if digits == 0 {
			v = math.Round(v)
		}
		return trimZero(fmt.Sprintf("%.*f", digits, v))
	}
	cpu := "–"
	if c.CPUMeasured && c.Delivered > 0 {
		cpu = per(c.CPUUsPerMsg, 1)
	}
	return append(cells, count(c.Lost), count(c.Duplicates), per(c.BytesUpPerMsg, 0), per(c.BytesDownPerMsg, 0),
		per(c.RequestsUpPerMsg, 2), per(c.RequestsDownPerMsg, 2), count(c.ConnectionsPeak), cpu)
}

// chatTable renders the chat table, dropping columns (dup, conns, req down,
// req up, max, lost, in that order) until it fits.
func chatTable(r *bench.CompareResult, width int, st loadStyles) string {
	rows := [][]string{append([]string{"protocol"}, chatCols...)}
	for _, c := range r.Chat {
		rows = append(rows, append([]string{c.Name}, chatCells(c)...))
	}
	return fitTable(rows, []string{"dup", "conns", "req down", "req up", "max", "lost"}, width, st)
}

// chatNotes say how each protocol's members sent, and what failed.
func chatNotes(r *bench.CompareResult) []string {
	var out []string
	for _, c := range r.Chat {
		l := c.Name + " sends: " + c.Sends
		if c.SendErrors > 0 {
			l += fmt.Sprintf("; %s sends failed: %s", count(c.SendErrors), c.SendError)
		}
		if c.CutOff > 0 {
			l += fmt.Sprintf("; %s (member, message) pairs still on their way were cut off by the interruption, not counted as lost", count(c.CutOff))
		}
		if c.Connected < c.Members {
			l += fmt.Sprintf("; only %d of %d members connected", c.Connected, c.Members)
		}
		out = append(out, l)
	}
	return out
}

// chatGuide is the decision guide's chat line from the chat table: the
// protocol with the lowest send → receive p99 among those that lost
// nothing (all of them when each lost some), against the runner-up, with
// SSE + POST's figure when it is neither, and what the pick costs.
func chatGuide(runs []*bench.ChatResult) (GuideLine, bool) {
	pool, measured, lossless, ok := guidePool(runs, func(c *bench.ChatResult) bool { _, ok := c.Delivery(); return ok },
		func(c *bench.ChatResult) bool { return c.Lost == 0 })
	if !ok {
		return GuideLine{}, false
	}
	p99 := func(c *bench.ChatResult) float64 { m, _ := c.Delivery(); return m.P99Ms }
	a, b := best2(pool, p99)
	show := func(c *bench.ChatResult) string { return sig3(dur(p99(c))) }
	text := "send → receive p99 " + show(a)
	if b != a {
		if rr := ratio(p99(b), p99(a)); rr == "about the same" {
			text += fmt.Sprintf(", about the same as %s (%s)", b.Name, show(b))
		} else {
			text += fmt.Sprintf(", %s lower than %s (%s)", rr, b.Name, show(b))
		}
	}
	for _, c := range measured {
		if c.Name == "sse + POST" && c != a && c != b {
			text += fmt.Sprintf("; sse + POST %s", show(c))
		}
	}
	text += fmt.Sprintf("; %s B up and %s B down, %s connections, per delivered message; sends %s",
		trimZero(fmt.Sprintf("%.0f", a.BytesUpPerMsg)), trimZero(fmt.Sprintf("%.0f", a.BytesDownPerMsg)), count(a.ConnectionsPeak), a.Sends)
	if lossless {
		for _, c := range measured {
			if c.Lost > 0 {
				text += fmt.Sprintf("; not picked: %s, which lost %s messages", c.Name, count(c.Lost))
			}
		}
	}
	return GuideLine{Need: "chat", Pick: a.Name, Text: text}, true
}
