package report

import (
	"errors"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

func TestStepLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		session, name, kind string
		s                   bench.StepSample
		err                 error
		want                string
	}{
		{"", "login", "request", bench.StepSample{Start: t0, End: t0.Add(12300 * time.Microsecond), Requests: 1}, nil,
			"PASS  login        request     12.3ms  1 request"},
		{"#2", "wait", "poll", bench.StepSample{Start: t0, End: t0.Add(300 * time.Millisecond), Requests: 3, Outcome: bench.StepFailed},
			errors.New("step wait: not done within its timeout 300ms"),
			"#2  FAIL  wait         poll         300ms  3 requests  step wait: not done within its timeout 300ms"},
		{"", "job", "poll", bench.StepSample{Start: t0, End: t0.Add(2 * time.Second), Requests: 2, HasStaleness: true, Staleness: time.Second}, nil,
			"PASS  job          poll         2.00s  2 requests  seen done 1.00s after it was"},
		{"", "x\x1b[2J", "think", bench.StepSample{Start: t0, End: t0.Add(time.Second), Outcome: bench.StepCutOff}, errors.New("a\nb\x1b[31m"),
			`CUT   x\x1b[2J     think        1.00s  a b\x1b[31m`},
	}
	for _, tt := range tests {
		if got := StepLine(tt.session, tt.name, tt.kind, tt.s, tt.err); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
