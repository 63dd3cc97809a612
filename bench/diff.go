package bench

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// DiffRow is one metric of two runs side by side (`rtbench diff`).
type DiffRow struct {
	// Name is how --fail-if names it: delivery.p99, events, errors.
	Name string `json:"name"`
	// Unit is "ms" for latencies, "/s" for counter rates, "%" for the
	// error rate.
	Unit string  `json:"unit"`
	Base float64 `json:"base"`
	New  float64 `json:"new"`
	// Change is New − Base; ChangePct is 100 × Change / Base, absent when
	// Base is 0.
	Change    float64  `json:"change"`
	ChangePct *float64 `json:"change_pct,omitempty"`
	// Missing names the side that has no value ("base", "new").
	Missing string `json:"missing,omitempty"`
}

// diffStats are the stats compared of every latency metric.
var diffStats = []stat{statP50, statP99, statMax}

// Diff compares two results metric by metric: p50, p99 and max of every
// latency metric either has, each counter's rate per measured second, and
// the error rate (errors as a percentage of attempts, as the errors N%
// threshold counts them).
func Diff(base, next *Result) []DiffRow {
	var rows []DiffRow
	names := slices.Sorted(maps.Keys(base.Metrics))
	for _, n := range slices.Sorted(maps.Keys(next.Metrics)) {
		if _, ok := base.Metrics[n]; !ok {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ma, _ := ParseMetric(a)
		mb, _ := ParseMetric(b)
		return int(ma) - int(mb)
	})
	for _, n := range names {
		m, ok := ParseMetric(n)
		if !ok {
			continue
		}
		for _, st := range diffStats {
			t := &Threshold{kind: kindStat, metric: m, stat: st}
			rows = append(rows, diffRow(t, base, next))
		}
	}
	for c := range NumCounters {
		if base.Counters[c.String()] == 0 && next.Counters[c.String()] == 0 {
			continue
		}
		rows = append(rows, diffRow(&Threshold{kind: kindCounter, counter: c}, base, next))
	}
	rows = append(rows, diffRow(&Threshold{kind: kindErrors}, base, next))
	return rows
}

func diffRow(t *Threshold, base, next *Result) DiffRow {
	row := DiffRow{Name: t.subjectName(), Unit: t.diffUnit()}
	b, okb := t.diffValue(base)
	n, okn := t.diffValue(next)
	switch {
	case !okb && !okn:
		row.Missing = "both"
	case !okb:
		row.Missing = "base"
	case !okn:
		row.Missing = "new"
	}
	row.Base, row.New = b, n
	if row.Missing == "" {
		row.Change = n - b
		if b != 0 {
			pct := 100 * (n - b) / b
			row.ChangePct = &pct
		}
	}
	return row
}

// subjectName is what the threshold is about, as written: delivery.p99,
// events, errors.
func (t *Threshold) subjectName() string {
	switch t.kind {
	case kindStat:
		return t.metric.String() + "." + statNames[t.stat]
	case kindCount:
		return t.metric.String() + ".count"
	case kindErrors, kindErrorsPct:
		return errorsName
	}
	return t.counter.String()
}

func (t *Threshold) diffUnit() string {
	switch t.kind {
	case kindStat:
		return "ms"
	case kindErrors, kindErrorsPct:
		return "%"
	case kindCount:
		return ""
	}
	return "/s"
}

// diffValue is the value diff compares: a stat in ms, a metric's count, a
// counter's rate per measured second, errors as a percentage of attempts.
func (t *Threshold) diffValue(r *Result) (float64, bool) {
	switch t.kind {
	case kindStat, kindCount:
		m, ok := r.Metrics[t.metric.String()]
		if !ok || m.Count == 0 {
			return 0, false
		}
		if t.kind == kindCount {
			return float64(m.Count), true
		}
		return m.stat(t.stat), true
	case kindErrors, kindErrorsPct:
		n, attempts := r.ErrorTotals()
		if attempts <= 0 {
			return 0, n == 0
		}
		return 100 * float64(n) / float64(attempts), true
	}
	if r.DurationS <= 0 {
		return 0, false
	}
	return float64(r.Counters[t.counter.String()]) / r.DurationS, true
}

// Regression is a --fail-if condition of `rtbench diff`: a subject (as a
// threshold's), an operator and a change from the base run: relative
// (+10%) or absolute (+5ms for a latency, +2 for an error rate in
// percentage points or a rate per second).
type Regression struct {
	t        Threshold
	op       op
	delta    float64 // % when relative; ms for a latency; else the plain number
	relative bool
	text     string
}

// RegressionHelp is the --fail-if grammar, for --help.
const RegressionHelp = `--fail-if is <metric>.<stat> <op> <change>, <counter> <op> <change> or errors <op> <change>;
the change is relative (+10%) or absolute (+5ms for a latency; for a counter its rate
per second; for errors the error rate in percentage points):
  'delivery.p99>+10%'   'ttft.max>+200ms'   'events<-5%'   'errors>+0.5'`

// ParseRegression parses a --fail-if condition (RegressionHelp). Errors
// are *ThresholdError, quoting the input.
func ParseRegression(s string) (*Regression, error) {
	p := &thresholdParser{s: s, flag: "--fail-if"}
	r := &Regression{text: strings.TrimSpace(s)}
	p.space()
	if _, err := p.subject(&r.t); err != nil {
		return nil, err
	}
	p.space()
	oat := p.i
	o, ok := p.op()
	if !ok {
		return nil, p.fail(oat, "want an operator (<, <=, >, >=, ==, !=)")
	}
	r.op = o
	p.space()
	sat := p.i
	sign := 1.0
	switch {
	case p.i < len(p.s) && p.s[p.i] == '+':
		p.i++
	case p.i < len(p.s) && p.s[p.i] == '-':
		sign = -1
		p.i++
	}
	nat := p.i
	if p.word(isDigit) == "" {
		return nil, p.fail(sat, "want a change such as +10%% or +5ms")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.word(isDigit) == "" {
			return nil, p.fail(p.i, "want a digit after the decimal point")
		}
	}
	v, err := strconv.ParseFloat(p.s[nat:p.i], 64)
	if err != nil || math.IsInf(v, 0) {
		return nil, p.fail(nat, "number out of range")
	}
	r.delta = sign * v
	uat := p.i
	switch {
	case p.i < len(p.s) && p.s[p.i] == '%':
		p.i++
		r.relative = true
	case r.t.kind == kindStat:
		u := p.word(isUnit)
		if u == "" {
			return nil, p.fail(uat, "want %% or a unit (us, ms, s or m) after the change")
		}
		d, _, ok := parseUnit(u)
		if !ok {
			return nil, p.fail(uat, "unknown unit %q (want %%, us, ms, s or m)", u)
		}
		r.delta = r.delta * float64(d) / 1e6 // to ms
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.fail(p.i, "unexpected %q", p.s[p.i:])
	}
	return r, nil
}

// String is the condition as given.
func (r *Regression) String() string { return r.text }

// Check reports whether the condition holds for the two runs (a
// regression: the diff fails), with the change as text. A value missing on
// either side fails too: nothing can be compared.
func (r *Regression) Check(base, next *Result) (regressed bool, change string) {
	row := diffRow(&r.t, base, next)
	if row.Missing != "" {
		return true, "no value in " + row.Missing
	}
	got := row.Change
	text := fmt.Sprintf("%+g%s", round6(row.Change), row.Unit)
	if r.relative {
		if row.ChangePct == nil {
			if row.Change == 0 {
				return r.op.cmp(0, r.delta), "0% (both 0)"
			}
			return true, text + " from 0 (no relative change)"
		}
		got = *row.ChangePct
		text = fmt.Sprintf("%+.2f%% (%s)", got, text)
	}
	return r.op.cmp(got, r.delta), text
}
