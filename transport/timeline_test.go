package transport_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestTimelineSpread: each connection's ticks move earlier by its own
// offset, below the spread and below one interval, the same for the same
// key; the offsets of many keys cover the range; seq numbers stay within
// one of the server-wide timeline's.
func TestTimelineSpread(t *testing.T) {
	epoch := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name           string
		rate           float64
		spread, within time.Duration // within: the offsets' bound
	}{
		{"a whole interval", 0.05, 20 * time.Second, 20 * time.Second},
		{"part of one", 1, 250 * time.Millisecond, 250 * time.Millisecond},
		{"more than one counts as one", 10, time.Hour, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := transport.NewTimeline(epoch, tc.rate, 0)
			lo, hi := tc.within, time.Duration(0)
			for i := range 1000 {
				key := fmt.Sprintf("127.0.1.%d:%d", 1+i%2, 40000+i)
				tl := base.Spread(tc.spread, key)
				if again := base.Spread(tc.spread, key); again != tl {
					t.Fatalf("%s: two timelines, %v and %v", key, tl.Epoch, again.Epoch)
				}
				off := base.Sched(7) - tl.Sched(7)
				if off < 0 || time.Duration(off) >= tc.within {
					t.Fatalf("%s: offset %v, want in [0, %v)", key, time.Duration(off), tc.within)
				}
				lo, hi = min(lo, time.Duration(off)), max(hi, time.Duration(off))
				now := base.Sched(1000) + 1
				if d, b := tl.Due(now), base.Due(now); d != b && d != b+1 {
					t.Fatalf("%s: tick %d due at once, %d on the server-wide timeline: more than one apart", key, d, b)
				}
			}
			if lo > tc.within/20 || hi < tc.within*19/20 {
				t.Errorf("1,000 connections' offsets span only [%v, %v] of [0, %v)", lo, hi, tc.within)
			}
		})
	}
	base := transport.NewTimeline(epoch, 1, 0)
	if got := base.Spread(0, "127.0.0.1:1"); got != base {
		t.Errorf("spread 0 moved the timeline to %v", got.Epoch)
	}
}

func TestParseSpread(t *testing.T) {
	for _, tc := range []struct {
		v       string
		rate    float64
		want    time.Duration
		wantErr string
	}{
		{"20s", 0.05, 20 * time.Second, ""},
		{"0s", 0, 0, ""},
		{"1s", 0, 0, "shifts ticks, but there are none"},
		{"5", 1, 0, `spread: want a duration`},
		{"2h", 1, 0, `spread: want a duration`},
	} {
		got, err := transport.ParseSpread(tc.v, tc.rate)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseSpread(%q, %v) error %v, want one containing %q", tc.v, tc.rate, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSpread(%q, %v) = %v, %v; want %v", tc.v, tc.rate, got, err, tc.want)
		}
	}
}
