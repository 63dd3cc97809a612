package main

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// frame is a server's unmasked WebSocket text frame carrying n bytes.
func frame(n int) []byte {
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x81, byte(n)}
	case n < 1<<16:
		h = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		h = []byte{0x81, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(h, bytes.Repeat([]byte{'\n'}, n)...) // newlines: payloads are not scanned
}

// TestCount: messages are counted whatever the read sizes, from the bytes
// the head's reader already held and then from the connection.
func TestCount(t *testing.T) {
	sse := []byte("retry: 3000\n\nid: 1\ndata: a\n\n: ping\n\ndata: b\r\n\n5\r\nid: 2\n\r\n")
	var ws []byte
	for _, n := range []int{0, 1, 125, 126, 300, 65535, 65536, 70000} {
		ws = append(ws, frame(n)...)
	}
	ws = append(ws, 0x88, 0x82, 1, 2, 3, 4, 0, 0) // a masked close, 2 bytes
	cases := []struct {
		name  string
		data  []byte
		count func(io.Reader, []byte, int) (int64, int64, error)
		want  int64
	}{
		{"sse", sse, countEvents, 4}, // the split "\n\r\n" of the last is not a blank line
		{"ws", ws, countFrames, 9},
	}
	for _, c := range cases {
		for _, pre := range []int{0, 1, 3, 11} {
			for name, r := range map[string]func(io.Reader) io.Reader{"whole": func(r io.Reader) io.Reader { return r }, "bytes": iotest.OneByteReader} {
				buf := make([]byte, 4096)
				k := copy(buf, c.data[:pre])
				got, total, err := c.count(r(bytes.NewReader(c.data[pre:])), buf, k)
				if err != io.EOF || got != c.want || total != int64(len(c.data)) {
					t.Errorf("%s, %d bytes held, %s reads: %d messages, %d bytes, %v; want %d, %d, EOF", c.name, pre, name, got, total, err, c.want, len(c.data))
				}
			}
		}
	}
}

// FuzzCount: whatever the bytes and however they are split across reads,
// the counters never panic, see every byte, and count the same messages
// as when the bytes come in one read. The SSE count is checked against a
// plain count of "\n\n" in the whole input.
func FuzzCount(f *testing.F) {
	f.Add([]byte("data: a\n\n: ping\n\n"), uint8(3))
	f.Add(append(frame(130), frame(0)...), uint8(1))
	f.Add([]byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 1, 'x'}, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, pre uint8) {
		k := min(int(pre), len(data))
		for name, count := range map[string]func(io.Reader, []byte, int) (int64, int64, error){"sse": countEvents, "ws": countFrames} {
			var got [2]int64
			for i, r := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
				buf := make([]byte, 4096)
				held := copy(buf, data[:k])
				m, total, err := count(r(bytes.NewReader(data[held:])), buf, held)
				if err != io.EOF || total != int64(len(data)) {
					t.Fatalf("%s: %d of %d bytes, %v", name, total, len(data), err)
				}
				got[i] = m
			}
			if got[0] != got[1] {
				t.Fatalf("%s: %d messages in one read, %d in one-byte reads", name, got[0], got[1])
			}
			if name == "sse" {
				want := int64(0)
				for i := 0; i+1 < len(data); i++ {
					if data[i] == '\n' && data[i+1] == '\n' {
						want++
						i++
					}
				}
				if got[0] != want {
					t.Fatalf("sse: %d messages, want %d", got[0], want)
				}
			}
		}
	})
}
