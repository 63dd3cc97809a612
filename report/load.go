package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
)

// TextOptions shape the text report of `rtbench load`.
type TextOptions struct {
	Color bool // colour and bold (16-colour ANSI); false gives plain text with no escapes
	Width int  // the terminal's width; DefaultWidth when 0, at least MinWidth
}

// LoadText writes the final report of a load run, in this order: a header
// with the target and every parameter and default that shaped the load
// (Params.Defaults included) and the headline numbers; loud warnings when
// the result is partial or rtbench was saturated; a latency table per metric
// group (columns left out, least useful first, until it fits); a histogram
// of the headline latency; sessions, throughput, errors and the headline
// p99 over time as sparklines; the counters that are not zero, with rates;
// the error classes with one example each; the thresholds' outcomes. Every
// line fits o.Width; with o.Color false the output has no escape at all.
func LoadText(w io.Writer, r *bench.Result, outcomes []bench.Outcome, o TextOptions) error {
	if r == nil {
		return fmt.Errorf("load report: no result")
	}
	width := fitWidth(o.Width)
	st := newLoadStyles(w, o.Color)
	var b bytes.Buffer
	writeHeader(&b, r, width, st)
	writeWarnings(&b, r, width, st, o.Color)
	if len(r.Metrics) > 0 || len(r.Steps) > 0 {
		b.WriteByte('\n')
		writeMetricTables(&b, r, width, st, o.Color)
	}
	writeSteps(&b, r, width, st)
	if name, ok := drawnMetric(r); ok {
		if h, err := r.Metrics[name].Histogram(); err == nil {
			m := r.Metrics[name]
			b.WriteByte('\n')
			title := fmt.Sprintf("%s histogram: %s values, log-spaced buckets", name, count(m.Count))
			if n := dropped(r); n > 0 {
				title += fmt.Sprintf(" (%s dropped starts not in it)", count(n))
			}
			fmt.Fprintln(&b, st.title.Render(cut(title, width)))
			writeHistogram(&b, h, width, st)
		}
	}
	if len(r.Intervals) > 0 {
		b.WriteByte('\n')
		name, _ := resultHeadline(r)
		writeTimeline(&b, r, name, width, st)
	}
	writeCounters(&b, r, width, st, true)
	writeOutages(&b, r, width, st)
	writeErrors(&b, r, width, st)
	writeThresholds(&b, outcomes, width, st)
	_, err := w.Write(b.Bytes())
	return err
}

// headlineMetrics can headline a result, best first (bench.Headline's
// order): flow for scenarios, ttft for AI streams, request for polling, delivery for pushes,
// echo_rtt for WebSocket echo runs.
var headlineMetrics = [...]bench.Metric{bench.Flow, bench.TTFT, bench.Request, bench.Delivery, bench.EchoRTT}

// resultHeadline is the metric that summarises r: the first of flow, ttft,
// request, delivery and echo_rtt that has values.
func resultHeadline(r *bench.Result) (string, bool) {
	for _, m := range headlineMetrics {
		if v, ok := r.Metrics[m.String()]; ok && v.Count > 0 {
			return m.String(), true
		}
	}
	return "", false
}

// drawnMetric is the metric whose histogram the report draws: the headline,
// or else the first metric with values (connect, when every session failed
// before its first event).
func drawnMetric(r *bench.Result) (string, bool) {
	if name, ok := resultHeadline(r); ok {
		return name, true
	}
	for _, name := range metricOrder(r) {
		if r.Metrics[name].Count > 0 {
			return name, true
		}
	}
	return "", false
}

// metricOrder lists r's metric names in bench's order, unknown names
// (from a later version) last, sorted.
func metricOrder(r *bench.Result) []string {
	var out, extra []string
	for m := bench.Metric(0); m < bench.NumMetrics; m++ {
		if _, ok := r.Metrics[m.String()]; ok {
			out = append(out, m.String())
		}
	}
	for name := range r.Metrics {
		if _, ok := bench.ParseMetric(name); !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func writeHeader(b *bytes.Buffer, r *bench.Result, width int, st loadStyles) {
	title := "rtbench load · " + r.Target.Pattern + " · " + r.Target.URL
	fmt.Fprintln(b, st.title.Render(cut(oneLine(title), width)))
	line := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		const keyW = 10
		indent := strings.Repeat(" ", 2+keyW)
		for i, l := range pack(items, " · ", width-2-keyW, width-2-keyW) {
			if i == 0 {
				fmt.Fprintf(b, "  %s%s\n", st.key.Render(padRight(key, keyW)), l)
			} else {
				fmt.Fprintf(b, "%s%s\n", indent, l)
			}
		}
	}
	line("load", loadShape(r.Params))
	line("run", runItems(r))
	var defs []string
	for _, k := range slices.Sorted(maps.Keys(r.Params.Defaults)) {
		defs = append(defs, oneLine(k+"="+r.Params.Defaults[k]))
	}
	line("defaults", defs)
	line("result", resultItems(r))
}

// loadShape describes the load: the model, how it ramped, its stages and
// duration.
func loadShape(p bench.Params) []string {
	var items []string
	if p.RatePerS > 0 {
		items = append(items, fmt.Sprintf("open model %s starts/s", si(p.RatePerS)))
		if p.MaxInFlight > 0 {
			items = append(items, fmt.Sprintf("at most %s in flight", count(int64(p.MaxInFlight))))
		}
	} else {
		items = append(items, fmt.Sprintf("%s sessions held", count(int64(p.Connections))))
		switch p.Model {
		case bench.ModelClosedLoop:
			items = append(items, "closed loop: each session's next request as soon as the last is answered")
		case bench.ModelScheduled:
			items = append(items, "scheduled: each session on its own interval, latency from the intended time")
		}
		switch {
		case p.Ramp.SessionsPerS > 0:
			items = append(items, fmt.Sprintf("ramp %s sessions/s", si(p.Ramp.SessionsPerS)))
		case p.Ramp.TimeS > 0:
			items = append(items, "ramp over "+secs(p.Ramp.TimeS))
		case len(p.Stages) == 0:
			items = append(items, "all at once")
		}
	}
	if len(p.Stages) > 0 {
		st := make([]string, len(p.Stages))
		for i, s := range p.Stages {
			st[i] = secs(s.DurationS) + "→" + si(s.Target)
		}
		items = append(items, "stages "+strings.Join(st, " "))
	}
	d := secs(p.DurationS)
	if p.WarmupS > 0 {
		d += fmt.Sprintf(" (%s warmup, %s measured)", secs(p.WarmupS), secs(p.DurationS-p.WarmupS))
	}
	return append(items, d)
}

// runItems say when and where the run happened.
func runItems(r *bench.Result) []string {
	const day = "2006-01-02"
	when := r.StartedAt.UTC().Format(day + " 15:04:05")
	end := r.EndedAt.UTC()
	if end.Format(day) == r.StartedAt.UTC().Format(day) {
		when += " → " + end.Format("15:04:05") + " UTC"
	} else {
		when += " → " + end.Format(day+" 15:04:05") + " UTC"
	}
	items := []string{when, "measured " + secs(r.DurationS)}
	switch len(r.Hosts) {
	case 0:
	case 1:
		items = append(items, "host "+r.Hosts[0])
	default:
		items = append(items, fmt.Sprintf("%d hosts %s", len(r.Hosts), strings.Join(r.Hosts, ", ")))
	}
	items = append(items, agentItems(r.Run)...)
	if r.Tool.Version != "" {
		items = append(items, "rtbench "+r.Tool.Version)
	}
	if r.SelfCheck != nil {
		items = append(items, "self-check p99.9 "+sig3(dur(r.SelfCheck.P999Ms)))
	}
	if p := r.Process; p != nil && p.MaxRSSBytes > 0 {
		items = append(items, "peak RSS "+bytesText(float64(p.MaxRSSBytes)))
	}
	if p := r.Process; p != nil && p.GoroutinesEnd > p.GoroutinesStart {
		items = append(items, fmt.Sprintf("goroutines %d before, %d after", p.GoroutinesStart, p.GoroutinesEnd))
	}
	return items
}

// resultItems are the headline numbers: the headline latency, the event,
// request and token rates, and the error count.
func resultItems(r *bench.Result) []string {
	var items []string
	if name, ok := resultHeadline(r); ok {
		m := r.Metrics[name]
		h := fmt.Sprintf("%s p50 %s p99 %s", name, sig3(dur(m.P50Ms)), sig3(dur(m.P99Ms)))
		if n := dropped(r); n > 0 {
			h += fmt.Sprintf(" (excl. %s dropped)", count(n))
		}
		items = append(items, h)
	}
	for _, c := range []bench.Counter{bench.Events, bench.Requests, bench.Tokens} {
		if n := r.Counters[c.String()]; n > 0 {
			items = append(items, fmt.Sprintf("%s %s (%s)", count(n), c, perSecond(float64(n), r.DurationS)))
		}
	}
	if t := httpClientText(r); t != "" {
		items = append(items, t)
	}
	if c := r.Clock; c != nil {
		items = append(items, fmt.Sprintf("delivery from the payload's %s (%s, %s resolution)", oneLine(c.Field), c.Unit, sig3(dur(c.ResolutionMs))))
	}
	if h := r.HTTP2; h != nil {
		items = append(items, HTTP2Text(h))
	}
	errs, _ := r.ErrorTotals()
	switch errs {
	case 0:
		items = append(items, "no errors")
	case 1:
		items = append(items, "1 error")
	default:
		items = append(items, count(errs)+" errors")
	}
	return items
}

// httpClientText says which HTTP client carried a run's requests: rtbench's
// lean HTTP/1.1 client (plain http:// polling, without a proxy), net/http
// (HTTPS, HTTP/2, proxies, AI streams), or both, as when a target redirects
// (net/http follows a redirect for the rest of the session). "" for a run
// without requests, or a result written before lean_requests was counted.
func httpClientText(r *bench.Result) string {
	n := r.Counters[bench.Requests.String()]
	lean, ok := r.Counters[bench.LeanRequests.String()]
	switch {
	case !ok || n <= 0:
		return ""
	case lean >= n:
		return "requests over rtbench's lean HTTP/1.1 client"
	case lean <= 0:
		return "requests over net/http"
	}
	return fmt.Sprintf("%s requests over rtbench's lean HTTP/1.1 client, %s over net/http", count(lean), count(n-lean))
}

// HTTP2Text says how an HTTP/2 run multiplexed its sessions: the streams,
// the connections that carried them, and the connections asked for when
// more were opened.
func HTTP2Text(h *bench.HTTP2Result) string {
	s := fmt.Sprintf("HTTP/2: %s over %s (%s streams per connection)", plural64(h.Streams, "stream"),
		plural64(h.ConnectionsOpened, "connection"), trimFloat(h.StreamsPerConnection))
	if h.ConnectionsOpened != int64(h.ConnectionsAsked) {
		s += fmt.Sprintf(", %d asked", h.ConnectionsAsked)
	}
	return s
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func perSecond(n, s float64) string {
	if s <= 0 {
		return "–/s"
	}
	return si(n/s) + "/s"
}

// writeWarnings writes the loud lines: a partial result, a saturated
// generator.
func writeWarnings(b *bytes.Buffer, r *bench.Result, width int, st loadStyles, color bool) {
	loud := func(text string) {
		prefix := "!! "
		if color {
			prefix = "▲ "
		}
		for _, l := range wrap(text, width-len([]rune(prefix))) {
			fmt.Fprintln(b, st.loud.Render(prefix+l))
		}
	}
	coarse := r.Clock != nil && r.Clock.Coarse
	silent := silentText(r)
	if r.Interrupted || r.Saturated || coarse || silent != "" {
		b.WriteByte('\n')
	}
	if silent != "" {
		loud(silent)
	}
	if r.Interrupted {
		loud(partialText(r))
	}
	if r.Saturated {
		loud(saturatedText(r))
	}
	if coarse {
		loud(coarseClockText(r))
	}
}

// silentText is the warning of a held WebSocket run whose connections
// opened but received no message at all ("" otherwise): the run measured
// nothing, which a quiet report would hide behind "no errors".
func silentText(r *bench.Result) string {
	if !r.Silent() {
		return ""
	}
	c := r.Counters
	what := fmt.Sprintf("NO MESSAGES: %s opened and received nothing in %s: nothing was measured.",
		plural64(c[bench.Connects.String()], "WebSocket connection"), secs(r.DurationS))
	if n := r.Params.Defaults["send"]; n != "" {
		return what + " The server ignored the " + n + " sent on each connection (--send): check what it waits for (type, channel, auth)."
	}
	return what + " Most WebSocket APIs push only after a subscribe or auth message: send it with --send, e.g. --send '{\"type\":\"subscribe\"}'."
}

// coarseClockText warns that the payload clock ticks more coarsely than
// the delivery latencies it measured.
func coarseClockText(r *bench.Result) string {
	c := r.Clock
	p50 := ""
	if m, ok := r.Metrics[bench.Delivery.String()]; ok {
		p50 = fmt.Sprintf(" (p50 %s)", sig3(dur(m.P50Ms)))
	}
	return fmt.Sprintf("COARSE CLOCK: the payload's %s counts in steps of %s, coarser than the delivery latencies it measured%s: "+
		"each delivery figure is off by up to one step. A finer clock (sched_ns, or a ns/µs field named with --stamp) measures them.",
		oneLine(c.Field), sig3(dur(c.ResolutionMs)), p50)
}

// partialText says that r is partial, and why.
func partialText(r *bench.Result) string {
	why := "the run was interrupted"
	if r.Reason != "" {
		why += " (" + oneLine(r.Reason) + ")"
	}
	planned := r.Params.DurationS - r.Params.WarmupS
	return fmt.Sprintf("PARTIAL RESULT: %s after %s measured of the %s planned; every number covers only that.",
		why, secs(r.DurationS), secs(planned))
}

// saturatedText says that rtbench was saturated, by how much, and what to
// do about it.
func saturatedText(r *bench.Result) string {
	what := "rtbench itself was saturated"
	if r.SelfCheck != nil {
		what += fmt.Sprintf(" (self-check p99.9 %s > %s, longest stall %s)", sig3(dur(r.SelfCheck.P999Ms)), bench.SaturationLate, sig3(dur(r.SelfCheck.MaxMs)))
	}
	return fmt.Sprintf("SATURATED: %s: it was short of CPU or paused, so the latencies below include its own delay and are suspect; thresholds fail unless --allow-saturated. "+
		"Use fewer connections, give it more cores, or run it on several machines and merge their results with `rtbench report`.", what)
}

// metricGroup maps each metric to the table it is shown in.
var metricGroup = map[string]string{
	"handshake": "connection", "connect": "connection", "dns": "connection", "tcp": "connection", "tls": "connection",
	"ttfb": "connection", "first_event": "connection", "reconnect": "reconnects",
	"delivery": "events", "wire": "events", "gap": "events",
	"echo_rtt": "websocket", "ping_rtt": "websocket",
	"request": "requests", "staleness": "requests", "start_lag": "requests",
	"ttft": "ai stream", "itl_chunk": "ai stream", "tpot": "ai stream", "tpot_chunk": "ai stream", "e2e": "ai stream",
	"ttfr": "ai stream", "reasoning": "ai stream", "server_prefill": "ai stream", "server_tpot": "ai stream",
	"flow": "steps",
}

type group struct {
	name    string
	metrics []string
	labels  []string // the rows' names when they are not the metrics' (steps)
}

func (g group) label(i int) string {
	if i < len(g.labels) {
		return g.labels[i]
	}
	return g.metrics[i]
}

// metricGroups are r's metrics in their groups, in bench's order; a metric
// this version does not know is in "other".
func metricGroups(r *bench.Result) []group {
	var gs []group
	for _, name := range metricOrder(r) {
		g, ok := metricGroup[name]
		if !ok {
			g = "other"
		}
		if len(gs) == 0 || gs[len(gs)-1].name != g {
			gs = append(gs, group{name: g})
		}
		gs[len(gs)-1].metrics = append(gs[len(gs)-1].metrics, name)
	}
	if g, ok := stepGroup(r); ok {
		if n := len(gs); n > 0 && gs[n-1].name == g.name {
			// flow: the whole pass, then its steps
			gs[n-1].labels = append(slices.Clone(gs[n-1].metrics), g.labels...)
			gs[n-1].metrics = append(gs[n-1].metrics, g.metrics...)
		} else {
			gs = append(gs, g)
		}
	}
	return gs
}

// metricCol is one column of the latency tables.
type metricCol struct {
	name string
	get  func(m bench.MetricResult, durS float64) string
}

var metricCols = []metricCol{
	{"count", func(m bench.MetricResult, _ float64) string { return count(m.Count) }},
	{"rate", func(m bench.MetricResult, s float64) string { return perSecond(float64(m.Count), s) }},
	{"min", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.MinMs)) }},
	{"p50", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.P50Ms)) }},
	{"p90", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.P90Ms)) }},
	{"p99", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.P99Ms)) }},
	{"p99.9", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.P999Ms)) }},
	{"max", func(m bench.MetricResult, _ float64) string { return sig3(dur(m.MaxMs)) }},
}

// dropOrder is the order columns are left out in when the tables do not
// fit: p50 and p99 stay.
var dropOrder = []string{"rate", "min", "p99.9", "p90", "count", "max"}

// writeMetricTables writes one table per metric group, all with the same
// column widths, leaving columns out (dropOrder) until they fit width; then
// the footnotes on values out of range.
func writeMetricTables(b *bytes.Buffer, r *bench.Result, width int, st loadStyles, color bool) {
	groups := metricGroups(r)
	cols := slices.Clone(metricCols)
	var out string
	for _, drop := range slices.Concat(dropOrder, []string{""}) {
		out = renderMetricTables(r, groups, cols, st, color)
		if maxLineWidth(out) <= width || drop == "" {
			break
		}
		cols = slices.DeleteFunc(cols, func(c metricCol) bool { return c.name == drop })
	}
	b.WriteString(out)
	if n := dropped(r); n > 0 {
		for _, l := range wrap(droppedNote(r, n), width-2) {
			fmt.Fprintln(b, "  "+st.bad.Render(l))
		}
	}
	for _, name := range metricOrder(r) {
		m := r.Metrics[name]
		var notes []string
		if m.Overflow > 0 {
			notes = append(notes, fmt.Sprintf("%s above 1h counted at 1h", plural64(m.Overflow, "value")))
		}
		if m.Negative > 0 {
			notes = append(notes, fmt.Sprintf("%s negative (clock skew) clamped to 0", count(m.Negative)))
		}
		if len(notes) > 0 {
			for _, l := range wrap(name+": "+strings.Join(notes, "; "), width-2) {
				fmt.Fprintln(b, "  "+st.dim.Render(l))
			}
		}
	}
}

func renderMetricTables(r *bench.Result, groups []group, cols []metricCol, st loadStyles, color bool) string {
	mark := ""
	if dropped(r) > 0 {
		mark = " " + droppedMark
	}
	// Cells first, so every table gets the same column widths.
	nameW := 0
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = textWidth(c.name)
	}
	cells := make(map[string][]string)
	for _, g := range groups {
		nameW = max(nameW, textWidth(g.name))
		for j, name := range g.metrics {
			nameW = max(nameW, textWidth(g.label(j)+mark))
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = c.get(resultMetric(r, name), r.DurationS)
				widths[i] = max(widths[i], textWidth(row[i]))
			}
			cells[name] = row
		}
	}
	widths = append([]int{nameW}, widths...)
	var b strings.Builder
	for gi, g := range groups {
		if gi > 0 {
			b.WriteByte('\n')
		}
		head := []string{g.name}
		for _, c := range cols {
			head = append(head, c.name)
		}
		var rows [][]string
		for j, name := range g.metrics {
			rows = append(rows, append([]string{g.label(j) + mark}, cells[name]...))
		}
		b.WriteString(st.table(color, head, rows, widths))
		b.WriteByte('\n')
	}
	return b.String()
}

// droppedMark marks the latencies that exclude the open model's dropped
// starts.
const droppedMark = "*"

// dropped is the open model's dropped starts: requests the plan wanted
// that were never sent, so no latency holds them.
func dropped(r *bench.Result) int64 { return r.Counters[bench.Dropped.String()] }

// droppedNote says what every latency of r excludes, and why it matters.
func droppedNote(r *bench.Result, n int64) string {
	intended := n + r.Counters[bench.SessionsStarted.String()]
	limit := "the requests in flight were at their limit"
	if p := r.Params.MaxInFlight; p > 0 {
		limit = fmt.Sprintf("%s requests were in flight (--max-in-flight)", count(int64(p)))
	}
	return fmt.Sprintf("%s every latency excludes the %s dropped starts (%.2f%% of %s intended): %s, so they were never sent. "+
		"Their latency would have been the longest, so the percentiles are biased low; the drops count as errors.",
		droppedMark, count(n), 100*float64(n)/float64(max(intended, 1)), count(intended), limit)
}

func maxLineWidth(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, textWidth(l))
	}
	return w
}

func plural64(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return count(n) + " " + what + "s"
}

// counterOrder is the order counters are listed in.
var counterOrder = []bench.Counter{
	bench.Events, bench.Bytes, bench.Tokens, bench.Connects, bench.Reconnects, bench.Lost,
	bench.Duplicates, bench.OutOfOrder, bench.Requests, bench.CutOff, bench.LateStarts, bench.Dropped,
	bench.SessionsStarted, bench.SessionsFailed, bench.ConnectingCutOff, bench.ClockSkewNegative, bench.Outages,
	bench.ReconnectsDelayed, bench.TokensFromDeltas,
}

type counterItem struct{ Name, Value, Rate string }

// counterItems are r's non-zero counters with their rates per measured
// second, in counterOrder, then any counter this version does not know.
func counterItems(r *bench.Result) []counterItem {
	var items []counterItem
	add := func(name string, n int64) {
		if n == 0 {
			return
		}
		if name == bench.Bytes.String() {
			rate := "–/s"
			if r.DurationS > 0 {
				rate = bytesText(float64(n)/r.DurationS) + "/s"
			}
			items = append(items, counterItem{name, bytesText(float64(n)), rate})
			return
		}
		items = append(items, counterItem{name, count(n), perSecond(float64(n), r.DurationS)})
	}
	for _, c := range counterOrder {
		add(c.String(), r.Counters[c.String()])
	}
	var extra []string
	for name := range r.Counters {
		if _, ok := bench.ParseCounter(name); !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		add(name, r.Counters[name])
	}
	return items
}

// writeCounters lays the non-zero counters out in a grid of as many
// columns as fit width. It reports whether there were any.
func writeCounters(b *bytes.Buffer, r *bench.Result, width int, st loadStyles, title bool) bool {
	items := counterItems(r)
	if len(items) == 0 {
		return false
	}
	nw, vw, rw := 0, 0, 0
	for _, it := range items {
		nw, vw, rw = max(nw, textWidth(it.Name)), max(vw, textWidth(it.Value)), max(rw, textWidth(it.Rate))
	}
	cellW := nw + 1 + vw + 2 + rw
	showRate := 2+cellW <= width
	if !showRate {
		cellW = nw + 1 + vw
	}
	const gap = 4
	perLine := max((width-2+gap)/(cellW+gap), 1)
	b.WriteByte('\n')
	if title {
		fmt.Fprintln(b, st.title.Render(cut(fmt.Sprintf("counters (per measured second over %s)", secs(r.DurationS)), width)))
	}
	for i := 0; i < len(items); i += perLine {
		var cells []string
		for _, it := range items[i:min(i+perLine, len(items))] {
			cell := st.key.Render(padRight(it.Name, nw)) + " " + padLeft(it.Value, vw)
			if showRate {
				cell += "  " + st.dim.Render(padLeft(it.Rate, rw))
			}
			cells = append(cells, cell)
		}
		line := "  " + strings.Join(cells, strings.Repeat(" ", gap))
		if textWidth(line) > width {
			line = cut(line, width)
		}
		fmt.Fprintln(b, line)
	}
	if n := r.Counters[bench.CutOff.String()]; n > 0 {
		note := fmt.Sprintf("cut_off: %s in flight when the run ended (or its drain) were cut off: they are not in requests, tokens, e2e, tpot or request",
			plural64(n, "request"))
		for _, l := range wrap(note, width-2) {
			fmt.Fprintln(b, "  "+st.dim.Render(l))
		}
	}
	if n := r.Counters[bench.ConnectingCutOff.String()]; n > 0 {
		note := fmt.Sprintf("connecting_cut_off: %s still connecting when the run ended: not errors, and not in connects or the connection metrics",
			plural64(n, "session"))
		for _, l := range wrap(note, width-2) {
			fmt.Fprintln(b, "  "+st.dim.Render(l))
		}
	}
	if n := r.Counters[bench.TokensFromDeltas.String()]; n > 0 {
		note := fmt.Sprintf("tokens: %s carried no usage, so their tokens are the content deltas counted (one per chunk); ask for usage (OpenAI: stream_options.include_usage) for exact counts",
			plural64(n, "request"))
		for _, l := range wrap(note, width-2) {
			fmt.Fprintln(b, "  "+st.dim.Render(l))
		}
	}
	return true
}

// notCounted says why a class is not counted as an error by thresholds.
var notCounted = map[transport.Class]string{
	transport.ClassCanceled:     "sessions stopped by the run's own end",
	transport.ClassNotStreaming: "a warning",
	transport.ClassDowngrade:    "a warning",
	transport.ClassCompressed:   "a warning",
}

// errorClasses lists r's error classes: counted ones first, most frequent
// first, then by name.
func errorClasses(r *bench.Result) []string {
	classes := slices.Sorted(maps.Keys(r.Errors))
	sort.SliceStable(classes, func(i, j int) bool {
		_, ni := notCounted[transport.Class(classes[i])]
		_, nj := notCounted[transport.Class(classes[j])]
		if ni != nj {
			return !ni
		}
		return r.Errors[classes[i]].Count > r.Errors[classes[j]].Count
	})
	return classes
}

// errorsTitle counts the errors thresholds count, with their share of
// the sessions and requests.
func errorsTitle(r *bench.Result) string {
	errs, attempts := r.ErrorTotals()
	if errs == 0 {
		return "errors: none"
	}
	title := "errors: " + count(errs)
	if attempts > 0 {
		of := "sessions and requests"
		if r.Params.RatePerS > 0 {
			of = "intended starts"
		}
		title += fmt.Sprintf(" (%.2f%% of %s %s)", 100*float64(errs)/float64(attempts), count(attempts), of)
	}
	return title
}

// writeErrors writes one line per error class: its count and one example.
func writeErrors(b *bytes.Buffer, r *bench.Result, width int, st loadStyles) {
	b.WriteByte('\n')
	fmt.Fprintln(b, st.title.Render(cut(errorsTitle(r), width)))
	classes := errorClasses(r)
	cw, nw := 0, 0
	for _, c := range classes {
		cw, nw = max(cw, textWidth(c)), max(nw, textWidth(count(r.Errors[c].Count)))
	}
	if n := dropped(r); n > 0 {
		name := bench.Dropped.String()
		cw, nw = max(cw, textWidth(name)), max(nw, textWidth(count(n)))
		room := width - 2 - cw - 2 - nw - 2
		fmt.Fprintf(b, "  %s  %s  %s\n", st.bad.Render(padRight(name, cw)), padLeft(count(n), nw),
			st.dim.Render(cut("intended starts never sent: the open model's worker limit was reached", max(room, 8))))
	}
	var notes []string
	for _, c := range classes {
		e := r.Errors[c]
		room := width - 2 - cw - 2 - nw - 2
		ex := cut(codesText(e.Codes)+oneLine(e.Example), max(room, 8))
		name, style := padRight(c, cw), st.bad
		if why, ok := notCounted[transport.Class(c)]; ok {
			style = st.dim
			notes = append(notes, c+": "+why)
		}
		fmt.Fprintf(b, "  %s  %s  %s\n", style.Render(name), padLeft(count(e.Count), nw), st.dim.Render(ex))
	}
	if len(notes) > 0 {
		for _, l := range wrap("not counted as errors: "+strings.Join(notes, "; ")+".", width-2) {
			fmt.Fprintln(b, "  "+st.dim.Render(l))
		}
	}
	for _, c := range classes {
		if a := transport.Advice(transport.Class(c)); a != "" {
			for _, l := range wrap(c+": "+a+".", width-2) {
				fmt.Fprintln(b, "  "+l)
			}
		}
	}
}

// writeThresholds writes one PASS or FAIL line per outcome with the value
// measured; a missing value is a FAIL.
func writeThresholds(b *bytes.Buffer, outcomes []bench.Outcome, width int, st loadStyles) {
	if len(outcomes) == 0 {
		return
	}
	tw := 0
	for _, o := range outcomes {
		tw = max(tw, textWidth(o.Threshold))
	}
	tw = min(tw, width/2)
	b.WriteByte('\n')
	title, ok := thresholdsTitle(outcomes)
	style := st.good
	if !ok {
		style = st.bad
	}
	fmt.Fprintln(b, style.Render(cut(title, width)))
	for _, o := range outcomes {
		verdict, vs := "PASS", st.good
		if !o.Pass {
			verdict, vs = "FAIL", st.bad
		}
		value := o.Value
		if o.Missing {
			value = "missing: " + value
		}
		room := width - 2 - 4 - 2 - tw - 2
		fmt.Fprintf(b, "  %s  %s  %s\n", vs.Render(verdict), padRight(cut(o.Threshold, tw), tw), cut(oneLine(value), max(room, 8)))
	}
}

// thresholdsTitle sums the outcomes up; ok is false when any failed.
func thresholdsTitle(outcomes []bench.Outcome) (title string, ok bool) {
	failed := 0
	for _, o := range outcomes {
		if !o.Pass {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Sprintf("thresholds: %d of %d FAILED", failed, len(outcomes)), false
	}
	return fmt.Sprintf("thresholds: all %d passed", len(outcomes)), true
}

// LoadJSON writes what `rtbench load --json` and `rtbench report --json`
// print: the result document itself (rtbench.result/v2, bench.Marshal),
// with the outcomes of the thresholds in its `thresholds` field. It is the
// document --out saves, so `rtbench report` reads either back.
func LoadJSON(w io.Writer, r *bench.Result, outcomes []bench.Outcome) error {
	if r == nil {
		return fmt.Errorf("load json: no result")
	}
	doc := *r
	doc.Thresholds = bench.ThresholdResults(outcomes)
	// Built in memory, so a failure to encode writes nothing.
	b, err := bench.Marshal(&doc)
	if err != nil {
		return fmt.Errorf("load json: %w", err)
	}
	_, err = w.Write(JSONSafe(b))
	return err
}

// codesText lists an error class's codes, most frequent first, as
// "503 ×2, 502 ×1: ", or "" when its errors carry none.
func codesText(codes map[string]int64) string {
	if len(codes) == 0 {
		return ""
	}
	keys := slices.Collect(maps.Keys(codes))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(codes[b], codes[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " ×" + count(codes[k])
	}
	return strings.Join(parts, ", ") + ": "
}

// agentItems say which run of several agents the result is: its id, the
// agents it holds (MISSING ones named) and the largest start skew. A run of
// one agent says nothing here.
func agentItems(ri *bench.RunInfo) []string {
	if ri == nil || ri.Agents <= 1 {
		return nil
	}
	items := []string{"run " + ri.ID}
	if miss := ri.Missing(); len(miss) > 0 {
		ids := make([]string, len(miss))
		for i, m := range miss {
			ids[i] = strconv.Itoa(m)
		}
		items = append(items, fmt.Sprintf("%d of %d agents, MISSING %s", len(ri.Parts), ri.Agents, strings.Join(ids, ",")))
	} else {
		items = append(items, fmt.Sprintf("%d agents", ri.Agents))
	}
	var worst bench.Skew
	for _, sk := range ri.Skews() {
		if sk.Skew.Abs() >= worst.Skew.Abs() {
			worst = sk
		}
	}
	if len(ri.Parts) > 1 || ri.StartAt != nil {
		items = append(items, fmt.Sprintf("start skew max %s (agent %d)", signedDur(worst.Skew), worst.Index))
	}
	return items
}

// signedDur is d with its sign, to 3 significant digits: +12.3ms, -800µs.
func signedDur(d time.Duration) string {
	if d < 0 {
		return "-" + sig3(-d)
	}
	return "+" + sig3(d)
}

// AgentSkews writes each agent's start skew, one line each, for a run of
// several agents:
//
//	agent 0  host-a  start +1.20ms
func AgentSkews(w io.Writer, ri *bench.RunInfo) {
	for _, sk := range ri.Skews() {
		fmt.Fprintf(w, "agent %d  %s  start %s\n", sk.Index, Visible(sk.Host), signedDur(sk.Skew))
	}
}
