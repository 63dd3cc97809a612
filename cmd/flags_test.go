package cmd

import (
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

// FuzzFlagValues: the typed flag parsers never panic, and what they accept
// prints back to something they accept again with the same value.
func FuzzFlagValues(f *testing.F) {
	for _, s := range []string{"500/s", "30/m", "10/100ms", "1e3", "30s:100,1m:0", "0:0", "200/s", "10s", ",", "/", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r rateValue
		if r.Set(s) == nil {
			var again rateValue
			if err := again.Set(r.String()); err != nil || again.perSecond != r.perSecond {
				t.Fatalf("rate %q printed as %q, which reads back as %v (%v)", s, r.String(), again.perSecond, err)
			}
		}
		var st stagesValue
		if st.Set(s) == nil {
			var again stagesValue
			if err := again.Set(st.String()); err != nil || len(again.stages) != len(st.stages) {
				t.Fatalf("stages %q printed as %q, which reads back as %v (%v)", s, st.String(), again.stages, err)
			}
		}
		var rp rampValue
		_ = rp.Set(s)
	})
}
