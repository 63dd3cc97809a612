package cmd

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"500/s", 500, true},
		{"500", 500, true},
		{"30/m", 0.5, true},
		{"3600/h", 1, true},
		{"2/ms", 2000, true},
		{"10/100ms", 100, true},
		{" 7 / s ", 7, true},
		{"0", 0, true},
		{"fast", 0, false},
		{"-1/s", 0, false},
		{"5/fortnight", 0, false},
		{"NaN/s", 0, false},
		{"1e10/s", 0, false},
		{"5/0s", 0, false},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseRate(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseStages(t *testing.T) {
	got, err := parseStages("30s:100, 1m:1000,30s:0")
	want := bench.Stages{{Duration: 30 * time.Second, Target: 100}, {Duration: time.Minute, Target: 1000}, {Duration: 30 * time.Second, Target: 0}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "30s", "30s:", ":5", "x:5", "30s:-1", "30s:1.5", "-5s:10"} {
		if _, err := parseStages(bad); err == nil {
			t.Errorf("parseStages(%q) succeeded, want an error", bad)
		}
	}
}

func TestRampValue(t *testing.T) {
	var r rampValue
	if err := r.Set("200/s"); err != nil || r.rate != 200 || r.time != 0 {
		t.Errorf("200/s: %+v %v", r, err)
	}
	if err := r.Set("10s"); err != nil || r.rate != 0 || r.time != 10*time.Second {
		t.Errorf("10s: %+v %v", r, err)
	}
	if err := r.Set("soon"); err == nil {
		t.Error("soon: want an error")
	}
}

// FuzzFlagValues: the typed flag parsers (--rate, --stages, --ramp) never
// panic; what they refuse, they refuse with one line that quotes the input;
// what they accept is within range (a rate from 0 to 1e9/s, stage durations
// and targets of 0 or more) and prints back (String, which --help and the
// report show) to something they accept again with exactly the same value.
func FuzzFlagValues(f *testing.F) {
	for _, s := range []string{
		"500/s", "30/m", "3600/h", "2/ms", "10/100ms", " 7 / s ", "1e3", "0", "0/s", "1e9/s", "1e9/1ns", "1/2562047h",
		"5e-324/s", "30s:100,1m:0", "0:0", "1m:1000000", "1s:9223372036854775807", "1h2m3.5s:7, 0s:0",
		"200/s", "10s", "1h0m0.000000001s", "-1s", "NaN/s", "Inf", ",", "/", ":", "",
	} {
		f.Add(s)
	}
	oneLine := func(t *testing.T, what, s string, err error) {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s %q: error of more than one line: %q", what, s, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r rateValue
		if err := r.Set(s); err != nil {
			oneLine(t, "rate", s, err)
		} else {
			if !(r.perSecond >= 0 && r.perSecond <= 1e9) {
				t.Fatalf("rate %q read as %v/s: out of range", s, r.perSecond)
			}
			var again rateValue
			if err := again.Set(r.String()); err != nil || again.perSecond != r.perSecond {
				t.Fatalf("rate %q printed as %q, which reads back as %v (%v)", s, r.String(), again.perSecond, err)
			}
		}
		var st stagesValue
		if err := st.Set(s); err != nil {
			oneLine(t, "stages", s, err)
		} else {
			var again stagesValue
			if err := again.Set(st.String()); err != nil || !slices.Equal(again.stages, st.stages) {
				t.Fatalf("stages %q printed as %q, which reads back as %v (%v), want %v", s, st.String(), again.stages, err, st.stages)
			}
			for _, x := range st.stages {
				if x.Duration < 0 || !(x.Target >= 0) || x.Target != math.Trunc(x.Target) {
					t.Fatalf("stages %q: stage %+v out of range", s, x)
				}
			}
		}
		var rp rampValue
		if err := rp.Set(s); err != nil {
			oneLine(t, "ramp", s, err)
		} else {
			if rp.rate < 0 || rp.time < 0 || rp.rate > 0 && rp.time > 0 {
				t.Fatalf("ramp %q read as %+v", s, rp)
			}
			var again rampValue
			if err := again.Set(rp.String()); err != nil || again != rp {
				t.Fatalf("ramp %q printed as %q, which reads back as %+v (%v), want %+v", s, rp.String(), again, err, rp)
			}
		}
	})
}
