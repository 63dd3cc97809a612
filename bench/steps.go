package bench

import (
	"fmt"
	"time"
)

// A scenario (bench/flow) runs steps in each session: every step records
// its own latency and counts under its name (Engine.Steps), and the whole
// flow records the Flow metric. Steps are few per session and far apart,
// so a step's sample goes to the shard at once, under its mutex.

// StepOutcome is how one step ended.
type StepOutcome uint8

const (
	StepOK     StepOutcome = iota // done: its condition held, its request answered
	StepFailed                    // a capture that found nothing, an until that timed out, an error
	StepCutOff                    // the run's end (or Ctrl-C) cut it: not completed work
)

// StepSample is one step done by one session.
type StepSample struct {
	// Start is when the step began, End when it ended.
	Start, End time.Time
	Outcome    StepOutcome
	// Requests and Bytes are the HTTP requests the step sent and the
	// response body bytes it read (polls included).
	Requests int
	Bytes    int64
	// Staleness, for a poll step whose answer says when its state began
	// (done_at): the answer's arrival − that time, the delay polling adds.
	Staleness    time.Duration
	HasStaleness bool
	// Server, for a poll step whose answer says when the work began and
	// ended: the server's own duration of it (a job's run time).
	Server    time.Duration
	HasServer bool
}

// stepAgg is one step's aggregates in a shard or a Recording.
type stepAgg struct {
	lat, stale, server *Hist
	completed, failed  int64
	cutOff             int64
	requests, bytes    int64
}

func (a *stepAgg) merge(o *stepAgg) {
	for _, p := range [...][2]**Hist{{&a.lat, &o.lat}, {&a.stale, &o.stale}, {&a.server, &o.server}} {
		if *p[1] != nil {
			if *p[0] == nil {
				*p[0] = NewHist()
			}
			(*p[0]).Merge(*p[1])
		}
	}
	a.completed += o.completed
	a.failed += o.failed
	a.cutOff += o.cutOff
	a.requests += o.requests
	a.bytes += o.bytes
}

// StepRecording is one step's measurements over the run. Latency holds
// completed steps only; Staleness and Server the poll steps that read them.
type StepRecording struct {
	Name                       string
	Latency, Staleness, Server *Hist
	Completed, Failed, CutOff  int64
	Requests, Bytes            int64
}

// Step records one step of the session's flow: i indexes Engine.Steps. A
// completed step records its latency (End − Start) and, for polls, its
// staleness and the server's duration; a failed one counts; a cut-off one
// counts apart and nowhere else. Requests count in the run's requests.
func (r *Recorder) Step(i int, s StepSample) {
	r.lock()
	defer r.mu.Unlock()
	if i < 0 || i >= r.shard.nSteps {
		return
	}
	measured := r.measured(s.End)
	r.iv.requests += int64(s.Requests)
	if !measured {
		return
	}
	r.counters[Requests] += int64(s.Requests)
	sh := r.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.steps == nil {
		sh.steps = make([]stepAgg, sh.nSteps)
	}
	a := &sh.steps[i]
	a.requests += int64(s.Requests)
	a.bytes += s.Bytes
	switch s.Outcome {
	case StepCutOff:
		a.cutOff++
		return
	case StepFailed:
		a.failed++
		return
	}
	a.completed++
	if a.lat == nil {
		a.lat = NewHist()
	}
	a.lat.Record(s.End.Sub(s.Start))
	if s.HasStaleness {
		if a.stale == nil {
			a.stale = NewHist()
		}
		if s.Staleness < 0 {
			r.counters[ClockSkewNegative]++
		}
		a.stale.Record(s.Staleness)
	}
	if s.HasServer {
		if a.server == nil {
			a.server = NewHist()
		}
		a.server.Record(s.Server)
	}
}

// Flow records the end of one pass through the session's flow, begun at
// start: a completed flow records Flow from the intended start (open
// model) or start; a cut-off one counts in CutOff. A failed one records
// nothing here: its failed step counts it.
func (r *Recorder) Flow(start, end time.Time, o StepOutcome) {
	r.lock()
	defer r.mu.Unlock()
	measured := r.measured(end)
	switch o {
	case StepCutOff:
		r.count(CutOff, 1, measured)
	case StepOK:
		if !r.intended.IsZero() {
			start = r.intended
		}
		r.add(Flow, end.Sub(start), measured)
	}
}

// mergeSteps adds the shards' steps to rec.
func (ss *shards) mergeSteps(rec *Recording, names []string) {
	if len(names) == 0 {
		return
	}
	all := make([]stepAgg, len(names))
	for _, s := range ss.s {
		s.mu.Lock()
		for i := range s.steps {
			all[i].merge(&s.steps[i])
		}
		s.mu.Unlock()
	}
	rec.Steps = make([]StepRecording, len(names))
	for i, a := range all {
		rec.Steps[i] = StepRecording{
			Name: names[i], Latency: a.lat, Staleness: a.stale, Server: a.server,
			Completed: a.completed, Failed: a.failed, CutOff: a.cutOff, Requests: a.requests, Bytes: a.bytes,
		}
	}
}

type stepMetric struct {
	name string
	m    **MetricResult
}

// metrics are s's latency summaries, by their JSON names.
func (s *StepResult) metrics() [3]stepMetric {
	return [3]stepMetric{{"latency", &s.Latency}, {"staleness", &s.Staleness}, {"server_duration", &s.ServerDuration}}
}

// mergeSteps merges the steps of results of one scenario: by name, in the
// first result's order then any others'. Histograms merge exactly.
func mergeSteps(rs []*Result) ([]StepResult, error) {
	var out []StepResult
	index := map[string]int{}
	hists := map[string]*[3]*Hist{}
	for ri, r := range rs {
		for _, st := range r.Steps {
			i, ok := index[st.Name]
			if !ok {
				i = len(out)
				index[st.Name] = i
				out = append(out, StepResult{Name: st.Name})
				hists[st.Name] = &[3]*Hist{}
			}
			o := &out[i]
			o.Completed += st.Completed
			o.Failed += st.Failed
			o.CutOff += st.CutOff
			o.Requests += st.Requests
			o.Bytes += st.Bytes
			for k, m := range st.metrics() {
				if *m.m == nil {
					continue
				}
				h, err := checkMetric(**m.m)
				if err != nil {
					return nil, fmt.Errorf("result %d: steps.%s.%s.%w", ri+1, st.Name, m.name, err)
				}
				hs := hists[st.Name]
				if hs[k] == nil {
					hs[k] = NewHist()
				}
				hs[k].Merge(h)
			}
		}
	}
	for i := range out {
		hs := hists[out[i].Name]
		for k, m := range out[i].metrics() {
			if hs[k] == nil {
				continue
			}
			s, err := summarize(hs[k])
			if err != nil {
				return nil, err
			}
			*m.m = &s
		}
	}
	return out, nil
}
