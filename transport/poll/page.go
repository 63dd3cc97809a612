package poll

import (
	"strconv"

	"github.com/rtbench/rtbench/transport"
)

// msgPage is the client's view of an rtbench channel messages page (see
// Messages):
//
//	{"channel":"X","last":L,"missed":M,"more":false,"messages":[<envelope>,...]}
//
// read without allocating: messages is the raw array, walked with next.
type msgPage struct {
	last     uint64
	missed   uint64
	more     bool
	messages []byte // the raw JSON array
}

// parseMsgPage recognises a messages page: a JSON object with an unsigned
// integer "last" and an array "messages" at the top level ("missed" and
// "more" are read when present). Anything else is not a page.
func parseMsgPage(body []byte) (msgPage, bool) {
	var p msgPage
	// ParseStamp is json.Valid for objects, faster and allocation-free.
	if _, valid := transport.ParseStamp(body); !valid {
		return p, false
	}
	i := skipSpace(body, 0)
	var hasLast, hasMessages bool
	for i = skipSpace(body, i+1); i < len(body) && body[i] == '"'; {
		kend := skipString(body, i)
		key := body[i+1 : kend-1]
		i = skipSpace(body, skipSpace(body, kend)+1) // past the colon
		vend := skipValue(body, i)
		val := body[i:vend]
		switch string(key) {
		case "last":
			p.last, hasLast = parseSeq(val)
		case "missed":
			p.missed, _ = parseSeq(val)
		case "more":
			p.more = string(val) == "true"
		case "messages":
			if val[0] == '[' {
				p.messages, hasMessages = val, true
			}
		}
		if i = skipSpace(body, vend); i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return p, hasLast && hasMessages
}

// next returns the element of p.messages that starts at or after offset i
// (0 for the first) and the offset to pass next time; ok is false after the
// last one.
func (p *msgPage) next(i int) (elem []byte, next int, ok bool) {
	a := p.messages
	if i == 0 {
		i = 1 // past [
	}
	i = skipSpace(a, i)
	if i < len(a) && a[i] == ',' {
		i = skipSpace(a, i+1)
	}
	if i >= len(a) || a[i] == ']' {
		return nil, i, false
	}
	end := skipValue(a, i)
	return a[i:end], end, true
}

func parseSeq(val []byte) (uint64, bool) {
	n, err := strconv.ParseUint(string(val), 10, 64) // no allocation: the conversion does not escape
	return n, err == nil
}

// The helpers below find the boundaries of values in JSON already known to
// be well-formed; they do not validate.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string whose quote is at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(b)
}
