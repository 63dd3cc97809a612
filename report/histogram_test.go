package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

func histOf(values ...time.Duration) *bench.Hist {
	h := bench.NewHist()
	for _, v := range values {
		h.Record(v)
	}
	return h
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestLogBuckets(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		values []time.Duration
		n      int
		want   int // buckets
		tail   bool
	}{
		{"one value", repeat(3*ms, 10), 16, 1, false},
		{"two values", []time.Duration{ms, 2 * ms}, 16, 2, false},
		{"only zeros", []time.Duration{-ms, 0, 0}, 16, 1, false},
		{"zeros and values", append([]time.Duration{-ms, 0}, spread(9, 500, 2*ms, 1)...), 16, 16, false},
		{"wide", spread(10, 3000, 20*ms, 3), 16, 16, false},
		{"few rows", spread(11, 3000, 20*ms, 1), 4, 4, false},
		{"one outlier at the ceiling", append(spread(12, 3000, 20*ms, 1), 2*time.Hour), 16, 16, true},
		{"empty", nil, 16, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := histOf(tt.values...)
			bs := logBuckets(h, tt.n)
			if len(bs) != tt.want {
				t.Fatalf("%d buckets, want %d: %+v", len(bs), tt.want, bs)
			}
			if len(bs) == 0 {
				return
			}
			var sum int64
			for i, b := range bs {
				sum += b.Count
				if b.Hi < b.Lo {
					t.Errorf("bucket %d: %v > %v", i, b.Lo, b.Hi)
				}
				if i > 0 && b.Lo != bs[i-1].Hi {
					t.Errorf("bucket %d starts at %v, the previous ends at %v", i, b.Lo, bs[i-1].Hi)
				}
			}
			if sum != h.Count() {
				t.Errorf("buckets hold %d values, the histogram %d", sum, h.Count())
			}
			if bs[0].Lo != h.Min() || bs[len(bs)-1].Hi != h.Max() {
				t.Errorf("buckets span %v–%v, values %v–%v", bs[0].Lo, bs[len(bs)-1].Hi, h.Min(), h.Max())
			}
			if bs[0].Count == 0 || bs[len(bs)-1].Count == 0 {
				t.Errorf("first or last bucket empty: %+v", bs)
			}
			last := bs[len(bs)-1]
			if isTail := last.Lo <= h.Quantile(99.9) && len(bs) > 2 && last.Hi > TailFactor*last.Lo; isTail != tt.tail {
				t.Errorf("tail bucket %v–%v: tail=%v, want %v", last.Lo, last.Hi, isTail, tt.tail)
			}
		})
	}
}

func TestBucketsLogSpaced(t *testing.T) {
	bs := logBuckets(histOf(spread(13, 5000, 10*time.Millisecond, 2)...), 8)
	// Inner edges grow by the same factor (within rounding to 1 µs).
	ratio := float64(bs[2].Lo) / float64(bs[1].Lo)
	for i := 2; i < len(bs)-1; i++ {
		if r := float64(bs[i+1].Lo) / float64(bs[i].Lo); r < ratio*0.99 || r > ratio*1.01 {
			t.Errorf("edge ratio %d: %.4f, want %.4f", i, r, ratio)
		}
	}
}

func TestBlockBar(t *testing.T) {
	tests := []struct {
		v, full int64
		w       int
		want    string
	}{
		{0, 10, 10, ""},
		{10, 10, 4, "████"},
		{5, 10, 4, "██"},
		{1, 16, 2, "▉"[:0] + "▏"}, // 1/16 of 16 eighths = 1 eighth
		{1, 1000, 10, "▏"},        // tiny but visible
		{3, 8, 1, "▍"},
		{7, 8, 2, "█▊"},
	}
	for _, tt := range tests {
		if got := blockBar(tt.v, tt.full, tt.w); got != tt.want {
			t.Errorf("blockBar(%d, %d, %d) = %q, want %q", tt.v, tt.full, tt.w, got, tt.want)
		}
	}
}

func TestWriteHistogram(t *testing.T) {
	h := histOf(spread(14, 2000, 5*time.Millisecond, 1.5)...)
	for _, w := range []int{40, 60, 100} {
		var b bytes.Buffer
		writeHistogram(&b, h, w, newLoadStyles(&b, false))
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != len(logBuckets(h, HistogramRows)) {
			t.Errorf("width %d: %d lines, want one per bucket", w, len(lines))
		}
		p50, p99 := 0, 0
		for _, l := range lines {
			if textWidth(l) > w {
				t.Errorf("width %d: %q is %d wide", w, l, textWidth(l))
			}
			p50 += strings.Count(l, "p50")
			p99 += strings.Count(l, "p99")
		}
		if w >= 60 && (p50 != 1 || p99 != 1) {
			t.Errorf("width %d: p50 marked %d times, p99 %d times", w, p50, p99)
		}
	}
}
