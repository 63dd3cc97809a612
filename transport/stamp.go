package transport

import (
	"math"
	"time"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
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
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return Stamp{}, false
	}
	i = jsonscan.Space(b, i+1)
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
				end, ok := jsonscan.Value(b, i, 1)
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
				end, ok := jsonscan.Number(b, i)
				if !ok {
					return Stamp{}, false
				}
				s.set(field, b[i:end])
				i = end
			} else {
				s.set(field, nil)
				if i, ok = jsonscan.Value(b, i, 1); !ok {
					return Stamp{}, false
				}
			}
			i = jsonscan.Space(b, i)
			if i >= len(b) {
				return Stamp{}, false
			}
			if b[i] == ',' {
				i = jsonscan.Space(b, i+1)
				continue
			}
			if b[i] != '}' {
				return Stamp{}, false
			}
			i++
			break
		}
	}
	if jsonscan.Space(b, i) != len(b) {
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

// set records the value of field f, the JSON number num (nil: another
// value); a value that is not an integer literal in range clears it (the
// last occurrence of a key wins).
func (s *Stamp) set(f field, num []byte) {
	switch f {
	case fieldSeq:
		s.Seq, s.HasSeq = parseUint(num)
	case fieldSched:
		s.SchedNS, s.HasSched = parseInt(num)
	case fieldSent:
		s.SentNS, s.HasSent = parseInt(num)
	}
}

// stampField is the field the key token tok (quotes included; esc: it has
// escapes) names.
func stampField(tok []byte, esc bool) field {
	key := tok[1 : len(tok)-1]
	if esc {
		var buf [64]byte // zeroed only for the rare escaped key
		key = jsonscan.AppendString(buf[:0], tok)
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

// scanKey checks `"key"` `:` at b[i] and the whitespace around the colon.
// It returns the key's string token (quotes included), whether it holds
// escapes, and where the value starts.
func scanKey(b []byte, i int) (tok []byte, esc bool, next int, ok bool) {
	end, ok := jsonscan.String(b, i)
	if !ok {
		return nil, false, i, false
	}
	tok = b[i:end]
	i = jsonscan.Space(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, false, i, false
	}
	return tok, jsonscan.HasBackslash(tok), jsonscan.Space(b, i+1), true
}

// parseUint reads num, a JSON number, when it is an integer literal (no
// sign, fraction or exponent) that fits a uint64.
func parseUint(num []byte) (uint64, bool) {
	if len(num) == 0 || num[0] == '-' {
		return 0, false
	}
	var u uint64
	for _, c := range num {
		if c < '0' || c > '9' || u > math.MaxUint64/10 {
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
