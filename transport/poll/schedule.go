package poll

import (
	"strconv"
	"time"
)

// Defaults and bounds of JobOptions and of the per-job overrides.
const (
	DefaultQueued   = time.Second      // JobOptions.Queued
	DefaultDuration = 5 * time.Second  // JobOptions.Duration
	DefaultSteps    = 10               // JobOptions.Steps
	DefaultMaxJobs  = 10000            // JobOptions.MaxJobs
	DefaultJobTTL   = 10 * time.Minute // JobOptions.TTL

	MaxQueued   = 10 * time.Minute // bound of queued
	MaxDuration = time.Hour        // bound of duration
	MaxSteps    = 100              // bound of steps: every step moves progress by at least 1
)

// JobOptions configures the jobs API. The zero value gives the defaults;
// values past the bounds are clamped to them.
type JobOptions struct {
	Queued   time.Duration // how long a new job stays "queued"; default 1s, negative for none
	Duration time.Duration // how long it then stays "running"; default 5s, negative for none
	Steps    int           // equal progress steps while running; default 10, at most MaxSteps
	// Jitter adds to each new job's running time a uniformly random extra
	// in [0, Jitter), so that jobs end at times a client's polls do not
	// line up with (what a poll interval's staleness is measured on);
	// default 0, at most MaxDuration.
	Jitter  time.Duration
	MaxJobs int           // jobs kept; past it the oldest is evicted; default 10000
	TTL     time.Duration // how long a completed job stays readable; default 10m
}

func (o JobOptions) withDefaults() JobOptions {
	o.Queued = pick(o.Queued, DefaultQueued, MaxQueued)
	o.Duration = pick(o.Duration, DefaultDuration, MaxDuration)
	o.Steps = min(pick(o.Steps, DefaultSteps, MaxSteps), MaxSteps)
	o.Jitter = min(max(o.Jitter, 0), MaxDuration)
	if o.MaxJobs <= 0 {
		o.MaxJobs = DefaultMaxJobs
	}
	if o.TTL <= 0 {
		o.TTL = DefaultJobTTL
	}
	return o
}

// pick applies "zero means def, negative means none" and the upper bound.
func pick[T int | time.Duration](v, def, hi T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return min(v, hi)
}

// job is one job. It is immutable: its state at any time is computed from
// its creation time and schedule, so no goroutine runs a job.
type job struct {
	id       string
	created  int64 // Unix ns
	queued   int64 // ns
	duration int64 // ns
	steps    int64 // >= 1
}

type jobStatus uint8

const (
	statusQueued jobStatus = iota
	statusRunning
	statusCompleted
)

var statusNames = [...]string{"queued", "running", "completed"}

func (s jobStatus) String() string { return statusNames[s] }

// jobState is a job's state at one instant.
type jobState struct {
	status   jobStatus
	progress int64 // 0..100
	updated  int64 // when this state began, Unix ns
	next     int64 // when the next state begins; 0 once completed
}

// completedAt is when the job completes.
func (j *job) completedAt() int64 { return j.created + j.queued + j.duration }

// at returns the job's state at now. The job is queued during
// [created, start), running during [start, start+duration) with progress
// step k of steps (progress k*100/steps) from start+ceil(k*duration/steps),
// and completed (progress 100) from start+duration. The ceiling makes "the
// step at now", floor((now-start)*steps/duration), and "the time step k
// begins" agree to the nanosecond.
func (j *job) at(now int64) jobState {
	start := j.created + j.queued
	switch {
	case now < start:
		return jobState{status: statusQueued, updated: j.created, next: start}
	case now >= start+j.duration:
		return jobState{status: statusCompleted, progress: 100, updated: start + j.duration}
	}
	k := (now - start) * j.steps / j.duration // duration > 0 here
	return jobState{
		status:   statusRunning,
		progress: k * 100 / j.steps,
		updated:  start + ceilDiv(k*j.duration, j.steps),
		next:     start + ceilDiv((k+1)*j.duration, j.steps),
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// appendETag appends the entity tag of st (unquoted): "<status>-<progress>",
// which changes exactly when the status or the progress does.
func (st jobState) appendETag(dst []byte) []byte {
	dst = append(dst, st.status.String()...)
	dst = append(dst, '-')
	return strconv.AppendInt(dst, st.progress, 10)
}

// appendJSON appends the job's representation in state st:
//
//	{"id":"job_…","status":"running","progress":40,"created_at":"…","updated_at":"…"}
//
// with times in RFC 3339 (UTC) and, once completed, a "result" object.
func (j *job) appendJSON(dst []byte, st jobState) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, j.id...) // job_ and hex digits: no escaping
	dst = append(dst, `","status":"`...)
	dst = append(dst, st.status.String()...)
	dst = append(dst, `","progress":`...)
	dst = strconv.AppendInt(dst, st.progress, 10)
	dst = append(dst, `,"created_at":"`...)
	dst = time.Unix(0, j.created).UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","updated_at":"`...)
	dst = time.Unix(0, st.updated).UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if st.status == statusCompleted {
		dst = append(dst, `,"result":{"queued_ms":`...)
		dst = strconv.AppendInt(dst, j.queued/1e6, 10)
		dst = append(dst, `,"duration_ms":`...)
		dst = strconv.AppendInt(dst, j.duration/1e6, 10)
		dst = append(dst, `,"steps":`...)
		dst = strconv.AppendInt(dst, j.steps, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}
