package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzPusherFrame holds Decode, the protocol's message reader, to
// encoding/json: what it accepts is a JSON object whose "event" is the
// string it returns and whose "channel" is the channel, and a valid object
// with a non-empty event string and a string channel (or none) is
// accepted; keys match exactly, as a JavaScript client's do. It also holds the hub's data
// mapping to its promise: the HTTP API's string data comes back as the same
// string, byte for byte or as equal JSON.
func FuzzPusherFrame(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:s","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"client-x","channel":"private-c","data":{"a":[1,2]},"user_id":"u"}`,
		`{"event":"e","channel":"c","data":"x","seq":3,"sched_ns":1,"sent_ns":2}`,
		`{"event":"pusher:error","data":{"code":null,"message":"m"}}`,
		`{"event":1}`, `[]`, `{"event":"e","channel":7}`, `{"event":"e","seq":-1}`, "\xff", ` {"event":"e"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		var ref map[string]any
		isObj := json.Unmarshal(b, &ref) == nil && ref != nil
		if err == nil {
			if !isObj || !utf8.Valid(b) {
				t.Fatalf("Decode accepted %q, which is not a JSON object", b)
			}
			if ev, _ := ref["event"].(string); ev != fr.Event || ev == "" {
				t.Fatalf("Decode(%q).Event = %q, encoding/json says %v", b, fr.Event, ref["event"])
			}
			if ch, ok := ref["channel"].(string); ok && ch != fr.Channel || !ok && ref["channel"] != nil {
				t.Fatalf("Decode(%q).Channel = %q, encoding/json says %v", b, fr.Channel, ref["channel"])
			}
			if fr.Data != nil && !json.Valid(fr.Data) {
				t.Fatalf("Decode(%q).Data %q is not JSON", b, fr.Data)
			}
			_ = fr.DataText()
		} else if isObj && len(b) <= MaxFrame && utf8.Valid(b) {
			ev, _ := ref["event"].(string)
			_, chStr := ref["channel"].(string)
			if ev != "" && (chStr || ref["channel"] == nil) {
				t.Fatalf("Decode refused %q: %v", b, err)
			}
			if ev == "" && !errors.Is(err, ErrNoEvent) {
				t.Fatalf("Decode(%q) = %v, want ErrNoEvent", b, err)
			}
		}

		// The hub mapping: data → hub value → data.
		if !utf8.Valid(b) {
			return
		}
		s := string(b)
		v := hubData(s)
		if !json.Valid(v) {
			t.Fatalf("hubData(%q) = %q, not JSON", s, v)
		}
		back := dataText(v)
		if string(back) == s {
			return
		}
		var x, y any
		if json.Unmarshal(b, &x) != nil || json.Unmarshal(back, &y) != nil || !jsonEqual(x, y) {
			t.Fatalf("hubData round trip: %q → %q → %q", s, v, back)
		}
		event, text, _ := fromHub(toHub("e", v, ""))
		var z any
		if event != "e" || !bytes.Equal(text, back) && (json.Unmarshal(text, &z) != nil || !jsonEqual(y, z)) {
			t.Fatalf("fromHub(toHub) = %q %q, want e %q", event, text, back)
		}
	})
}

func jsonEqual(x, y any) bool {
	a, _ := json.Marshal(x)
	b, _ := json.Marshal(y)
	return bytes.Equal(a, b)
}

// FuzzPusherDecodeFast: what the fast path reads, the encoding/json path
// reads to the same Frame.
func FuzzPusherDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"event":"rtbench","channel":"bench","data":"{\"seq\":1,\"sched_ns\":2}","seq":3,"sched_ns":4,"sent_ns":5}`,
		`{"event":"e","channel":null,"data":{"a":[1, {"b":"}"}]},"x":[true,null],"user_id":"u"}`,
		` { "event" : "e" , "data" : null , "seq" : 1.5 } `, `{"event":"","data":1}`, `{"event":"\u0065"}`,
		`{"event":"e","seq":null}`, `{"event":"e","seq":-1}`, `{"event":"e","sched_ns":-1,"data":"x","data":7}`,
		`{"channel":"c"}`, `{"event":"e","event":"f","channel":"c","channel":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		fast, ok := decodeFast(b)
		if !ok {
			return
		}
		slow, err := decodeSlow(b)
		if err != nil {
			t.Fatalf("fast path read %q, encoding/json refuses it: %v", b, err)
		}
		if fast.Event != slow.Event || fast.Channel != slow.Channel || fast.UserID != slow.UserID || !bytes.Equal(fast.Data, slow.Data) ||
			(fast.Data == nil) != (slow.Data == nil) || fast.Seq != slow.Seq || fast.SchedNS != slow.SchedNS || fast.SentNS != slow.SentNS {
			t.Fatalf("%q:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}
