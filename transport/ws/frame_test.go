package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// lengthHeader is a binary frame header that declares n payload bytes in
// the 64-bit form, with no payload after it.
func lengthHeader(n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x80 | opBinary, 127}, n)
}

// TestClientFrames scripts a server byte by byte after its 101 and checks
// what a session delivers, reports and sends back, over coder/websocket and
// over the lean path: every rule of RFC 6455 a server can break fails the
// connection with the code the RFC gives (1002 protocol error, 1007 invalid
// UTF-8, 1009 too big), at once, as the same class on both paths.
func TestClientFrames(t *testing.T) { bothPaths(t, testClientFrames) }

func testClientFrames(t *testing.T) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	big := bytes.Repeat([]byte("y"), 70_000)
	ping125 := bytes.Repeat([]byte("p"), 125)
	const (
		serverCloses = iota // the script ends with the server's close
		clientCloses        // the client must close (and the server echoes)
	)
	type tcase struct {
		name     string
		send     []byte
		who      int
		limit    int64
		allow    bool // AllowInvalidUTF8
		messages []string
		pongs    []string
		code     int             // the close reported
		clean    bool            //
		class    transport.Class // Run's error, "" for nil
		saw      int             // the close code the server read; -2: none in the frame
		warnings int             // non-fatal invalid_utf8_text errors
		eof      bool            // the server half-closes after send
	}
	fails := func(name string, send []byte, limit int64, code int, class transport.Class) tcase {
		return tcase{name: name, send: send, who: clientCloses, limit: limit, code: code, class: class, saw: code}
	}
	protocol := func(name string, send []byte) tcase {
		return fails(name, send, 0, 1002, transport.ClassWSProtocol)
	}
	cases := []tcase{
		{name: "fragments with a ping between", send: cat(frame(false, opText, []byte(`{"seq":`)), frame(true, opPing, []byte("p1")), frame(false, opContinuation, []byte("4")), frame(true, opPong, []byte("unsolicited")), frame(true, opContinuation, []byte(`2}`)), closeFrame(1000, "bye")),
			messages: []string{`{"seq":42}`}, pongs: []string{"p1"}, code: 1000, clean: true, saw: 1000},
		{name: "64-bit length and a 16-bit one", send: cat(frame(true, opBinary, big), frame(true, opText, big[:300]), closeFrame(1001, "")),
			messages: []string{string(big), string(big[:300])}, code: 1001, clean: true, saw: 1001},
		{name: "125-byte ping answered", send: cat(frame(true, opPing, ping125), closeFrame(1000, "")),
			pongs: []string{string(ping125)}, code: 1000, clean: true, saw: 1000},
		{name: "125-byte ping under a 16-byte limit", send: cat(frame(true, opPing, ping125), closeFrame(1000, "")), limit: 16,
			pongs: []string{string(ping125)}, code: 1000, clean: true, saw: 1000},
		{name: "close without a code", send: cat(frame(true, opText, []byte("a")), frame(true, opClose, nil)),
			messages: []string{"a"}, code: 1005, clean: true, saw: -2},
		{name: "close 4000", send: closeFrame(4000, "app"), code: 4000, class: transport.ClassWSClose, saw: 4000},
		{name: "UTF-8 split across fragments", send: cat(frame(false, opText, []byte("\xc3")), frame(true, opContinuation, []byte("\xa9")), closeFrame(1000, "")),
			messages: []string{"é"}, code: 1000, clean: true, saw: 1000},
		// coder/websocket alone takes an EOF right after a header for the
		// end of an empty message.
		{name: "payload cut before its first byte", send: cat(frame(true, opText, []byte("a")), []byte{0x82, 5}), eof: true,
			messages: []string{"a"}, code: 1006, class: transport.ClassWSAbnormal, saw: -1},
		{name: "payload cut in the middle", send: []byte{0x82, 5, 'a', 'b'}, eof: true, code: 1006, class: transport.ClassWSAbnormal, saw: -1},
		{name: "message cut between fragments", send: frame(false, opText, []byte("00")), eof: true, code: 1006, class: transport.ClassWSAbnormal, saw: -1},
		{name: "header cut", send: []byte{0x82, 126, 0}, eof: true, code: 1006, class: transport.ClassWSAbnormal, saw: -1},
		{name: "invalid UTF-8 allowed", send: cat(frame(true, opText, []byte("\xff")), closeFrame(1000, "")), allow: true,
			messages: []string{"\xff"}, code: 1000, clean: true, saw: 1000, warnings: 1},

		// §5.1, §5.2: framing.
		protocol("masked server frame", maskedFrame(opText, []byte("hidden"))),
		protocol("masked close frame", maskedFrame(opClose, []byte{3, 0xe8})),
		protocol("64-bit length with its MSB set (2^63)", lengthHeader(1<<63)),
		protocol("64-bit length all ones", lengthHeader(^uint64(0))),
		protocol("rsv1 without an extension", append([]byte{0xC1, 1}, 'x')),
		protocol("rsv2", append([]byte{0xA1, 1}, 'x')),
		protocol("rsv3", append([]byte{0x91, 1}, 'x')),
		protocol("rsv1 on a ping", []byte{0xC9, 0}),
		// §5.4, §5.5: fragments and control frames.
		protocol("continuation first", frame(true, opContinuation, []byte("x"))),
		protocol("new message inside a fragmented one", cat(frame(false, opText, []byte("a")), frame(true, opText, []byte("b")))),
		protocol("126-byte ping", frame(true, opPing, append(ping125, 'p'))),
		protocol("126-byte close", frame(true, opClose, append([]byte{3, 0xe8}, ping125[:124]...))),
		protocol("fragmented ping", frame(false, opPing, []byte("x"))),
		protocol("fragmented close", frame(false, opClose, []byte{3, 0xe8})),
		// §7.4: close payloads.
		protocol("1-byte close payload", frame(true, opClose, []byte{3})),
		fails("invalid UTF-8 in the close reason", closeFrame(1000, "bye \xff"), 0, 1007, transport.ClassInvalidUTF8Text),
		// §8.1: text.
		fails("invalid UTF-8", cat(frame(true, opText, []byte("\xff")), frame(true, opText, []byte("ok"))), 0, 1007, transport.ClassInvalidUTF8Text),
		fails("invalid UTF-8 across fragments", cat(frame(false, opText, []byte("\xc3")), frame(true, opContinuation, []byte("("))), 0, 1007, transport.ClassInvalidUTF8Text),
		// The read limit, judged on the declared length: no payload follows.
		{name: "over the limit", send: cat(frame(true, opText, make([]byte, 100)), frame(true, opText, make([]byte, 101))), who: clientCloses, limit: 100,
			messages: []string{string(make([]byte, 100))}, code: 1009, class: transport.ClassMessageTooBig, saw: 1009},
		fails("over the limit across fragments", cat(frame(false, opBinary, make([]byte, 60)), frame(true, opContinuation, make([]byte, 60))), 100, 1009, transport.ClassMessageTooBig),
		fails("2^63-1 declared", lengthHeader(1<<63-1), 0, 1009, transport.ClassMessageTooBig),
		fails("2^62 declared, no limit", lengthHeader(1<<62), -1, 1009, transport.ClassMessageTooBig),
		fails("1 MiB + 1 declared", lengthHeader(1<<20+1), 0, 1009, transport.ClassMessageTooBig),
		fails("101 declared with a 100-byte limit", []byte{0x82, 101}, 100, 1009, transport.ClassMessageTooBig),
		fails("70,000 declared in a fragment", cat(frame(false, opBinary, []byte("a")), binary.BigEndian.AppendUint64([]byte{opContinuation, 127}, 70_000)), 65_536, 1009, transport.ClassMessageTooBig),
	}
	for op := byte(0x3); op <= 0xF; op++ {
		if op == opClose || op == opPing || op == opPong {
			continue
		}
		cases = append(cases, protocol(fmt.Sprintf("reserved opcode %#x", op), frame(true, op, nil)))
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		cases = append(cases, protocol(fmt.Sprintf("close %d on the wire", code), closeFrame(code, "")))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type seen struct {
				pongs []string
				code  int
			}
			got := make(chan seen, 1)
			s := rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				c.Write(tc.send)
				if tc.eof {
					c.(*net.TCPConn).CloseWrite()
				}
				var sw seen
				sw.code = -1
				defer func() { got <- sw }()
				for {
					op, p, err := readClientFrame(br)
					if err != nil {
						return
					}
					switch op {
					case opPong:
						sw.pongs = append(sw.pongs, string(p))
					case opClose:
						sw.code = -2
						if len(p) >= 2 {
							sw.code = int(binary.BigEndian.Uint16(p))
						}
						if tc.who == clientCloses {
							c.Write(frame(true, opClose, p))
						}
						return
					}
				}
			})
			r := newRec()
			c := &Client{URL: s.url, ReadLimit: tc.limit, AllowInvalidUTF8: tc.allow, Reconnect: never, CloseTimeout: wait}
			// Run ends by itself within the test's bound: a frame that
			// claims more than the limit is refused before its payload.
			err := runToEnd(t, c, r)
			_, events, errs, closes := r.Snapshot()
			var msgs []string
			for _, e := range events {
				msgs = append(msgs, string(e.Data))
				if n := len(e.Data); e.Size != n+frameHeaderLen(n) && !strings.Contains(tc.name, "fragments") {
					t.Errorf("size %d for %d bytes", e.Size, n)
				}
			}
			if strings.Join(msgs, "|") != strings.Join(tc.messages, "|") || len(msgs) != len(tc.messages) {
				t.Errorf("messages %.40q, want %.40q", msgs, tc.messages)
			}
			if len(closes) != 1 || closes[0].Code != tc.code || closes[0].Clean != tc.clean {
				t.Fatalf("closes %+v, want code %d clean %v", closes, tc.code, tc.clean)
			}
			warnings := 0
			for _, e := range errs {
				if !e.Fatal && e.Class == transport.ClassInvalidUTF8Text {
					warnings++
				}
			}
			if warnings != tc.warnings {
				t.Errorf("%d invalid_utf8_text warnings, want %d", warnings, tc.warnings)
			}
			if tc.class == "" {
				if err != nil || len(errs) != tc.warnings {
					t.Fatalf("Run: %v, errors %+v", err, errs)
				}
			} else {
				asError(t, err, tc.class, tc.code)
			}
			sw := <-got
			if sw.code != tc.saw {
				t.Errorf("server saw close %d, want %d", sw.code, tc.saw)
			}
			if strings.Join(sw.pongs, "|") != strings.Join(tc.pongs, "|") {
				t.Errorf("pongs %.20q, want %.20q", sw.pongs, tc.pongs)
			}
		})
	}
}

// TestFrameGuardSplits: the guard finds the same broken rule wherever the
// reads split the stream, hands over exactly the bytes before the offending
// frame, fails the next read with it, and then discards the rest.
func TestFrameGuardSplits(t *testing.T) {
	good := bytes.Join([][]byte{frame(true, opText, []byte("hello")), frame(true, opPing, []byte("p")),
		frame(false, opBinary, make([]byte, 300)), frame(true, opContinuation, []byte("x"))}, nil)
	for _, tc := range []struct {
		name  string
		bad   []byte
		limit int64
		want  error // nil: a protocolError
	}{
		{"masked", maskedFrame(opText, []byte("m")), 1000, nil},
		{"MSB", lengthHeader(1 << 63), 1000, nil},
		{"too big", lengthHeader(1001), 1000, errFrameTooBig},
		{"close reason", closeFrame(1000, "\xff"), 1000, errCloseReasonUTF8},
		{"close code", closeFrame(1006, ""), 1000, nil},
	} {
		stream := append(append([]byte(nil), good...), tc.bad...)
		for _, piece := range []int{1, 2, 3, 7, 64, len(stream)} {
			t.Run(fmt.Sprint(tc.name, "/", piece), func(t *testing.T) {
				g := &frameGuard{ReadWriteCloser: &pieces{b: stream, n: piece}, rules: frameRules{limit: tc.limit}}
				var out []byte
				buf := make([]byte, 512)
				var err error
				for {
					var n int
					n, err = g.Read(buf)
					out = append(out, buf[:n]...)
					if err != nil {
						break
					}
				}
				var pe protocolError
				if tc.want == nil && !errors.As(err, &pe) || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
				// Bytes of the bad frame read in an earlier piece were
				// already handed over: never the whole frame.
				if !bytes.HasPrefix(out, good) || !bytes.HasPrefix(tc.bad, out[len(good):]) || len(out)-len(good) >= len(tc.bad) {
					t.Fatalf("%d bytes handed over, want the %d before the bad frame", len(out), len(good))
				}
				if piece == len(stream) && len(out) != len(good) {
					t.Fatalf("%d bytes handed over from one read, want the %d before the bad frame", len(out), len(good))
				}
				// Then the rest is thrown away until the connection ends.
				if n, again := g.Read(buf); n != 0 || again != io.EOF {
					t.Fatalf("read after the error: %d, %v; want 0, EOF", n, again)
				}
				if g.gotClose.Load() {
					t.Fatal("a broken close frame counted as the server's close")
				}
			})
		}
	}
}

// pieces reads b n bytes at a time, then EOF.
type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	k := copy(b, p.b[:min(p.n, len(p.b))])
	p.b = p.b[k:]
	return k, nil
}
func (p *pieces) Write(b []byte) (int, error) { return len(b), nil }
func (p *pieces) Close() error                { return nil }
