package flow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// ignoresWait is a job API that answers every poll at once, ?wait= or not:
// the first answers are bodies[0], bodies[1] … (the last one repeated),
// then done from the n-th poll on. It records when each poll arrived.
type ignoresWait struct {
	bodies []string
	n      int
	mu     sync.Mutex
	at     []time.Time
}

func (s *ignoresWait) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	i := len(s.at) - 1
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if i+1 >= s.n {
		fmt.Fprint(w, `{"status":"done"}`)
		return
	}
	fmt.Fprint(w, s.bodies[min(i, len(s.bodies)-1)])
}

func (s *ignoresWait) arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

// TestLongPollFloor: a long-poll step against a server that does not hold
// requests. Answers that bring nothing new are followed by the next poll
// only after LongPollFloor, not in a tight loop; answers that changed are
// followed at once.
func TestLongPollFloor(t *testing.T) {
	tests := []struct {
		name     string
		bodies   []string
		timeout  time.Duration
		floorGap bool // every gap between polls is at least LongPollFloor
	}{
		{"unchanged answers wait for the floor", []string{`{"status":"running"}`}, 30 * time.Second, true},
		// Five polls that each bring news, within a timeout shorter than
		// four floors: the floor must not apply.
		{"changed answers go at once", []string{`{"status":"running","p":1}`, `{"status":"running","p":2}`, `{"status":"running","p":3}`, `{"status":"running","p":4}`}, 3 * LongPollFloor, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &ignoresWait{bodies: tt.bodies, n: 5}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			sc := parse(t, ts.URL, fmt.Sprintf(`
scenario: long poll
steps:
  - name: wait
    poll:
      url: /job?wait=30s
      long_poll: true
      until: status==done
      timeout: %s
`, tt.timeout))
			rec := runOnce(t, context.Background(), sc)
			if o := rec.outcome(t, "wait"); o != bench.StepOK || len(rec.errs) != 0 {
				t.Fatalf("wait: outcome %d, errors %v", o, rec.errs)
			}
			at := srv.arrivals()
			if len(at) != 5 {
				t.Fatalf("%d polls, want 5", len(at))
			}
			if tt.floorGap {
				// The first answer is news (nothing was known before it), so
				// the second poll goes at once; from the second answer on
				// nothing changed.
				for i := 2; i < len(at); i++ {
					// The poller sends each poll at least LongPollFloor after
					// the one before, but the server's arrival times also
					// carry each request's own way there: on a loaded
					// machine the earlier one can be late by more than the
					// later (13 ms seen under -race -count=3). A tight loop
					// answers in well under a millisecond, so half the
					// floor tells the two apart without timing the machine.
					if gap := at[i].Sub(at[i-1]); gap < LongPollFloor/2 {
						t.Errorf("poll %d came %v after the one before, want ≥ %v: an unchanged answer given at once must not be polled again in a tight loop", i+1, gap, LongPollFloor)
					}
				}
			}
		})
	}
}
