package ably

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport/pubsub"
)

// An Ably message is kept in the hub (transport/pubsub) as a JSON object
// holding its fields,
//
//	{"name":"message","data":{"text":"hi"},"id":"…","clientId":"…"}
//
// with data as a JSON value where the publisher sent one (encoding "json"),
// a string otherwise, and bytes as base64 text with "base64" last in
// encoding. So SSE, WebSocket and polling subscribers of the channel see
// Ably messages as readable JSON inside the hub's envelope, and an Ably
// subscriber gets back exactly what was published. A hub message whose
// data is not such an object (one from /api/publish, a /ws room, another
// protocol) reaches Ably subscribers as a message named "message" whose
// data is the hub's envelope {"channel","seq","sched_ns","sent_ns","data"}
// (encoding "json"), so its publish time travels with it.

// hubFields are the keys of a kept Ably message; "name" must be present.
var hubFields = map[string]bool{"name": true, "data": true, "encoding": true, "id": true, "clientId": true, "connectionId": true, "extras": true}

type hubRecord struct {
	Name         *string         `json:"name"`
	Data         json.RawMessage `json:"data,omitempty"`
	Encoding     string          `json:"encoding,omitempty"`
	ID           string          `json:"id,omitempty"`
	ClientID     string          `json:"clientId,omitempty"`
	ConnectionID string          `json:"connectionId,omitempty"`
	Extras       map[string]any  `json:"extras,omitempty"`
}

// toHub encodes a normalised message for Hub.Publish.
func toHub(m *Message) ([]byte, error) {
	r := hubRecord{Name: &m.Name, Encoding: m.Encoding, ID: m.ID, ClientID: m.ClientID, ConnectionID: m.ConnectionID, Extras: m.Extras}
	if m.Name == "" {
		r.Name = nil
	}
	switch d := m.Data; {
	case !d.Set:
	case d.JSON && d.B[0] != '"':
		r.Data = d.B
	case d.JSON: // a JSON string: keep it a string, the encoding says json
		r.Data, _ = json.Marshal(string(d.B))
		r.Encoding = joinEncoding(r.Encoding, "json")
	case d.Binary:
		r.Data, _ = json.Marshal(base64.StdEncoding.EncodeToString(d.B))
		r.Encoding = joinEncoding(r.Encoding, "base64")
	default:
		r.Data, _ = json.Marshal(string(d.B)) // invalid UTF-8 becomes U+FFFD, as JSON needs
	}
	return json.Marshal(&r)
}

// fromHub reads back a kept Ably message; ok is false when data is not one.
func fromHub(data []byte) (m *Message, ok bool) {
	if len(data) == 0 || data[0] != '{' || !bytes.Contains(data, []byte(`"name"`)) {
		return nil, false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) != nil {
		return nil, false
	}
	if _, has := keys["name"]; !has {
		return nil, false
	}
	for k := range keys {
		if !hubFields[k] {
			return nil, false
		}
	}
	var r hubRecord
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	m = &Message{Encoding: r.Encoding, ID: r.ID, ClientID: r.ClientID, ConnectionID: r.ConnectionID, Extras: r.Extras}
	if r.Name != nil {
		m.Name = *r.Name
	}
	if len(r.Data) > 0 && string(r.Data) != "null" {
		if r.Data[0] == '"' {
			var s string
			if json.Unmarshal(r.Data, &s) != nil {
				return nil, false
			}
			m.Data = Text(s)
		} else {
			m.Data = Data{B: r.Data, JSON: true, Set: true}
		}
	}
	if m.normalise() != nil {
		return nil, false
	}
	return m, true
}

// hubMessage is the Ably message a subscriber receives for a hub message:
// the kept Ably message, or a message named "message" carrying the
// envelope. sent is the write time for the envelope's sent_ns.
func hubMessage(hm *pubsub.Message, sent int64) *Message {
	m, ok := fromHub(hm.Data)
	if !ok {
		m = &Message{Name: "message", Data: Data{B: hm.AppendJSON(nil, sent), JSON: true, Set: true}}
	}
	if m.ID == "" {
		m.ID = "rtbench-hub:" + hm.Channel + ":" + strconv.FormatUint(hm.Seq, 10)
	}
	m.Timestamp = hm.SchedNS / 1e6
	return m
}

// serials: a channel serial is "<instance>:<seq>", instance naming the
// server process (its hub), so a serial from another run is not taken for
// a position in this one.
func channelSerial(instance string, seq uint64) string {
	return instance + ":" + strconv.FormatUint(seq, 10)
}

// serialNumber is the message number at the end of one of serve's channel
// serials.
func serialNumber(s string) (uint64, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 64)
	return n, err == nil
}

func parseSerial(instance, s string) (uint64, bool) {
	in, seq, ok := strings.Cut(s, ":")
	if !ok || in != instance {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil
}

// frameCache holds the encoded MESSAGE frames of recent hub messages, so a
// message delivered to N subscribers is decoded from the hub and encoded
// once per format, not N times. It is a fixed table indexed by seq and
// format: a miss (another message in the slot) encodes again. Messages
// that did not come from Ably carry the envelope with sent_ns, the time of
// the write, so they are encoded per subscriber and not kept.
type frameCache struct {
	mu    sync.Mutex
	slots [frameSlots]frameSlot
}

const frameSlots = 512

type frameSlot struct {
	m      *pubsub.Message
	format Format
	b      []byte
}

// frame returns the MESSAGE frame of hm in format f.
func (fc *frameCache) frame(hm *pubsub.Message, f Format, instance string) ([]byte, error) {
	i := (hm.Seq*2 + uint64(f)) % frameSlots
	fc.mu.Lock()
	if s := fc.slots[i]; s.m == hm && s.format == f {
		fc.mu.Unlock()
		return s.b, nil
	}
	fc.mu.Unlock()
	am, fromAbly := fromHub(hm.Data)
	if !fromAbly {
		am = &Message{Name: "message", Data: Data{B: hm.AppendJSON(nil, time.Now().UnixNano()), JSON: true, Set: true}}
	}
	if am.ID == "" {
		am.ID = "rtbench-hub:" + hm.Channel + ":" + strconv.FormatUint(hm.Seq, 10)
	}
	am.Timestamp = hm.SchedNS / 1e6
	m := am.forWire(f)
	b, err := Marshal(&ProtocolMessage{Action: ActionMessage, Channel: hm.Channel, ChannelSerial: channelSerial(instance, hm.Seq),
		ID: m.ID, ConnectionID: m.ConnectionID, Timestamp: m.Timestamp, Messages: []*Message{m}}, f)
	if err == nil && fromAbly {
		fc.mu.Lock()
		fc.slots[i] = frameSlot{m: hm, format: f, b: b}
		fc.mu.Unlock()
	}
	return b, err
}
