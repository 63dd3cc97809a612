package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// A Threshold is one pass/fail condition on a Result, given with
// --threshold and parsed once by ParseThreshold. The grammar (spaces are
// allowed between the parts):
//
//	threshold := metric "." stat op duration   delivery.p99<200ms, ttft.p95 < 1s
//	           | metric ".count" op number     delivery.count>=1000
//	           | "errors" op number ["%"]      errors<1%, errors==0
//	           | counter op number             lost==0, events>1000, reconnects<=5
//	stat      := p50 | p90 | p95 | p99 | p99.9 | min | max | mean
//	op        := < | <= | > | >= | == | !=
//	duration  := number unit      unit := us | µs | ms | s | m
//	number    := digits ["." digits]
//
// metric is a Metric name (handshake, connect, dns, tcp, tls, ttfb,
// first_event, delivery, wire, gap, echo_rtt, ping_rtt, request, staleness,
// ttft, itl_chunk, tpot, tpot_chunk, e2e, reconnect, start_lag) and counter
// a Counter name (events, tokens, bytes, connects, reconnects, lost,
// duplicates, out_of_order, requests, late_starts, dropped,
// sessions_started, sessions_failed, clock_skew_negative, outages,
// reconnects_delayed, tokens_from_deltas, cut_off).
//
// errors is the number of errors in the result, every class except
// canceled (the run's own stop) and the warnings not_streaming,
// redirect_downgrade and compressed, plus the open model's dropped starts (requests the
// plan wanted and the generator never sent); errors N% compares 100 ×
// errors / attempts (see ErrorTotals), which can exceed 100 % in the closed
// model when sessions fail again and again.
//
// A saturated generator fails every set of thresholds (Thresholds.Check)
// unless the caller allows it.
//
// A threshold on a metric that has no values (or a percentage with nothing
// started) fails, and its Outcome says the value is missing.
type Threshold struct {
	kind    thresholdKind
	metric  Metric
	stat    stat
	counter Counter
	op      op
	value   float64 // in unit for a duration, else the plain number
	unit    string  // "us", "ms", "s" or "m" for a duration
}

// ThresholdHelp is the --threshold grammar, for --help.
const ThresholdHelp = `A threshold is <metric>.<stat> <op> <duration>, errors <op> <n>[%], or <counter> <op> <n>:
  delivery.p99<200ms   ttft.p95<1s   connect.max<=2s   delivery.count>=1000
  errors<1%   errors==0   lost==0   events>1000   reconnects<=5
stat: p50 p90 p95 p99 p99.9 min max mean count; op: < <= > >= == !=; units: us ms s m.
errors counts every error class except canceled and the warnings not_streaming,
redirect_downgrade and compressed, plus the open model's dropped starts; errors N% is 100 × errors /
attempts (open model: intended starts, dropped included; closed model: sessions_started
+ requests). A threshold on a metric with no values fails. When rtbench itself was
saturated (see the self-check) every run with thresholds fails, with that reason,
unless --allow-saturated is given.`

// Outcome is a threshold checked against a result.
type Outcome struct {
	Threshold string // the threshold, in canonical form
	Value     string // the value as measured, with its unit
	Pass      bool
	Missing   bool // the metric has no values (or nothing ran): the threshold fails
}

// ThresholdError is a threshold that does not parse.
type ThresholdError struct {
	Input string
	Pos   int // byte offset in Input, from 0
	Msg   string
	// Flag is the flag the input came from; --threshold when empty.
	Flag string
}

func (e *ThresholdError) Error() string {
	flag := e.Flag
	if flag == "" {
		flag = "--threshold"
	}
	return fmt.Sprintf("%s %q: at %d: %s", flag, e.Input, e.Pos, e.Msg)
}

type thresholdKind uint8

const (
	kindStat thresholdKind = iota
	kindCount
	kindErrors
	kindErrorsPct
	kindCounter
)

type stat uint8

const (
	statP50 stat = iota
	statP90
	statP95
	statP99
	statP999
	statMin
	statMax
	statMean
	statCount
)

var statNames = [...]string{"p50", "p90", "p95", "p99", "p99.9", "min", "max", "mean", "count"}

type op uint8

const (
	opLT op = iota
	opLE
	opGT
	opGE
	opEQ
	opNE
)

var opNames = [...]string{"<", "<=", ">", ">=", "==", "!="}

// units are the duration units, longest spellings first.
var units = []struct {
	name, canon string
	d           time.Duration
}{
	{"µs", "us", time.Microsecond}, // U+00B5 micro sign
	{"μs", "us", time.Microsecond}, // U+03BC Greek mu
	{"us", "us", time.Microsecond},
	{"ms", "ms", time.Millisecond},
	{"s", "s", time.Second},
	{"m", "m", time.Minute},
}

// errorsName is the threshold name of the error total.
const errorsName = "errors"

// ParseThreshold parses one threshold (see Threshold for the grammar).
// Errors are *ThresholdError: they quote the input and give the offset of
// the problem.
func ParseThreshold(s string) (*Threshold, error) {
	p := &thresholdParser{s: s}
	t, err := p.parse()
	if err != nil {
		return nil, err
	}
	return t, nil
}

type thresholdParser struct {
	s    string
	i    int
	flag string // for errors: --threshold when empty
}

func (p *thresholdParser) fail(at int, format string, args ...any) error {
	return &ThresholdError{Input: p.s, Pos: at, Msg: fmt.Sprintf(format, args...), Flag: p.flag}
}

func (p *thresholdParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// word reads a run of bytes accepted by ok.
func (p *thresholdParser) word(ok func(c byte) bool) string {
	j := p.i
	for p.i < len(p.s) && ok(p.s[p.i]) {
		p.i++
	}
	return p.s[j:p.i]
}

func isName(c byte) bool  { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isUnit accepts ASCII letters and the bytes of µ and μ, so that a unit is
// read whole and an unknown one is reported whole.
func isUnit(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// subject reads what a threshold (or a diff's --fail-if) is about: a
// metric's stat, errors, or a counter, into t; name is the word read.
func (p *thresholdParser) subject(t *Threshold) (name string, err error) {
	at := p.i
	name = p.word(isName)
	if name == "" {
		return name, p.fail(at, "want a metric, a counter or errors")
	}
	_, isCounter := ParseCounter(name)
	m, isMetric := ParseMetric(name)
	switch {
	case p.i < len(p.s) && p.s[p.i] == '.':
		if !isMetric {
			if isCounter || name == errorsName {
				return name, p.fail(p.i, "%s is a count: it has no .stat (write %s>N)", name, name)
			}
			return name, p.fail(at, "unknown metric %q", name)
		}
		p.i++
		sat := p.i
		sn := p.word(func(c byte) bool { return isName(c) || c == '.' })
		st, ok := parseStat(sn)
		if !ok {
			return name, p.fail(sat, "unknown stat %q (want p50, p90, p95, p99, p99.9, min, max, mean or count)", sn)
		}
		t.kind, t.metric, t.stat = kindStat, m, st
		if st == statCount {
			t.kind = kindCount
		}
	case name == errorsName:
		t.kind = kindErrors
	case isCounter:
		t.kind, t.counter = kindCounter, mustCounter(name)
	case isMetric:
		return name, p.fail(p.i, "want .stat after metric %s (e.g. %s.p99<200ms)", name, name)
	default:
		return name, p.fail(at, "unknown metric or counter %q", name)
	}

	return name, nil
}

func (p *thresholdParser) parse() (*Threshold, error) {
	t := &Threshold{}
	p.space()
	name, err := p.subject(t)
	if err != nil {
		return nil, err
	}

	p.space()
	oat := p.i
	o, ok := p.op()
	if !ok {
		msg := "want an operator (<, <=, >, >=, ==, !=)"
		if strings.HasPrefix(p.s[oat:], "=") {
			msg += "; did you mean ==?"
		}
		return nil, p.fail(oat, "%s", msg)
	}
	t.op = o

	p.space()
	nat := p.i
	num := p.word(isDigit)
	if num == "" {
		return nil, p.fail(nat, "want a number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if frac := p.word(isDigit); frac == "" {
			return nil, p.fail(p.i, "want a digit after the decimal point")
		}
	}
	v, err := strconv.ParseFloat(p.s[nat:p.i], 64)
	if err != nil || math.IsInf(v, 0) {
		return nil, p.fail(nat, "number out of range")
	}
	t.value = v

	p.space()
	uat := p.i
	switch t.kind {
	case kindStat:
		u := p.word(isUnit)
		if u == "" {
			return nil, p.fail(uat, "want a unit (us, ms, s or m)")
		}
		d, canon, ok := parseUnit(u)
		if !ok {
			return nil, p.fail(uat, "unknown unit %q (want us, ms, s or m)", u)
		}
		if v*float64(d) >= math.MaxInt64 {
			return nil, p.fail(nat, "duration out of range")
		}
		t.unit = canon
	case kindErrors:
		if p.i < len(p.s) && p.s[p.i] == '%' {
			p.i++
			t.kind = kindErrorsPct
		}
	}
	p.space()
	if p.i < len(p.s) {
		rest := p.s[p.i:]
		switch {
		case rest[0] == '%':
			return nil, p.fail(p.i, "%% applies only to errors")
		case t.kind == kindCount || t.kind == kindCounter || t.kind == kindErrors:
			if isUnit(rest[0]) {
				if t.kind == kindCount {
					name += ".count"
				}
				at := p.i
				return nil, p.fail(at, "%s takes a plain number, not %q", name, p.word(isUnit))
			}
		}
		return nil, p.fail(p.i, "unexpected %q", rest)
	}
	return t, nil
}

func (p *thresholdParser) op() (op, bool) {
	rest := p.s[p.i:]
	for _, o := range []op{opLE, opGE, opEQ, opNE, opLT, opGT} { // two-byte operators first
		if strings.HasPrefix(rest, opNames[o]) {
			p.i += len(opNames[o])
			return o, true
		}
	}
	return 0, false
}

func parseStat(s string) (stat, bool) {
	for i, n := range statNames {
		if n == s {
			return stat(i), true
		}
	}
	return 0, false
}

func parseUnit(s string) (time.Duration, string, bool) {
	for _, u := range units {
		if u.name == s {
			return u.d, u.canon, true
		}
	}
	return 0, "", false
}

func mustCounter(name string) Counter {
	c, _ := ParseCounter(name)
	return c
}

// String returns the threshold in canonical form (no spaces, units us, ms,
// s, m), which ParseThreshold reads back to the same threshold.
func (t *Threshold) String() string {
	n := strconv.FormatFloat(t.value, 'f', -1, 64)
	o := opNames[t.op]
	switch t.kind {
	case kindStat, kindCount:
		return t.metric.String() + "." + statNames[t.stat] + o + n + t.unit
	case kindErrors:
		return errorsName + o + n
	case kindErrorsPct:
		return errorsName + o + n + "%"
	}
	return t.counter.String() + o + n
}

// Check evaluates the threshold against r.
func (t *Threshold) Check(r *Result) Outcome {
	out := Outcome{Threshold: t.String()}
	missing := func(why string) Outcome {
		out.Value, out.Missing = why, true
		return out
	}
	if r == nil {
		return missing("no result")
	}
	switch t.kind {
	case kindStat, kindCount:
		m, ok := r.Metrics[t.metric.String()]
		if !ok || m.Count == 0 {
			return missing("no values")
		}
		if t.kind == kindCount {
			out.Value = strconv.FormatInt(m.Count, 10)
			out.Pass = t.op.cmp(float64(m.Count), t.value)
			return out
		}
		got := int64(math.Round(m.stat(t.stat) * float64(time.Millisecond)))
		d, _, _ := parseUnit(t.unit)
		want := int64(math.Round(t.value * float64(d)))
		out.Value = time.Duration(got).String()
		if n := r.Counters[Dropped.String()]; n > 0 {
			out.Value += fmt.Sprintf(" (excludes %d dropped starts)", n)
		}
		out.Pass = t.op.cmpInt(got, want)
	case kindCounter:
		v, ok := r.Counters[t.counter.String()]
		if !ok {
			return missing("not recorded")
		}
		out.Value = strconv.FormatInt(v, 10)
		out.Pass = t.op.cmp(float64(v), t.value)
	case kindErrors:
		n, _ := r.ErrorTotals()
		out.Value = strconv.FormatInt(n, 10)
		out.Pass = t.op.cmp(float64(n), t.value)
	case kindErrorsPct:
		n, attempts := r.ErrorTotals()
		if attempts <= 0 {
			return missing("no sessions started and no requests")
		}
		pct := 100 * float64(n) / float64(attempts)
		out.Value = fmt.Sprintf("%.2f%% (%d of %d)", pct, n, attempts)
		out.Pass = t.op.cmp(pct, t.value)
	}
	return out
}

// ErrorTotals returns the error count thresholds use (every class except
// canceled and the warnings not_streaming, redirect_downgrade and
// compressed, plus the
// dropped starts) and the attempts a percentage divides by: in the open
// model, where each intended start is one request session, the intended
// starts (sessions_started + dropped); in the closed model
// sessions_started + requests.
func (r *Result) ErrorTotals() (errs, attempts int64) {
	for class, e := range r.Errors {
		switch transport.Class(class) {
		case transport.ClassCanceled:
			continue
		}
		if transport.Class(class).Warning() {
			continue
		}
		errs += e.Count
	}
	dropped := r.Counters[Dropped.String()]
	errs += dropped
	if r.Params.RatePerS > 0 {
		return errs, r.Counters[SessionsStarted.String()] + dropped
	}
	return errs, r.Counters[SessionsStarted.String()] + r.Counters[Requests.String()] + dropped
}

// SaturatedCheck is the name of the outcome Thresholds.Check adds to the
// thresholds of a run whose generator was saturated.
const SaturatedCheck = "generator not saturated"

// Check checks every threshold against r, in order, and counts the failed
// ones: the one pass/fail loop of load, report and check. A run whose
// generator was saturated (r.Saturated) measured its own stalls, so no
// latency it passed can be trusted: when there are thresholds, Check adds a
// SaturatedCheck outcome that fails, saying by how much, unless
// allowSaturated (--allow-saturated); the report's SATURATED warning says it
// either way.
func (ts Thresholds) Check(r *Result, allowSaturated bool) (outcomes []Outcome, failed int) {
	outcomes = make([]Outcome, 0, len(ts)+1)
	for _, t := range ts {
		o := t.Check(r)
		if !o.Pass {
			failed++
		}
		outcomes = append(outcomes, o)
	}
	if len(ts) == 0 || r == nil || !r.Saturated || allowSaturated {
		return outcomes, failed
	}
	o := Outcome{Threshold: SaturatedCheck, Value: "saturated"}
	if s := r.SelfCheck; s != nil {
		o.Value = fmt.Sprintf("self-check p99.9 %v > %v", time.Duration(math.Round(s.P999Ms*float64(time.Millisecond))), SaturationLate)
		if h, err := s.Histogram(); err == nil {
			o.Value += fmt.Sprintf(": rtbench was over %v late for %.2f%% of the run", SaturationLate, 100*h.ShareAbove(SaturationLate))
		}
	}
	return append(outcomes, o), failed + 1
}

func (m MetricResult) stat(s stat) float64 {
	switch s {
	case statP50:
		return m.P50Ms
	case statP90:
		return m.P90Ms
	case statP95:
		return m.P95Ms
	case statP99:
		return m.P99Ms
	case statP999:
		return m.P999Ms
	case statMin:
		return m.MinMs
	case statMax:
		return m.MaxMs
	case statMean:
		return m.MeanMs
	}
	return float64(m.Count)
}

func (o op) cmp(a, b float64) bool {
	switch o {
	case opLT:
		return a < b
	case opLE:
		return a <= b
	case opGT:
		return a > b
	case opGE:
		return a >= b
	case opEQ:
		return a == b
	}
	return a != b
}

func (o op) cmpInt(a, b int64) bool {
	switch o {
	case opLT:
		return a < b
	case opLE:
		return a <= b
	case opGT:
		return a > b
	case opGE:
		return a >= b
	case opEQ:
		return a == b
	}
	return a != b
}
