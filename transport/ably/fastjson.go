package ably

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
)

// decodeJSONFast decodes the JSON frames a subscriber receives by the
// thousand (MESSAGE, ATTACHED, HEARTBEAT: action, channel, channelSerial,
// id, connectionId, timestamp and messages of id, name, data, encoding,
// clientId, connectionId and timestamp) without encoding/json's reflection:
// at 5,000 subscribers, decoding through encoding/json was 37 % of the load
// generator's CPU. ok is false for anything else (another key, a key in
// another case, a number that is not a plain integer, a null where a value
// is expected, invalid UTF-8): the caller then decodes with
// encoding/json, so the result is always what encoding/json gives (the
// fuzz target FuzzDecodeJSONFast holds it to that). Strings and data alias
// b.
func decodeJSONFast(b []byte) (*ProtocolMessage, bool) {
	if !utf8.Valid(b) { // encoding/json turns invalid UTF-8 into U+FFFD
		return nil, false
	}
	d := fastDecoder{b: b}
	pm := new(ProtocolMessage)
	if !d.object(func(key []byte) bool {
		switch string(key) {
		case "action":
			n, ok := d.int()
			pm.Action = int(n)
			return ok && int64(pm.Action) == n
		case "channel":
			return d.str(&pm.Channel)
		case "channelSerial":
			return d.str(&pm.ChannelSerial)
		case "id":
			return d.str(&pm.ID)
		case "connectionId":
			return d.str(&pm.ConnectionID)
		case "timestamp":
			n, ok := d.int()
			pm.Timestamp = n
			return ok
		case "messages":
			if pm.Messages != nil {
				return false // encoding/json would decode into the first array's messages
			}
			return d.messages(&pm.Messages)
		}
		return false
	}) {
		return nil, false
	}
	d.ws()
	return pm, d.i == len(b)
}

// fastDecoder walks a JSON text, checking what it reads with jsonscan (the
// scanner aistream's chunk decoder uses too) so that it accepts nothing
// encoding/json would refuse.
type fastDecoder struct {
	b []byte
	i int
}

func (d *fastDecoder) ws() { d.i = jsonscan.Space(d.b, d.i) }

// peek is the next byte after white space, 0 at the end.
func (d *fastDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// object reads {"key": value, ...}, calling field with the reader at each
// value; field reads the value and says whether it could.
func (d *fastDecoder) object(field func(key []byte) bool) bool {
	if d.peek() != '{' {
		return false
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return true
	}
	for {
		key, ok := d.rawString()
		if !ok || d.peek() != ':' {
			return false
		}
		d.i++
		d.ws()
		if !field(key) {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// rawString reads a string and returns its bytes (b's own when it has no
// escapes, else decoded as encoding/json decodes them); false for anything
// JSON does not allow.
func (d *fastDecoder) rawString() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	end, ok := jsonscan.String(d.b, d.i)
	if !ok {
		return nil, false
	}
	v := d.b[d.i:end]
	d.i = end
	if raw := v[1 : len(v)-1]; !jsonscan.HasBackslash(raw) {
		return raw, true
	}
	return jsonscan.AppendString(make([]byte, 0, len(v)), v), true
}

func (d *fastDecoder) str(dst *string) bool {
	s, ok := d.rawString()
	*dst = string(s)
	return ok
}

// int reads an integer as JSON writes one: -?(0|[1-9][0-9]*), with no
// fraction or exponent (which ParseInt refuses).
func (d *fastDecoder) int() (int64, bool) {
	start := d.i
	end, ok := jsonscan.Number(d.b, d.i)
	if !ok {
		return 0, false
	}
	d.i = end
	n, err := strconv.ParseInt(string(d.b[start:end]), 10, 64)
	return n, err == nil
}

func (d *fastDecoder) null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

func (d *fastDecoder) messages(dst *[]*Message) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if d.peek() != '[' {
		return false
	}
	d.i++
	ms := []*Message{}
	if d.peek() == ']' {
		d.i++
		*dst = ms
		return true
	}
	for {
		d.ws()
		var m *Message
		if !d.null() {
			m = new(Message)
			if !d.message(m) {
				return false
			}
		}
		ms = append(ms, m)
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			*dst = ms
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) message(m *Message) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return d.str(&m.ID)
		case "name":
			return d.str(&m.Name)
		case "encoding":
			return d.str(&m.Encoding)
		case "clientId":
			return d.str(&m.ClientID)
		case "connectionId":
			return d.str(&m.ConnectionID)
		case "timestamp":
			n, ok := d.int()
			m.Timestamp = n
			return ok
		case "data":
			return d.data(&m.Data)
		}
		return false
	})
}

// data reads a message's data as Data.UnmarshalJSON does: null, a string,
// or any other value's compact text.
func (d *fastDecoder) data(dst *Data) bool {
	switch c := d.peek(); {
	case c == 'n':
		if !d.null() {
			return false
		}
		*dst = Data{}
		return true
	case c == '"':
		s, ok := d.rawString()
		if !ok {
			return false
		}
		*dst = Data{B: s, Set: true}
		return true
	}
	start := d.i
	end, ok := jsonscan.Value(d.b, d.i, 3) // in the frame, its messages array and a message
	if !ok {
		return false
	}
	d.i = end
	v := d.b[start:end]
	if jsonscan.Spaced(v) {
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			return false
		}
		v = buf.Bytes()
	}
	*dst = Data{B: v, JSON: true, Set: true}
	return true
}
