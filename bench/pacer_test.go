package bench

import (
	"testing"
	"time"
)

func TestConstantRate(t *testing.T) {
	for _, tc := range []struct {
		rate   float64
		hit    uint64
		want   time.Duration
		wantOK bool
	}{
		{rate: 100, hit: 0, want: 0, wantOK: true},
		{rate: 100, hit: 1, want: 10 * time.Millisecond, wantOK: true},
		{rate: 100, hit: 3, want: 30 * time.Millisecond, wantOK: true},
		{rate: 3, hit: 1, want: 333_333_333, wantOK: true},
		{rate: 3, hit: 2, want: 666_666_667, wantOK: true},
		{rate: 3, hit: 3, want: time.Second, wantOK: true},
		{rate: 0.5, hit: 2, want: 4 * time.Second, wantOK: true},
		{rate: 10_000, hit: 123_456_789, want: 12_345_678_900 * time.Microsecond, wantOK: true},
		{rate: 1e-9, hit: 1 << 40}, // beyond what a Duration holds
		{rate: 0, hit: 0},
		{rate: -5, hit: 0},
	} {
		got, ok := ConstantRate{PerSecond: tc.rate}.Hit(tc.hit)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ConstantRate{%v}.Hit(%d) = %v, %v; want %v, %v", tc.rate, tc.hit, got, ok, tc.want, tc.wantOK)
		}
	}
}
