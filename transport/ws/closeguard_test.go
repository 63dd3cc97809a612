package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// clientFrame is a masked frame as a client sends it.
func clientFrame(op byte, payload []byte) []byte {
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key...)
	m := bytes.Clone(payload)
	mask(m, key)
	return append(b, m...)
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func TestCloseGuard(t *testing.T) {
	text := clientFrame(0x1, []byte("\x88\x85 looks like a close header"))
	big := clientFrame(0x2, bytes.Repeat([]byte{0x88}, 70000))
	for _, tc := range []struct {
		name   string
		in     []byte
		want   []byte // nil: unchanged
		reason string // the reason the rewritten close carries
	}{
		{"valid close", clientFrame(0x8, closePayload(1000, "bye é")), nil, ""},
		{"close without reason", clientFrame(0x8, closePayload(1000, "")), nil, ""},
		{"empty close", clientFrame(0x8, nil), nil, ""},
		{"text and binary frames", append(append(bytes.Clone(text), big...), text...), nil, ""},
		{"invalid reason, short", clientFrame(0x8, closePayload(1000, "\xff\xfe")),
			clientFrame(0x8, closePayload(1007, "in")), "in"},
		{"invalid reason, long", clientFrame(0x8, closePayload(1001, strings.Repeat("x", 40)+"\xc3")),
			clientFrame(0x8, closePayload(1007, reasonInvalidUTF8CloseText+strings.Repeat(" ", 41-len(reasonInvalidUTF8CloseText)))), ""},
		{"after data frames", append(append(bytes.Clone(big), text...), clientFrame(0x8, closePayload(1000, "\x80"))...),
			append(append(bytes.Clone(big), text...), clientFrame(0x8, closePayload(1007, "i"))...), "i"},
	} {
		want := tc.want
		if want == nil {
			want = tc.in
		}
		for _, rd := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"byte by byte", iotest.OneByteReader},
			{"halves", iotest.HalfReader},
		} {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				g := &closeGuard{r: rd.r(bytes.NewReader(tc.in))}
				got, err := io.ReadAll(g)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes % x…, want %d bytes % x…", len(got), got[:min(len(got), 24)], len(want), want[:min(len(want), 24)])
				}
			})
		}
	}
}

// TestCloseGuardTruncated: a stream that ends inside a close frame is
// returned as it came, then the end.
func TestCloseGuardTruncated(t *testing.T) {
	in := clientFrame(0x8, closePayload(1000, "\xff\xfe"))[:5]
	got, err := io.ReadAll(&closeGuard{r: bytes.NewReader(in)})
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("got % x, %v; want % x", got, err, in)
	}
}

func FuzzCloseGuard(f *testing.F) {
	f.Add(clientFrame(0x8, closePayload(1000, "\xff")), uint8(3))
	f.Add(append(clientFrame(0x1, []byte("hi")), clientFrame(0x8, closePayload(1000, "ok"))...), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(in)
		if chunk%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		got, err := io.ReadAll(&closeGuard{r: r})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(in) {
			t.Fatalf("%d bytes out of %d in", len(got), len(in))
		}
	})
}

// TestServerCloseReasonNotUTF8: a client's close whose reason is not UTF-8
// is answered with a 1007 close (RFC 6455 §8.1), not echoed. The client here
// is raw bytes, because a client library would refuse to send it.
func TestServerCloseReasonNotUTF8(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		code   uint16
	}{
		{"invalid", "bye \xff", 1007},
		{"valid", "bye é", 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, &Handler{})
			host := strings.TrimPrefix(strings.TrimSuffix(ts.url, "/ws"), "ws://")
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			fmt.Fprintf(c, "GET /ws?rate=0 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			if _, err := c.Write(clientFrame(0x8, closePayload(1000, tc.reason))); err != nil {
				t.Fatal(err)
			}
			for {
				var h [2]byte
				if _, err := io.ReadFull(br, h[:]); err != nil {
					t.Fatalf("no close frame from the server: %v", err)
				}
				p := make([]byte, h[1]&0x7f)
				if _, err := io.ReadFull(br, p); err != nil {
					t.Fatal(err)
				}
				if h[0]&0x0f != 0x8 {
					continue
				}
				code := binary.BigEndian.Uint16(p)
				if code != tc.code || !utf8.Valid(p[2:]) {
					t.Fatalf("server closed with %d %q, want %d and a UTF-8 reason", code, p[2:], tc.code)
				}
				if tc.code == uint16(websocket.StatusInvalidFramePayloadData) && bytes.Contains(p, []byte{0xff}) {
					t.Fatalf("the invalid reason was echoed: %q", p[2:])
				}
				return
			}
		})
	}
}
