package bench

import (
	"context"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Publishing publishes stamped messages at a steady rate while a held run's
// subscribers read them (load --publish-rate): message n (from 1) is due at
// start + (n−1)/Rate and carries {"seq":n,"sched_ns":due}, so each
// subscriber's delivery latency counts from when the schedule meant it to be
// published (a slow publish delays the message, and the latency shows it),
// and its seq gaps and repeats are lost and duplicate messages. Messages go
// one at a time, in order.
type Publishing struct {
	Rate    float64
	Publish func(ctx context.Context, data []byte) error
}

// PublishStats is what a Publishing did.
type PublishStats struct {
	Published int64 // messages the service accepted
	Failed    int64 // messages refused or lost on the way (Errors says why)
	// Late counts messages sent more than 1 ms after they were due: a
	// publisher that cannot keep up.
	Late   int64
	Errors map[transport.Class]*ErrorCount
}

// Run publishes until ctx ends.
func (p Publishing) Run(ctx context.Context) PublishStats {
	st := PublishStats{Errors: map[transport.Class]*ErrorCount{}}
	pacer := ConstantRate{PerSecond: p.Rate}
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	buf := make([]byte, 0, 64)
	for n := uint64(0); ; n++ {
		at, ok := pacer.Hit(n)
		if !ok {
			return st
		}
		due := start.Add(at)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return st
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return st
		}
		if time.Since(due) > time.Millisecond {
			st.Late++
		}
		buf = append(buf[:0], `{"seq":`...)
		buf = strconv.AppendUint(buf, n+1, 10)
		buf = append(buf, `,"sched_ns":`...)
		buf = strconv.AppendInt(buf, due.UnixNano(), 10)
		buf = append(buf, '}')
		err := p.Publish(ctx, buf)
		switch {
		case err == nil:
			st.Published++
		case ctx.Err() != nil:
			return st // cut off by the end of the run: not a failure
		default:
			st.Failed++
			e := transport.AsError(err)
			ec := st.Errors[e.Class]
			if ec == nil {
				ec = &ErrorCount{Example: e.Error()}
				st.Errors[e.Class] = ec
			}
			ec.Count++
			if e.Code != 0 {
				if ec.Codes == nil {
					ec.Codes = map[int]int64{}
				}
				ec.Codes[e.Code]++
			}
		}
	}
}

// AddTo records the publisher's counts in a result: counters published,
// publish_failed and publish_late, and its errors as publish_CLASS.
func (st PublishStats) AddTo(r *Result) {
	r.Counters["published"] = st.Published
	r.Counters["publish_failed"] = st.Failed
	r.Counters["publish_late"] = st.Late
	for class, ec := range st.Errors {
		er := ErrorResult{Count: ec.Count, Example: ec.Example}
		for c, n := range ec.Codes {
			if er.Codes == nil {
				er.Codes = map[string]int64{}
			}
			er.Codes[strconv.Itoa(c)] = n
		}
		if r.Errors == nil {
			r.Errors = map[string]ErrorResult{}
		}
		r.Errors["publish_"+string(class)] = er
	}
}
