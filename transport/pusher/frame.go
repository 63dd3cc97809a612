package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Event names of the protocol.
const (
	EventConnectionEstablished = "pusher:connection_established"
	EventError                 = "pusher:error"
	EventPing                  = "pusher:ping"
	EventPong                  = "pusher:pong"
	EventSubscribe             = "pusher:subscribe"
	EventUnsubscribe           = "pusher:unsubscribe"
	EventSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	EventMemberAdded           = "pusher_internal:member_added"
	EventMemberRemoved         = "pusher_internal:member_removed"
)

// MaxFrame bounds one WebSocket message of the protocol, either way.
const MaxFrame = 64 << 10

// Frame is one message of the Pusher Channels protocol: a JSON object with
// an event name, usually a channel, and data, which is a JSON-encoded string
// in what servers send and may be any JSON value in what clients send.
type Frame struct {
	Event   string
	Channel string
	// Data is the data field as it was on the wire (a JSON value), nil
	// when absent.
	Data json.RawMessage
	// UserID is set on client events of presence channels.
	UserID string
	// Seq, SchedNS and SentNS are rtbench serve's stamps on channel
	// events (0 when absent): the hub's sequence number and when the
	// message was published and written.
	Seq             uint64
	SchedNS, SentNS int64
}

// Errors of Decode.
var (
	ErrNotObject  = errors.New("not a JSON object")
	ErrNoEvent    = errors.New(`no "event" string`)
	ErrFrameSize  = fmt.Errorf("larger than %d bytes", MaxFrame)
	ErrFrameUTF8  = errors.New("not valid UTF-8")
	ErrBadChannel = errors.New(`"channel" is not a string`)
)

// Decode reads one protocol message. It refuses what is not a JSON object
// with a non-empty "event" string, a "channel" that is not a string, text
// that is not UTF-8, and messages over MaxFrame. Keys match exactly, as in
// the JavaScript clients (encoding/json's struct decoding would take
// "EVENT" for "event"); when a key repeats, the last one wins. rtbench's
// stamps and user_id are read when they have their type and ignored
// otherwise. Data aliases b.
func Decode(b []byte) (Frame, error) {
	if len(b) > MaxFrame {
		return Frame{}, ErrFrameSize
	}
	if !utf8.Valid(b) {
		return Frame{}, ErrFrameUTF8
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(b) {
		return Frame{}, ErrNotObject
	}
	if f, ok := decodeFast(b); ok {
		return f, nil
	}
	return decodeSlow(b)
}

// decodeSlow is Decode through encoding/json, for what decodeFast does not
// read.
func decodeSlow(b []byte) (Frame, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Frame{}, ErrNotObject
	}
	var f Frame
	if json.Unmarshal(m["event"], &f.Event) != nil || f.Event == "" {
		return Frame{}, ErrNoEvent
	}
	if raw, ok := m["channel"]; ok && !bytes.Equal(raw, []byte("null")) {
		if json.Unmarshal(raw, &f.Channel) != nil {
			return Frame{}, ErrBadChannel
		}
	}
	if raw := m["data"]; len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		f.Data = raw
	}
	if raw, ok := m["user_id"]; ok {
		json.Unmarshal(raw, &f.UserID)
	}
	json.Unmarshal(m["seq"], &f.Seq)
	json.Unmarshal(m["sched_ns"], &f.SchedNS)
	json.Unmarshal(m["sent_ns"], &f.SentNS)
	return f, nil
}

// DataText is the frame's data as a client library hands it over: the
// string itself when data is a JSON string (what servers send), else the
// JSON text of the value.
func (f Frame) DataText() []byte {
	return dataText(f.Data)
}

func dataText(raw json.RawMessage) []byte {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
	}
	return raw
}

// DataObject decodes the data of a frame whose data is an object, given
// either as one or as a string holding one (pusher:subscribe, pusher:error,
// connection_established).
func (f Frame) DataObject(v any) error {
	if len(f.Data) == 0 {
		return errors.New(`no "data"`)
	}
	return json.Unmarshal(dataText(f.Data), v)
}

// appendFrame appends {"event":E[,"channel":C],"data":D} where D is data as
// a JSON string (the protocol's server side always sends strings), leaving
// the object open when open is set.
func appendFrame(dst []byte, event, channel string, data []byte, open bool) []byte {
	dst = append(dst, `{"event":`...)
	dst = appendJSONString(dst, []byte(event))
	if channel != "" {
		dst = append(dst, `,"channel":`...)
		dst = appendJSONString(dst, []byte(channel))
	}
	dst = append(dst, `,"data":`...)
	dst = appendJSONString(dst, data)
	if !open {
		dst = append(dst, '}')
	}
	return dst
}

// appendJSONString appends s as a JSON string (encoding/json's escaping,
// which strconv.Quote does not match for non-ASCII control points).
func appendJSONString(dst []byte, s []byte) []byte {
	b, _ := json.Marshal(string(s))
	return append(dst, b...)
}

// errorFrame is a pusher:error message; code 0 is sent as null, as Pusher
// does for errors that are not about the connection.
func errorFrame(code int, msg string) []byte {
	b := []byte(`{"event":"pusher:error","data":{"code":`)
	if code == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, `,"message":`...)
	b = appendJSONString(b, []byte(msg))
	return append(b, "}}"...)
}
