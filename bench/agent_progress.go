package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// ProgressPrefix starts each progress line an agent process writes on its
// stderr for its parent (`load --procs`): the prefix, then one JSON object.
// Lines without it are the agent's own messages.
const ProgressPrefix = "rtbench-progress "

// progressLine is the JSON of one agent's Progress.
type progressLine struct {
	Agent          int     `json:"agent"`
	ElapsedS       float64 `json:"elapsed_s"`
	Warmup         bool    `json:"warmup,omitempty"`
	Open           int64   `json:"open"`
	Target         int64   `json:"target"`
	Rate           float64 `json:"rate"`
	EventsPerSec   float64 `json:"events_per_s"`
	RequestsPerSec float64 `json:"requests_per_s"`
	Errors         int64   `json:"errors"`
	Dropped        int64   `json:"dropped"`
	Headline       string  `json:"headline,omitempty"`
	HeadlineP99Ms  float64 `json:"headline_p99_ms,omitempty"`
}

// WriteProgressLine writes p as agent's progress line (ProgressPrefix,
// JSON, newline).
func WriteProgressLine(w io.Writer, agent int, p Progress) error {
	l := progressLine{Agent: agent, ElapsedS: p.Elapsed.Seconds(), Warmup: p.Warmup, Open: p.Open, Target: p.Target,
		Rate: p.Rate, EventsPerSec: p.EventsPerSec, RequestsPerSec: p.RequestsPerSec, Errors: p.Errors, Dropped: p.Dropped}
	if p.HeadlineOK {
		l.Headline, l.HeadlineP99Ms = p.Headline.String(), ms(p.HeadlineP99)
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", ProgressPrefix, b)
	return err
}

// ParseProgressLine reads a line WriteProgressLine wrote (without its
// newline); ok is false for any other line.
func ParseProgressLine(line []byte) (agent int, p Progress, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(ProgressPrefix))
	if !found {
		return 0, Progress{}, false
	}
	var l progressLine
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if dec.Decode(&l) != nil || l.Agent < 0 || l.Agent >= MaxAgents {
		return 0, Progress{}, false
	}
	fin := func(fs ...float64) bool {
		for _, f := range fs {
			if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
				return false
			}
		}
		return true
	}
	if !fin(l.ElapsedS, l.Rate, l.EventsPerSec, l.RequestsPerSec, l.HeadlineP99Ms) {
		return 0, Progress{}, false
	}
	p = Progress{Elapsed: time.Duration(l.ElapsedS * float64(time.Second)), Warmup: l.Warmup, Open: l.Open, Target: l.Target,
		Rate: l.Rate, EventsPerSec: l.EventsPerSec, RequestsPerSec: l.RequestsPerSec, Errors: l.Errors, Dropped: l.Dropped}
	if l.Headline != "" {
		m, known := ParseMetric(l.Headline)
		if !known {
			return 0, Progress{}, false
		}
		p.Headline, p.HeadlineP99, p.HeadlineOK = m, time.Duration(l.HeadlineP99Ms*float64(time.Millisecond)), true
	}
	return l.Agent, p, true
}

// SumProgress is the progress of the agents together: counts and rates
// summed, the longest elapsed time, warmup while any agent is in it, and
// the highest headline p99 (an upper bound of the run's: progress carries
// no histogram).
func SumProgress(ps []Progress) Progress {
	var s Progress
	for _, p := range ps {
		s.Elapsed = max(s.Elapsed, p.Elapsed)
		s.Warmup = s.Warmup || p.Warmup
		s.Open += p.Open
		s.Target += p.Target
		s.Rate += p.Rate
		s.EventsPerSec += p.EventsPerSec
		s.RequestsPerSec += p.RequestsPerSec
		s.Errors += p.Errors
		s.Dropped += p.Dropped
		if p.HeadlineOK && (!s.HeadlineOK || p.HeadlineP99 > s.HeadlineP99) {
			s.Headline, s.HeadlineP99, s.HeadlineOK = p.Headline, p.HeadlineP99, true
		}
	}
	return s
}
