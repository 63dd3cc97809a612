package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// noHTTP fails every request: a lean session that reaches it did not take
// the lean path.
type noHTTP struct{}

func (noHTTP) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("net/http was used")
}

var noHTTPClient = &http.Client{Transport: noHTTP{}}

// testLean, when set, is the Lean every client of a test uses (see
// useLean): bothPaths runs a test over coder/websocket and over the lean
// path.
var testLean *Lean

// bothPaths runs test twice: over coder/websocket, and with Client.Lean.
func bothPaths(t *testing.T, test func(*testing.T)) {
	t.Run("coder", test)
	t.Run("lean", func(t *testing.T) {
		testLean = &Lean{}
		defer func() { testLean = nil }()
		test(t)
	})
}

// useLean puts c on the lean path when the test runs it; a client without
// an HTTP client of its own gets one that fails every request, so that the
// test fails if the lean path is not taken.
func useLean(c *Client) {
	if testLean == nil || c.Lean != nil {
		return
	}
	c.Lean = testLean
	if c.HTTP == nil {
		c.HTTP = noHTTPClient
	}
}

// maskedFrame is a frame with the mask bit set, as a server must not send.
func maskedFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op, 0x80 | byte(len(payload)), 1, 2, 3, 4}
	for i, c := range payload {
		b = append(b, c^byte(i%4+1))
	}
	return b
}

// TestLeanFrames scripts a server byte by byte after its 101 and checks what
// a lean session delivers, reports and sends back.
func TestLeanFrames(t *testing.T) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	big := bytes.Repeat([]byte("y"), 70_000)
	ping125 := bytes.Repeat([]byte("p"), 125)
	const (
		serverCloses = iota // the script ends with the server's close
		clientCloses        // the client must close (and the server echoes)
	)
	for _, tc := range []struct {
		name     string
		send     []byte
		who      int
		limit    int64
		strict   bool
		messages []string
		pongs    []string
		code     int             // the close reported
		clean    bool            //
		class    transport.Class // Run's error, "" for nil
		saw      int             // the close code the server read; -2: none in the frame
	}{
		{"fragments with a ping between", cat(frame(false, opText, []byte(`{"seq":`)), frame(true, opPing, []byte("p1")), frame(false, opContinuation, []byte("4")), frame(true, opPong, []byte("unsolicited")), frame(true, opContinuation, []byte(`2}`)), closeFrame(1000, "bye")),
			serverCloses, 0, false, []string{`{"seq":42}`}, []string{"p1"}, 1000, true, "", 1000},
		{"64-bit length and a 16-bit one", cat(frame(true, opBinary, big), frame(true, opText, big[:300]), closeFrame(1001, "")),
			serverCloses, 0, false, []string{string(big), string(big[:300])}, nil, 1001, true, "", 1001},
		{"125-byte ping answered", cat(frame(true, opPing, ping125), closeFrame(1000, "")),
			serverCloses, 0, false, nil, []string{string(ping125)}, 1000, true, "", 1000},
		{"close without a code", cat(frame(true, opText, []byte("a")), frame(true, opClose, nil)),
			serverCloses, 0, false, []string{"a"}, nil, 1005, true, "", -2},
		{"close 4000", closeFrame(4000, "app"), serverCloses, 0, false, nil, nil, 4000, false, transport.ClassWSClose, 4000},
		{"126-byte ping", frame(true, opPing, append(ping125, 'p')), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"fragmented ping", frame(false, opPing, []byte("x")), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"masked server frame", maskedFrame(opText, []byte("hidden")), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"reserved opcode", frame(true, 0x3, nil), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"rsv bit", append([]byte{0xC1, 1}, 'x'), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"continuation first", frame(true, opContinuation, []byte("x")), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"1-byte close payload", frame(true, opClose, []byte{3}), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"close 1006 on the wire", closeFrame(1006, ""), clientCloses, 0, false, nil, nil, 1002, false, transport.ClassWSAbnormal, 1002},
		{"over the limit", cat(frame(true, opText, make([]byte, 100)), frame(true, opText, make([]byte, 101))),
			clientCloses, 100, false, []string{string(make([]byte, 100))}, nil, 1009, false, transport.ClassMessageTooBig, 1009},
		{"over the limit across fragments", cat(frame(false, opBinary, make([]byte, 60)), frame(true, opContinuation, make([]byte, 60))),
			clientCloses, 100, false, nil, nil, 1009, false, transport.ClassMessageTooBig, 1009},
		{"UTF-8 split across fragments", cat(frame(false, opText, []byte("\xc3")), frame(true, opContinuation, []byte("\xa9")), closeFrame(1000, "")),
			serverCloses, 0, true, []string{"é"}, nil, 1000, true, "", 1000},
		{"invalid UTF-8 strict", cat(frame(true, opText, []byte("\xff")), frame(true, opText, []byte("ok"))),
			clientCloses, 0, true, nil, nil, 1007, false, transport.ClassInvalidUTF8Text, 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type seen struct {
				pongs []string
				code  int
			}
			got := make(chan seen, 1)
			s := rawServer(t, "", "", func(_ context.Context, c net.Conn, br *bufio.Reader) {
				c.Write(tc.send)
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
			c := &Client{URL: s.url, HTTP: noHTTPClient, Lean: &Lean{}, ReadLimit: tc.limit, Strict: tc.strict, Reconnect: never, CloseTimeout: wait}
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
			if tc.class == "" {
				if err != nil || len(errs) != 0 {
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

// TestLeanHandshakeRequest: the request carries the RFC 6455 headers, the
// user's headers and Host, and the offered subprotocols.
func TestLeanHandshakeRequest(t *testing.T) {
	got := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		hosts <- r.Host
		w.WriteHeader(http.StatusForbidden)
	})
	c := &Client{URL: s.url + "/x", HTTP: noHTTPClient, Lean: &Lean{}, Reconnect: never,
		Header: http.Header{"X-Token": {"t"}, "Host": {"example.test"}}, Subprotocols: []string{"a", "b"}}
	err := runToEnd(t, c, newRec())
	asError(t, err, transport.ClassWSHandshakeStatus, http.StatusForbidden)
	h := <-got
	key := h.Get("Sec-WebSocket-Key")
	if raw, _ := base64.StdEncoding.DecodeString(key); len(raw) != 16 {
		t.Errorf("key %q: want 16 random bytes in base64", key)
	}
	for k, want := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "X-Token": "t", "Sec-WebSocket-Protocol": "a,b"} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	if host := <-hosts; host != "example.test" {
		t.Errorf("Host %q", host)
	}
}

// TestLeanApplies: only plain ws:// (or http://) without a proxy takes the
// lean path.
func TestLeanApplies(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		// net/http reads the proxy variables once per process: a proxy
		// case cannot be set up here.
		{"ws://127.0.0.1:1/ws", true},
		{"HTTP://127.0.0.1/ws", true},
		{"wss://127.0.0.1/ws", false},
		{"https://127.0.0.1/ws", false},
	} {
		if got := leanApplies(tc.url); got != tc.want {
			t.Errorf("leanApplies(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
