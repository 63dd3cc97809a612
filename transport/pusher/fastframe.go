package pusher

import (
	"bytes"
	"strconv"

	"github.com/rtbench/rtbench/transport/internal/jsonskip"
)

// decodeFast reads the frames a subscriber receives by the thousand
// ({"event","channel","data","seq","sched_ns","sent_ns","user_id"}, keys
// in any order, others skipped) without encoding/json's map and reflection:
// at 5,000 subscribers Decode's encoding/json was a third of the load
// generator's CPU. b must be valid JSON and UTF-8 (Decode checks both
// first). ok is false for anything it does not read as decodeSlow would
// (an escaped key or string, a non-integer stamp, a null stamp, no event):
// Decode then takes the slow path. FuzzPusherDecodeFast holds the two to
// the same Frame. Data aliases b.
func decodeFast(b []byte) (f Frame, ok bool) {
	w := walker{b: b}
	if w.peek() != '{' {
		return Frame{}, false
	}
	w.i++
	if w.peek() == '}' {
		return Frame{}, false // no event
	}
	for {
		key, ok := w.plainString()
		if !ok || w.peek() != ':' {
			return Frame{}, false
		}
		w.i++
		w.peek()
		switch string(key) {
		case "event":
			s, ok := w.plainString()
			if !ok {
				return Frame{}, false
			}
			f.Event = string(s)
		case "channel":
			if w.null() {
				f.Channel = ""
				break
			}
			s, ok := w.plainString()
			if !ok {
				return Frame{}, false
			}
			f.Channel = string(s)
		case "user_id":
			s, ok := w.plainString()
			if !ok {
				return Frame{}, false
			}
			f.UserID = string(s)
		case "data":
			start := w.i
			w.skip()
			f.Data = b[start:w.i]
			if string(f.Data) == "null" {
				f.Data = nil
			}
		case "seq":
			n, err := strconv.ParseUint(string(w.number()), 10, 64)
			if err != nil {
				return Frame{}, false
			}
			f.Seq = n
		case "sched_ns", "sent_ns":
			n, err := strconv.ParseInt(string(w.number()), 10, 64)
			if err != nil {
				return Frame{}, false
			}
			if key[1] == 'c' {
				f.SchedNS = n
			} else {
				f.SentNS = n
			}
		default:
			w.skip()
		}
		switch w.peek() {
		case ',':
			w.i++
		case '}':
			w.i++
			w.peek()
			return f, f.Event != "" && w.i == len(b)
		default:
			return Frame{}, false
		}
	}
}

// walker steps through a JSON text known to be valid, with jsonskip.
type walker struct {
	b []byte
	i int
}

// peek skips white space and returns the next byte, 0 at the end.
func (w *walker) peek() byte {
	if w.i = jsonskip.Space(w.b, w.i); w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

// plainString reads a string without escapes.
func (w *walker) plainString() ([]byte, bool) {
	if w.peek() != '"' {
		return nil, false
	}
	start := w.i + 1
	end := bytes.IndexByte(w.b[start:], '"')
	if end < 0 {
		return nil, false
	}
	s := w.b[start : start+end]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	w.i = start + end + 1
	return s, true
}

func (w *walker) null() bool {
	if bytes.HasPrefix(w.b[w.i:], []byte("null")) {
		w.i += 4
		return true
	}
	return false
}

// number returns the bytes of the value at w.i, a number unless strconv
// refuses it (a string, a literal, a fraction or an exponent).
func (w *walker) number() []byte {
	start := w.i
	w.skip()
	return w.b[start:w.i]
}

// skip moves past one value.
func (w *walker) skip() { w.i = jsonskip.Value(w.b, w.i) }
