package match

import (
	"encoding/json"
	"strconv"
)

// Match reports whether every condition holds in the JSON document doc. A
// document that is not valid JSON matches nothing. Match does not allocate
// unless a compared string holds escapes or a number is not an integer.
func (e *Expr) Match(doc []byte) bool {
	if !json.Valid(doc) {
		return false
	}
	for i := range e.conds {
		if !e.conds[i].match(doc) {
			return false
		}
	}
	return true
}

func (c *cond) match(doc []byte) bool {
	raw, ok := lookup(doc, c.path)
	if !ok {
		return false
	}
	switch c.op {
	case opTruthy:
		return truthy(raw)
	case opEq:
		return equal(raw, &c.val)
	case opNe:
		return !equal(raw, &c.val)
	case opRe:
		if raw[0] != '"' {
			return false
		}
		t, ok := text(raw)
		return ok && c.re.Match(t)
	}
	if !isNumber(raw) {
		return false
	}
	n := compare(raw, &c.val)
	switch c.op {
	case opLt:
		return n < 0
	case opLe:
		return n <= 0
	case opGt:
		return n > 0
	case opGe:
		return n >= 0
	}
	return false
}

func isNumber(raw []byte) bool { return raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' }

func truthy(raw []byte) bool {
	switch raw[0] {
	case 'n', 'f':
		return false
	case '"':
		return len(raw) > 2
	case '{', '[', 't':
		return true
	}
	return parseFloat(raw) != 0
}

func equal(raw []byte, v *value) bool {
	switch v.kind {
	case kindNumber:
		return isNumber(raw) && compare(raw, v) == 0
	case kindString:
		if raw[0] != '"' {
			return false
		}
		t, ok := text(raw)
		return ok && string(t) == v.str
	case kindTrue:
		return string(raw) == "true"
	case kindFalse:
		return string(raw) == "false"
	}
	return string(raw) == "null"
}

// compare compares the JSON number raw with the number v: exactly when both
// are integers that fit int64, else as float64.
func compare(raw []byte, v *value) int {
	if v.isInt {
		if i, ok := parseInt(raw); ok {
			switch {
			case i < v.i:
				return -1
			case i > v.i:
				return 1
			}
			return 0
		}
	}
	f := parseFloat(raw)
	switch {
	case f < v.f:
		return -1
	case f > v.f:
		return 1
	}
	return 0
}

// parseInt reads an integer literal that fits int64, without allocating.
func parseInt(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// parseFloat reads a well-formed JSON number; out of range gives ±Inf.
func parseFloat(raw []byte) float64 {
	if i, ok := parseInt(raw); ok {
		return float64(i)
	}
	f, _ := strconv.ParseFloat(string(raw), 64)
	return f
}
