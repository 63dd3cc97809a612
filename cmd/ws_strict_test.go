package cmd

import (
	"bufio"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// TestWSServerBreaksRFC6455: what listen and load show when a WebSocket
// server breaks RFC 6455 (REFERENCE rows 28–30 beyond what the mock can
// inject): the class and close code each rule calls for, at once, over
// coder/websocket (listen) and the lean path (load); and a close the
// server never answers is not clean.
func TestWSServerBreaksRFC6455(t *testing.T) {
	// serve answers the handshake, writes frames, then reads the client's
	// frames; at its close frame it echoes it when echo is set, or keeps
	// reading without answering.
	serve := func(frames []byte, echo bool) string {
		u, _ := matrixServe(t, matrixWSRaw(func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + matrixWSAccept(key) + "\r\n\r\n"
		}, func(c net.Conn, br *bufio.Reader) {
			if _, err := c.Write(frames); err != nil {
				return
			}
			for {
				op, p, err := transporttest.ReadWSClientFrame(br)
				if err != nil {
					return
				}
				if op == 0x8 && echo {
					c.Write(transporttest.WSFrame(true, 0x8, p))
					return
				}
			}
		}))
		return "ws" + strings.TrimPrefix(u, "http") + "/ws"
	}
	hello := transporttest.WSFrame(true, 0x1, []byte(`{"seq":1}`))
	masked := []byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}
	huge := binary.BigEndian.AppendUint64([]byte{0x82, 127}, 1<<62) // and no payload: refused at the header
	msb := binary.BigEndian.AppendUint64([]byte{0x82, 127}, 1<<63)  // a length with its MSB set
	closeBadReason := transporttest.WSCloseFrame(1000, "bye \xff")  // not UTF-8
	close1006 := transporttest.WSCloseFrame(1006, "")               // must never be sent
	failed := func(class string) func(t *testing.T, r *bench.Result, report string) {
		return func(t *testing.T, r *bench.Result, report string) {
			matrixErrs(t, r, class, 2)
			matrixNoErrs(t, r, class)
			if !strings.Contains(report, class) {
				t.Errorf("the report should list %s:\n%s", class, report)
			}
		}
	}
	cases := []matrixCase{
		{
			name:   "masked frame",
			listen: &matrixListenRun{args: []string{serve(append(hello, masked...), true)}, code: 1, stdout: []string{`{"seq":1}`}, stderr: []string{"! ws_protocol_error (1002)", "masked frame from the server", "connection closed with 1002"}},
			load:   &matrixLoadRun{args: matrixLoadArgs(serve(append(hello, masked...), true)), check: failed("ws_protocol_error")},
		},
		{
			name:   "2^62 declared",
			listen: &matrixListenRun{args: []string{serve(huge, true)}, code: 1, stderr: []string{"! message_too_big (1009)", "connection closed with 1009"}},
			load:   &matrixLoadRun{args: matrixLoadArgs(serve(huge, true)), check: failed("message_too_big")},
		},
		{
			name:   "2^63 declared",
			listen: &matrixListenRun{args: []string{serve(msb, true)}, code: 1, stderr: []string{"! ws_protocol_error (1002)", "most significant bit"}},
			load:   &matrixLoadRun{args: matrixLoadArgs(serve(msb, true)), check: failed("ws_protocol_error")},
		},
		{
			name:   "close reason not UTF-8",
			listen: &matrixListenRun{args: []string{serve(append(hello, closeBadReason...), false)}, code: 1, stderr: []string{"! invalid_utf8_text (1007)", "close reason"}},
			load:   &matrixLoadRun{args: matrixLoadArgs(serve(append(hello, closeBadReason...), false)), check: failed("invalid_utf8_text")},
		},
		{
			name:   "close 1006 on the wire",
			listen: &matrixListenRun{args: []string{serve(close1006, false)}, code: 1, stderr: []string{"! ws_protocol_error (1002)", "invalid close code 1006"}},
			load:   &matrixLoadRun{args: matrixLoadArgs(serve(close1006, false)), check: failed("ws_protocol_error")},
		},
		{
			name:   "our close answered",
			listen: &matrixListenRun{args: []string{"-n", "1", serve(hello, true)}, stderr: []string{`last: connection closed with 1001 "going away" (clean)`}},
		},
		{
			name: "our close never answered",
			listen: &matrixListenRun{args: []string{"-n", "1", serve(hello, false)},
				stderr: []string{`last: connection closed with 1006 "no close frame came back"`}, not: []string{"(clean)"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}
