package poll

import (
	"strconv"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/internal/jsonskip"
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
	i := jsonskip.Space(body, 0)
	var hasLast, hasMessages bool
	for i = jsonskip.Space(body, i+1); i < len(body) && body[i] == '"'; {
		kend := jsonskip.String(body, i)
		key := body[i+1 : kend-1]
		i = jsonskip.Space(body, jsonskip.Space(body, kend)+1) // past the colon
		vend := jsonskip.Value(body, i)
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
		if i = jsonskip.Space(body, vend); i < len(body) && body[i] == ',' {
			i = jsonskip.Space(body, i+1)
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
	i = jsonskip.Space(a, i)
	if i < len(a) && a[i] == ',' {
		i = jsonskip.Space(a, i+1)
	}
	if i >= len(a) || a[i] == ']' {
		return nil, i, false
	}
	end := jsonskip.Value(a, i)
	return a[i:end], end, true
}

func parseSeq(val []byte) (uint64, bool) {
	n, err := strconv.ParseUint(string(val), 10, 64) // no allocation: the conversion does not escape
	return n, err == nil
}
