package bench

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseRegression(t *testing.T) {
	for _, tt := range []struct {
		in      string
		err     string
		delta   float64
		rel     bool
		subject string
	}{
		{in: "delivery.p99>+10%", delta: 10, rel: true, subject: "delivery.p99"},
		{in: "ttft.max > +200ms", delta: 200, subject: "ttft.max"},
		{in: "delivery.p50>+1s", delta: 1000, subject: "delivery.p50"},
		{in: "events<-5%", delta: -5, rel: true, subject: "events"},
		{in: "errors>+0.5", delta: 0.5, subject: "errors"},
		{in: "delivery.count<-1%", delta: -1, rel: true, subject: "delivery.count"},
		{in: "delivery.p99>10", err: "want % or a unit"},
		{in: "delivery.p99>+10parsecs", err: `unknown unit "parsecs"`},
		{in: "nope.p99>+1%", err: `unknown metric "nope"`},
		{in: "delivery.p99", err: "want an operator"},
		{in: "delivery.p99>%", err: "want a change"},
		{in: "delivery.p99>+1% x", err: "unexpected"},
	} {
		r, err := ParseRegression(tt.in)
		if tt.err != "" {
			var te *ThresholdError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--fail-if "+strconv.Quote(tt.in)) {
				t.Errorf("ParseRegression(%q) = %v; want an error quoting the input and saying %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRegression(%q): %v", tt.in, err)
			continue
		}
		if math.Abs(r.delta-tt.delta) > 1e-9 || r.relative != tt.rel || r.t.subjectName() != tt.subject {
			t.Errorf("ParseRegression(%q) = delta %v rel %v subject %s; want %v %v %s", tt.in, r.delta, r.relative, r.t.subjectName(), tt.delta, tt.rel, tt.subject)
		}
	}
}

// diffPair is two results whose delivery p99 is 10 ms and 12 ms, and whose
// events rate halves.
func diffPair(t testing.TB) (base, next *Result) {
	mk := func(lat time.Duration, events int64) *Result {
		rec := NewRecording()
		rec.Start, rec.MeasureFrom, rec.End = t0, t0, t0.Add(10*time.Second)
		for range 1000 {
			rec.Hists[Delivery].Record(lat)
		}
		rec.Counters[Events] = events
		rec.Counters[SessionsStarted] = 100
		return mustResult(t, rec, pushMeta("h"))
	}
	return mk(10*time.Millisecond, 1000), mk(12*time.Millisecond, 500)
}

func TestRegressionCheck(t *testing.T) {
	base, next := diffPair(t)
	for _, tt := range []struct {
		cond      string
		regressed bool
	}{
		{"delivery.p99>+10%", true}, // +20 %
		{"delivery.p99>+25%", false},
		{"delivery.p99>+1ms", true}, // +2 ms
		{"delivery.p99>+3ms", false},
		{"events<-40%", true}, // −50 %
		{"events<-60%", false},
		{"errors>+0.1", false},
		{"ttft.p99>+1%", true}, // no value on either side: nothing to compare
	} {
		r, err := ParseRegression(tt.cond)
		if err != nil {
			t.Fatal(err)
		}
		got, change := r.Check(base, next)
		if got != tt.regressed {
			t.Errorf("%s: regressed %v (%s), want %v", tt.cond, got, change, tt.regressed)
		}
	}
	rows := Diff(base, next)
	var p99 *DiffRow
	for i := range rows {
		if rows[i].Name == "delivery.p99" {
			p99 = &rows[i]
		}
	}
	if p99 == nil || p99.Change < 1.9 || p99.Change > 2.1 || p99.ChangePct == nil || math.Abs(*p99.ChangePct-20) > 1 {
		t.Errorf("delivery.p99 row %+v; want +2 ms, +20 %%", p99)
	}
}

func FuzzParseRegression(f *testing.F) {
	for _, s := range []string{"delivery.p99>+10%", "ttft.max>+200ms", "events<-5%", "errors>+0.5", "delivery.count<=-1", "x", ""} {
		f.Add(s)
	}
	base, next := diffPair(f)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRegression(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--fail-if "+strconv.Quote(s)) {
				t.Fatalf("error %q does not quote the input %q", err, s)
			}
			return
		}
		r.Check(base, next) // no panic
		if r.String() != strings.TrimSpace(s) {
			t.Fatalf("String %q, input %q", r.String(), s)
		}
	})
}

func FuzzProgressLine(f *testing.F) {
	f.Add([]byte(`rtbench-progress {"agent":1,"elapsed_s":2.5,"open":10,"target":10,"rate":0,"events_per_s":100,"requests_per_s":0,"errors":0,"dropped":0,"headline":"delivery","headline_p99_ms":3.2}`))
	f.Add([]byte("rtbench: something else"))
	f.Fuzz(func(t *testing.T, line []byte) {
		agent, p, ok := ParseProgressLine(line)
		if !ok {
			return
		}
		var b strings.Builder
		if err := WriteProgressLine(&b, agent, p); err != nil {
			t.Fatal(err)
		}
		a2, p2, ok := ParseProgressLine([]byte(strings.TrimSuffix(b.String(), "\n")))
		if !ok || a2 != agent || p2.Open != p.Open || p2.Errors != p.Errors || p2.HeadlineOK != p.HeadlineOK {
			t.Fatalf("round trip: %+v → %q → %+v", p, b.String(), p2)
		}
	})
}
