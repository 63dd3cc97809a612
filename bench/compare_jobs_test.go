package bench

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
)

// fakeJob is one job's session: it creates the job with a POST (counted
// apart), then sends polls GETs and reports its two steps: the follow
// completed with staleness stale, failed, or cut off (as the run's end
// cuts a follow off).
type fakeJob struct {
	hc    *http.Client
	url   string
	polls int
	stale time.Duration
	fail  bool
	cut   bool
}

type stepObs interface {
	Step(i int, s StepSample)
}

func (f *fakeJob) get(ctx context.Context, method string) error {
	req, err := http.NewRequestWithContext(ctx, method, f.url, nil)
	if err != nil {
		return err
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (f *fakeJob) Run(ctx context.Context, obs transport.Observer) error {
	so := obs.(stepObs)
	start := time.Now()
	if err := f.get(ctx, http.MethodPost); err != nil {
		return nil
	}
	so.Step(0, StepSample{Start: start, End: time.Now(), Outcome: StepOK, Requests: 1})
	s := StepSample{Start: time.Now()}
	for range f.polls {
		if f.get(ctx, http.MethodGet) == nil {
			s.Requests++
		}
	}
	switch {
	case f.cut:
		s.Outcome = StepCutOff
	case f.fail:
		s.Outcome = StepFailed
	default:
		s.Outcome, s.Staleness, s.HasStaleness = StepOK, f.stale, true
	}
	s.End = time.Now()
	so.Step(1, s)
	return nil
}

// TestCompareRunJobs: the job workload's counts and per-job figures come
// from the follow step, its bytes only from the status requests (the
// creates go over connections of their own), and every method runs at
// once on its own jobs.
func TestCompareRunJobs(t *testing.T) {
	defer goleak.VerifyNone(t)
	var posts, gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			w.Write([]byte(strings.Repeat("c", 4000)))
			return
		}
		gets.Add(1)
		w.Write([]byte(`{"status":"running"}`))
	}))
	defer srv.Close()
	// Each method's jobs take their roles in the order they start (k is
	// the job's rank); the figures are checked against created, the jobs
	// the run started (10 unless the machine delayed the last past the
	// window).
	tests := []struct {
		name    string
		job     func(k int64) fakeJob
		want    func(created int64) (seen, failed, cut int64)
		polls   int64
		staleMs float64
	}{
		{"every job seen after 3 polls", func(int64) fakeJob { return fakeJob{polls: 3, stale: 500 * time.Millisecond} },
			func(c int64) (int64, int64, int64) { return c, 0, 0 }, 3, 500},
		{"every other follow fails", func(k int64) fakeJob { return fakeJob{polls: 2, stale: 10 * time.Millisecond, fail: k%2 == 1} },
			func(c int64) (int64, int64, int64) { return c - c/2, c / 2, 0 }, 2, 10},
		{"the first two are cut off", func(k int64) fakeJob { return fakeJob{polls: 1, stale: time.Millisecond, cut: k < 2} },
			func(c int64) (int64, int64, int64) { return c - min(c, 2), 0, min(c, 2) }, 1, 1},
	}
	var runs []JobRun
	for _, tt := range tests {
		var rank atomic.Int64
		runs = append(runs, JobRun{Name: tt.name, Method: "poll", URL: srv.URL, Steps: []string{"create", "wait"},
			NewSession: func(_ int, hc *http.Client) transport.Session {
				j := tt.job(rank.Add(1) - 1)
				j.hc, j.url = hc, srv.URL
				return &j
			}})
	}
	c := Compare{JobRate: 20, Duration: 500 * time.Millisecond}
	res, err := c.RunJobs(context.Background(), runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(tests) {
		t.Fatalf("%d results, want %d", len(res), len(tests))
	}
	var created int64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := res[i]
			created += j.Created
			seen, failed, cut := tt.want(j.Created)
			if j.Name != tt.name || j.Created < 5 || j.Created > 10 || j.SeenDone != seen || j.NeverSeenDone != failed+cut || j.FollowFailed != failed || j.CutOff != cut {
				t.Errorf("created %d seen %d never %d failed %d cut %d; want 5 to 10, %d, %d, %d, %d", j.Created, j.SeenDone, j.NeverSeenDone, j.FollowFailed, j.CutOff,
					seen, failed+cut, failed, cut)
			}
			if want := float64(tt.polls*j.Created) / float64(seen); math.Abs(j.RequestsPerJob-want) > 1e-5 || j.StatusRequests != tt.polls*j.Created {
				t.Errorf("%d status requests, %.3f per job seen done; want %d, %.3f", j.StatusRequests, j.RequestsPerJob, tt.polls*j.Created, want)
			}
			if !j.StalenessMeasured || j.StalenessMeanMs < tt.staleMs*0.99 || j.StalenessMeanMs > tt.staleMs*1.01 {
				t.Errorf("staleness %.2fms; want %.0fms", j.StalenessMeanMs, tt.staleMs)
			}
			// A GET exchange is a few hundred bytes; a create's 4000-byte
			// answer counted here would push a job past 4 kB.
			if per := float64(j.StatusBytes) / float64(j.StatusRequests); j.StatusRequests == 0 || per < 50 || per > 1000 {
				t.Errorf("%d bytes over %d status requests: want only the GETs' bytes", j.StatusBytes, j.StatusRequests)
			}
			if j.Result == nil || j.Result.Params.RatePerS != 20 || j.Result.Params.Model != ModelOpen {
				t.Errorf("result %+v", j.Result)
			}
		})
	}
	if posts.Load() != created {
		t.Errorf("the server saw %d creates, the results %d", posts.Load(), created)
	}
}
