package bench

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// thresholdInputs are the parse cases, also the fuzz seeds.
var thresholdInputs = []struct {
	in, want, err string // want: String(); err: the whole error message
}{
	{in: "delivery.p99<200ms", want: "delivery.p99<200ms"},
	{in: "ttft.p95<1s", want: "ttft.p95<1s"},
	{in: "  delivery.p99.9 <= 1.5 s ", want: "delivery.p99.9<=1.5s"},
	{in: "wire.p50>=250µs", want: "wire.p50>=250us"},
	{in: "wire.p50>=250μs", want: "wire.p50>=250us"},
	{in: "connect.max!=2m", want: "connect.max!=2m"},
	{in: "gap.min>0.5ms", want: "gap.min>0.5ms"},
	{in: "e2e.mean==007.50s", want: "e2e.mean==7.5s"},
	{in: "echo_rtt.p90<10us", want: "echo_rtt.p90<10us"},
	{in: "delivery.count>=1000", want: "delivery.count>=1000"},
	{in: "errors<1%", want: "errors<1%"},
	{in: "errors < 0.5 %", want: "errors<0.5%"},
	{in: "errors==0", want: "errors==0"},
	{in: "errors<10", want: "errors<10"},
	{in: "lost==0", want: "lost==0"},
	{in: "events>1000", want: "events>1000"},
	{in: "reconnects<=5", want: "reconnects<=5"},
	{in: "clock_skew_negative==0", want: "clock_skew_negative==0"},

	{in: "delivery.p99<<2ms", err: `--threshold "delivery.p99<<2ms": at 13: want a number`},
	{in: "", err: `--threshold "": at 0: want a metric, a counter or errors`},
	{in: "<5", err: `--threshold "<5": at 0: want a metric, a counter or errors`},
	{in: "latency.p99<1s", err: `--threshold "latency.p99<1s": at 0: unknown metric "latency"`},
	{in: "foo<1", err: `--threshold "foo<1": at 0: unknown metric or counter "foo"`},
	{in: "delivery<200ms", err: `--threshold "delivery<200ms": at 8: want .stat after metric delivery (e.g. delivery.p99<200ms)`},
	{in: "delivery.p98<1s", err: `--threshold "delivery.p98<1s": at 9: unknown stat "p98" (want p50, p90, p95, p99, p99.9, min, max, mean or count)`},
	{in: "delivery.p99.<1s", err: `--threshold "delivery.p99.<1s": at 9: unknown stat "p99." (want p50, p90, p95, p99, p99.9, min, max, mean or count)`},
	{in: "events.p99<1s", err: `--threshold "events.p99<1s": at 6: events is a count: it has no .stat (write events>N)`},
	{in: "errors.count<1", err: `--threshold "errors.count<1": at 6: errors is a count: it has no .stat (write errors>N)`},
	{in: "delivery.p99 200ms", err: `--threshold "delivery.p99 200ms": at 13: want an operator (<, <=, >, >=, ==, !=)`},
	{in: "lost=0", err: `--threshold "lost=0": at 4: want an operator (<, <=, >, >=, ==, !=); did you mean ==?`},
	{in: "lost=<0", err: `--threshold "lost=<0": at 4: want an operator (<, <=, >, >=, ==, !=); did you mean ==?`},
	{in: "delivery.p99<200", err: `--threshold "delivery.p99<200": at 16: want a unit (us, ms, s or m)`},
	{in: "delivery.p99<200sec", err: `--threshold "delivery.p99<200sec": at 16: unknown unit "sec" (want us, ms, s or m)`},
	{in: "delivery.p99<-1ms", err: `--threshold "delivery.p99<-1ms": at 13: want a number`},
	{in: "delivery.p99<.5ms", err: `--threshold "delivery.p99<.5ms": at 13: want a number`},
	{in: "delivery.p99<1.ms", err: `--threshold "delivery.p99<1.ms": at 15: want a digit after the decimal point`},
	{in: "delivery.p99<99999999999m", err: `--threshold "delivery.p99<99999999999m": at 13: duration out of range`},
	{in: "delivery.p99<1ms%", err: `--threshold "delivery.p99<1ms%": at 16: % applies only to errors`},
	{in: "delivery.p99<1ms 2", err: `--threshold "delivery.p99<1ms 2": at 17: unexpected "2"`},
	{in: "lost<1%", err: `--threshold "lost<1%": at 6: % applies only to errors`},
	{in: "lost<1ms", err: `--threshold "lost<1ms": at 6: lost takes a plain number, not "ms"`},
	{in: "delivery.count<5s", err: `--threshold "delivery.count<5s": at 16: delivery.count takes a plain number, not "s"`},
	{in: "errors<5%%", err: `--threshold "errors<5%%": at 9: % applies only to errors`},
	{in: "Delivery.p99<1s", err: `--threshold "Delivery.p99<1s": at 0: want a metric, a counter or errors`},
}

func TestParseThreshold(t *testing.T) {
	for _, tt := range thresholdInputs {
		t.Run(tt.in, func(t *testing.T) {
			th, err := ParseThreshold(tt.in)
			if tt.err != "" {
				var te *ThresholdError
				if err == nil || err.Error() != tt.err || !errors.As(err, &te) || te.Input != tt.in {
					t.Fatalf("ParseThreshold(%q) error =\n  %v\nwant\n  %s", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThreshold(%q): %v", tt.in, err)
			}
			if got := th.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// checkResult is a run with known values: delivery p99 of exactly 2 ms.
func checkResult(t *testing.T) *Result {
	rec := NewRecording()
	rec.Start, rec.End = t0, t0.Add(10*time.Second)
	for i := range 1000 {
		d := time.Millisecond
		if i >= 985 {
			d = 2 * time.Millisecond
		}
		rec.Hists[Delivery].Record(d)
	}
	rec.Counters[Events] = 1000
	rec.Counters[SessionsStarted] = 150
	rec.Counters[Requests] = 50
	rec.Counters[Reconnects] = 5
	rec.Errors[transport.ClassReset] = &ErrorCount{Count: 3, Example: "reset"}
	rec.Errors[transport.ClassHTTP5xx] = &ErrorCount{Count: 2, Example: "503"}
	rec.Errors[transport.ClassCanceled] = &ErrorCount{Count: 150, Example: "context canceled"} // the run's own stop
	rec.Errors[transport.ClassNotStreaming] = &ErrorCount{Count: 7, Example: "Content-Length"} // a warning
	return mustResult(t, rec, pushMeta("h"))
}

func TestThresholdCheck(t *testing.T) {
	r := checkResult(t)
	empty := mustResult(t, NewRecording(), pushMeta("h"))
	delete(empty.Counters, "lost") // a result from a tool that did not count it
	tests := []struct {
		in      string
		r       *Result
		value   string
		pass    bool
		missing bool
	}{
		{"delivery.p99<=2ms", r, "2ms", true, false},
		{"delivery.p99<2ms", r, "2ms", false, false},
		{"delivery.p99<2001us", r, "2ms", true, false},
		{"delivery.p99>0.002s", r, "2ms", false, false},
		{"delivery.p99==0.002s", r, "2ms", true, false},
		{"delivery.p99!=2000µs", r, "2ms", false, false},
		{"delivery.p50<1.5ms", r, "1ms", true, false},
		{"delivery.max<1m", r, "2ms", true, false},
		{"delivery.mean<=1.015ms", r, "1.015ms", true, false},
		{"delivery.count>=1000", r, "1000", true, false},
		{"delivery.count>1000", r, "1000", false, false},
		{"ttft.p95<1s", r, "no values", false, true},
		{"events>999", r, "1000", true, false},
		{"reconnects<=5", r, "5", true, false},
		{"lost==0", r, "0", true, false},
		{"lost==0", empty, "not recorded", false, true},
		{"errors<5", r, "5", false, false},
		{"errors<=5", r, "5", true, false},
		{"errors<2.5%", r, "2.50% (5 of 200)", false, false},
		{"errors<=2.5%", r, "2.50% (5 of 200)", true, false},
		{"errors<1%", empty, "no sessions started and no requests", false, true},
		{"errors==0", empty, "0", true, false},
		{"delivery.p99<1s", nil, "no result", false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.in, tt.r == r), func(t *testing.T) {
			th, err := ParseThreshold(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := th.Check(tt.r)
			want := Outcome{Threshold: th.String(), Value: tt.value, Pass: tt.pass, Missing: tt.missing}
			if got != want {
				t.Errorf("Check = %+v, want %+v", got, want)
			}
		})
	}
}

func TestErrorTotals(t *testing.T) {
	errs, attempts := checkResult(t).ErrorTotals()
	if errs != 5 || attempts != 200 {
		t.Errorf("ErrorTotals = %d, %d; want 5 (reset + 5xx, not canceled or not_streaming), 200", errs, attempts)
	}
}

// FuzzParseThreshold checks, for any string: no panic; a refusal is a
// *ThresholdError quoting the input with a position inside it, on one line;
// an accepted threshold prints (String) in a canonical form without spaces
// that parses back to the same threshold and prints the same again; and
// checked against a result, its Outcome names that form, a missing value
// never passes, and the opposite operator (< and >=, <= and >, == and !=)
// gives the opposite verdict on the same value.
func FuzzParseThreshold(f *testing.F) {
	for _, tt := range thresholdInputs {
		f.Add(tt.in)
	}
	for _, s := range []string{
		"lost\t==\t0", "errors<100%", "errors>=0.001%", "ttft.count!=0", "sessions_failed<=0", "wire.p99.9>0us",
		"delivery.p99<0.0000000001us", "connect.max>=9223372036854ms", "e2e.min<=1.5µs", "gap.mean==1e3ms",
		"events>" + strings.Repeat("9", 400), "errors%<1", "delivery.p99<1\u00b5s", "reconnects<5\n",
	} {
		f.Add(s)
	}
	var (
		once    sync.Once
		results []*Result
	)
	opposite := [...]op{opLT: opGE, opGE: opLT, opLE: opGT, opGT: opLE, opEQ: opNE, opNE: opEQ}
	f.Fuzz(func(t *testing.T, s string) {
		once.Do(func() {
			empty := mustResult(t, NewRecording(), pushMeta("h"))
			delete(empty.Counters, "lost")
			results = []*Result{checkResult(t), empty, nil}
		})
		th, err := ParseThreshold(s)
		if err != nil {
			var te *ThresholdError
			if !errors.As(err, &te) || te.Input != s || te.Pos < 0 || te.Pos > len(s) {
				t.Fatalf("error %v: not a *ThresholdError quoting the input with a position in it", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		canon := th.String()
		if strings.ContainsAny(canon, " \t") {
			t.Fatalf("%q prints as %q, with spaces", s, canon)
		}
		again, err := ParseThreshold(canon)
		if err != nil {
			t.Fatalf("%q parsed, but its String() %q does not: %v", s, canon, err)
		}
		if *again != *th || again.String() != canon {
			t.Fatalf("%q → %q → %+v (%q), want %+v", s, canon, *again, again.String(), *th)
		}
		neg := *th
		neg.op = opposite[th.op]
		for _, r := range results {
			out, outNeg := th.Check(r), neg.Check(r)
			if out.Threshold != canon {
				t.Fatalf("Outcome names %q, want %q", out.Threshold, canon)
			}
			if out.Missing {
				if out.Pass || !outNeg.Missing || outNeg.Pass {
					t.Fatalf("%q on a missing value: %+v, and its opposite %+v; want both failed", canon, out, outNeg)
				}
				continue
			}
			if out.Value == "" || outNeg.Value != out.Value || outNeg.Pass == out.Pass {
				t.Fatalf("%q: %+v, but its opposite %q: %+v", canon, out, neg.String(), outNeg)
			}
		}
	})
}

func ExampleParseThreshold() {
	for _, s := range []string{"delivery.p99 < 200ms", "errors<1%", "delivery.p99<<2ms"} {
		t, err := ParseThreshold(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t)
	}
	// Output:
	// delivery.p99<200ms
	// errors<1%
	// --threshold "delivery.p99<<2ms": at 13: want a number
}
