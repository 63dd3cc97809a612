package transport

import (
	"fmt"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
	"github.com/rtbench/rtbench/transport/internal/jsonskip"
)

// ClockFields are the top-level payload fields read as the sender's clock
// when a payload has no sched_ns, in order of preference: the first of them
// that holds a timestamp is the one used. A timestamp is a JSON number of
// epoch seconds (integer or fraction, as Python's time.time() writes),
// milliseconds (JavaScript's Date.now()), microseconds or nanoseconds, told
// apart by magnitude (see ClockUnit), or a string holding an RFC 3339 time
// or such a number.
var ClockFields = [...]string{"ts", "time", "timestamp", "sent_at", "created_at"}

// ClockUnit is how a payload clock's value was read.
type ClockUnit uint8

// Units of a payload clock. ClockAuto infers the unit of a number from its
// magnitude, which reads every instant from March 1973 to the year 5138
// right in each unit: below 1e11 it is seconds, below 1e14 milliseconds,
// below 1e17 microseconds, otherwise nanoseconds.
const (
	ClockAuto ClockUnit = iota
	ClockS
	ClockMS
	ClockUS
	ClockNS
	ClockRFC3339
)

var clockUnitNames = [...]string{ClockAuto: "auto", ClockS: "s", ClockMS: "ms", ClockUS: "us", ClockNS: "ns", ClockRFC3339: "rfc3339"}

func (u ClockUnit) String() string {
	if int(u) < len(clockUnitNames) {
		return clockUnitNames[u]
	}
	return fmt.Sprintf("unit(%d)", u)
}

// nanos is the length of one unit in nanoseconds.
func (u ClockUnit) nanos() int64 {
	switch u {
	case ClockS, ClockRFC3339:
		return 1e9
	case ClockMS:
		return 1e6
	case ClockUS:
		return 1e3
	}
	return 1
}

// StampSpec says where the payload's clock is (the --stamp option): the
// default (a nil *StampSpec, or the zero value) reads sched_ns, else the
// first of ClockFields; Path names one field instead; Off reads no clock
// at all, so no delivery latency is recorded (seq is still read).
type StampSpec struct {
	Off  bool
	Path string    // a JSON path of object keys, "data.meta.ts"; empty: the defaults
	Unit ClockUnit // how to read Path's value; ClockAuto: by its magnitude or form
	segs []string
}

// MaxStampPath bounds the keys of a --stamp path.
const MaxStampPath = 16

// ParseStampSpec reads a --stamp value: "none", or PATH[:UNIT] where PATH
// is object keys separated by dots (data.meta.ts) and UNIT one of s, ms,
// us, ns or rfc3339 (default: inferred from the value). The empty string
// is the default spec.
func ParseStampSpec(v string) (*StampSpec, error) {
	switch v {
	case "":
		return &StampSpec{}, nil
	case "none":
		return &StampSpec{Off: true}, nil
	}
	sp := &StampSpec{Path: v}
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		u, ok := parseClockUnit(v[i+1:])
		if !ok {
			return nil, fmt.Errorf("--stamp %q: unknown unit %q: want s, ms, us, ns or rfc3339 after the colon", v, v[i+1:])
		}
		sp.Path, sp.Unit = v[:i], u
	}
	if sp.Path == "" {
		return nil, fmt.Errorf("--stamp %q: name the field, such as ts or data.meta.ts", v)
	}
	sp.segs = strings.Split(sp.Path, ".")
	if len(sp.segs) > MaxStampPath {
		return nil, fmt.Errorf("--stamp %q: at most %d keys in the path", v, MaxStampPath)
	}
	for _, s := range sp.segs {
		if s == "" {
			return nil, fmt.Errorf("--stamp %q: an empty key in the path: write keys separated by single dots, such as data.meta.ts", v)
		}
	}
	return sp, nil
}

func parseClockUnit(s string) (ClockUnit, bool) {
	switch s {
	case "s":
		return ClockS, true
	case "ms":
		return ClockMS, true
	case "us", "µs":
		return ClockUS, true
	case "ns":
		return ClockNS, true
	case "rfc3339":
		return ClockRFC3339, true
	}
	return 0, false
}

// String is the spec as --stamp takes it: "" for the default.
func (sp *StampSpec) String() string {
	switch {
	case sp == nil || !sp.Off && sp.Path == "":
		return ""
	case sp.Off:
		return "none"
	case sp.Unit != ClockAuto:
		return sp.Path + ":" + sp.Unit.String()
	}
	return sp.Path
}

// Parse is ParseStamp as sp says: with Off, the stamp has no sched_ns,
// sent_ns or clock; with a Path, the clock is that field's (ClockFields are
// not read) and it takes precedence over sched_ns (Stamp.ClockFirst). A nil
// sp is the default. It does not allocate.
func (sp *StampSpec) Parse(payload []byte) (Stamp, bool) {
	if sp == nil || !sp.Off && sp.Path == "" {
		return ParseStamp(payload)
	}
	s, ok := parseStamp(payload, sp.Path == "")
	if !ok {
		return s, false
	}
	if sp.Off {
		return Stamp{Seq: s.Seq, HasSeq: s.HasSeq}, true
	}
	s.clearClock()
	if v, ok := findPath(payload, sp.segs); ok {
		var c clockValue
		if c.read(v, sp.Unit) {
			s.Clock, s.HasClock, s.ClockUnit, s.ClockRes = c.ns, true, c.unit, c.res
			s.ClockField, s.ClockFirst = sp.Path, true
		}
	}
	return s, true
}

// findPath returns the value at the object keys path inside the JSON
// object payload, which ParseStamp found well-formed.
func findPath(b []byte, path []string) ([]byte, bool) {
	i := 0
	for depth, seg := range path {
		i = jsonskip.Space(b, i)
		if i >= len(b) || b[i] != '{' {
			return nil, false
		}
		i = jsonskip.Space(b, i+1)
		found := false
		for i < len(b) && b[i] != '}' {
			key, esc, next, ok := scanKey(b, i)
			if !ok {
				return nil, false
			}
			if keyIs(key, esc, seg) {
				found = true
				// The last occurrence of a key wins, as in a map: look on.
				end := jsonskip.Value(b, next)
				if depth == len(path)-1 {
					lastStart, lastEnd := next, end
					// Keep scanning for a later duplicate.
					for {
						j := jsonskip.Space(b, end)
						if j >= len(b) || b[j] != ',' {
							return b[lastStart:lastEnd], true
						}
						k, e, n, ok := scanKey(b, jsonskip.Space(b, j+1))
						if !ok {
							return nil, false
						}
						end = jsonskip.Value(b, n)
						if keyIs(k, e, seg) {
							lastStart, lastEnd = n, end
						}
					}
				}
				// Descend into this value; a later duplicate would win, which
				// this path reader does not look for (rare, and documented).
				i = next
				break
			}
			i = jsonskip.Space(b, jsonskip.Value(b, next))
			if i < len(b) && b[i] == ',' {
				i = jsonskip.Space(b, i+1)
			}
		}
		if !found {
			return nil, false
		}
	}
	return nil, false
}

// keyIs reports whether the JSON key token tok (esc: it has escapes) is s.
func keyIs(tok []byte, esc bool, s string) bool {
	if !esc {
		return string(tok[1:len(tok)-1]) == s
	}
	var buf [64]byte
	return string(jsonscan.AppendString(buf[:0], tok)) == s
}

// clockValue is one payload clock value read.
type clockValue struct {
	ns   int64
	unit ClockUnit
	res  time.Duration
}

// read reads the JSON value v (a number, or a string holding a number or an
// RFC 3339 time) in unit u. A negative or out-of-range value is no clock.
func (c *clockValue) read(v []byte, u ClockUnit) bool {
	if len(v) == 0 {
		return false
	}
	if v[0] == '"' {
		body := v[1 : len(v)-1]
		for _, ch := range body {
			if ch == '\\' {
				return false // no timestamp needs an escape
			}
		}
		if len(body) > 0 && body[0] >= '0' && body[0] <= '9' && u != ClockRFC3339 {
			if end, ok := jsonscan.Number(body, 0); ok && end == len(body) {
				return c.number(body, u)
			}
		}
		if u != ClockAuto && u != ClockRFC3339 {
			return false
		}
		ns, res, ok := parseRFC3339(body)
		if !ok {
			return false
		}
		c.ns, c.unit, c.res = ns, ClockRFC3339, res
		return true
	}
	if u == ClockRFC3339 || v[0] < '0' || v[0] > '9' {
		return false // a negative number, an object, an array or a literal
	}
	return c.number(v, u)
}

// number reads the well-formed, non-negative JSON number v. Up to 19
// significant digits are kept, which is every digit down to the nanosecond
// of any epoch timestamp; the rest are truncated, as the conversion to
// nanoseconds truncates.
func (c *clockValue) number(v []byte, u ClockUnit) bool {
	var m uint64 // the significant digits kept
	exp := 0     // value = m × 10^exp
	sig := 0
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if sig < 19 {
			if m != 0 || v[i] != '0' {
				m = m*10 + uint64(v[i]-'0')
				sig++
			}
		} else {
			exp++
		}
	}
	written := 0 // fraction digits written
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			written++
			if sig < 19 {
				m = m*10 + uint64(v[i]-'0')
				exp--
				if m != 0 {
					sig++
				}
			}
		}
	}
	resExp := -written // the weight of the last digit written
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		neg := false
		if v[i] == '+' || v[i] == '-' {
			neg = v[i] == '-'
			i++
		}
		e := 0
		for ; i < len(v); i++ {
			if e < 10000 {
				e = e*10 + int(v[i]-'0')
			}
		}
		if neg {
			e = -e
		}
		exp += e
		resExp += e
	}
	if u == ClockAuto {
		u = magnitudeUnit(m, exp)
	}
	ns, ok := scaleNS(m, exp, u.nanos())
	if !ok {
		return false
	}
	c.ns, c.unit = ns, u
	c.res = time.Duration(1)
	if r, ok := scaleNS(1, resExp, u.nanos()); ok && r > 0 {
		c.res = time.Duration(r)
	} else if !ok {
		c.res = time.Duration(1<<63 - 1)
	}
	return true
}

// magnitudeUnit is ClockAuto's unit for m × 10^exp.
func magnitudeUnit(m uint64, exp int) ClockUnit {
	// digits of the integer part, compared with 1e11, 1e14, 1e17.
	n := 0
	for x := m; x > 0; x /= 10 {
		n++
	}
	intDigits := n + exp // the value is below 10^intDigits and at least 10^(intDigits-1)
	switch {
	case m == 0 || intDigits <= 11:
		return ClockS
	case intDigits <= 14:
		return ClockMS
	case intDigits <= 17:
		return ClockUS
	}
	return ClockNS
}

// scaleNS returns floor(m × 10^exp × unit) when it fits an int64.
func scaleNS(m uint64, exp int, unit int64) (int64, bool) {
	for unit > 1 {
		unit /= 10
		exp++
	}
	if m == 0 {
		return 0, true
	}
	for ; exp > 0; exp-- {
		if m > (1<<63-1)/10 {
			return 0, false
		}
		m *= 10
	}
	for ; exp < 0 && m > 0; exp++ {
		m /= 10
	}
	if m > 1<<63-1 {
		return 0, false
	}
	return int64(m), true
}

// parseRFC3339 reads YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), from 1970 on,
// as time.Parse with time.RFC3339Nano reads it, without allocating. res is the weight of the last fraction digit (1s without one).
func parseRFC3339(b []byte) (ns int64, res time.Duration, ok bool) {
	num := func(i, n int) int {
		if i+n > len(b) {
			return -1
		}
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return 0, 0, false
	}
	if b[10] != 'T' {
		return 0, 0, false
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return 0, 0, false
	}
	i := 19
	var frac int64
	res = time.Second
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start < 9 {
				frac = frac*10 + int64(b[i]-'0')
				res /= 10
			}
		}
		if i == start || i-start > 9 {
			return 0, 0, false
		}
		for k := i - start; k < 9; k++ {
			frac *= 10
		}
	}
	if i >= len(b) {
		return 0, 0, false
	}
	offset := 0
	switch b[i] {
	case 'Z':
		i++
	case '+', '-':
		oh, om := num(i+1, 2), num(i+4, 2)
		if i+6 > len(b) || b[i+3] != ':' || oh < 0 || oh > 23 || om < 0 || om > 59 {
			return 0, 0, false
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, 0, false
	}
	if i != len(b) {
		return 0, 0, false
	}
	days := daysFromCivil(year, month, day)
	secs := days*86400 + int64(hour*3600+minute*60+sec) - int64(offset)
	if secs < 0 || secs > (1<<63-1)/int64(time.Second)-1 {
		return 0, 0, false
	}
	return secs*1e9 + frac, res, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian; Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
