package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
)

// durationValue is -d/--duration. A value that is not a duration gets an
// error that says what -d is, and, in a command that sends a body, where
// the body goes: curl's -d habit.
type durationValue struct {
	d        *time.Duration
	bodyFlag string
}

// durationFlag adds -d/--duration; bodyFlag names the command's body flag
// ("" when it has none).
func durationFlag(f *pflag.FlagSet, p *time.Duration, def time.Duration, usage, bodyFlag string) {
	*p = def
	f.VarP(&durationValue{d: p, bodyFlag: bodyFlag}, "duration", "d", usage)
}

func (v *durationValue) String() string { return v.d.String() }
func (v *durationValue) Type() string   { return "duration" }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err == nil {
		*v.d = d
		return nil
	}
	if v.bodyFlag != "" {
		return fmt.Errorf("not a duration such as 30s: -d is --duration; give a request body with %s", v.bodyFlag)
	}
	return errors.New("not a duration such as 30s")
}

// rateValue is a rate flag: "500/s", "30/m", "2/ms" or a bare number (per
// second). It is parsed once, here, at the edge.
type rateValue struct{ perSecond float64 }

func parseRate(s string) (float64, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || n != n || n > 1e9 {
		return 0, fmt.Errorf("%q: want a rate such as 500/s, 30/m or 200", s)
	}
	if !hasUnit {
		return n, nil
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "ms": time.Millisecond, "1s": time.Second}
	d, ok := per[strings.TrimSpace(unit)]
	if !ok {
		if d, err = time.ParseDuration(strings.TrimSpace(unit)); err != nil || d <= 0 {
			return 0, fmt.Errorf("%q: unknown unit %q; want /s, /m, /h or /ms", s, unit)
		}
	}
	v := n // per second exactly, so that String reads back to the same rate
	if d != time.Second {
		v = n * float64(time.Second) / float64(d)
	}
	if v <= 1e9 {
		return v, nil
	}
	return 0, fmt.Errorf("%q: a rate of at most 1e9/s, such as 500/s, 30/m or 200", s)
}

func (r *rateValue) String() string {
	if r.perSecond == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.perSecond, 'g', -1, 64) + "/s"
}

func (r *rateValue) Set(s string) error {
	v, err := parseRate(s)
	if err != nil {
		return err
	}
	r.perSecond = v
	return nil
}

func (r *rateValue) Type() string { return "rate" }

// rampValue is --ramp: an arrival rate of new sessions ("200/s") or the time
// to reach -c ("10s").
type rampValue struct {
	rate float64
	time time.Duration
}

func (r *rampValue) String() string {
	switch {
	case r.rate > 0:
		return strconv.FormatFloat(r.rate, 'g', -1, 64) + "/s"
	case r.time > 0:
		return r.time.String()
	}
	return "0"
}

func (r *rampValue) Set(s string) error {
	if strings.Contains(s, "/") {
		v, err := parseRate(s)
		if err != nil {
			return err
		}
		r.rate, r.time = v, 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q: want an arrival rate such as 200/s or a ramp time such as 10s", s)
	}
	r.rate, r.time = 0, d
	return nil
}

func (r *rampValue) Type() string { return "rate|duration" }

// stagesValue is --stages: "30s:100,1m:1000,30s:0", each a duration and the
// target to reach linearly by its end.
type stagesValue struct{ stages bench.Stages }

func parseStages(s string) (bench.Stages, error) {
	var out bench.Stages
	for i, part := range strings.Split(s, ",") {
		d, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("%q: stage %d %q: want duration:target, such as 30s:100", s, i+1, part)
		}
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || dur < 0 {
			return nil, fmt.Errorf("%q: stage %d: %q is not a duration such as 30s or 1m", s, i+1, d)
		}
		target, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || target < 0 || target > 1e9 {
			return nil, fmt.Errorf("%q: stage %d: %q is not a whole number of sessions or requests/s from 0 to 1e9", s, i+1, n)
		}
		out = append(out, bench.Stage{Duration: dur, Target: float64(target)})
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	return out, nil
}

func (v *stagesValue) String() string {
	parts := make([]string, len(v.stages))
	for i, st := range v.stages {
		parts[i] = st.Duration.String() + ":" + strconv.FormatFloat(st.Target, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (v *stagesValue) Set(s string) error {
	st, err := parseStages(s)
	if err != nil {
		return err
	}
	v.stages = st
	return nil
}

func (v *stagesValue) Type() string { return "stages" }
