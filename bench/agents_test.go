package bench

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// agentMeta is the Meta of agent i of an n-agent run "run-1".
func agentMeta(i, n int) Meta {
	m := pushMeta(string(rune('a' + i%26)))
	m.Params = (Share{Index: i, Count: n}).AgentParams(pushParams)
	hdr := http.Header{"Authorization": {"Bearer secret"}}
	m.Run = &RunInfo{ID: "run-1", Fingerprint: Fingerprint{
		Target: m.URL, Pattern: m.Pattern, Shape: Shape(pushParams),
		Headers: HashHeaders("run-1", hdr), Body: HashValue("run-1", []byte("{}")), Version: m.Version,
	}, Total: pushParams}
	m.Share = Share{Index: i, Count: n}
	return m
}

// The property the issue asks for: random sample sets, split at random over
// a random number of agents, merge into exactly the histogram of the whole
// set (bucket for bucket), whatever the order and grouping of the merges.
func TestAgentMergeProperty(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		n := 1 + rng.IntN(7)
		recs := make([]*Recording, n)
		for i := range recs {
			// Only the delivery histogram: encoding histograms is what a
			// merge costs, and the property is about one.
			start := t0.Add(time.Duration(rng.IntN(900)) * time.Millisecond)
			recs[i] = NewRecording()
			recs[i].Start, recs[i].MeasureFrom, recs[i].End = start, start, start.Add(10*time.Second)
			recs[i].Counters[Events] = int64(rng.IntN(1000))
		}
		samples := make([]time.Duration, rng.IntN(5000))
		for i := range samples {
			samples[i] = lognormal(rng, time.Duration(1+rng.IntN(20))*time.Millisecond, 0.2+rng.Float64())
		}
		all := splitSamples(rng, samples, recs)
		rs := make([]*Result, n)
		for i, rec := range recs {
			rs[i] = mustResult(t, rec, agentMeta(i, n))
		}
		merge := func(rs ...*Result) *Result {
			t.Helper()
			m, err := Merge(rs...)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			return m
		}
		whole := merge(rs...)
		if len(samples) > 0 {
			got, err := whole.Metrics["delivery"].Histogram()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(all) {
				t.Fatalf("seed %d: the merge of %d agents is not the histogram of all %d samples", seed, n, len(samples))
			}
		} else if _, ok := whole.Metrics["delivery"]; ok {
			t.Fatalf("seed %d: no samples, yet a delivery metric", seed)
		}
		if whole.Params.Connections != pushParams.Connections || whole.Params.Ramp.SessionsPerS != pushParams.Ramp.SessionsPerS {
			t.Errorf("seed %d: %d agents' connections sum to %d, want the run's %d", seed, n, whole.Params.Connections, pushParams.Connections)
		}
		if miss := whole.Run.Missing(); len(miss) > 0 {
			t.Errorf("seed %d: merged run misses agents %v", seed, miss)
		}
		want := mustJSON(t, whole)
		// Commutative: any order.
		perm := slices.Clone(rs)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if got := mustJSON(t, merge(perm...)); got != want {
			t.Fatalf("seed %d: merging in another order gives another result", seed)
		}
		// Associative: any grouping (random cuts, merged left to right and
		// the groups merged again).
		var groups []*Result
		for rest := perm; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			groups = append(groups, merge(rest[:k]...))
			rest = rest[k:]
		}
		if got := mustJSON(t, merge(groups...)); got != want {
			t.Fatalf("seed %d: merging in %d groups gives another result", seed, len(groups))
		}
		acc := merge(perm[0])
		for _, r := range perm[1:] {
			acc = merge(acc, r)
		}
		if got := mustJSON(t, acc); got != want {
			t.Fatalf("seed %d: merging one by one gives another result", seed)
		}
	}
}

func TestShareOf(t *testing.T) {
	for _, tt := range []struct {
		total, n int
		want     []int
	}{
		{10, 3, []int{4, 3, 3}},
		{2, 4, []int{1, 1, 0, 0}},
		{100000, 7, []int{14286, 14286, 14286, 14286, 14286, 14285, 14285}},
		{5, 1, []int{5}},
	} {
		var got []int
		sum := 0
		for i := range tt.n {
			got = append(got, Share{Index: i, Count: tt.n}.Of(tt.total))
			sum += got[i]
		}
		if !slices.Equal(got, tt.want) || sum != tt.total {
			t.Errorf("%d over %d agents: %v, want %v", tt.total, tt.n, got, tt.want)
		}
	}
}

// The agents' pacers together give every hit of the run's pacer, at its
// time, once.
func TestSharePacer(t *testing.T) {
	for _, p := range []Pacer{ConstantRate{PerSecond: 10}, Stages{{Duration: 2 * time.Second, Target: 50}, {Duration: time.Second, Target: 5}}} {
		for _, n := range []int{1, 2, 3, 7} {
			var got []time.Duration
			for i := range n {
				sp := Share{Index: i, Count: n}.Pacer(p)
				for k := uint64(0); ; k++ {
					at, ok := sp.Hit(k)
					if !ok || at >= 3*time.Second {
						break
					}
					got = append(got, at)
				}
			}
			var want []time.Duration
			for k := uint64(0); ; k++ {
				at, ok := p.Hit(k)
				if !ok || at >= 3*time.Second {
					break
				}
				want = append(want, at)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%T over %d agents: %d hits, want the run's %d at the same times", p, n, len(got), len(want))
			}
		}
	}
}

// The agents' levels add up to the run's level at every change.
func TestShareLevels(t *testing.T) {
	all := Stages{{Duration: time.Second, Target: 10}, {Duration: time.Second, Target: 3}}
	const n = 3
	cur := make([]int, n)
	type change struct {
		at time.Duration
		i  int
		l  int
	}
	var changes []change
	for i := range n {
		for at, l := range (Share{Index: i, Count: n}).Levels(all.Levels()) {
			changes = append(changes, change{at, i, l})
		}
	}
	slices.SortStableFunc(changes, func(a, b change) int { return int(a.at - b.at) })
	k := 0
	for at, level := range all.Levels() {
		for ; k < len(changes) && changes[k].at <= at; k++ {
			cur[changes[k].i] = changes[k].l
		}
		if sum := cur[0] + cur[1] + cur[2]; sum != level {
			t.Fatalf("at %v the agents hold %v = %d sessions, the run %d", at, cur, sum, level)
		}
	}
}

// Results of different runs are refused, naming the difference.
func TestMergeRefusesOtherRuns(t *testing.T) {
	a := mustResult(t, pushRecording(1, t0, 10), agentMeta(0, 3))
	for _, tt := range []struct {
		name string
		edit func(m *Meta)
		want string
	}{
		{"another run", func(m *Meta) { m.Run.ID = "run-2" }, `run ids differ: agent 0 is of run "run-1", agent 1 of run "run-2"`},
		{"agent count", func(m *Meta) { m.Share.Count = 4 }, "agent counts differ"},
		{"headers", func(m *Meta) {
			m.Run.Fingerprint.Headers = HashHeaders("run-1", http.Header{"Authorization": {"Bearer other"}})
		}, "headers differ: agent 1 sent a different Authorization hash than agent 0"},
		{"extra header", func(m *Meta) { m.Run.Fingerprint.Headers["X-Trace"] = "1" }, "agent 1 sent a X-Trace header that agent 0 did not"},
		{"body", func(m *Meta) { m.Run.Fingerprint.Body = HashValue("run-1", []byte("[]")) }, "bodies differ"},
		{"shape", func(m *Meta) { m.Run.Fingerprint.Shape = "c=1" }, "load shapes differ"},
		{"same agent", func(m *Meta) { m.Share.Index = 0 }, "agent 0 is in two results"},
		{"start", func(m *Meta) { at := t0; m.Run.StartAt = &at }, "start times differ"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := agentMeta(1, 3)
			tt.edit(&m)
			b := mustResult(t, pushRecording(2, t0, 10), m)
			_, err := Merge(a, b)
			if !errors.Is(err, ErrNotOneRun) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Merge: %v; want a refusal saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "other") {
				t.Errorf("the refusal shows a header value: %v", err)
			}
		})
	}
	t.Run("without fingerprint", func(t *testing.T) {
		old := mustResult(t, pushRecording(2, t0, 10), pushMeta("old"))
		if _, err := Merge(a, old); !errors.Is(err, ErrNotOneRun) || !strings.Contains(err.Error(), "no run fingerprint") {
			t.Fatalf("Merge(fingerprinted, older): %v", err)
		}
		if _, err := Merge(old, mustResult(t, pushRecording(3, t0, 10), pushMeta("old2"))); err != nil {
			t.Fatalf("two older results no longer merge: %v", err)
		}
	})
}

func TestRunSkewsAndMissing(t *testing.T) {
	at := t0
	metas := []Meta{agentMeta(0, 3), agentMeta(2, 3)}
	var rs []*Result
	for i, m := range metas {
		m.Run.StartAt = &at
		rs = append(rs, mustResult(t, pushRecording(uint64(i), t0.Add(time.Duration(i+1)*40*time.Millisecond), 10), m))
	}
	m, err := Merge(rs...)
	if err != nil {
		t.Fatal(err)
	}
	if miss := m.Run.Missing(); !slices.Equal(miss, []int{1}) {
		t.Errorf("missing %v, want [1]", miss)
	}
	sk := m.Run.Skews()
	if len(sk) != 2 || sk[0].Index != 0 || sk[0].Skew != 40*time.Millisecond || sk[1].Index != 2 || sk[1].Skew != 80*time.Millisecond {
		t.Errorf("skews %+v; want agent 0 at +40ms and agent 2 at +80ms", sk)
	}
	back, err := Decode(strings.NewReader(mustJSON(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, back) != mustJSON(t, m) {
		t.Error("the run does not survive a round trip")
	}
}

func TestWaitStart(t *testing.T) {
	if err := WaitStart(context.Background(), time.Now().Add(-2*time.Second), time.Second); !errors.Is(err, ErrMissedStart) {
		t.Errorf("2 s late with 1 s tolerance: %v, want ErrMissedStart", err)
	}
	if err := WaitStart(context.Background(), time.Now().Add(-time.Millisecond), time.Second); err != nil {
		t.Errorf("within the tolerance: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WaitStart(ctx, time.Now().Add(time.Hour), time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestValidRunID(t *testing.T) {
	for id, ok := range map[string]bool{"nightly-42": true, "a.b_c": true, "": false, "a b": false, "x/y": false, strings.Repeat("a", 64): false} {
		if err := ValidRunID(id); (err == nil) != ok {
			t.Errorf("ValidRunID(%q) = %v", id, err)
		}
	}
	if err := ValidRunID(NewRunID()); err != nil {
		t.Error(err)
	}
}

// A result read out of an agent's log (kubectl logs mixes stdout and
// stderr): the one indented result in it; none or two is an error.
func TestReadFileFromLog(t *testing.T) {
	r := mustResult(t, pushRecording(1, t0, 10), agentMeta(1, 3))
	doc, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, parts ...[]byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, bytes.Join(parts, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := []byte("rtbench: Prometheus metrics at http://127.0.0.1:9464/metrics until the run ends\n")
	after := []byte("rtbench load · sse · http://127.0.0.1:8080/sse\n  load  50 sessions {\"x\": 1}\n")
	got, err := ReadFile(write("log.txt", before, doc, after))
	if err != nil {
		t.Fatalf("a log holding one result: %v", err)
	}
	if mustJSON(t, got) != mustJSON(t, r) {
		t.Error("the result read from the log differs from the one written")
	}
	if _, err := ReadFile(write("two.txt", before, doc, doc)); err == nil {
		t.Error("a log with two results was read as one")
	}
	if _, err := ReadFile(write("none.txt", before, after)); err == nil || !strings.Contains(err.Error(), "not an rtbench result") {
		t.Errorf("a log without a result: %v", err)
	}
}

// The engine runs an agent's part of the run's plan: across the agents,
// every session of the run starts once, with its run-wide number, at the
// time the whole run would start it; every open-model hit likewise.
func TestEngineAgents(t *testing.T) {
	const n = 3
	type start struct {
		i  int
		at time.Duration
	}
	collect := func(plan Plan, open bool) []start {
		var all []start
		for i := range n {
			synctest.Test(t, func(t *testing.T) {
				log := &sessionLog{start: time.Now()}
				p := plan
				p.Share = Share{Index: i, Count: n}
				e := &Engine{Plan: p}
				if open {
					q := &request{log: log, serve: stall(log.start, 0, 0), measured: NewHist()}
					e.NewRequest = q.session
				} else {
					e.NewSession = stream{log: log, period: 70 * time.Millisecond}.session
				}
				runEngine(t, e, t.Context())
				for _, r := range log.snapshot() {
					if r.I%n != i {
						t.Errorf("agent %d ran the run's session %d", i, r.I)
					}
					all = append(all, start{r.I, r.Start})
				}
			})
		}
		slices.SortFunc(all, func(a, b start) int { return a.i - b.i })
		return all
	}
	t.Run("closed ramp", func(t *testing.T) {
		got := collect(Plan{Connections: 10, RampRate: 10, Duration: 2 * time.Second}, false)
		if len(got) != 10 {
			t.Fatalf("%d sessions over %d agents, want the run's 10", len(got), n)
		}
		for j, s := range got {
			if s.i != j || s.at != time.Duration(j)*100*time.Millisecond {
				t.Errorf("session %d (run-wide %d) started at %v, want %v", j, s.i, s.at, time.Duration(j)*100*time.Millisecond)
			}
		}
	})
	t.Run("open rate", func(t *testing.T) {
		got := collect(Plan{Rate: 20, Duration: time.Second}, true)
		if len(got) != 20 {
			t.Fatalf("%d requests over %d agents, want the run's 20", len(got), n)
		}
		for j, s := range got {
			if s.i != j || s.at != time.Duration(j)*50*time.Millisecond {
				t.Errorf("hit %d (run-wide %d) at %v, want %v", j, s.i, s.at, time.Duration(j)*50*time.Millisecond)
			}
		}
	})
	// A start agreed in the past (an agent within its tolerance): the
	// schedule counts from it, as every other agent's does.
	t.Run("start at", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			log := &sessionLog{start: time.Now()}
			q := &request{log: log, serve: stall(log.start, 0, 0), measured: NewHist()}
			e := &Engine{Plan: Plan{Rate: 10, Duration: time.Second, StartAt: time.Now().Add(-250 * time.Millisecond)}, NewRequest: q.session}
			rec := runEngine(t, e, t.Context())
			runs := log.snapshot()
			// Every hit of the schedule runs; the 3 already due are sent
			// at once and counted late; the run ends 1s after the agreed
			// start.
			if len(runs) != 10 || rec.Counters[LateStarts] != 3 || !rec.Start.Equal(e.Plan.StartAt) || rec.End.Sub(rec.Start) != time.Second {
				t.Errorf("%d requests, %d late, started %v from the agreed start, ran %v; want 10, 3, 0, 1s",
					len(runs), rec.Counters[LateStarts], rec.Start.Sub(e.Plan.StartAt), rec.End.Sub(rec.Start))
			}
		})
	})
}
