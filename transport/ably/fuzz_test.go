package ably

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzProtocolMessage: the frame decoder on any bytes, in both formats,
// never panics; a JSON frame that is not valid JSON is refused; what it
// decodes encodes again to bytes that decode and encode to the same bytes
// (the encoding is stable); and each decoded message survives the hub's
// keeping (toHub → fromHub) with its name, encoding and data.
func FuzzProtocolMessage(f *testing.F) {
	seeds := []string{
		`{"action":15,"channel":"chat","msgSerial":0,"messages":[{"name":"message","data":"{\"text\":\"hi\"}","encoding":"json"}]}`,
		`{"action":10,"channel":"chat","channelSerial":"ab12:7","params":{"rewind":"3"}}`,
		`{"action":4,"connectionId":"c","connectionDetails":{"connectionKey":"k","maxIdleInterval":15000}}`,
		`{"action":9,"error":{"code":40101,"statusCode":401,"message":"bad"}}`,
		`{"action":15,"messages":[{"data":"AAEC","encoding":"utf-8/base64"},{"data":{"a":[1,2]}},{"data":null,"extras":{"x":1}}]}`,
		`{"action":0,"id":"ping"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		var v ProtocolMessage
		if json.Unmarshal([]byte(s), &v) == nil {
			if b, err := Marshal(&v, MsgPack); err == nil {
				f.Add(b, true)
			}
		}
	}
	f.Add([]byte{0x81, 0xa6, 'a', 'c', 't', 'i', 'o', 'n', 0x0f}, true)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, true)
	f.Fuzz(func(t *testing.T, b []byte, mp bool) {
		format := JSON
		if mp {
			format = MsgPack
		}
		pm, err := DecodeProtocolMessage(b, format)
		if err != nil {
			return
		}
		if format == JSON && !json.Valid(b) {
			t.Fatalf("decoded invalid JSON %q", b)
		}
		enc1, err := Marshal(pm, format)
		if err != nil {
			return // a value that cannot be written back (NaN in extras …)
		}
		pm2, err := DecodeProtocolMessage(enc1, format)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc1, err)
		}
		enc2, err := Marshal(pm2, format)
		if err != nil || !bytes.Equal(enc1, enc2) {
			t.Fatalf("unstable encoding:\n%q\n%q (%v)", enc1, enc2, err)
		}
		for _, m := range pm.Messages {
			if m == nil || m.normalise() != nil {
				continue
			}
			h, err := toHub(m)
			if err != nil {
				t.Fatalf("toHub(%+v): %v", m, err)
			}
			back, ok := fromHub(h)
			if !ok {
				t.Fatalf("fromHub(%s) refused what toHub wrote", h)
			}
			if back.Name != m.Name || back.Encoding != m.Encoding || back.Data.Set != m.Data.Set || back.Data.Binary != m.Data.Binary ||
				(m.Data.Binary || !m.Data.JSON) && !bytes.Equal(back.Data.B, m.Data.B) && json.Valid(m.Data.B) == json.Valid(back.Data.B) {
				t.Fatalf("through the hub %+v became %+v (kept as %s)", m, back, h)
			}
		}
	})
}

// TestScanMsgpack: the shapes the scanner refuses before the decoder sees
// them, and that it accepts what the encoder writes.
func TestScanMsgpack(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, maxDepth+1)
	deep = append(deep, 0xc0)
	ok := bytes.Repeat([]byte{0x91}, maxDepth)
	ok = append(ok, 0xc0)
	enc, _ := Marshal(&ProtocolMessage{Action: ActionMessage, Messages: []*Message{{Name: "n", Data: Data{B: []byte{1, 2}, Binary: true, Set: true}, Extras: map[string]any{"a": []any{1.5, "x", nil}}}}}, MsgPack)
	for _, c := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"encoded message", enc, true},
		{"nested to the limit", ok, true},
		{"nested past the limit", deep, false},
		{"bin32 claiming 808 MB", []byte{0xc6, 0x30, 0x30, 0x30, 0x30, 0x30}, false},
		{"array32 claiming 4 G items", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}, false},
		{"map16 of 2 pairs, 1 given", []byte{0x82, 0xa1, 'a', 0xc0}, false},
		{"trailing byte", []byte{0xc0, 0xc0}, false},
		{"unused code", []byte{0xc1}, false},
		{"empty", nil, false},
		{"empty map", []byte{0x80}, true},
	} {
		if err := scanMsgpack(c.b); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// TestParseTarget: URL forms, and errors that never show the secret.
func TestParseTarget(t *testing.T) {
	good := []struct {
		url                string
		tls                bool
		host, rest, ch, ev string
		key, token         string
		format             Format
	}{
		{"ably://app.k:s3cret@main.realtime.ably.net/chat", true, "main.realtime.ably.net:443", "main.realtime.ably.net:443", "chat", "", "app.k:s3cret", "", JSON},
		{"ably+http://app.k:s3cret@127.0.0.1:8080/room?event=tick&format=msgpack", false, "127.0.0.1:8080", "127.0.0.1:8080", "room", "tick", "app.k:s3cret", "", MsgPack},
		{"ably://TOKEN123@realtime.ably.io/c", true, "realtime.ably.io:443", "rest.ably.io:443", "c", "", "", "TOKEN123", JSON},
		{"ably+https://app.k:s@h.example/c?rest=r.example", true, "h.example:443", "r.example:443", "c", "", "app.k:s", "", JSON},
	}
	for _, g := range good {
		tg, err := ParseTarget(g.url)
		if err != nil {
			t.Errorf("%s: %v", g.url, err)
			continue
		}
		if tg.TLS != g.tls || tg.Host != g.host || tg.RESTHost != g.rest || tg.Channel != g.ch || tg.Event != g.ev || tg.Key != g.key || tg.Token != g.token || tg.Format != g.format {
			t.Errorf("%s: %+v", g.url, tg)
		}
	}
	for _, bad := range []string{
		"ably://app.k:s3cret@h/",             // no channel
		"ably://app.k:s3cret@h/a/b",          // two
		"ably://h/c",                         // no credentials
		"ably://nodot:s3cret@h/c",            // not appId.keyId
		"ably://app.k:s3cret@h/c?format=xml", // format
		"ably://app.k:s3cret@h/c?bogus=1",    // parameter
		"ably://app.k:s3cret@h:port/c",       // url.Parse fails
		"ably+ftp://app.k:s3cret@h/c",        // scheme
	} {
		_, err := ParseTarget(bad)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want an error without the secret", bad, err)
		}
	}
}

// FuzzDecodeJSONFast: whatever the fast JSON path decodes, encoding/json
// decodes too, to the same ProtocolMessage; and spaced says whether
// json.Compact would change a JSON text.
func FuzzDecodeJSONFast(f *testing.F) {
	seeds := []string{
		`{"action":15,"channel":"bench","channelSerial":"ab12cd34:7","id":"x:0","timestamp":1733400000000,"messages":[{"id":"x:0","name":"message","data":"{\"seq\":1}","encoding":"json","timestamp":1733400000000}]}`,
		`{"action":15,"messages":[{"data":{"a":[1, 2]}},null,{"data":null},{"data":"plain"},{"data":12.5},{"data":true}]}`,
		`{"action":11,"channel":"c","flags":196608,"channelSerial":"s"}`,
		`{"action":0}`, ` { "action" : 15 , "messages" : [ ] } `, `{"Action":15}`, `{"action":1e2}`,
		`{"action":15,"channel":"\u0062"}`, `{"action":null}`, `{"messages":null}`, `{}`, `[]`, `{"action":-3}`,
		`{"action":99999999999999999999}`, `{"action":15,"messages":[{"extras":{}}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if json.Valid(b) {
			var buf bytes.Buffer
			json.Compact(&buf, b)
			if spaced(b) != !bytes.Equal(buf.Bytes(), b) {
				t.Fatalf("spaced(%q) = %v, json.Compact gives %q", b, spaced(b), buf.Bytes())
			}
		}
		fast, ok := decodeJSONFast(b)
		if !ok {
			return
		}
		var slow ProtocolMessage
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast path decoded %q, encoding/json refuses it: %v", b, err)
		}
		fj, _ := json.Marshal(fast)
		sj, _ := json.Marshal(&slow)
		if !bytes.Equal(fj, sj) || len(fast.Messages) != len(slow.Messages) || (fast.Messages == nil) != (slow.Messages == nil) {
			t.Fatalf("%q:\nfast %s\nslow %s", b, fj, sj)
		}
		for i, m := range fast.Messages {
			if (m == nil) != (slow.Messages[i] == nil) || m != nil && (m.Data.Set != slow.Messages[i].Data.Set || m.Data.JSON != slow.Messages[i].Data.JSON || !bytes.Equal(m.Data.B, slow.Messages[i].Data.B)) {
				t.Fatalf("%q: message %d: fast %+v, slow %+v", b, i, m, slow.Messages[i])
			}
		}
	})
}

func TestServeFramesTakeFastPath(t *testing.T) {
	m := &Message{ID: "a:0", Name: "message", Data: Data{B: []byte(`{"seq":1,"sched_ns":2}`), JSON: true, Set: true}, Timestamp: 3}
	for _, pm := range []*ProtocolMessage{
		{Action: ActionMessage, Channel: "bench", ChannelSerial: "ab12cd34:7", ID: "a:0", Timestamp: 3, Messages: []*Message{m.forWire(JSON)}},
		{Action: ActionMessage, Channel: "bench", Messages: []*Message{{Name: "t", Data: Text("hi \"there\"")}}},
		{Action: ActionHeartbeat},
	} {
		b, err := Marshal(pm, JSON)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeJSONFast(b); !ok {
			t.Errorf("%s: not decoded on the fast path", b)
		}
	}
}
