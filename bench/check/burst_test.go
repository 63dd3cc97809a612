package check

import (
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestFmtDur(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{850 * time.Microsecond, "850µs"},
		{999_600 * time.Nanosecond, "1.00ms"},
		{1234 * time.Microsecond, "1.23ms"},
		{12_345 * time.Microsecond, "12.3ms"},
		{99_960 * time.Microsecond, "100ms"},
		{999_700 * time.Microsecond, "1.00s"},
		{1_020 * time.Millisecond, "1.02s"},
		{45_600 * time.Millisecond, "45.6s"},
		{59_990 * time.Millisecond, "1m0s"},
		{123 * time.Second, "2m3s"},
		{-5 * time.Millisecond, "-5.00ms"},
	}
	for _, tt := range tests {
		if got := fmtDur(tt.d); got != tt.want {
			t.Errorf("fmtDur(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 500 * time.Millisecond: "500ms", time.Minute: "1m", 90 * time.Second: "1m30s", time.Hour: "1h"} {
		if got := fmtBound(d); got != want {
			t.Errorf("fmtBound(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestBurstTracker: the burst definition, on arrivals and server stamps
// given in milliseconds.
func TestBurstTracker(t *testing.T) {
	type ev struct{ at, srv int } // ms; srv < 0: no stamp
	tests := []struct {
		name   string
		events []ev
		judged int
		worst  burst
	}{
		{"real time", []ev{{0, 0}, {100, 100}, {200, 200}, {300, 300}}, 4, burst{}},
		{"three held then released", []ev{{300, 0}, {300, 100}, {301, 200}}, 3,
			burst{Events: 3, Sent: 200 * time.Millisecond, Arrived: time.Millisecond}},
		{"two together are not a burst", []ev{{100, 0}, {100, 100}, {200, 200}}, 3, burst{}},
		{"a fast producer: stamps as close as arrivals", []ev{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, 4, burst{}},
		{"coalesced by TCP: under the 50ms floor", []ev{{40, 0}, {40, 20}, {40, 40}}, 3, burst{}},
		{"spread not 10x the arrivals", []ev{{0, 0}, {10, 30}, {19, 60}}, 3, burst{}},
		{"the largest burst wins", []ev{{100, 0}, {100, 50}, {100, 100}, {500, 150}, {500, 200}, {500, 250}, {500, 300}}, 7,
			burst{Events: 4, Sent: 150 * time.Millisecond}},
		{"a window longer than 20ms is two runs", []ev{{0, 0}, {15, 100}, {30, 200}}, 3, burst{}},
		{"unstamped events are not judged", []ev{{0, -1}, {0, -1}, {0, -1}}, 0, burst{}},
	}
	t0 := time.Unix(1_800_000_000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b burstTracker
			for _, e := range tt.events {
				var st transport.Stamp
				if e.srv >= 0 {
					st = transport.Stamp{SentNS: t0.Add(time.Duration(e.srv) * time.Millisecond).UnixNano(), HasSent: true}
				}
				b.add(t0.Add(time.Duration(e.at)*time.Millisecond), st)
			}
			if b.judged != tt.judged || b.worst != tt.worst {
				t.Fatalf("judged %d, worst %+v; want %d, %+v", b.judged, b.worst, tt.judged, tt.worst)
			}
		})
	}
	// A burst never spans a reconnect.
	var b burstTracker
	st := func(ms int) transport.Stamp {
		return transport.Stamp{SchedNS: t0.Add(time.Duration(ms) * time.Millisecond).UnixNano(), HasSched: true}
	}
	b.add(t0, st(0))
	b.add(t0, st(100))
	b.newConnection()
	b.add(t0, st(200))
	if b.worst.Events != 0 {
		t.Fatalf("burst across a reconnect: %+v", b.worst)
	}
	// A payload clock (ts, time, …) counts as a stamp too.
	b = burstTracker{}
	for i := range 3 {
		b.add(t0, transport.Stamp{Clock: t0.Add(time.Duration(100*i) * time.Millisecond).UnixNano(), HasClock: true})
	}
	if b.worst.Events != 3 {
		t.Fatalf("ts stamps: %+v", b.worst)
	}
}

// TestClumpTracker: the clump definition, on arrivals alone (ms after a
// connection's start; -1 starts a new connection).
func TestClumpTracker(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []float64
		want     int // events of the largest clump; 0 none
	}{
		{"on cadence", []float64{0, 30, 60, 90, 120, 150}, 0},
		{"a fast stream", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 0},
		{"the first release alone: a backlog on connect looks the same", []float64{300, 300.01, 300.02, 300.03}, 0},
		{"held, released ten at a time", []float64{300, 300.01, 300.02, 300.03, 600, 600.01, 600.02, 600.03, 600.04}, 5},
		{"two events after a silence are not a clump", []float64{0, 30, 300, 300.01}, 0},
		{"a silence not 10x the clump's span", []float64{0, 60, 65, 70, 75}, 0},
		{"a clump never spans a reconnect", []float64{0, 30, 60, -1, 200, 200.01, 200.02}, 0},
	}
	for _, tt := range tests {
		var c clumpTracker
		base := time.Unix(1000, 0)
		for _, ms := range tt.arrivals {
			if ms < 0 {
				c.newConnection()
				continue
			}
			c.add(base.Add(time.Duration(ms * float64(time.Millisecond))))
		}
		if c.worst.Events != tt.want {
			t.Errorf("%s: clump of %d events (%+v), want %d", tt.name, c.worst.Events, c.worst, tt.want)
		}
	}
}

// TestBurstDuringOwnStall: a burst whose events were sent within a stall of
// rtbench itself (its self-check) may be rtbench's delay, so it warns
// instead of failing; a burst longer than the stall still fails.
func TestBurstDuringOwnStall(t *testing.T) {
	for _, tt := range []struct {
		stall time.Duration
		want  Verdict
	}{
		{0, Fail},
		{50 * time.Millisecond, Fail},
		{150 * time.Millisecond, Warn},
	} {
		pr := &probe{p: &plan{mode: ModeSSE}, stall: tt.stall}
		pr.burst.judged = 5
		pr.burst.worst = burst{Events: 3, Sent: 100 * time.Millisecond, Arrived: 28 * time.Microsecond}
		if v := pr.judgeBursts(true, ""); v.Verdict != tt.want {
			t.Errorf("stall %v: buffering %s (%s; %s), want %s", tt.stall, v.Verdict, v.Measured, v.Reason, tt.want)
		}
	}
}
