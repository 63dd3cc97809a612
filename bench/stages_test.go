package bench

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

const sec = time.Second

func TestStagesValue(t *testing.T) {
	s := Stages{{sec, 10}, {2 * sec, 10}, {0, 30}, {sec, 0}}
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{
		{0, 0}, {500 * time.Millisecond, 5}, {sec, 10}, {2 * sec, 10}, {3 * sec, 30},
		{3500 * time.Millisecond, 15}, {4 * sec, 0}, {time.Hour, 0},
	} {
		if got := s.Value(tc.at); got != tc.want {
			t.Errorf("Value(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if got := s.Duration(); got != 4*sec {
		t.Errorf("Duration = %v, want 4s", got)
	}
}

func TestStagesHit(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	for _, tc := range []struct {
		name   string
		stages Stages
		hit    uint64
		want   time.Duration
		wantOK bool
	}{
		{"constant: first hit at once", Stages{{0, 100}, {sec, 100}}, 0, 0, true},
		{"constant: every 10ms", Stages{{0, 100}, {sec, 100}}, 37, ms(370), true},
		{"constant: the last hit at the end", Stages{{0, 100}, {sec, 100}}, 100, sec, true},
		{"constant: then it stops", Stages{{0, 100}, {sec, 100}}, 101, 0, false},
		{"ramp 0→100/s in 1s: ∫ = 50t²", Stages{{sec, 100}}, 2, ms(200), true},
		{"ramp: hit 8 at 0.4s", Stages{{sec, 100}}, 8, ms(400), true},
		{"ramp: hit 50 at 1s", Stages{{sec, 100}}, 50, sec, true},
		{"ramp down 100→0 in 1s: ∫ = 100t − 50t²", Stages{{0, 100}, {sec, 0}}, 18, ms(200), true},
		{"a silent stage first", Stages{{sec, 0}, {sec, 100}}, 0, sec, true},
		{"a silent stage first, then the ramp", Stages{{sec, 0}, {sec, 100}}, 8, sec + ms(400), true},
		{"across stages", Stages{{0, 10}, {sec, 10}, {sec, 20}}, 17, sec + ms(1000*(-10+math.Sqrt(240))/10), true},
		{"across stages: the end", Stages{{0, 10}, {sec, 10}, {sec, 20}}, 25, 2 * sec, true},
		{"all silent", Stages{{sec, 0}}, 0, 0, false},
		{"no stages", nil, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.stages.Hit(tc.hit)
			if ok != tc.wantOK || (ok && (got-tc.want > time.Microsecond || tc.want-got > time.Microsecond)) {
				t.Errorf("Hit(%d) = %v, %v; want %v, %v", tc.hit, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestStagesHitsAreOrdered checks that intended times never go backwards
// and that the count of hits matches the area under the rate.
func TestStagesHitsAreOrdered(t *testing.T) {
	s := Stages{{sec, 50}, {2 * sec, 50}, {sec, 200}, {0, 10}, {3 * sec, 0}}
	var prev time.Duration
	n := uint64(0)
	for ; ; n++ {
		at, ok := s.Hit(n)
		if !ok {
			break
		}
		if at < prev {
			t.Fatalf("hit %d at %v, before hit %d at %v", n, at, n-1, prev)
		}
		prev = at
	}
	// area: 25 + 100 + 125 + 15 = 265, hits 0…265.
	if n != 266 {
		t.Errorf("%d hits, want 266", n)
	}
}

func TestStagesLevels(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	type lv struct {
		At    time.Duration
		Level int
	}
	for _, tc := range []struct {
		name   string
		stages Stages
		want   []lv
	}{
		{"ramp up", Stages{{sec, 4}}, []lv{{ms(250), 1}, {ms(500), 2}, {ms(750), 3}, {sec, 4}}},
		{"up, hold, down", Stages{{sec, 2}, {sec, 2}, {sec, 0}},
			[]lv{{ms(500), 1}, {sec, 2}, {ms(2500), 1}, {3 * sec, 0}}},
		{"jump", Stages{{0, 3}, {sec, 3}}, []lv{{0, 3}}},
		{"fractional: up to 2.5 holds 2, down from 2.5 to 0", Stages{{sec, 2.5}, {sec, 0}},
			[]lv{{ms(400), 1}, {ms(800), 2}, {sec + ms(600), 1}, {2 * sec, 0}}},
		{"jump to a fraction rounds towards where it came from", Stages{{0, 2.7}, {0, 1.2}}, []lv{{0, 2}}},
		{"no change, nothing yielded", Stages{{sec, 0}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []lv
			for at, l := range tc.stages.Levels() {
				got = append(got, lv{at, l})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("levels %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStagesValidate(t *testing.T) {
	for _, tc := range []struct {
		stages  Stages
		wantErr bool
	}{
		{Stages{{sec, 10}, {0, 0}}, false},
		{Stages{{-sec, 10}}, true},
		{Stages{{sec, -1}}, true},
		{Stages{{0, 0}}, true},             // does nothing
		{Stages{{sec, 0}, {sec, 0}}, true}, // does nothing
		{Stages{{sec, 0}, {sec, 1}}, false},
		{nil, false}, // no stages: -c and the ramp decide
	} {
		if err := tc.stages.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%v: Validate() = %v", fmt.Sprint(tc.stages), err)
		}
	}
}
