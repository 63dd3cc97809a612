package transport_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// stampEnvelope returns a pub/sub envelope exactly as subscribers receive it.
func stampEnvelope(t testing.TB, channel, data string, sent int64) []byte {
	t.Helper()
	msg, _, err := pubsub.New(pubsub.Options{}).Publish(channel, []byte(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	return msg.AppendJSON(nil, sent)
}

func TestParseStamp(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	type S = transport.Stamp
	tests := []struct {
		name string
		in   string
		want S
		ok   bool
	}{
		{"tick", string(transport.AppendTick(nil, 7, 1767225600000000000, 1767225600000012345, 0)),
			S{Seq: 7, HasSeq: true, SchedNS: 1767225600000000000, SentNS: 1767225600000012345, HasSched: true, HasSent: true}, true},
		{"padded tick", string(transport.AppendTick(nil, 1, 2, 3, 300)),
			S{Seq: 1, HasSeq: true, SchedNS: 2, SentNS: 3, HasSched: true, HasSent: true}, true},
		{"nested seq is not the stamp", `{"data":{"seq":99,"sent_ns":5},"seq":1,"list":[{"seq":3}],"s":"\"seq\":4"}`,
			S{Seq: 1, HasSeq: true}, true},
		{"ts in ms", `{"ts":1767225600123}`, S{Clock: 1767225600123000000, HasClock: true, ClockField: "ts", ClockUnit: transport.ClockMS, ClockRes: time.Millisecond}, true},
		{"whitespace everywhere, a negative clock is none", " \t\r\n{ \"seq\" : 5 , \"ts\" :\n-3 }\n", S{Seq: 5, HasSeq: true}, true},
		{"escaped key", `{"se\u0071":2,"sent\u005fns":4,"s\u00e9q":9,"\u0173eq":8}`, S{Seq: 2, HasSeq: true, SentNS: 4, HasSent: true}, true},
		{"keys are case-sensitive", `{"Seq":2,"SEQ":3}`, S{}, true},
		{"last duplicate wins", `{"seq":1,"seq":2}`, S{Seq: 2, HasSeq: true}, true},
		{"last duplicate not an integer clears", `{"seq":1,"seq":"2"}`, S{}, true},
		{"fraction is not an integer", `{"seq":1.5,"sched_ns":1e3,"sent_ns":2.0}`, S{}, true},
		{"negative seq", `{"seq":-1,"sent_ns":-1}`, S{SentNS: -1, HasSent: true}, true},
		{"overflow", `{"seq":18446744073709551616,"sched_ns":9223372036854775808,"sent_ns":-9223372036854775808}`,
			S{SentNS: -9223372036854775808, HasSent: true}, true},
		{"max values", `{"seq":18446744073709551615,"sched_ns":9223372036854775807}`,
			S{Seq: 18446744073709551615, HasSeq: true, SchedNS: 9223372036854775807, HasSched: true}, true},
		{"null and literals", `{"seq":null,"a":true,"b":false,"c":[],"d":{}}`, S{}, true},
		{"empty object", `{}`, S{}, true},
		{"9999 nested arrays (depth 10000)", `{"a":` + deep(9999) + `,"seq":1}`, S{Seq: 1, HasSeq: true}, true},
		{"10000 nested arrays (depth 10001)", `{"a":` + deep(10000) + `,"seq":1}`, S{}, false},
		{"not an object", `[{"seq":1}]`, S{}, false},
		{"number", `1`, S{}, false},
		{"empty", ``, S{}, false},
		{"trailing garbage", `{"seq":1}x`, S{}, false},
		{"two objects", `{"seq":1}{}`, S{}, false},
		{"leading zero", `{"seq":01}`, S{}, false},
		{"trailing comma", `{"seq":1,}`, S{}, false},
		{"unterminated", `{"seq":1`, S{}, false},
		{"control character in string", "{\"a\":\"\x01\",\"seq\":1}", S{}, false},
		{"bad escape", `{"a":"\x","seq":1}`, S{}, false},
		{"short unicode escape", `{"a":"\u12","seq":1}`, S{}, false},
		{"mismatched brackets", `{"a":[1},"seq":1}`, S{}, false},
		{"bare minus", `{"seq":-}`, S{}, false},
		{"dot without digits", `{"seq":1.}`, S{}, false},
		{"exponent without digits", `{"a":1e+,"seq":1}`, S{}, false},
		{"bad literal", `{"a":tru,"seq":1}`, S{}, false},
		{"single quotes", `{'seq':1}`, S{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := transport.ParseStamp([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseStamp = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
			if want, wantOK := stampOracle([]byte(tc.in)); got != want || ok != wantOK {
				t.Errorf("encoding/json reads %+v, %v", want, wantOK)
			}
		})
	}
}

func TestParseStampEnvelope(t *testing.T) {
	tests := []struct {
		channel, data string
		sent          int64
	}{
		{"c", `{"seq":99,"sched_ns":1,"sent_ns":2,"ts":3}`, 1767225600000000123},
		{"room.1", `[{"seq":5},"seq",{"a":{"b":[1,2,{"seq":6}]}}]`, 42},
		{"x", `"a \"seq\":7 string"`, -1},
		{"y", `null`, 0},
	}
	for i, tc := range tests {
		t.Run(tc.channel, func(t *testing.T) {
			payload := stampEnvelope(t, tc.channel, tc.data, tc.sent)
			got, ok := transport.ParseStamp(payload)
			if !ok || !got.HasSeq || got.Seq != 1 || !got.HasSched || !got.HasSent || got.SentNS != tc.sent || got.HasClock {
				t.Errorf("case %d: %s\nParseStamp = %+v, %v; want seq 1, sent_ns %d, no clock", i, payload, got, ok, tc.sent)
			}
			if want, wantOK := stampOracle(payload); got != want || ok != wantOK {
				t.Errorf("encoding/json reads %+v, %v", want, wantOK)
			}
		})
	}
}

func TestParseStampNoAllocs(t *testing.T) {
	tick := transport.AppendTick(nil, 12345, 1767225600000000000, 1767225600000012345, 0)
	env := stampEnvelope(t, "c", `{"msg":"hello \"world\"","n":[1,2,3],"seq":99}`, 1767225600000012345)
	for _, payload := range [][]byte{tick, env} {
		if allocs := testing.AllocsPerRun(100, func() { transport.ParseStamp(payload) }); allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", payload, allocs)
		}
	}
}

func BenchmarkParseStamp(b *testing.B) {
	payloads := []struct {
		name string
		b    []byte
	}{
		{"tick", transport.AppendTick(nil, 12345, 1767225600000000000, 1767225600000012345, 0)},
		{"envelope", stampEnvelope(b, "room.1", `{"user":"ada","text":"hello there","tags":["a","b"]}`, 1767225600000012345)},
	}
	for _, p := range payloads {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(p.b)))
			b.ReportAllocs()
			for b.Loop() {
				transport.ParseStamp(p.b)
			}
		})
	}
}

// FuzzParseStamp checks ParseStamp against encoding/json: ok exactly when
// json.Valid says so for an object, and the same four fields a map decode
// finds.
func FuzzParseStamp(f *testing.F) {
	f.Add(transport.AppendTick(nil, 1, 2, 3, 0))
	f.Add(transport.AppendTick(nil, 18446744073709551615, -9223372036854775808, 9223372036854775807, 120))
	f.Add(stampEnvelope(f, "c", `{"seq":99,"data":[1,{"x":"\u00e9\n"}]}`, 7))
	for _, s := range []string{
		`{"se\u0071":1,"ts":1e3,"sent_ns":-0}`, `{"seq":1,"seq":null}`, `{"a":[[],{},"",-1.5E+3]}`,
		` {"ts" : 1767225600123 } `, `{"seq":01}`, `{"a":"\ud800"}`, "{\"\xff\":1}", `[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := transport.ParseStamp(in)
		want, wantOK := stampOracle(in)
		if got != want || ok != wantOK {
			t.Fatalf("input %q\nParseStamp    = %+v, %v\nencoding/json = %+v, %v", in, got, ok, want, wantOK)
		}
	})
}

// stampOracle is ParseStamp's specification, written with encoding/json.
func stampOracle(in []byte) (transport.Stamp, bool) {
	if !json.Valid(in) || !bytes.HasPrefix(bytes.TrimLeft(in, " \t\r\n"), []byte("{")) {
		return transport.Stamp{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(in, &m); err != nil {
		panic(fmt.Sprintf("valid JSON object %q does not decode: %v", in, err))
	}
	var s transport.Stamp
	if v, err := strconv.ParseUint(string(m["seq"]), 10, 64); err == nil {
		s.Seq, s.HasSeq = v, true
	}
	if v, err := strconv.ParseInt(string(m["sched_ns"]), 10, 64); err == nil {
		s.SchedNS, s.HasSched = v, true
	}
	if v, err := strconv.ParseInt(string(m["sent_ns"]), 10, 64); err == nil {
		s.SentNS, s.HasSent = v, true
	}
	for _, name := range transport.ClockFields {
		if raw, ok := m[name]; ok {
			if ns, unit, res, ok := clockOracle(raw, transport.ClockAuto); ok {
				s.Clock, s.HasClock, s.ClockField, s.ClockUnit, s.ClockRes = ns, true, name, unit, res
				break
			}
		}
	}
	return s, true
}
