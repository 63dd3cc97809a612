package bench

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Share is one agent's part of a run that several agents (processes,
// machines, Kubernetes pods) drive together: agent Index of Count. The
// zero Share (Count 0) and Count 1 are a run of one.
//
// The plan an agent is given holds the run's totals; the agent's part of
// it is interleaved: of the run's sessions (or open-model hits) numbered
// 0, 1, 2 …, agent i takes those whose number modulo Count is i. So the
// agents together follow the one schedule exactly (session j starts when
// the whole run's session j would), and an agent holds ⌊T/N⌋ of T, the
// first T mod N agents one more.
type Share struct {
	Index, Count int
}

// Whole reports whether s is a run of one agent.
func (s Share) Whole() bool { return s.Count <= 1 }

// Validate reports an index outside 0 … Count−1.
func (s Share) Validate() error {
	switch {
	case s.Count < 0:
		return fmt.Errorf("agents %d: want 1 or more", s.Count)
	case s.Whole() && s.Index != 0:
		return fmt.Errorf("agent index %d: a run of one agent has only index 0", s.Index)
	case !s.Whole() && (s.Index < 0 || s.Index >= s.Count):
		return fmt.Errorf("agent index %d: want 0 to %d for %d agents", s.Index, s.Count-1, s.Count)
	}
	return nil
}

// Of returns the agent's part of a whole number of sessions or hits: those
// among 0 … total−1 whose number modulo Count is Index, ⌊total/N⌋ plus one
// for the first total mod N agents.
func (s Share) Of(total int) int {
	if s.Whole() || total <= 0 {
		return max(total, 0)
	}
	n := total / s.Count
	if s.Index < total%s.Count {
		n++
	}
	return n
}

// global is the run-wide number of the agent's session or hit i.
func (s Share) global(i int) int {
	if s.Whole() {
		return i
	}
	return i*s.Count + s.Index
}

// Rate returns the agent's part of a rate: rate/Count. Over any whole
// number of the run's hits the agents' counts follow Of.
func (s Share) Rate(rate float64) float64 {
	if s.Whole() {
		return rate
	}
	return rate / float64(s.Count)
}

// Pacer returns the agent's part of p: hit n of the agent is hit
// n·Count+Index of p, at the time p gives it.
func (s Share) Pacer(p Pacer) Pacer {
	if s.Whole() {
		return p
	}
	return sharedPacer{p: p, s: s}
}

type sharedPacer struct {
	p Pacer
	s Share
}

func (sp sharedPacer) Hit(n uint64) (time.Duration, bool) {
	c := uint64(sp.s.Count)
	if n > (1<<63)/c {
		return 0, false
	}
	return sp.p.Hit(n*c + uint64(sp.s.Index))
}

func (sp sharedPacer) Rate(elapsed time.Duration) float64 {
	return sp.s.Rate(sp.p.Rate(elapsed))
}

// Levels returns the agent's part of a closed-model schedule of held
// sessions: at each change of the run's level L, the agent holds Of(L).
// Changes that leave the agent's level as it was are skipped.
func (s Share) Levels(all iter.Seq2[time.Duration, int]) iter.Seq2[time.Duration, int] {
	if s.Whole() {
		return all
	}
	return func(yield func(time.Duration, int) bool) {
		cur := 0
		for at, level := range all {
			if l := s.Of(level); l != cur {
				cur = l
				if !yield(at, l) {
					return
				}
			}
		}
	}
}

// RunInfo identifies the run a result belongs to, so that results of
// different runs are never merged as one. Every result `rtbench load`
// writes carries one; results written before it existed do not (see
// Merge).
type RunInfo struct {
	// ID names the run: --run-id, or a random id rtbench made up.
	ID string `json:"id"`
	// Agents is how many agents the run has.
	Agents int `json:"agents"`
	// StartAt is the start every agent waited for (--start-at); absent
	// when the agents started on their own.
	StartAt *time.Time `json:"start_at,omitempty"`
	// Fingerprint is what every agent of the run must have run alike.
	Fingerprint Fingerprint `json:"fingerprint"`
	// Total is the whole run's load (params holds this result's agents'
	// part of it): the sessions, rates, ramp and stages before the split.
	Total Params `json:"total"`
	// Parts are the agents this result holds, by index: one for an
	// agent's own result, several after a merge.
	Parts []AgentPart `json:"parts"`
}

// AgentPart is one agent's contribution to a result.
type AgentPart struct {
	Index     int       `json:"index"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
}

// Fingerprint is what shapes a run's load, the same for every agent of it:
// the target, its pattern, the load shape (the run's totals, not one
// agent's share), the request headers and body (HMAC-SHA-256 with the run
// id as key, the first 16 hex digits: equal values give equal hashes within
// a run, and a hash says nothing of a secret), and rtbench's version.
type Fingerprint struct {
	Target  string `json:"target"`
	Pattern string `json:"pattern"`
	Shape   string `json:"shape"`
	// Headers holds one hash per request header, by canonical name.
	Headers map[string]string `json:"headers,omitempty"`
	// Body hashes the request body and the --send messages; absent when
	// there are none.
	Body    string `json:"body,omitempty"`
	Version string `json:"version"`
}

// NewRunID returns a random run id ("r-" and 12 hex digits) for a run
// given no --run-id.
func NewRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return "r-" + hex.EncodeToString(b[:])
}

// ValidRunID reports a run id that is empty, too long, or holds
// characters other than letters, digits, '.', '_' and '-' (it becomes a
// Prometheus label and a Kubernetes name part).
func ValidRunID(id string) error {
	if id == "" || len(id) > 63 {
		return fmt.Errorf("run id %q: want 1 to 63 characters", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("run id %q: only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// HashValue is the fingerprint hash of one value in run id: HMAC-SHA-256
// keyed with the run id, 16 hex digits.
func HashValue(runID string, value []byte) string {
	m := hmac.New(sha256.New, []byte(runID))
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// HashHeaders hashes each header's values (joined by a NUL, in order) by
// canonical name.
func HashHeaders(runID string, h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, vs := range h {
		out[http.CanonicalHeaderKey(name)] = HashValue(runID, []byte(strings.Join(vs, "\x00")))
	}
	return out
}

// Shape is the fingerprint's text of a plan's totals: the model, the
// sessions or rate, the ramp, the stages, the duration and the warmup.
func Shape(p Params) string {
	var b strings.Builder
	fmt.Fprintf(&b, "model=%s c=%d rate=%g/s ramp=%g/s,%gs d=%gs warmup=%gs max_in_flight=%d",
		p.Model, p.Connections, p.RatePerS, p.Ramp.SessionsPerS, p.Ramp.TimeS, p.DurationS, p.WarmupS, p.MaxInFlight)
	for _, st := range p.Stages {
		fmt.Fprintf(&b, " stage=%gs:%g", st.DurationS, st.Target)
	}
	return b.String()
}

// AgentParams returns the agent's part of the run's params p: the sessions,
// rate, ramp rate and stage targets it drives.
func (s Share) AgentParams(p Params) Params {
	if s.Whole() {
		return p
	}
	p.Connections = s.Of(p.Connections)
	p.RatePerS = s.Rate(p.RatePerS)
	p.Ramp.SessionsPerS = s.Rate(p.Ramp.SessionsPerS)
	p.Stages = slices.Clone(p.Stages)
	for i := range p.Stages {
		if p.Model == ModelOpen {
			p.Stages[i].Target = s.Rate(p.Stages[i].Target)
		} else {
			p.Stages[i].Target = float64(s.Of(int(p.Stages[i].Target)))
		}
	}
	return p
}

// partRates sets the rates of p, the params of a merge of the run's
// agents, from the run's totals: k of N agents drive k/N of each rate.
// Summing the agents' float shares would depend on the order and grouping
// of the merges; this does not.
func (ri *RunInfo) partRates(p *Params) {
	if ri.Agents < 1 {
		return
	}
	f := float64(len(ri.Parts)) / float64(ri.Agents)
	p.RatePerS = round6(ri.Total.RatePerS * f)
	p.Ramp.SessionsPerS = round6(ri.Total.Ramp.SessionsPerS * f)
	if p.Model == ModelOpen && len(p.Stages) == len(ri.Total.Stages) {
		for i := range p.Stages {
			p.Stages[i].Target = round6(ri.Total.Stages[i].Target * f)
		}
	}
}

// Skew is one agent's start relative to the run's: the --start-at time,
// or the earliest agent's start when there was none.
type Skew struct {
	Index int
	Host  string
	Skew  time.Duration
}

// Skews returns each agent's start skew, by index.
func (ri *RunInfo) Skews() []Skew {
	if ri == nil || len(ri.Parts) == 0 {
		return nil
	}
	var ref time.Time
	if ri.StartAt != nil {
		ref = *ri.StartAt
	} else {
		ref = ri.Parts[0].StartedAt
		for _, p := range ri.Parts {
			if p.StartedAt.Before(ref) {
				ref = p.StartedAt
			}
		}
	}
	out := make([]Skew, len(ri.Parts))
	for i, p := range ri.Parts {
		out[i] = Skew{Index: p.Index, Host: p.Host, Skew: p.StartedAt.Sub(ref)}
	}
	return out
}

// Missing returns the agent indices the result does not hold, in order.
func (ri *RunInfo) Missing() []int {
	if ri == nil {
		return nil
	}
	have := make(map[int]bool, len(ri.Parts))
	for _, p := range ri.Parts {
		have[p.Index] = true
	}
	var out []int
	for i := range ri.Agents {
		if !have[i] {
			out = append(out, i)
		}
	}
	return out
}

// ErrNotOneRun is wrapped by Merge's refusals of results of different runs.
var ErrNotOneRun = errors.New("not one run")

// sameRun reports how b's run differs from a's, naming the difference and
// the agent, or nil. Both are non-nil.
func sameRun(a, b *RunInfo) error {
	agent := func(ri *RunInfo) string {
		idx := make([]string, len(ri.Parts))
		for i, p := range ri.Parts {
			idx[i] = fmt.Sprint(p.Index)
		}
		if len(idx) == 1 {
			return "agent " + idx[0]
		}
		return "agents " + strings.Join(idx, ",")
	}
	fa, fb := a.Fingerprint, b.Fingerprint
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNotOneRun, fmt.Sprintf(format, args...))
	}
	switch {
	case a.ID != b.ID:
		return fail("run ids differ: %s is of run %q, %s of run %q", agent(a), a.ID, agent(b), b.ID)
	case a.Agents != b.Agents:
		return fail("agent counts differ: %s says %d agents, %s says %d", agent(a), a.Agents, agent(b), b.Agents)
	case !sameTime(a.StartAt, b.StartAt):
		return fail("start times differ: %s waited for %s, %s for %s", agent(a), showTime(a.StartAt), agent(b), showTime(b.StartAt))
	case fa.Target != fb.Target:
		return fail("targets differ: %s loaded %q, %s loaded %q", agent(a), fa.Target, agent(b), fb.Target)
	case fa.Pattern != fb.Pattern:
		return fail("patterns differ: %s ran %s, %s ran %s", agent(a), fa.Pattern, agent(b), fb.Pattern)
	case fa.Shape != fb.Shape:
		return fail("load shapes differ: %s ran %q, %s ran %q", agent(a), fa.Shape, agent(b), fb.Shape)
	case fa.Body != fb.Body:
		return fail("bodies differ: %s sent a different request body or --send messages than %s", agent(b), agent(a))
	case fa.Version != fb.Version:
		return fail("rtbench versions differ: %s ran %s, %s ran %s", agent(a), fa.Version, agent(b), fb.Version)
	}
	names := slices.Sorted(maps.Keys(fa.Headers))
	for _, n := range slices.Sorted(maps.Keys(fb.Headers)) {
		if _, ok := fa.Headers[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		ha, oka := fa.Headers[n]
		hb, okb := fb.Headers[n]
		switch {
		case !oka:
			return fail("headers differ: %s sent a %s header that %s did not", agent(b), n, agent(a))
		case !okb:
			return fail("headers differ: %s sent no %s header, %s did", agent(b), n, agent(a))
		case ha != hb:
			return fail("headers differ: %s sent a different %s hash than %s", agent(b), n, agent(a))
		}
	}
	for _, pa := range a.Parts {
		for _, pb := range b.Parts {
			if pa.Index == pb.Index {
				return fail("agent %d is in two results (hosts %s and %s): merging it twice would count its samples twice", pa.Index, pa.Host, pb.Host)
			}
		}
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func showTime(t *time.Time) string {
	if t == nil {
		return "no start time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// mergeRuns is the RunInfo of the merge of rs (all non-nil, checked by
// sameRun): the parts of all, by index.
func mergeRuns(rs []*Result) *RunInfo {
	first := rs[0].Run
	out := &RunInfo{ID: first.ID, Agents: first.Agents, Fingerprint: first.Fingerprint}
	out.Fingerprint.Headers = maps.Clone(first.Fingerprint.Headers)
	out.Total = first.Total
	out.Total.Stages = slices.Clone(first.Total.Stages)
	out.Total.Defaults = maps.Clone(first.Total.Defaults)
	if first.StartAt != nil {
		t := *first.StartAt
		out.StartAt = &t
	}
	for _, r := range rs {
		out.Parts = append(out.Parts, r.Run.Parts...)
	}
	slices.SortFunc(out.Parts, func(a, b AgentPart) int { return a.Index - b.Index })
	return out
}

// checkRuns checks that rs are all results of one run (or all without a
// run, as results written before runs were fingerprinted), pairwise, so the
// error names the two results that differ.
func checkRuns(rs []*Result) error {
	with := 0
	for _, r := range rs {
		if r.Run != nil {
			with++
		}
	}
	if with == 0 {
		return nil
	}
	if with < len(rs) {
		for i, r := range rs {
			if r.Run == nil {
				return fmt.Errorf("%w: result %d carries no run fingerprint (written by an older rtbench) and the others do: rtbench cannot tell whether it is of the same run", ErrNotOneRun, i+1)
			}
		}
	}
	// Every pair, so that an agent given twice is found wherever it is.
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if err := sameRun(rs[i].Run, rs[j].Run); err != nil {
				return fmt.Errorf("results %d and %d: %w", i+1, j+1, err)
			}
		}
	}
	return nil
}

// validate checks a decoded RunInfo: an id, at least one agent, parts with
// indices in range and none twice.
func (ri *RunInfo) validate() error {
	if ri == nil {
		return nil
	}
	switch {
	case ri.ID == "":
		return errors.New("no id")
	case ri.Agents < 1 || ri.Agents > MaxAgents:
		return fmt.Errorf("agents %d: want 1 to %d", ri.Agents, MaxAgents)
	case len(ri.Parts) == 0:
		return errors.New("no parts: the result holds no agent")
	}
	seen := make(map[int]bool, len(ri.Parts))
	for _, p := range ri.Parts {
		if p.Index < 0 || p.Index >= ri.Agents || seen[p.Index] {
			return fmt.Errorf("parts: agent index %d is out of range or given twice", p.Index)
		}
		seen[p.Index] = true
	}
	return nil
}

// MaxAgents bounds the agents of one run.
const MaxAgents = 10_000

// ErrMissedStart is returned by WaitStart for an agent that reached the
// start too late.
var ErrMissedStart = errors.New("missed the start")

// WaitStart waits until at, the run's agreed start. An agent that gets
// there more than tolerance after it returns ErrMissedStart instead of
// adding load skewed from the others'; ctx ending returns its error.
func WaitStart(ctx context.Context, at time.Time, tolerance time.Duration) error {
	if late := time.Since(at); late > tolerance {
		return fmt.Errorf("%w: the run started at %s, %v ago, beyond the tolerance of %v; start the agents earlier or give a later start time",
			ErrMissedStart, at.UTC().Format(time.RFC3339Nano), late.Round(time.Millisecond), tolerance)
	}
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
