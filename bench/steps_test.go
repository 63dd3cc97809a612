package bench

import (
	"bytes"
	"testing"
	"time"
)

// TestSteps records steps and flows through a Recorder, then checks the
// Result, its JSON round trip and an exact merge of two results.
func TestSteps(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	record := func(okLat []time.Duration, failed, cut int) *Recording {
		ss := newShards(2)
		for _, s := range ss.s {
			s.nSteps = 2
		}
		rec := newRecorder(ss.pick(), start, time.Time{})
		for _, d := range okLat {
			rec.Step(0, StepSample{Start: start, End: start.Add(d), Requests: 1, Bytes: 100})
			rec.Step(1, StepSample{Start: start, End: start.Add(2 * d), Requests: 3, Bytes: 300,
				Staleness: d / 2, HasStaleness: true, Server: d, HasServer: true})
			rec.Flow(start, start.Add(3*d), StepOK)
		}
		for range failed {
			rec.Step(1, StepSample{Start: start, End: start.Add(time.Second), Outcome: StepFailed, Requests: 5})
			rec.Flow(start, start.Add(time.Second), StepFailed)
		}
		for range cut {
			rec.Step(1, StepSample{Start: start, End: start.Add(time.Second), Outcome: StepCutOff, Requests: 1})
			rec.Flow(start, start.Add(time.Second), StepCutOff)
		}
		rec.end(nil, false)
		out := NewRecording()
		out.Start, out.End, out.MeasureFrom = start, start.Add(10*time.Second), start
		ss.mergeInto(out)
		ss.mergeSteps(out, []string{"login", "wait"})
		return out
	}
	a := mustResult(t, record([]time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, 1, 1), pushMeta("a"))
	if len(a.Steps) != 2 || a.Steps[0].Name != "login" || a.Steps[1].Name != "wait" {
		t.Fatalf("steps %+v", a.Steps)
	}
	w := a.Steps[1]
	if w.Completed != 2 || w.Failed != 1 || w.CutOff != 1 || w.Requests != 12 || w.Bytes != 600 {
		t.Errorf("wait: %+v", w)
	}
	if w.Latency == nil || w.Latency.Count != 2 || w.Staleness == nil || w.Staleness.Count != 2 || w.ServerDuration == nil {
		t.Errorf("wait metrics: %+v", w)
	}
	if a.Steps[0].Staleness != nil {
		t.Error("login has a staleness it never recorded")
	}
	if f := a.Metrics["flow"]; f.Count != 2 || f.MaxMs < 59 || f.MaxMs > 61 {
		t.Errorf("flow %+v: want the 2 completed flows, the longest 60ms", f)
	}
	if c := a.Counters; c["cut_off"] != 1 || c["requests"] != 2+6+5+1 {
		t.Errorf("counters cut_off %d requests %d", c["cut_off"], c["requests"])
	}
	js, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, back.Steps) != mustJSON(t, a.Steps) {
		t.Error("steps changed in a JSON round trip")
	}
	b := mustResult(t, record([]time.Duration{30 * time.Millisecond}, 0, 0), pushMeta("b"))
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Steps[1]; got.Completed != 3 || got.Latency.Count != 3 || got.Latency.MaxMs < 59 || got.Requests != 15 {
		t.Errorf("merged wait: %+v", got)
	}
}
