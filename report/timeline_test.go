package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

func TestIntervalSeries(t *testing.T) {
	ivs := []bench.IntervalResult{
		{TS: 0, Open: 1, Opened: 3, Events: 10, HeadlineP99Ms: 2},
		{TS: 1, Open: 4, Opened: 3, Events: 20, HeadlineP99Ms: 5},
		{TS: 2, Open: 2, Opened: 0, Events: 30, HeadlineP99Ms: 1},
		{TS: 3, Open: 7, Opened: 6, Events: 0, Errors: 4},
	}
	tests := []struct {
		per                       int
		open, opened, events, p99 []float64
	}{
		{1, []float64{1, 4, 2, 7}, []float64{3, 3, 0, 6}, []float64{10, 20, 30, 0}, []float64{2, 5, 1, 0}},
		// Three seconds a column: open at the column's end, rates averaged,
		// p99 the highest.
		{3, []float64{2, 7}, []float64{2, 6}, []float64{20, 0}, []float64{5, 0}},
		{10, []float64{7}, []float64{3}, []float64{15}, []float64{5}},
	}
	for _, tt := range tests {
		ss := intervalSeries(ivs, tt.per, "delivery")
		by := map[string][]float64{}
		for _, s := range ss {
			by[s.Name] = s.Values
		}
		for name, want := range map[string][]float64{"open": tt.open, "opened/s": tt.opened, "events/s": tt.events, "p99 delivery": tt.p99} {
			if !equalFloats(by[name], want) {
				t.Errorf("per %d: %s = %v, want %v", tt.per, name, by[name], want)
			}
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		values []float64
		peak   float64
		want   string
	}{
		{[]float64{0, 1, 2, 4, 8}, 8, " ▁▂▄█"},
		{[]float64{0, 0}, 0, "  "},
		{[]float64{0.01, 100}, 100, "▁█"}, // tiny but not zero
		{nil, 1, ""},
	}
	for _, tt := range tests {
		if got := sparkline(tt.values, tt.peak); got != tt.want {
			t.Errorf("sparkline(%v, %v) = %q, want %q", tt.values, tt.peak, got, tt.want)
		}
	}
}

func TestColumnSeconds(t *testing.T) {
	tests := []struct{ n, width, want int }{
		{10, 60, 1}, {60, 60, 1}, {61, 60, 2}, {3600, 60, 60}, {0, 60, 1}, {5, 0, 5},
	}
	for _, tt := range tests {
		if got := columnSeconds(tt.n, tt.width); got != tt.want {
			t.Errorf("columnSeconds(%d, %d) = %d, want %d", tt.n, tt.width, got, tt.want)
		}
	}
}

// A long run is bucketed to fit; warmup columns are dotted; empty series
// are left out but open stays.
func TestWriteTimeline(t *testing.T) {
	r := aiResult(t)
	for _, w := range []int{40, 60, 100} {
		var b bytes.Buffer
		writeTimeline(&b, r, "ttft", w, newLoadStyles(&b, false))
		out := b.String()
		for _, l := range strings.Split(out, "\n") {
			if textWidth(l) > w {
				t.Errorf("width %d: %q is %d wide", w, l, textWidth(l))
			}
		}
		// At 40 a column is 8 s, longer than the 5 s warmup: no column is
		// all warmup.
		if !strings.Contains(out, "  open ") || strings.Contains(out, "·") != (w > 40) || strings.Contains(out, "bytes") {
			t.Errorf("width %d:\n%s", w, out)
		}
	}
	var b bytes.Buffer
	r.Intervals = r.Intervals[:3]
	for i := range r.Intervals {
		r.Intervals[i] = bench.IntervalResult{TS: float64(i)}
	}
	writeTimeline(&b, r, "", 80, newLoadStyles(&b, false))
	if got := b.String(); !strings.Contains(got, "  open") || strings.Contains(got, "events/s") || strings.Contains(got, "p99") {
		t.Errorf("all-zero intervals:\n%s", got)
	}
}
