package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench/check"
)

// CheckOptions shape the text output of `rtbench check`.
type CheckOptions struct {
	Color bool // a terminal without NO_COLOR: coloured verdicts
}

// checkNameWidth is the width of the outcome name column, its space
// included.
const checkNameWidth = 15

// CheckText writes each check's header, one line per outcome
//
//	PASS  events         3 events in 2.00s (want ≥3 within 5s)
//	FAIL  buffering      events arrive in bursts: …; a proxy is buffering …
//
// (the measured value, the bound, and for a failure the cause and what to
// do), and a final verdict line.
func CheckText(w io.Writer, results []*check.Result, o CheckOptions) error {
	st := newLoadStyles(w, o.Color)
	var b bytes.Buffer
	for i, r := range results {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(st.title.Render(Visible(checkHeader(r))))
		b.WriteByte('\n')
		for _, oc := range r.Outcomes {
			var word string
			switch oc.Verdict {
			case check.Pass:
				word = st.good.Render("PASS")
			case check.Fail:
				word = st.bad.Render("FAIL")
			case check.Warn:
				word = st.warn.Render("WARN")
			default:
				word = st.dim.Render("SKIP")
			}
			fmt.Fprintf(&b, "%s  %-*s %s\n", word, checkNameWidth-1, oc.Kind, Visible(CheckLine(oc)))
		}
	}
	b.WriteString(checkVerdict(results, st))
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// CheckLine is an outcome's text after its name: measured value, bound,
// then (unless it passed) the reason.
func CheckLine(o check.Outcome) string {
	s := o.Measured
	if o.Want != "" {
		s += " (want " + o.Want + ")"
	}
	if o.Reason != "" && o.Verdict != check.Pass {
		s += "; " + o.Reason
	}
	return s
}

func checkHeader(r *check.Result) string {
	var mode string
	switch {
	case r.Mode == "":
		mode = "mode not detected"
	case r.Detected:
		mode = r.Mode + " (detected)"
	default:
		mode = r.Mode
	}
	head := r.URL
	if r.Name != r.URL {
		head = r.Name + "  " + r.URL
	}
	s := fmt.Sprintf("%s  %s, %s", head, mode, plural(r.Sessions, "session"))
	if r.Protocol == "HTTP/2.0" { // HTTP/1.1 is the rule: named only when it is not
		s += ", via HTTP/2.0"
	}
	if r.Interrupted {
		s += ", interrupted"
	}
	return s
}

// checkTotals counts the outcomes of every result.
type checkTotals struct {
	outcomes, failed, warned, skipped int
	checks, failedChecks, unreachable int
	longest                           time.Duration
}

func checkTotalsOf(results []*check.Result) checkTotals {
	var t checkTotals
	for _, r := range results {
		t.checks++
		t.outcomes += len(r.Outcomes)
		t.failed += r.Count(check.Fail)
		t.warned += r.Count(check.Warn)
		t.skipped += r.Count(check.Skip)
		if !r.Passed() {
			t.failedChecks++
		}
		if r.Unreachable {
			t.unreachable++
		}
		t.longest = max(t.longest, r.Duration)
	}
	return t
}

func checkVerdict(results []*check.Result, st loadStyles) string {
	t := checkTotalsOf(results)
	took := fmt.Sprintf("%.1fs", t.longest.Seconds())
	var parts []string
	if t.checks > 1 {
		parts = append(parts, plural(t.checks, "check"))
	}
	if t.failed == 0 {
		parts = append(parts, plural(t.outcomes, "assertion"))
		if t.warned > 0 {
			parts = append(parts, plural(t.warned, "warning"))
		}
		if t.skipped > 0 {
			parts = append(parts, fmt.Sprintf("%d skipped", t.skipped))
		}
		return "check: " + st.good.Render("PASS") + " (" + strings.Join(append(parts, took), ", ") + ")"
	}
	var msg string
	switch {
	case t.checks == 1 && t.unreachable == 1:
		msg = "the target could not be reached"
	case t.checks == 1:
		msg = fmt.Sprintf("%d of %d assertions failed", t.failed, t.outcomes)
	default:
		msg = fmt.Sprintf("%d of %d assertions failed in %d of %d checks", t.failed, t.outcomes, t.failedChecks, t.checks)
		if t.unreachable > 0 {
			msg += fmt.Sprintf("; %s could not reach the target", plural(t.unreachable, "check"))
		}
	}
	return "check: " + st.bad.Render("FAIL") + ": " + msg + " (" + took + ")"
}

// CheckJSONVersion is the schema of CheckJSON's document.
const CheckJSONVersion = check.Version

type checkJSON struct {
	Version   string          `json:"version"`
	Passed    bool            `json:"passed"`
	DurationS float64         `json:"duration_s"`
	Checks    []checkJSONItem `json:"checks"`
}

type checkJSONItem struct {
	Name         string            `json:"name"`
	URL          string            `json:"url"`
	Mode         string            `json:"mode"`
	ModeDetected bool              `json:"mode_detected"`
	Protocol     string            `json:"protocol,omitempty"`
	Sessions     int               `json:"sessions"`
	Passed       bool              `json:"passed"`
	Unreachable  bool              `json:"unreachable"`
	Interrupted  bool              `json:"interrupted"`
	StartedAt    time.Time         `json:"started_at"`
	DurationS    float64           `json:"duration_s"`
	Outcomes     []checkJSONResult `json:"outcomes"`
}

type checkJSONResult struct {
	Kind     string  `json:"kind"`
	Name     string  `json:"name"`
	Detector bool    `json:"detector"`
	Verdict  string  `json:"verdict"`
	Measured string  `json:"measured"`
	Want     string  `json:"want,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	ElapsedS float64 `json:"elapsed_s"`
}

// CheckJSON writes one JSON document (version rtbench.check/v1) with every
// check and its outcomes.
func CheckJSON(w io.Writer, results []*check.Result) error {
	doc := checkJSON{Version: CheckJSONVersion, Passed: true, Checks: make([]checkJSONItem, 0, len(results))}
	for _, r := range results {
		it := checkJSONItem{
			Name: r.Name, URL: r.URL, Mode: r.Mode, ModeDetected: r.Detected, Protocol: r.Protocol, Sessions: r.Sessions,
			Passed: r.Passed(), Unreachable: r.Unreachable, Interrupted: r.Interrupted,
			StartedAt: r.Start.Round(0).UTC(), DurationS: checkRound3(r.Duration.Seconds()),
			Outcomes: make([]checkJSONResult, 0, len(r.Outcomes)),
		}
		for _, o := range r.Outcomes {
			it.Outcomes = append(it.Outcomes, checkJSONResult{
				Kind: o.Kind, Name: o.Name, Detector: o.Detector, Verdict: string(o.Verdict),
				Measured: o.Measured, Want: o.Want, Reason: o.Reason, ElapsedS: checkRound3(o.Elapsed.Seconds()),
			})
		}
		doc.Passed = doc.Passed && it.Passed
		doc.DurationS = max(doc.DurationS, it.DurationS)
		doc.Checks = append(doc.Checks, it)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("check json: %w", err)
	}
	_, err := w.Write(JSONSafe(b.Bytes()))
	return err
}

func checkRound3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
