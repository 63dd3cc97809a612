package bounds

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	ticks := Rate{Name: "rate", Unit: "ticks", Max: 1000, Zero: "no ticks"}
	tokens := Rate{Name: "tps", Unit: "tokens", Max: 1e6}
	tests := []struct {
		r       Rate
		in      string
		want    float64
		wantErr string
	}{
		{ticks, "0", 0, ""},
		{ticks, "0.001", 0.001, ""},
		{ticks, "1000", 1000, ""},
		{ticks, "1e-10", 0, `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "1e-10"`},
		{ticks, "0.0009", 0, `got "0.0009"`},
		{ticks, "-0.001", 0, `got "-0.001"`},
		{ticks, "1000.5", 0, `got "1000.5"`},
		{ticks, "NaN", 0, `got "NaN"`},
		{ticks, "Inf", 0, `got "Inf"`},
		{ticks, "", 0, `got ""`},
		{ticks, "fast", 0, `got "fast"`},
		{tokens, "0", 0, `tps: want tokens per second, a number from 0.001 to 1e+06; got "0"`},
		{tokens, "1e-300", 0, `got "1e-300"`},
		{tokens, "1e-9", 0, `got "1e-9"`},
		{tokens, "50", 50, ""},
	}
	for _, tt := range tests {
		t.Run(tt.r.Name+"="+tt.in, func(t *testing.T) {
			got, err := tt.r.Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T, want *Error", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	hb := Interval("heartbeat", "no heartbeat", "15s")
	iv := Interval("interval", "", "500ms")
	jit := Upto("jitter", time.Minute, "20ms")
	tests := []struct {
		d       Duration
		in      string
		want    time.Duration
		wantErr string
	}{
		{hb, "0", 0, ""},
		{hb, "0s", 0, ""},
		{hb, "1ms", time.Millisecond, ""},
		{hb, "1h", time.Hour, ""},
		{hb, "1ns", 0, `heartbeat: want a duration, 0 (no heartbeat) or from 1ms to 1h, such as 15s; got "1ns"`},
		{hb, "999us", 0, `got "999us"`},
		{hb, "1h0m0.001s", 0, `got "1h0m0.001s"`},
		{hb, "-1s", 0, `got "-1s"`},
		{hb, "15", 0, `got "15"`},
		{iv, "0s", 0, `interval: want a duration from 1ms to 1h, such as 500ms; got "0s"`},
		{iv, "1ms", time.Millisecond, ""},
		{jit, "0s", 0, ""},
		{jit, "1ns", 1, ""},
		{jit, "1m", time.Minute, ""},
		{jit, "61s", 0, `jitter: want a duration from 0s to 1m, such as 20ms; got "61s"`},
		{jit, "-1ns", 0, `got "-1ns"`},
		{Upto("x", 2*time.Hour, ""), "90m", 0, `x: want a duration from 0s to 1h; got "90m"`}, // never past MaxDuration
	}
	for _, tt := range tests {
		t.Run(tt.d.Name+"="+tt.in, func(t *testing.T) {
			got, err := tt.d.Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	if err := hb.As("--heartbeat").Check(time.Nanosecond); err == nil || !strings.HasPrefix(err.Error(), `--heartbeat: want`) || !strings.HasSuffix(err.Error(), `got "1ns"`) {
		t.Errorf("Check(1ns) = %v", err)
	}
}

// TestSpanNeverOverflows: the time n things take at a tiny rate saturates;
// the naive time.Duration(n*1e9/rate) gives math.MinInt64 on amd64, a
// negative span that passes every "at most an hour" check.
func TestSpanNeverOverflows(t *testing.T) {
	tests := []struct {
		n, rate float64
		want    time.Duration
	}{
		{0, 0, 0},
		{1, 0, math.MaxInt64},
		{99, 1e-300, math.MaxInt64},
		{99_999, 1e-9, math.MaxInt64},
		{100, 100, time.Second},
		{1, MinRate, 1000 * time.Second},
		{1, math.NaN(), math.MaxInt64},
		{math.Inf(1), 1, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := Span(tt.n, tt.rate); got != tt.want {
			t.Errorf("Span(%g, %g) = %v, want %v", tt.n, tt.rate, got, tt.want)
		}
	}
	if got := Add(time.Hour, math.MaxInt64, time.Hour); got != math.MaxInt64 {
		t.Errorf("Add saturating up = %v", got)
	}
	if got := Add(-time.Hour, math.MinInt64); got != math.MinInt64 {
		t.Errorf("Add saturating down = %v", got)
	}
	if got := Seconds(math.NaN()); got != 0 {
		t.Errorf("Seconds(NaN) = %v", got)
	}
}

// FuzzParse: whatever the input, a parse never panics, never accepts a value
// out of the bounds, errors are one line naming the parameter, and an
// accepted value parses back to itself from its canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1e-10", "1e-300", "0.001", "1ns", "1ms", "15s", "1h", "NaN", "-Inf", "1e309", "9223372036854775807ns", "\n", "\x00"} {
		f.Add(s)
	}
	r := Rate{Name: "rate", Unit: "events", Max: 10000, Zero: "none"}
	d := Interval("heartbeat", "none", "15s")
	j := Upto("jitter", time.Hour, "5ms")
	f.Fuzz(func(t *testing.T, s string) {
		oneLine := func(err error) {
			if err != nil && (strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), ": want ")) {
				t.Fatalf("error %q: want one line naming the bounds", err)
			}
		}
		v, err := r.Parse(s)
		oneLine(err)
		if err == nil {
			if v != 0 && (v < MinRate || v > 10000) {
				t.Fatalf("rate %q accepted as %v", s, v)
			}
			if back, err := r.Parse(fmtFloat(v)); err != nil || back != v {
				t.Fatalf("rate %v: round trip %v %v", v, back, err)
			}
			if v > 0 {
				if iv := Span(1, v); iv < time.Millisecond/10 || iv > 1000*time.Second {
					t.Fatalf("rate %v: interval %v", v, iv)
				}
			}
		}
		for _, b := range []Duration{d, j} {
			v, err := b.Parse(s)
			oneLine(err)
			if err == nil {
				if v < 0 || v > MaxDuration || (b.Min > 0 && v != 0 && v < b.Min) {
					t.Fatalf("%s %q accepted as %v", b.Name, s, v)
				}
				if back, err := b.Parse(v.String()); err != nil || back != v {
					t.Fatalf("%s %v: round trip %v %v", b.Name, v, back, err)
				}
			}
		}
	})
}
