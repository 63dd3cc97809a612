package transport

import (
	"math"
	"time"
)

// Stamp is the timing information read from one payload: the top-level
// fields seq, sched_ns and sent_ns that AppendTick and the pub/sub envelope
// write, and the sender's own clock, which servers written elsewhere send
// under many names (ClockFields: ts, time, timestamp, sent_at, created_at)
// and units. Each Has flag reports that the field was present with a value
// in range.
type Stamp struct {
	Seq    uint64 // "seq": sequence number, from 1
	HasSeq bool

	SchedNS, SentNS   int64 // "sched_ns", "sent_ns": Unix nanoseconds
	HasSched, HasSent bool

	// Clock is the payload's own clock in Unix nanoseconds: the first of
	// ClockFields holding a timestamp, or the field a StampSpec names.
	// ClockField names it, ClockUnit says how its value was read and
	// ClockRes is its resolution (the weight of its last digit: 1ms for
	// Date.now(), 100ns for a time.time() written with 7 decimals).
	// ClockFirst: a StampSpec named the field, so it is the delivery clock
	// even when sched_ns is present.
	Clock      int64
	HasClock   bool
	ClockField string
	ClockUnit  ClockUnit
	ClockRes   time.Duration
	ClockFirst bool
}

// TSUnixNano returns the payload's clock (Clock) in Unix nanoseconds.
func (s Stamp) TSUnixNano() (int64, bool) { return s.Clock, s.HasClock }

func (s *Stamp) clearClock() {
	s.Clock, s.HasClock, s.ClockField, s.ClockUnit, s.ClockRes, s.ClockFirst = 0, false, "", 0, 0, false
}

// maxNesting is encoding/json's limit on nested objects and arrays, so that
// ParseStamp accepts exactly what encoding/json accepts.
const maxNesting = 10000

// ParseStamp reads the top-level seq, sched_ns, sent_ns and ts fields of the
// JSON object in payload, without allocating. Nested objects, arrays and
// strings (escapes included) are skipped, so the pub/sub envelope
// {"channel":"c","seq":1,...,"data":{"seq":99}} gives seq 1. Keys match
// exactly, as a map would (an escaped key such as "se\u0071" is "seq"); when
// a key repeats, the last one wins. A field counts only when its value is an
// integer literal that fits (no fraction or exponent; seq not negative).
//
// ok reports that payload is one well-formed JSON object (surrounding
// whitespace allowed): exactly the inputs for which json.Valid is true and
// the value is an object. When ok is false, s is the zero Stamp.
func ParseStamp(payload []byte) (s Stamp, ok bool) {
	return parseStamp(payload, true)
}

// parseStamp is ParseStamp; clock says whether to read ClockFields.
func parseStamp(payload []byte, clock bool) (s Stamp, ok bool) {
	var clocks [len(ClockFields)]clockValue // by rank; unit 0: none
	b := payload
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return Stamp{}, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			var key []byte
			var esc bool
			if key, esc, i, ok = scanKey(b, i); !ok {
				return Stamp{}, false
			}
			field := stampField(key, esc)
			if i >= len(b) {
				return Stamp{}, false
			}
			if field >= fieldClock {
				end, ok := skipValue(b, i)
				if !ok {
					return Stamp{}, false
				}
				if clock {
					c := &clocks[field-fieldClock]
					if !c.read(b[i:end], ClockAuto) {
						*c = clockValue{}
					}
				}
				i = end
			} else if c := b[i]; field != fieldNone && (c == '-' || c >= '0' && c <= '9') {
				end, isInt := scanNumber(b, i)
				if end < 0 {
					return Stamp{}, false
				}
				s.set(field, b[i:end], isInt)
				i = end
			} else {
				s.set(field, nil, false)
				if i, ok = skipValue(b, i); !ok {
					return Stamp{}, false
				}
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return Stamp{}, false
			}
			if b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if b[i] != '}' {
				return Stamp{}, false
			}
			i++
			break
		}
	}
	if skipSpace(b, i) != len(b) {
		return Stamp{}, false
	}
	for rank, c := range clocks {
		if c.unit != 0 {
			s.Clock, s.HasClock, s.ClockUnit, s.ClockRes = c.ns, true, c.unit, c.res
			s.ClockField = ClockFields[rank]
			break
		}
	}
	return s, true
}

type field int

const (
	fieldNone field = iota
	fieldSeq
	fieldSched
	fieldSent
	fieldClock // fieldClock + i is ClockFields[i]
)

// set records the value of field f; a value that is not an integer in range
// clears it (the last occurrence of a key wins).
func (s *Stamp) set(f field, num []byte, isInt bool) {
	switch f {
	case fieldSeq:
		s.Seq, s.HasSeq = 0, false
		if isInt {
			s.Seq, s.HasSeq = parseUint(num)
		}
	case fieldSched:
		s.SchedNS, s.HasSched = 0, false
		if isInt {
			s.SchedNS, s.HasSched = parseInt(num)
		}
	case fieldSent:
		s.SentNS, s.HasSent = 0, false
		if isInt {
			s.SentNS, s.HasSent = parseInt(num)
		}
	}
}

func stampField(key []byte, esc bool) field {
	if esc {
		var buf [16]byte
		n, ok := unescapeASCII(buf[:], key)
		if !ok {
			return fieldNone
		}
		key = buf[:n]
	}
	switch string(key) {
	case FieldSeq:
		return fieldSeq
	case FieldSched:
		return fieldSched
	case FieldSent:
		return fieldSent
	// One switch over every name (ClockFields' order): cheaper than a loop
	// for the keys that are none of them, which is most keys.
	case "ts":
		return fieldClock
	case "time":
		return fieldClock + 1
	case "timestamp":
		return fieldClock + 2
	case "sent_at":
		return fieldClock + 3
	case "created_at":
		return fieldClock + 4
	}
	return fieldNone
}

// unescapeASCII decodes the (already validated) escaped string body s into
// dst. It fails when the result does not fit dst or is not ASCII, since no
// such key is a stamp field.
func unescapeASCII(dst, s []byte) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			switch s[i] {
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'u':
				r := 0
				for _, h := range s[i+1 : i+5] {
					r = r<<4 | hexVal(h)
				}
				if r >= 0x80 {
					return 0, false
				}
				c = byte(r)
				i += 4
			default: // " \ /
				c = s[i]
			}
		} else if c >= 0x80 {
			return 0, false
		}
		if n == len(dst) {
			return 0, false
		}
		dst[n] = c
		n++
	}
	return n, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanKey reads `"key"` `:` at b[i] and the whitespace around the colon. It
// returns the key's body, whether it holds escapes, and where the value
// starts.
func scanKey(b []byte, i int) (key []byte, esc bool, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, i, false
	}
	end, esc, ok := scanString(b, i)
	if !ok {
		return nil, false, i, false
	}
	key = b[i+1 : end-1]
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, false, i, false
	}
	return key, esc, skipSpace(b, i+1), true
}

// scanString validates the string starting with the quote at b[i] and
// returns the index after its closing quote.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	for j := i + 1; j < len(b); {
		switch c := b[j]; {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, false, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return 0, false, false
				}
				for _, h := range b[j+2 : j+6] {
					if hexVal(h) < 0 {
						return 0, false, false
					}
				}
				j += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		default:
			j++
		}
	}
	return 0, false, false
}

// scanNumber validates the JSON number at b[i] and returns the index after
// it (-1 when malformed) and whether it is an integer literal (no fraction,
// no exponent).
func scanNumber(b []byte, i int) (end int, isInt bool) {
	j := i
	if b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return -1, false
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j++; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		}
	default:
		return -1, false
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		if j = digits(b, j+1); j < 0 {
			return -1, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j = digits(b, j); j < 0 {
			return -1, false
		}
	}
	return j, isInt
}

// digits skips one or more digits at b[i]; -1 when there are none.
func digits(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func parseUint(num []byte) (uint64, bool) {
	if len(num) == 0 || num[0] == '-' {
		return 0, false
	}
	var u uint64
	for _, c := range num {
		if u > math.MaxUint64/10 {
			return 0, false
		}
		u *= 10
		d := uint64(c - '0')
		if u+d < u {
			return 0, false
		}
		u += d
	}
	return u, true
}

func parseInt(num []byte) (int64, bool) {
	neg := len(num) > 0 && num[0] == '-'
	if neg {
		num = num[1:]
	}
	u, ok := parseUint(num)
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	}
	return 0, false
}

// skipValue validates the JSON value at b[i], nested inside the top-level
// object, and returns the index after it. It does not recurse: a bit stack
// remembers whether each open container is an object or an array.
func skipValue(b []byte, i int) (int, bool) {
	var stack [maxNesting/64 + 1]uint64 // bit set: object
	depth := 0                          // containers open inside the top-level object
	var ok bool
	for {
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; c {
		case '{', '[':
			// The top-level object is one level; encoding/json allows maxNesting.
			if depth+2 > maxNesting {
				return i, false
			}
			isObj := c == '{'
			if isObj {
				stack[depth/64] |= 1 << (depth % 64)
			} else {
				stack[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			i = skipSpace(b, i+1)
			if i < len(b) && (isObj && b[i] == '}' || !isObj && b[i] == ']') {
				depth--
				i++
				break // an empty container is a complete value
			}
			if isObj {
				if _, _, i, ok = scanKey(b, i); !ok {
					return i, false
				}
			}
			continue // its first member
		case '"':
			if i, _, ok = scanString(b, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = literal(b, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = literal(b, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = literal(b, i, "null"); !ok {
				return i, false
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return i, false
			}
			if i, _ = scanNumber(b, i); i < 0 {
				return 0, false
			}
		}
		// A value ended: close containers until one has a next member.
	next:
		for {
			if depth == 0 {
				return i, true
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			top := depth - 1
			isObj := stack[top/64]>>(top%64)&1 == 1
			switch {
			case b[i] == ',':
				i = skipSpace(b, i+1)
				if isObj {
					if _, _, i, ok = scanKey(b, i); !ok {
						return i, false
					}
				}
				break next
			case isObj && b[i] == '}', !isObj && b[i] == ']':
				depth--
				i++
			default:
				return i, false
			}
		}
	}
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
