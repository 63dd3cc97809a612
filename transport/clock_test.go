package transport_test

import (
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// clockOracle is the specification of a payload clock value, written with
// math/big and time.Parse: a non-negative number (or a string holding one)
// in u, or by magnitude (below 1e11 seconds, 1e14 ms, 1e17 µs, else ns),
// truncated to the nanosecond; or an RFC 3339 string from 1970 on with at
// most 9 fraction digits. res is the weight of the last digit written.
func clockOracle(raw json.RawMessage, u transport.ClockUnit) (ns int64, unit transport.ClockUnit, res time.Duration, ok bool) {
	text := string(raw)
	if strings.HasPrefix(text, `"`) {
		if strings.Contains(text, `\`) {
			return 0, 0, 0, false
		}
		text = text[1 : len(text)-1]
		if !jsonNumber.MatchString(text) || u == transport.ClockRFC3339 {
			if u != transport.ClockAuto && u != transport.ClockRFC3339 || !rfc3339.MatchString(text) {
				return 0, 0, 0, false
			}
			tm, err := time.Parse(time.RFC3339Nano, text)
			if err != nil || tm.Unix() < 0 {
				return 0, 0, 0, false
			}
			res = time.Second
			if i := strings.IndexByte(text, '.'); i >= 0 {
				for j := i + 1; j < len(text) && text[j] >= '0' && text[j] <= '9'; j++ {
					res /= 10
				}
			}
			return tm.UnixNano(), transport.ClockRFC3339, res, true
		}
	} else if u == transport.ClockRFC3339 {
		return 0, 0, 0, false
	}
	if !jsonNumber.MatchString(text) || text[0] == '-' {
		return 0, 0, 0, false
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return 0, 0, 0, false
	}
	unit = u
	if unit == transport.ClockAuto {
		switch {
		case r.Cmp(big.NewRat(1e11, 1)) < 0:
			unit = transport.ClockS
		case r.Cmp(big.NewRat(1e14, 1)) < 0:
			unit = transport.ClockMS
		case r.Cmp(big.NewRat(1e17, 1)) < 0:
			unit = transport.ClockUS
		default:
			unit = transport.ClockNS
		}
	}
	per := map[transport.ClockUnit]int64{transport.ClockS: 1e9, transport.ClockMS: 1e6, transport.ClockUS: 1e3, transport.ClockNS: 1}[unit]
	v := new(big.Rat).Mul(r, big.NewRat(per, 1))
	q := new(big.Int).Quo(v.Num(), v.Denom())
	if !q.IsInt64() {
		return 0, 0, 0, false
	}
	// The last digit written: 10^(exponent − fraction digits) units.
	mant, exp, _ := strings.Cut(strings.ToLower(text), "e")
	e := 0
	if exp != "" {
		bi, _ := new(big.Int).SetString(strings.TrimPrefix(exp, "+"), 10)
		if bi.IsInt64() && bi.Int64() > -100000 && bi.Int64() < 100000 {
			e = int(bi.Int64())
		} else if bi.Sign() > 0 {
			e = 100000
		} else {
			e = -100000
		}
	}
	if _, frac, ok := strings.Cut(mant, "."); ok {
		e -= len(frac)
	}
	w := new(big.Rat).Mul(big.NewRat(per, 1), pow10(e))
	wq := new(big.Int).Quo(w.Num(), w.Denom())
	switch {
	case !wq.IsInt64():
		res = math.MaxInt64
	case wq.Int64() < 1:
		res = 1
	default:
		res = time.Duration(wq.Int64())
	}
	return q.Int64(), unit, res, true
}

func pow10(e int) *big.Rat {
	if e > 400 {
		e = 400 // past any int64, as far as the oracle needs
	}
	if e < -400 {
		e = -400
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(e, -e))), nil)
	if e < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), p)
	}
	return new(big.Rat).SetInt(p)
}

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	rfc3339    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`)
)

// TestPayloadClock: every clock field and form a server written elsewhere
// sends, read to the nanosecond with its unit and resolution.
func TestPayloadClock(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 30, 0, 123456789, time.UTC)
	type want struct {
		ns    int64
		field string
		unit  transport.ClockUnit
		res   time.Duration
	}
	tests := []struct {
		name string
		in   string
		want want // field "": no clock
	}{
		{"Date.now() ms", `{"time":1796542200123,"value":0.5}`, want{1796542200123000000, "time", transport.ClockMS, time.Millisecond}},
		{"time.time() float s", `{"timestamp":1796542200.1234567}`, want{1796542200123456700, "timestamp", transport.ClockS, 100 * time.Nanosecond}},
		{"integer s", `{"created_at":1796542200}`, want{1796542200000000000, "created_at", transport.ClockS, time.Second}},
		{"µs", `{"sent_at":1796542200123456}`, want{1796542200123456000, "sent_at", transport.ClockUS, time.Microsecond}},
		{"ns", `{"ts":1796542200123456789}`, want{1796542200123456789, "ts", transport.ClockNS, 1}},
		{"exponent", `{"ts":1.7965422001234E9}`, want{1796542200123400000, "ts", transport.ClockS, 100 * time.Microsecond}},
		{"RFC 3339 Z", `{"created_at":"2026-12-06T07:30:00.123456789Z"}`, want{at.UnixNano(), "created_at", transport.ClockRFC3339, 1}},
		{"RFC 3339 offset, ms", `{"time":"2026-12-06T08:30:00.123+01:00"}`, want{at.Truncate(time.Millisecond).UnixNano(), "time", transport.ClockRFC3339, time.Millisecond}},
		{"RFC 3339 no fraction", `{"time":"2026-12-06T07:30:00Z"}`, want{at.Truncate(time.Second).UnixNano(), "time", transport.ClockRFC3339, time.Second}},
		{"number in a string", `{"ts":"1796542200123"}`, want{1796542200123000000, "ts", transport.ClockMS, time.Millisecond}},
		{"preference order, not position", `{"created_at":1,"time":1796542200123,"ts":"soon"}`, want{1796542200123000000, "time", transport.ClockMS, time.Millisecond}},
		{"last duplicate wins", `{"ts":1,"ts":1796542200123}`, want{1796542200123000000, "ts", transport.ClockMS, time.Millisecond}},
		{"negative", `{"ts":-1796542200123}`, want{}},
		{"an object", `{"time":{"s":1}}`, want{}},
		{"not a time", `{"time":"yesterday"}`, want{}},
		{"Feb 30", `{"time":"2026-02-30T00:00:00Z"}`, want{}},
		{"before 1970", `{"time":"1969-12-31T23:59:59Z"}`, want{}},
		{"past int64 ns", `{"ts":1e30}`, want{}},
		{"nested is not top level", `{"data":{"ts":1796542200123}}`, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := transport.ParseStamp([]byte(tt.in))
			if !ok {
				t.Fatal("not a JSON object")
			}
			got := want{}
			if s.HasClock {
				got = want{s.Clock, s.ClockField, s.ClockUnit, s.ClockRes}
			}
			if got != tt.want {
				t.Errorf("clock %+v, want %+v", got, tt.want)
			}
			if o, _ := stampOracle([]byte(tt.in)); o != s {
				t.Errorf("the oracle reads %+v, ParseStamp %+v", o, s)
			}
		})
	}
}

// TestStampSpec: --stamp PATH[:unit] reads one field, nested or not, and
// wins over sched_ns; --stamp none reads no clock at all.
func TestStampSpec(t *testing.T) {
	payload := []byte(`{"seq":3,"sched_ns":1796542200000000000,"time":1796542200500,"data":{"meta":{"ts":"1796542200.25","x":[1]},"ts":9}}`)
	tests := []struct {
		spec      string
		clock     int64 // 0: none
		unit      transport.ClockUnit
		sched     bool
		delivered time.Duration // arrival at 1796542201 s
	}{
		{"", 1796542200500000000, transport.ClockMS, true, time.Second},
		{"none", 0, 0, false, -1},
		{"data.meta.ts", 1796542200250000000, transport.ClockS, true, 750 * time.Millisecond},
		{"data.meta.ts:s", 1796542200250000000, transport.ClockS, true, 750 * time.Millisecond},
		{"time:ms", 1796542200500000000, transport.ClockMS, true, 500 * time.Millisecond},
		{"time:us", 1796542200500000, transport.ClockUS, true, 1796542201*time.Second - 1796542200500000},
		{"data.ts:ns", 9, transport.ClockNS, true, 1796542201*time.Second - 9},
		{"data.meta.x", 0, 0, true, time.Second},
		{"data.nope", 0, 0, true, time.Second},
		{"time:rfc3339", 0, 0, true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			sp, err := transport.ParseStampSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := sp.Parse(payload)
			if !ok || s.Seq != 3 || s.HasSched != tt.sched || s.HasClock != (tt.clock != 0) || s.Clock != tt.clock || s.ClockUnit != tt.unit {
				t.Fatalf("Parse = %+v, %v", s, ok)
			}
			e := transport.Event{At: time.Unix(1796542201, 0), Stamp: s}
			d, ok := e.Delivery()
			if tt.delivered < 0 {
				if ok {
					t.Errorf("delivery %v with --stamp none", d)
				}
			} else if !ok || d != tt.delivered {
				t.Errorf("delivery %v, %v; want %v", d, ok, tt.delivered)
			}
		})
	}
}

func TestParseStampSpecErrors(t *testing.T) {
	for _, in := range []string{":ms", "ts:minutes", "a..b", ".ts", "ts.", "data.meta.ts:", strings.Repeat("a.", 16) + "a"} {
		if _, err := transport.ParseStampSpec(in); err == nil || !strings.Contains(err.Error(), "--stamp") {
			t.Errorf("ParseStampSpec(%q) = %v, want an error naming --stamp", in, err)
		}
	}
}

func TestStampSpecNoAllocs(t *testing.T) {
	payload := []byte(`{"seq":3,"data":{"user":"ada","meta":{"ts":"2026-12-06T07:30:00.123Z"}},"time":1796542200.1234567}`)
	for _, spec := range []string{"", "none", "data.meta.ts", "time:s"} {
		sp, _ := transport.ParseStampSpec(spec)
		if n := testing.AllocsPerRun(100, func() { sp.Parse(payload) }); n != 0 {
			t.Errorf("--stamp %q: %v allocations, want 0", spec, n)
		}
	}
}

func BenchmarkStampSpec(b *testing.B) {
	payload := []byte(`{"seq":3,"data":{"user":"ada","meta":{"ts":"2026-12-06T07:30:00.123Z"}},"time":1796542200.1234567}`)
	for _, spec := range []string{"", "data.meta.ts"} {
		sp, _ := transport.ParseStampSpec(spec)
		b.Run("stamp="+spec, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				sp.Parse(payload)
			}
		})
	}
}

// FuzzParseStampSpec: any --stamp value parses or fails with an error
// naming the flag, never panics, and a parsed spec prints back to itself;
// a path spec reads what the oracle reads at that path.
func FuzzParseStampSpec(f *testing.F) {
	for _, s := range []string{"", "none", "ts", "data.meta.ts:ms", "a.b:rfc3339", "x:µs", "t:s", "a..b", ":", "ts:"} {
		f.Add(s, []byte(`{"ts":1796542200123,"data":{"meta":{"ts":"2026-12-06T07:30:00Z"}}}`))
	}
	f.Fuzz(func(t *testing.T, spec string, payload []byte) {
		sp, err := transport.ParseStampSpec(spec)
		if err != nil {
			if !strings.Contains(err.Error(), "--stamp") {
				t.Fatalf("error %q does not name --stamp", err)
			}
			return
		}
		back, err := transport.ParseStampSpec(sp.String())
		if err != nil || back.String() != sp.String() || back.Off != sp.Off || back.Path != sp.Path || back.Unit != sp.Unit {
			t.Fatalf("%q → %q → %+v, %v", spec, sp.String(), back, err)
		}
		s, ok := sp.Parse(payload)
		if _, wantOK := stampOracle(payload); ok != wantOK {
			t.Fatalf("ok %v, want %v", ok, wantOK)
		}
		if !ok || sp.Off || sp.Path == "" {
			return
		}
		var v any
		json.Unmarshal(payload, &v)
		var raw json.RawMessage
		for i, seg := range strings.Split(sp.Path, ".") {
			obj, isObj := v.(map[string]any)
			if !isObj {
				raw = nil
				break
			}
			if v, isObj = obj[seg]; !isObj {
				raw = nil
				break
			}
			if i == strings.Count(sp.Path, ".") {
				raw, _ = json.Marshal(v)
			}
		}
		if raw == nil || strings.Contains(sp.Path, ".") {
			return // the nested walk of a duplicate key is documented as first-wins; checked by tests
		}
		var m map[string]json.RawMessage
		json.Unmarshal(payload, &m)
		ns, unit, res, wantClock := clockOracle(m[sp.Path], sp.Unit)
		if s.HasClock != wantClock || wantClock && (s.Clock != ns || s.ClockUnit != unit || s.ClockRes != res) {
			t.Fatalf("--stamp %q on %q: clock %v %d %v %v, oracle %v %d %v %v", spec, payload, s.HasClock, s.Clock, s.ClockUnit, s.ClockRes, wantClock, ns, unit, res)
		}
	})
}

// TestClockFieldsOrder: the parser's switch and ClockFields agree.
func TestClockFieldsOrder(t *testing.T) {
	for i, name := range transport.ClockFields {
		// A later field of higher preference wins over every earlier one.
		in := `{`
		for _, other := range transport.ClockFields[i+1:] {
			in += `"` + other + `":1,`
		}
		in += `"` + name + `":1796542200123}`
		s, _ := transport.ParseStamp([]byte(in))
		if s.ClockField != name || s.Clock != 1796542200123000000 {
			t.Errorf("%s: clock from %q = %d", in, s.ClockField, s.Clock)
		}
	}
}
