package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Job-status defaults of compare's jobs workload: JobRate jobs are created
// per second for Duration per method, and a job still not seen done
// JobDrain after the last one was created is cut off.
const (
	DefaultCompareJobRate  = 20.0
	DefaultCompareJobDrain = 30 * time.Second
)

// JobRun is one method of compare's job-status workload: a job is created
// JobRate times a second (open model) for Duration, and each is followed
// by the method until the client sees it done. It knows no protocol: the
// session does both, and reports each step (StepSample) to its observer.
type JobRun struct {
	Name   string // in the table: "poll 1s", "etag 1s", "long-poll", "sse"
	Method string // poll, etag, long-poll or sse
	URL    string // the create URL, for the Result
	// Interval is the polling interval; 0 for long-polling and push.
	Interval time.Duration
	// Steps are the session's step names in order; the last one follows
	// the job until it is seen done, and carries its staleness.
	Steps    []string
	Defaults map[string]string
	// NewSession returns job n's session, sending through hc: its GETs
	// (the follow's polls and subscriptions) go over connections the run
	// counts, any other method (the create) over connections of their own.
	NewSession func(n int, hc *http.Client) transport.Session
}

// JobResult is what one method of the job workload measured. Staleness is
// the time the client learned a job was done − the time the job says it
// completed (its done_at field): the delay the method adds. Per-job figures
// divide by SeenDone, as `load --job` does.
type JobResult struct {
	Name       string  `json:"name"`
	Method     string  `json:"method"`
	IntervalMs float64 `json:"interval_ms,omitempty"`
	RatePerS   float64 `json:"rate_per_s"`
	// Created are the jobs whose create was answered; SeenDone those the
	// client then saw done; NeverSeenDone = Created − SeenDone: the
	// follow failed (FollowFailed: an error, a timeout) or the run's end
	// cut it off (CutOff).
	Created       int64 `json:"created"`
	SeenDone      int64 `json:"seen_done"`
	NeverSeenDone int64 `json:"never_seen_done"`
	FollowFailed  int64 `json:"follow_failed"`
	CutOff        int64 `json:"cut_off"`
	// Staleness over the jobs seen done, and whether it was measured (the
	// answers carried the done_at field).
	StalenessMeasured bool    `json:"staleness_measured"`
	StalenessMeanMs   float64 `json:"staleness_mean_ms"`
	StalenessP50Ms    float64 `json:"staleness_p50_ms"`
	StalenessP99Ms    float64 `json:"staleness_p99_ms"`
	StalenessMaxMs    float64 `json:"staleness_max_ms"`
	// StatusRequests are the requests that followed the jobs (polls, held
	// polls, subscriptions), creates excluded; StatusBytes their bytes on
	// the wire both ways, headers included, counted at the connection.
	StatusRequests  int64   `json:"status_requests"`
	StatusBytes     int64   `json:"status_bytes"`
	RequestsPerJob  float64 `json:"requests_per_job"`
	BytesPerJob     float64 `json:"bytes_per_job"`
	ConnectionsPeak int64   `json:"connections_peak"`
	// Saturated: rtbench's self-check says its own timing was late during
	// the run, so the staleness figures are not measurements of the method.
	Saturated bool `json:"saturated"`
	// Result is the run as `rtbench load --job` would save it: its steps
	// hold the create and follow latencies, staleness and the jobs' own
	// duration (server_duration).
	Result *Result `json:"result"`
}

// Follow returns the step that followed the jobs, nil when there is none.
func (j *JobResult) Follow() *StepResult {
	if j == nil || j.Result == nil || len(j.Result.Steps) == 0 {
		return nil
	}
	return &j.Result.Steps[len(j.Result.Steps)-1]
}

// RunJobs runs every method of the job workload at the same time, each on
// jobs of its own, and returns their results in the order of runs: the
// creating windows overlap so the workload costs one window, not one per
// method. Each method's requests go through its own connections, so its
// bytes and requests are its own; CPU is not measured per method. ctx
// ending interrupts every method; what was measured is still returned.
func (c Compare) RunJobs(ctx context.Context, runs []JobRun) ([]*JobResult, error) {
	c = c.withDefaults()
	out := make([]*JobResult, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() { out[i], errs[i] = c.runJob(ctx, run) })
	}
	wg.Wait()
	var got []*JobResult
	for _, r := range out {
		if r != nil {
			got = append(got, r)
		}
	}
	return got, errors.Join(errs...)
}

func (c Compare) runJob(ctx context.Context, run JobRun) (*JobResult, error) {
	if run.NewSession == nil || len(run.Steps) == 0 {
		return nil, errors.New("compare: a job run needs sessions and their steps")
	}
	create := c.HTTP()
	defer create.CloseIdleConnections()
	dialer := &transport.CountingDialer{}
	status := c.countingClient(dialer, 1024)
	defer status.CloseIdleConnections()
	hc := *status
	hc.Transport = splitGET{get: orDefault(status.Transport), other: orDefault(create.Transport)}
	e := &Engine{
		Plan:       Plan{Rate: c.JobRate, Duration: c.Duration, Drain: c.JobDrain},
		Steps:      run.Steps,
		NewRequest: func(n int, _ time.Time) transport.Session { return run.NewSession(n, &hc) },
	}
	rec, err := e.Run(ctx)
	if err != nil {
		return nil, err
	}
	defaults := map[string]string{"job_rate_per_s": fmt.Sprint(c.JobRate), "drain": c.JobDrain.String(), "method": run.Method}
	for k, v := range run.Defaults {
		defaults[k] = v
	}
	res, err := NewResult(rec, Meta{Version: c.Version, Host: c.Host, URL: run.URL, Pattern: "flow",
		Params: Params{RatePerS: c.JobRate, DurationS: c.Duration.Seconds(), Model: ModelOpen, Defaults: defaults}})
	if err != nil {
		return nil, err
	}
	out := &JobResult{Name: run.Name, Method: run.Method, IntervalMs: float64(run.Interval) / float64(time.Millisecond),
		RatePerS: c.JobRate, Saturated: res.Saturated, Result: res}
	cnt := dialer.Counts()
	out.StatusBytes, out.ConnectionsPeak = cnt.Read+cnt.Written, cnt.Peak
	out.measure(len(run.Steps) > 1)
	return out, nil
}

// measure fills the job counts and per-job figures from the Result's
// steps: the first creates the job (when hasCreate), the last follows it.
func (j *JobResult) measure(hasCreate bool) {
	f := j.Follow()
	if f == nil {
		return
	}
	j.SeenDone, j.FollowFailed, j.CutOff = f.Completed, f.Failed, f.CutOff
	j.Created = f.Completed + f.Failed + f.CutOff
	if hasCreate {
		j.Created = j.Result.Steps[0].Completed
	}
	j.NeverSeenDone = max(j.Created-j.SeenDone, 0)
	j.StatusRequests = f.Requests
	if s := f.Staleness; s != nil && s.Count > 0 {
		j.StalenessMeasured = true
		j.StalenessMeanMs, j.StalenessP50Ms, j.StalenessP99Ms, j.StalenessMaxMs = s.MeanMs, s.P50Ms, s.P99Ms, s.MaxMs
	}
	if j.SeenDone > 0 {
		j.RequestsPerJob = round6(float64(j.StatusRequests) / float64(j.SeenDone))
		j.BytesPerJob = round6(float64(j.StatusBytes) / float64(j.SeenDone))
	}
}

// JobIntervalName is a polling method's name in the table: "poll 1s".
func JobIntervalName(method string, interval time.Duration) string {
	if interval <= 0 {
		return method
	}
	return method + " " + interval.String()
}

// splitGET sends GETs through one transport and other methods through
// another: a job's status requests apart from its create.
type splitGET struct{ get, other http.RoundTripper }

func (s splitGET) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || r.Method == "" {
		return s.get.RoundTrip(r)
	}
	return s.other.RoundTrip(r)
}

func orDefault(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}
