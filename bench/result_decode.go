package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rtbench/rtbench/transport"
)

// Decode reads a result: it checks the schema string first (another
// version, or a file that is not an rtbench result, gets an error saying
// so), then decodes every histogram and checks it against its summary count.
// Errors name the field at fault.
func Decode(rd io.Reader) (*Result, error) {
	b, err := io.ReadAll(io.LimitReader(rd, MaxResultBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResultBytes {
		return nil, fmt.Errorf("larger than %d MiB: not an rtbench result", MaxResultBytes>>20)
	}
	var probe struct {
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("not an rtbench result: not JSON (at byte %d: %v)", syn.Offset, syn)
		}
		return nil, errors.New("not an rtbench result: not a JSON object")
	}
	var schema string
	if probe.Schema == nil {
		return nil, errors.New(`not an rtbench result: no "schema" field`)
	}
	if err := json.Unmarshal(probe.Schema, &schema); err != nil {
		return nil, errors.New(`not an rtbench result: "schema" is not a string`)
	}
	switch {
	case schema == SchemaV2, schema == SchemaV1:
	case strings.HasPrefix(schema, "rtbench.result/"):
		return nil, fmt.Errorf("schema %q is not supported: this rtbench reads %q and %q", schema, SchemaV2, SchemaV1)
	default:
		return nil, fmt.Errorf("not an rtbench result: schema %q (want %q)", schema, SchemaV2)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("field %s: %s where %s was expected", typ.Field, typ.Value, typ.Type)
		}
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	if schema == SchemaV1 {
		upgradeV1(&r)
	}
	// A result saved by an older rtbench may hold a URL's secrets.
	r.Target.URL = transport.RedactURL(r.Target.URL)
	return &r, nil
}

// validate checks what JSON cannot: every histogram decodes, has rtbench's
// geometry and holds as many values as its summary says.
func (r *Result) validate() error {
	if err := r.checkTimes(); err != nil {
		return err
	}
	if err := r.Run.validate(); err != nil {
		return fmt.Errorf("field run: %w", err)
	}
	if r.SelfCheck != nil {
		if _, err := checkMetric(*r.SelfCheck); err != nil {
			return fmt.Errorf("field self_check.%w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Metrics)) {
		if _, err := checkMetric(r.Metrics[name]); err != nil {
			return fmt.Errorf("field metrics.%s.%w", name, err)
		}
	}
	for i, st := range r.Steps {
		if st.Completed < 0 || st.Failed < 0 || st.CutOff < 0 || st.Requests < 0 || st.Bytes < 0 {
			return fmt.Errorf("field steps[%d]: negative count", i)
		}
		for _, m := range st.metrics() {
			if *m.m != nil {
				if _, err := checkMetric(**m.m); err != nil {
					return fmt.Errorf("field steps[%d].%s.%w", i, m.name, err)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Errors)) {
		if r.Errors[name].Count < 0 {
			return fmt.Errorf("field errors.%s.count: negative", name)
		}
		for code, n := range r.Errors[name].Codes {
			if c, err := strconv.Atoi(code); err != nil || c < 0 || c > 99999 || n < 0 {
				return fmt.Errorf("field errors.%s.codes: %q: %d is not a code and a count", name, code, n)
			}
		}
	}
	for i, iv := range r.Intervals {
		// Not before the second the run started in, so that a merge (which
		// aligns intervals on those seconds) stays within this range.
		early := intervalSecond(r.StartedAt, iv.TS) < intervalSecond(r.StartedAt, 0)
		if iv.TS <= -1 || early || iv.TS > maxSpanS || (i > 0 && iv.TS <= r.Intervals[i-1].TS) {
			return fmt.Errorf("field intervals[%d].t_s: %v is out of order or out of range", i, iv.TS)
		}
	}
	if p := r.Process; p != nil && (p.GoroutinesStart < 0 || p.GoroutinesEnd < 0 || p.MaxRSSBytes < 0) {
		return errors.New("field process: negative")
	}
	if len(r.Outages) > MaxOutages {
		return fmt.Errorf("field outages: %d entries, at most %d are kept", len(r.Outages), MaxOutages)
	}
	for i, o := range r.Outages {
		switch {
		case o.Sessions < 1 || o.Recovered < 0 || o.Recovered > o.Sessions:
			return fmt.Errorf("field outages[%d]: %d of %d sessions recovered", i, o.Recovered, o.Sessions)
		case o.FirstBack != nil && o.FirstBack.Before(o.Start), o.End != nil && o.End.Before(o.Start):
			return fmt.Errorf("field outages[%d]: first_back or end before start", i)
		}
	}
	return nil
}

// checkMetric decodes m's histogram and checks it against the summary. Its
// errors start with the sub-field's name.
func checkMetric(m MetricResult) (*Hist, error) {
	if m.Overflow < 0 || m.Negative < 0 || m.Overflow > m.Count || m.Negative > m.Count {
		return nil, fmt.Errorf("overflow/negative: %d and %d out of %d values", m.Overflow, m.Negative, m.Count)
	}
	h, err := m.Histogram()
	if err != nil {
		return nil, fmt.Errorf("hdr: %w", err)
	}
	if h.Count() != m.Count {
		return nil, fmt.Errorf("hdr: holds %d values but count is %d", h.Count(), m.Count)
	}
	return h, nil
}

// upgradeV1 turns a v1 result into v2, in memory:
//   - v1's connect (dial start → response headers or 101) is v2's
//     handshake; v1 had no TCP + TLS connect;
//   - v1 recorded tpot per chunk for streams without usage: when every
//     request of the run lacked usage (tokens_from_deltas == requests), its
//     tpot is v2's tpot_chunk; a run that mixed both keeps tpot as it was.
func upgradeV1(r *Result) {
	rename := func(from, to string) {
		if m, ok := r.Metrics[from]; ok {
			delete(r.Metrics, from)
			if _, taken := r.Metrics[to]; !taken {
				r.Metrics[to] = m
			}
		}
	}
	rename(Connect.String(), Handshake.String())
	if n := r.Counters[TokensFromDeltas.String()]; n > 0 && n == r.Counters[Requests.String()] {
		rename(TPOT.String(), TPOTChunk.String())
	}
	r.Schema = SchemaV2
}
