package bench

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestPublishing: message n carries seq n and the time it was due, at the
// rate, in order; refusals are counted by class and code, and the message
// the end of the run cuts off is no failure.
func TestPublishing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second+time.Millisecond)
		defer cancel()
		type msg struct {
			Seq     uint64 `json:"seq"`
			SchedNS int64  `json:"sched_ns"`
		}
		var got []msg
		p := Publishing{Rate: 10, Publish: func(ctx context.Context, data []byte) error {
			var m msg
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			got = append(got, m)
			if m.Seq == 3 {
				return &transport.Error{Class: "ably_error", Code: 40160, Err: errors.New("not permitted")}
			}
			if m.Seq == 5 {
				time.Sleep(250 * time.Millisecond) // a slow publish: 6 and 7 go late
			}
			return nil
		}}
		st := p.Run(ctx)
		if len(got) != 11 {
			t.Fatalf("%d messages in 1s at 10/s, want 11 (at 0, 100ms … 1s)", len(got))
		}
		for i, m := range got {
			due := start.Add(time.Duration(i) * 100 * time.Millisecond)
			if m.Seq != uint64(i+1) || m.SchedNS != due.UnixNano() {
				t.Errorf("message %d: seq %d sched %v, want seq %d due %v", i, m.Seq, time.Unix(0, m.SchedNS).Sub(start), i+1, due.Sub(start))
			}
		}
		if st.Published != 10 || st.Failed != 1 || st.Late != 2 {
			t.Errorf("stats %+v, want 10 published, 1 failed, 2 late", st)
		}
		if ec := st.Errors["ably_error"]; ec == nil || ec.Count != 1 || ec.Codes[40160] != 1 {
			t.Errorf("errors %+v, want ably_error 40160 once", st.Errors)
		}
		r := &Result{Counters: map[string]int64{}}
		st.AddTo(r)
		if r.Counters["published"] != 10 || r.Errors["publish_ably_error"].Codes["40160"] != 1 {
			t.Errorf("result %+v %+v", r.Counters, r.Errors)
		}
	})
}
