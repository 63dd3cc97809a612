package transporttest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WSFrame is one unmasked WebSocket frame, as a server sends it (RFC 6455
// §5.2): tests that play a raw server write exactly the frames they want,
// fragments, control frames between them and protocol errors included.
func WSFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// WSCloseFrame is a server's close frame with code and reason.
func WSCloseFrame(code int, reason string) []byte {
	return WSFrame(true, 0x8, append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...))
}

// MaxWSTestFrame bounds the payload ReadWSClientFrame accepts.
const MaxWSTestFrame = 1 << 20

// ReadWSClientFrame reads one frame a client sent, which must be masked,
// and returns its opcode and unmasked payload.
func ReadWSClientFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err = io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err = io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > MaxWSTestFrame {
		return 0, nil, fmt.Errorf("client frame of %d bytes", n)
	}
	var key [4]byte
	if _, err = io.ReadFull(br, key[:]); err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= key[i%4]
	}
	return h[0] & 0x0f, payload, nil
}
