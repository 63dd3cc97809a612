package mock

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestOversizedFaultStreams: ?fault=oversized:67108864 on /ws streams its
// 64 MiB message in frames of a chunk each, so clients that do not read cost
// the server a chunk each, not 64 MiB each (issue 12.5: 800 MB with 12 such
// clients). Measured as the bytes the process allocated while four clients
// took the 101 and the first oversized frame's header and then
// stopped reading.
func TestOversizedFaultStreams(t *testing.T) {
	_, base := start(t, Config{WriteTimeout: time.Minute})
	addr := strings.TrimPrefix(base, "http://")
	const clients = 4
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4096)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /ws?rate=1000&fault=oversized:67108864 HTTP/1.1\r\nHost: mock\r\n"+
			"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		br := bufio.NewReaderSize(c, 16)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v %v", resp, err)
		}
		// The header of the oversized message's first frame (it comes
		// before the first tick): a text frame of one chunk, not FIN, not
		// 64 MiB.
		fin, op, n := frameHeader(t, br)
		if fin || op != 1 || n > 1<<20 {
			t.Fatalf("oversized message's first frame: fin=%v op=%d len=%d; want a text frame of one chunk, not the whole message", fin, op, n)
		}
		// And now this client reads no more.
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d clients not reading a 64 MiB oversized message: %.1f MiB allocated in all", clients, float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Fatalf("allocated %d MiB for %d clients: the oversized message is buffered, not streamed", alloc>>20, clients)
	}
}

// frameHeader reads the header of a server (unmasked) frame.
func frameHeader(t *testing.T, br *bufio.Reader) (fin bool, op byte, n uint64) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	fin, op, n = h[0]&0x80 != 0, h[0]&0x0f, uint64(h[1]&0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	return fin, op, n
}
