package poll

import (
	"fmt"
	"testing"
	"time"
)

func TestJobOptionsDefaults(t *testing.T) {
	tests := []struct {
		in, want JobOptions
	}{
		{JobOptions{}, JobOptions{Queued: time.Second, Duration: 5 * time.Second, Steps: 10, MaxJobs: 10000, TTL: 10 * time.Minute}},
		{JobOptions{Queued: -1, Duration: -1, Steps: -1, MaxJobs: 5, TTL: time.Minute},
			JobOptions{Queued: 0, Duration: 0, Steps: 0, MaxJobs: 5, TTL: time.Minute}},
		{JobOptions{Queued: time.Hour, Duration: 2 * time.Hour, Steps: 1000},
			JobOptions{Queued: MaxQueued, Duration: MaxDuration, Steps: MaxSteps, MaxJobs: 10000, TTL: 10 * time.Minute}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestJobAt checks the schedule at every change and one nanosecond before
// it, for even and uneven step sizes.
func TestJobAt(t *testing.T) {
	tests := []struct {
		queued, duration time.Duration
		steps            int64
		// the states in order, each with the offset it begins at
		want []string
	}{
		{time.Second, 2 * time.Second, 4, []string{
			"0s queued-0", "1s running-0", "1.5s running-25", "2s running-50", "2.5s running-75", "3s completed-100"}},
		{0, time.Second, 3, []string{
			"0s running-0", "333.333334ms running-33", "666.666667ms running-66", "1s completed-100"}},
		{time.Second, 0, 10, []string{"0s queued-0", "1s completed-100"}},
		{0, 0, 10, []string{"0s completed-100"}},
		{0, 10 * time.Nanosecond, 1, []string{"0s running-0", "10ns completed-100"}},
		// More steps than nanoseconds: some steps last no time at all.
		{0, 3 * time.Nanosecond, 4, []string{"0s running-0", "1ns running-25", "2ns running-50", "3ns completed-100"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v+%v/%d", tt.queued, tt.duration, tt.steps), func(t *testing.T) {
			const created = int64(1e18)
			j := &job{created: created, queued: int64(tt.queued), duration: int64(tt.duration), steps: tt.steps}
			// Walk the states through next, checking each boundary.
			var got []string
			now := created
			for {
				st := j.at(now)
				if st.updated != now {
					t.Errorf("state at %v says it began at %v", time.Duration(now-created), time.Duration(st.updated-created))
				}
				got = append(got, fmt.Sprintf("%v %s", time.Duration(now-created), st.appendETag(nil)))
				if st.next == 0 {
					break
				}
				if st.next <= now || len(got) > 2*int(tt.steps)+2 {
					t.Fatalf("state %+v at %v does not move on", st, time.Duration(now-created))
				}
				if before := j.at(st.next - 1); before != st {
					t.Errorf("1ns before %v: %+v, want %+v", time.Duration(st.next-created), before, st)
				}
				now = st.next
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("states %q\nwant %q", got, tt.want)
			}
			if st := j.at(created + 1e15); st.status != statusCompleted || st.next != 0 {
				t.Errorf("long after: %+v", st)
			}
		})
	}
}

// TestJobAtEveryNanosecond compares the closed form with a brute-force walk.
func TestJobAtEveryNanosecond(t *testing.T) {
	for _, steps := range []int64{1, 3, 7, 10} {
		for _, d := range []int64{1, 7, 10, 23} {
			j := &job{created: 100, queued: 5, duration: d, steps: steps}
			var prev jobState
			for now := int64(100); now <= 100+5+d+1; now++ {
				st := j.at(now)
				if now > 100 && (st != prev) != (st.updated == now) {
					t.Fatalf("d=%d steps=%d now=%d: state %+v after %+v, updated %d", d, steps, now, st, prev, st.updated)
				}
				if st.status == statusRunning && (st.progress != (now-105)*steps/d*100/steps || st.next <= now) {
					t.Fatalf("d=%d steps=%d now=%d: %+v", d, steps, now, st)
				}
				prev = st
			}
		}
	}
}

func TestJobJSON(t *testing.T) {
	created := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	j := &job{id: "job_00000000000000ff", created: created, queued: 5e8, duration: 2e9, steps: 4}
	tests := []struct {
		at   time.Duration
		want string
	}{
		{0, `{"id":"job_00000000000000ff","status":"queued","progress":0,"created_at":"2000-01-01T00:00:00Z","updated_at":"2000-01-01T00:00:00Z"}`},
		{1200 * time.Millisecond, `{"id":"job_00000000000000ff","status":"running","progress":25,"created_at":"2000-01-01T00:00:00Z","updated_at":"2000-01-01T00:00:01Z"}`},
		{time.Hour, `{"id":"job_00000000000000ff","status":"completed","progress":100,"created_at":"2000-01-01T00:00:00Z","updated_at":"2000-01-01T00:00:02.5Z","result":{"queued_ms":500,"duration_ms":2000,"steps":4}}`},
	}
	for _, tt := range tests {
		if got := j.appendJSON(nil, j.at(created+int64(tt.at))); string(got) != tt.want {
			t.Errorf("at %v:\ngot  %s\nwant %s", tt.at, got, tt.want)
		}
	}
}
