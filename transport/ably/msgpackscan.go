package ably

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth is how deeply arrays and maps may nest in a frame or body: far
// more than any protocol message needs, and encoding/json's limit is
// larger still, but a MessagePack decoder recurses once per level, so a
// 1 MiB frame of nested arrays must not reach it.
const maxDepth = 64

var errMsgpackShape = errors.New("malformed MessagePack")

// scanMsgpack checks that b is exactly one MessagePack value, nested at
// most maxDepth deep, whose every declared length and count fits in the
// bytes that follow, before a decoder that recurses and allocates by the
// declared sizes is given it. It does not recurse and does not allocate
// beyond its stack of open containers.
func scanMsgpack(b []byte) error {
	var open []uint64 // items still to read in each open container
	pos := 0
	rest := func() uint64 { return uint64(len(b) - pos) }
	// need reads an n-byte big-endian length after the code byte.
	need := func(n int) (uint64, error) {
		if len(b)-pos < n {
			return 0, fmt.Errorf("%w: truncated at byte %d", errMsgpackShape, pos)
		}
		var v uint64
		switch n {
		case 1:
			v = uint64(b[pos])
		case 2:
			v = uint64(binary.BigEndian.Uint16(b[pos:]))
		case 4:
			v = uint64(binary.BigEndian.Uint32(b[pos:]))
		}
		pos += n
		return v, nil
	}
	for {
		if pos >= len(b) {
			return fmt.Errorf("%w: truncated at byte %d", errMsgpackShape, pos)
		}
		c := b[pos]
		pos++
		var skip uint64 // payload bytes after the header
		var items uint64
		container := false
		var err error
		switch {
		case c <= 0x7f || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			items, container = 2*uint64(c&0x0f), true
		case c >= 0x90 && c <= 0x9f:
			items, container = uint64(c&0x0f), true
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			skip, err = need(1)
		case c == 0xc5 || c == 0xda:
			skip, err = need(2)
		case c == 0xc6 || c == 0xdb:
			skip, err = need(4)
		case c == 0xc7:
			skip, err = need(1)
			skip++
		case c == 0xc8:
			skip, err = need(2)
			skip++
		case c == 0xc9:
			skip, err = need(4)
			skip++
		case c == 0xca:
			skip = 4
		case c == 0xcb:
			skip = 8
		case c >= 0xcc && c <= 0xcf:
			skip = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			skip = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8:
			skip = 1 + 1<<(c-0xd4)
		case c == 0xdc:
			items, err = need(2)
			container = true
		case c == 0xdd:
			items, err = need(4)
			container = true
		case c == 0xde:
			items, err = need(2)
			items *= 2
			container = true
		case c == 0xdf:
			items, err = need(4)
			items *= 2
			container = true
		default: // 0xc1, never used
			return fmt.Errorf("%w: byte 0x%02x at %d is no type", errMsgpackShape, c, pos-1)
		}
		if err != nil {
			return err
		}
		if skip > rest() || items > rest() {
			return fmt.Errorf("%w: a length at byte %d runs past the end", errMsgpackShape, pos)
		}
		pos += int(skip)
		if len(open) > 0 {
			open[len(open)-1]--
		}
		if container && items > 0 {
			if len(open) >= maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", errMsgpackShape, maxDepth)
			}
			open = append(open, items)
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
		if len(open) == 0 {
			if pos != len(b) {
				return fmt.Errorf("%w: %d bytes after the value", errMsgpackShape, len(b)-pos)
			}
			return nil
		}
	}
}
