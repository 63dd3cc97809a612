package cmd

import (
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/bench/flow"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/poll"
)

// JobFlags shape compare's job-status workload (the jobs pattern).
type JobFlags struct {
	JobRate   float64
	Job       string   // --job METHOD:PATH, as load's
	Until     string   // --until, as load's
	JobDoneAt string   // --job-done-at: the JSON path of the time the job completed
	JobHeader []string // --job-header "Name: value", repeatable
	header    http.Header
}

// compareJobEvents is where a job's status is pushed as SSE, after its URL
// (rtbench serve's GET /api/jobs/ID/events).
const compareJobEvents = "/events"

func (j *JobFlags) addJobFlags(f *pflag.FlagSet) {
	f.Float64Var(&j.JobRate, "job-rate", bench.DefaultCompareJobRate, "jobs: jobs created per second for -d, per method")
	f.StringVar(&j.Job, "job", "POST:/api/jobs", "jobs: how a job is created, METHOD:PATH; its Location is followed")
	f.StringVar(&j.Until, "until", "status==completed", "jobs: the condition on the job's JSON that says it is done")
	f.StringVar(&j.JobDoneAt, "job-done-at", "updated_at", "jobs: the JSON path of the time the job completed (RFC 3339 or epoch s/ms/µs/ns), what staleness counts from")
	f.StringArrayVar(&j.JobHeader, "job-header", nil, "jobs: a header sent with every job request, 'Name: value' (repeatable), e.g. a token")
}

func (j *JobFlags) validate() error {
	if !(j.JobRate > 0) || j.JobRate > 10_000 {
		return UsageError("--job-rate %v: want more than 0 and at most 10000 jobs per second", j.JobRate)
	}
	j.header = http.Header{}
	if err := addHeaders(j.header, "--job-header", j.JobHeader); err != nil {
		return err
	}
	// The job lifecycle compiler checks --job and --until once.
	_, err := flow.Job(flow.JobOptions{Create: j.Job, Base: "http://127.0.0.1", Until: j.Until, DoneAt: j.JobDoneAt, Interval: time.Second})
	if err != nil {
		return UsageError("%v", err)
	}
	return nil
}

// compareJobSchedule is the embedded server's jobs: no queue, running 1 s
// plus a uniform random part of jitter (at least the longest polling
// interval, so completions fall at any phase of the polls and polling's
// staleness is measured, not its alignment), in 4 progress steps.
func compareJobSchedule(jitter time.Duration) poll.JobOptions {
	return poll.JobOptions{Queued: -1, Duration: time.Second, Jitter: jitter, Steps: 4}
}

// jobJitter is the embedded server's job jitter for o's polling intervals.
func (o *CompareOptions) jobJitter() time.Duration {
	return max(o.PollInterval, compareSecondInterval)
}

// jobShape says what the jobs were, for the report.
func (o *CompareOptions) jobShape(embedded bool) string {
	if !embedded {
		return "the target's own jobs (" + o.Job + ", done when " + o.Until + ")"
	}
	s := compareJobSchedule(o.jobJitter())
	return "embedded rtbench serve: each job runs " + s.Duration.String() + " + a uniform random part of " + s.Jitter.String() +
		" in 4 progress steps, so it completes at any phase of the polls"
}

// jobRuns lists the job workload's methods against the server at base:
// polling as SWR does at --poll-interval (and at 2s when it is not given),
// ETag polling, long-polling and the status pushed as SSE.
func (o *CompareOptions) jobRuns(base string) ([]bench.JobRun, error) {
	type method struct {
		name, kind string
		jo         flow.JobOptions
		interval   time.Duration
	}
	ms := []method{{"poll", "poll", flow.JobOptions{Interval: o.PollInterval}, o.PollInterval}}
	if !o.PollGiven && o.PollInterval != compareSecondInterval {
		ms = append(ms, method{"poll", "poll", flow.JobOptions{Interval: compareSecondInterval}, compareSecondInterval})
	}
	ms = append(ms,
		method{"etag", "etag", flow.JobOptions{Interval: o.PollInterval, ETag: true}, o.PollInterval},
		method{"long-poll", "long-poll", flow.JobOptions{LongPoll: bench.DefaultCompareLongPoll}, 0},
		method{"sse", "sse", flow.JobOptions{Events: compareJobEvents}, 0})
	_, path, _ := strings.Cut(o.Job, ":")
	var out []bench.JobRun
	for _, m := range ms {
		jo := m.jo
		jo.Create, jo.Base, jo.Until, jo.DoneAt, jo.Header = o.Job, base, o.Until, o.JobDoneAt, o.header
		sc, err := flow.Job(jo)
		if err != nil {
			return nil, UsageError("%v", err)
		}
		defs := map[string]string{"job": o.Job, "until": o.Until, "done_at": o.JobDoneAt}
		switch {
		case m.interval > 0:
			defs["interval"] = m.interval.String()
		case jo.LongPoll > 0:
			defs["long_poll"] = jo.LongPoll.String()
		default:
			defs["events"] = compareJobEvents
		}
		out = append(out, bench.JobRun{Name: bench.JobIntervalName(m.name, m.interval), Method: m.kind, URL: base + path,
			Interval: m.interval, Steps: sc.StepNames(), Defaults: defs,
			NewSession: func(n int, hc *http.Client) transport.Session {
				return sc.Session(n, flow.Options{HTTP: hc, Session: transport.SessionOptions{HTTP: hc}, Once: true})
			}})
	}
	return out, nil
}
