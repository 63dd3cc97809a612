package ably

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Actions of a ProtocolMessage (Ably protocol spec TR2).
const (
	ActionHeartbeat    = 0
	ActionAck          = 1
	ActionNack         = 2
	ActionConnect      = 3
	ActionConnected    = 4
	ActionDisconnect   = 5
	ActionDisconnected = 6
	ActionClose        = 7
	ActionClosed       = 8
	ActionError        = 9
	ActionAttach       = 10
	ActionAttached     = 11
	ActionDetach       = 12
	ActionDetached     = 13
	ActionPresence     = 14
	ActionMessage      = 15
	ActionSync         = 16
	ActionAuth         = 17
)

var actionNames = [...]string{"HEARTBEAT", "ACK", "NACK", "CONNECT", "CONNECTED", "DISCONNECT", "DISCONNECTED",
	"CLOSE", "CLOSED", "ERROR", "ATTACH", "ATTACHED", "DETACH", "DETACHED", "PRESENCE", "MESSAGE", "SYNC", "AUTH"}

// ActionName names an action for error messages ("ATTACH"), or gives its
// number when it is not one this package knows.
func ActionName(a int) string {
	if a >= 0 && a < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action %d", a)
}

// Flags of ATTACH and ATTACHED (TR3).
const (
	FlagHasPresence       = 1 << 0
	FlagHasBacklog        = 1 << 1
	FlagResumed           = 1 << 2
	FlagModePresence      = 1 << 16
	FlagModePublish       = 1 << 17
	FlagModeSubscribe     = 1 << 18
	FlagModePresenceSub   = 1 << 19
	flagModes             = FlagModePresence | FlagModePublish | FlagModeSubscribe | FlagModePresenceSub
	maxProtocolMessageLen = 1 << 20
)

// ProtocolMessage is one frame of the realtime protocol, in JSON (text
// frames) or MessagePack (binary frames) with the same field names.
type ProtocolMessage struct {
	Action            int                `json:"action" msgpack:"action"`
	Flags             int64              `json:"flags,omitempty" msgpack:"flags,omitempty"`
	Count             int                `json:"count,omitempty" msgpack:"count,omitempty"`
	Error             *ErrorInfo         `json:"error,omitempty" msgpack:"error,omitempty"`
	ID                string             `json:"id,omitempty" msgpack:"id,omitempty"`
	Channel           string             `json:"channel,omitempty" msgpack:"channel,omitempty"`
	ChannelSerial     string             `json:"channelSerial,omitempty" msgpack:"channelSerial,omitempty"`
	ConnectionID      string             `json:"connectionId,omitempty" msgpack:"connectionId,omitempty"`
	MsgSerial         *int64             `json:"msgSerial,omitempty" msgpack:"msgSerial,omitempty"`
	Timestamp         int64              `json:"timestamp,omitempty" msgpack:"timestamp,omitempty"`
	Messages          []*Message         `json:"messages,omitempty" msgpack:"messages,omitempty"`
	Params            map[string]string  `json:"params,omitempty" msgpack:"params,omitempty"`
	ConnectionDetails *ConnectionDetails `json:"connectionDetails,omitempty" msgpack:"connectionDetails,omitempty"`
}

// ConnectionDetails come with CONNECTED.
type ConnectionDetails struct {
	ClientID           string `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
	ConnectionKey      string `json:"connectionKey" msgpack:"connectionKey"`
	MaxMessageSize     int    `json:"maxMessageSize" msgpack:"maxMessageSize"`
	MaxFrameSize       int    `json:"maxFrameSize" msgpack:"maxFrameSize"`
	MaxInboundRate     int    `json:"maxInboundRate" msgpack:"maxInboundRate"`
	MaxOutboundRate    int    `json:"maxOutboundRate" msgpack:"maxOutboundRate"`
	ConnectionStateTTL int64  `json:"connectionStateTtl" msgpack:"connectionStateTtl"`
	MaxIdleInterval    int64  `json:"maxIdleInterval" msgpack:"maxIdleInterval"`
	ServerID           string `json:"serverId" msgpack:"serverId"`
}

// ErrorInfo is Ably's error: a 5-digit code, the HTTP status it maps to
// and a message.
type ErrorInfo struct {
	Code       int    `json:"code" msgpack:"code"`
	StatusCode int    `json:"statusCode" msgpack:"statusCode"`
	Message    string `json:"message" msgpack:"message"`
	Href       string `json:"href,omitempty" msgpack:"href,omitempty"`
}

func (e *ErrorInfo) Error() string {
	return fmt.Sprintf("ably error %d (HTTP %d): %s", e.Code, e.StatusCode, e.Message)
}

// Message is one Ably message.
type Message struct {
	ID           string         `json:"id,omitempty" msgpack:"id,omitempty"`
	Name         string         `json:"name,omitempty" msgpack:"name,omitempty"`
	Data         Data           `json:"data,omitzero" msgpack:"data,omitempty"`
	Encoding     string         `json:"encoding,omitempty" msgpack:"encoding,omitempty"`
	ClientID     string         `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
	ConnectionID string         `json:"connectionId,omitempty" msgpack:"connectionId,omitempty"`
	Timestamp    int64          `json:"timestamp,omitempty" msgpack:"timestamp,omitempty"`
	Extras       map[string]any `json:"extras,omitempty" msgpack:"extras,omitempty"`
}

// Data is a message's payload as it travels: a string, bytes (MessagePack
// bin), or, where a publisher sent a JSON value other than a string
// (curl -d '{"data":{"a":1}}'), that value's JSON text (JSON set).
type Data struct {
	B      []byte
	Binary bool // MessagePack bin
	JSON   bool // B is a JSON value that was not a string
	Set    bool // present and not null
}

// Text is a Data holding the string s.
func Text(s string) Data { return Data{B: []byte(s), Set: true} }

// IsZero reports an absent payload (omitempty).
func (d Data) IsZero() bool { return !d.Set }

// MarshalJSON writes the payload as JSON: a string, bytes as base64 (the
// caller adds "base64" to the encoding: see Message.forJSON), a JSON value
// as itself.
func (d Data) MarshalJSON() ([]byte, error) {
	switch {
	case !d.Set:
		return []byte("null"), nil
	case d.JSON:
		return d.B, nil
	case d.Binary:
		return json.Marshal(base64.StdEncoding.EncodeToString(d.B))
	}
	return json.Marshal(string(d.B))
}

// UnmarshalJSON reads a string, or keeps any other JSON value's text.
func (d *Data) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = Data{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Data{B: []byte(s), Set: true}
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return err
		}
		*d = Data{B: buf.Bytes(), JSON: true, Set: true}
	}
	return nil
}

// EncodeMsgpack writes str or bin.
func (d Data) EncodeMsgpack(enc *msgpack.Encoder) error {
	switch {
	case !d.Set:
		return enc.EncodeNil()
	case d.Binary:
		return enc.EncodeBytes(d.B)
	}
	return enc.EncodeString(string(d.B))
}

// DecodeMsgpack reads str or bin; any other value becomes its JSON text.
func (d *Data) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = Data{}
	case string:
		*d = Data{B: []byte(v), Set: true}
	case []byte:
		*d = Data{B: v, Binary: true, Set: true}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("message data: %v", err)
		}
		*d = Data{B: b, JSON: true, Set: true}
	}
	return nil
}

// Format is how protocol messages are encoded on a connection or in a
// REST body.
type Format int

const (
	JSON Format = iota
	MsgPack
)

func (f Format) String() string {
	if f == MsgPack {
		return "msgpack"
	}
	return "json"
}

// ContentType is the media type of a REST body in f.
func (f Format) ContentType() string {
	if f == MsgPack {
		return "application/x-msgpack"
	}
	return "application/json"
}

// ErrDecode wraps every decoding failure.
var ErrDecode = errors.New("undecodable protocol message")

// DecodeProtocolMessage reads one frame in format f. What it returns may
// alias b.
func DecodeProtocolMessage(b []byte, f Format) (*ProtocolMessage, error) {
	if len(b) > maxProtocolMessageLen {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrDecode, len(b), maxProtocolMessageLen)
	}
	if f == JSON {
		if pm, ok := decodeJSONFast(b); ok {
			return pm, nil
		}
	}
	pm := new(ProtocolMessage)
	if err := unmarshal(b, f, pm); err != nil {
		return nil, err
	}
	return pm, nil
}

// unmarshal decodes one value of format f from b, which must hold exactly
// that value.
func unmarshal(b []byte, f Format, v any) error {
	if f == MsgPack {
		if err := scanMsgpack(b); err != nil {
			return fmt.Errorf("%w (msgpack): %v", ErrDecode, err)
		}
		dec := msgpack.NewDecoder(bytes.NewReader(b))
		dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("%w (msgpack): %v", ErrDecode, err)
		}
		if dec.Buffered().(*bytes.Reader).Len() != 0 {
			return fmt.Errorf("%w (msgpack): trailing bytes", ErrDecode)
		}
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w (json): %v", ErrDecode, err)
	}
	return nil
}

// Marshal encodes v (a ProtocolMessage, a message or a REST answer) in f.
func Marshal(v any, f Format) ([]byte, error) {
	if f == MsgPack {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		enc.SetCustomStructTag("msgpack")
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return json.Marshal(v)
}

// forWire returns m as it is sent in format f: binary data is base64 text
// with "base64" last in its encoding in JSON, and non-string JSON values
// are JSON text with "json" last.
func (m *Message) forWire(f Format) *Message {
	out := *m
	switch {
	case m.Data.JSON:
		out.Data = Data{B: m.Data.B, Set: true}
		out.Encoding = joinEncoding(m.Encoding, "json")
	case m.Data.Binary && f == JSON:
		out.Data = Text(base64.StdEncoding.EncodeToString(m.Data.B))
		out.Encoding = joinEncoding(m.Encoding, "base64")
	}
	return &out
}

func joinEncoding(enc, step string) string {
	if enc == "" {
		return step
	}
	return enc + "/" + step
}

// popEncoding splits off the last step of an encoding ("json/base64" →
// "json", "base64").
func popEncoding(enc string) (rest, last string) {
	if i := strings.LastIndexByte(enc, '/'); i >= 0 {
		return enc[:i], enc[i+1:]
	}
	return "", enc
}

// normalise undoes the transport steps a publisher applied (base64 for
// bytes in JSON, json for a JSON value), so that m.Data is bytes, a string
// or a JSON value, with the encoding left for the steps rtbench does not
// apply (utf-8, cipher+…), which are kept as they are and passed on.
// spaced reports whether the JSON text b has white space outside its
// strings (json.Compact would change it).
func spaced(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			return true
		}
	}
	return false
}

func (m *Message) normalise() error {
	for m.Encoding != "" {
		rest, last := popEncoding(m.Encoding)
		switch last {
		case "base64":
			if m.Data.Binary || m.Data.JSON {
				return fmt.Errorf("encoding %q: data is not a base64 string", m.Encoding)
			}
			b, err := base64.StdEncoding.DecodeString(string(m.Data.B))
			if err != nil {
				return fmt.Errorf("encoding %q: %v", m.Encoding, err)
			}
			m.Data = Data{B: b, Binary: true, Set: true}
		case "json":
			if m.Data.Binary {
				return fmt.Errorf("encoding %q: binary data", m.Encoding)
			}
			if !m.Data.JSON {
				if !json.Valid(m.Data.B) {
					return fmt.Errorf("encoding %q: data is not JSON", m.Encoding)
				}
				b := m.Data.B
				if spaced(b) {
					var buf bytes.Buffer
					json.Compact(&buf, b)
					b = buf.Bytes()
				}
				m.Data = Data{B: b, JSON: true, Set: true}
			}
		default:
			return m.checkText()
		}
		m.Encoding = rest
	}
	return m.checkText()
}

// checkText refuses string data that is not UTF-8 (a MessagePack str must
// be): kept in the hub's JSON it would come out changed.
func (m *Message) checkText() error {
	if m.Data.Set && !m.Data.Binary && !utf8.Valid(m.Data.B) {
		return errors.New("string data is not UTF-8; send bytes (MessagePack bin, or base64 with encoding base64) instead")
	}
	for _, f := range [...]struct{ name, v string }{{"name", m.Name}, {"encoding", m.Encoding}, {"id", m.ID}, {"clientId", m.ClientID}, {"connectionId", m.ConnectionID}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("the message's %s is not UTF-8", f.name)
		}
	}
	return nil
}
