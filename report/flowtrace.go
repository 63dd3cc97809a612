package report

import (
	"fmt"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// StepLine is one step of a scenario run once (listen -f, check -f):
//
//	PASS  login      request    12.3ms  1 request
//	FAIL  wait       poll        300ms  3 requests  step wait: not done within its timeout 300ms
//
// session, when not empty, prefixes it ("#3"). The error is printed with
// ErrorLine: on one line, secrets redacted, control characters visible.
func StepLine(session, name, kind string, s bench.StepSample, err error) string {
	verdict := "PASS"
	switch s.Outcome {
	case bench.StepFailed:
		verdict = "FAIL"
	case bench.StepCutOff:
		verdict = "CUT "
	}
	var b strings.Builder
	if session != "" {
		b.WriteString(session + "  ")
	}
	fmt.Fprintf(&b, "%s  %-12s %-9s %8s", verdict, Visible(name), kind, sig3(s.End.Sub(s.Start)))
	switch s.Requests {
	case 0:
	case 1:
		b.WriteString("  1 request")
	default:
		fmt.Fprintf(&b, "  %d requests", s.Requests)
	}
	if s.HasStaleness {
		fmt.Fprintf(&b, "  seen done %s after it was", sig3(s.Staleness))
	}
	if err != nil {
		b.WriteString("  " + ErrorLine(err.Error()))
	}
	return strings.TrimRight(b.String(), " ")
}
