// Package jsonscan checks JSON as it walks it, accepting exactly what
// encoding/json accepts (json.Valid, its nesting limit included), and
// decodes strings as encoding/json does, without allocating: the shared
// scanner of the decoders that read frames by the thousand (aistream's
// chunks, Ably's JSON frames). For JSON already known to be valid,
// transport/internal/jsonskip finds value boundaries without checking.
//
// Each function takes the input and the index where a token starts, and
// returns the index after it; the checking ones also return false, with the
// offset of the error, when the input is not valid JSON there.
package jsonscan

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport/internal/jsonskip"
)

// MaxDepth is encoding/json's nesting limit, so that the scanner accepts
// exactly what json.Valid accepts.
const MaxDepth = 10000

// Object checks the object starting at b[i] ('{') and sets vals[k] to the
// value of its last member named names[k] (keys compared as encoding/json
// decodes them; *scratch holds an escaped key's decoding). With no names it
// only checks. It returns the index after the object, or the offset of the
// error and false. depth is the nesting of the containers around it.
func Object(b []byte, i, depth int, names []string, vals [][]byte, scratch *[]byte) (int, bool) {
	if depth >= MaxDepth {
		return i, false
	}
	i = Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		i = Space(b, i)
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		k := i
		var ok bool
		if i, ok = String(b, i); !ok {
			return i, false
		}
		key := b[k:i]
		i = Space(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = Space(b, i+1)
		v := i
		if i, ok = Value(b, i, depth+1); !ok {
			return i, false
		}
		if len(names) > 0 {
			if n := match(key, names, scratch); n >= 0 {
				vals[n] = b[v:i]
			}
		}
		i = Space(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// match returns the index in names of the key (a string token with its
// quotes), or -1.
func match(key []byte, names []string, scratch *[]byte) int {
	raw := key[1 : len(key)-1]
	if HasBackslash(raw) {
		*scratch = AppendString((*scratch)[:0], key)
		raw = *scratch
	}
	for n, name := range names {
		if string(raw) == name {
			return n
		}
	}
	return -1
}

// Space returns the index of the first byte at or after i that is not JSON
// white space.
func Space(b []byte, i int) int { return jsonskip.Space(b, i) }

// Value checks the JSON value at b[i] and returns the index after it, or
// the offset of the error and false. depth is the nesting of the containers
// around it.
func Value(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		return containers(b, i, depth)
	case c == '"':
		return String(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return Number(b, i)
	}
	return i, false
}

// Array checks the array starting at b[i] ('[') and returns the index
// after it, or the offset of the error and false.
func Array(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return i, false
	}
	return containers(b, i, depth)
}

// containers checks the object or array at b[i] and everything nested in
// it without recursing, so that a payload nested MaxDepth deep costs a
// bit per level, not a stack frame: one word remembers whether each of the
// first 64 open containers is an object, and deeper ones (rare) spill to
// the heap.
func containers(b []byte, i, depth int) (int, bool) {
	var small uint64 // bit k: the k-th open container is an object
	var big []uint64 // the same beyond 64 open containers
	isObj := func(k int) bool {
		if k < 64 {
			return small>>k&1 == 1
		}
		return big[k/64-1]>>(k%64)&1 == 1
	}
	n := 0 // open containers
	for {
		// b[i] starts a value.
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth+n >= MaxDepth {
				return i, false
			}
			obj := c == '{'
			switch {
			case n < 64 && obj:
				small |= 1 << n
			case n < 64:
				small &^= 1 << n
			default:
				if k := n/64 - 1; k == len(big) {
					big = append(big, 0)
				}
				if obj {
					big[n/64-1] |= 1 << (n % 64)
				} else {
					big[n/64-1] &^= 1 << (n % 64)
				}
			}
			n++
			i = Space(b, i+1)
			if i < len(b) && (obj && b[i] == '}' || !obj && b[i] == ']') {
				i++
				n--
				break // an empty container is a complete value
			}
			if obj {
				var ok bool
				if i, ok = member(b, i); !ok {
					return i, false
				}
			}
			continue // its first member
		default:
			var ok bool
			if i, ok = Value(b, i, depth+n); !ok {
				return i, false
			}
		}
		// A value ended: close containers until one has a next member.
	next:
		for {
			if n == 0 {
				return i, true
			}
			i = Space(b, i)
			if i >= len(b) {
				return i, false
			}
			obj := isObj(n - 1)
			switch {
			case b[i] == ',':
				i = Space(b, i+1)
				if obj {
					var ok bool
					if i, ok = member(b, i); !ok {
						return i, false
					}
				}
				break next
			case obj && b[i] == '}' || !obj && b[i] == ']':
				n--
				i++
			default:
				return i, false
			}
		}
	}
}

// member checks `"key" :` at b[i] and returns where its value starts.
func member(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := String(b, i)
	if !ok {
		return i, false
	}
	i = Space(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return Space(b, i+1), true
}

func literal(b []byte, i int, lit string) (int, bool) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) || b[i+k] != lit[k] {
			return i + k, false
		}
	}
	return i + len(lit), true
}

// Number checks the number at b[i], -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// and returns the index after it, or the offset of the error and false.
func Number(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		i = digits(b, i)
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// String checks the string at b[i] ('"') and returns the index after its
// closing quote. Like encoding/json it accepts invalid UTF-8 (decoding turns
// it into U+FFFD) and refuses control characters and unknown escapes.
func String(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i++
	for {
		i = plainRun(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i + 1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(b) || unhex(b[i+k]) < 0 {
						return i + k, false
					}
				}
				i += 6
			default:
				return i + 1, false
			}
		default: // a control character
			return i, false
		}
	}
}

// plainRun returns the index of the first byte at or after i that cannot
// stand for itself in a JSON string (a quote, a backslash, a control
// character), or len(b). It tests 8 bytes at a time: the strings of AI
// chunks (ids, model names) are mostly longer than that, and this loop was
// the largest item of a client's CPU profile reading them byte by byte.
func plainRun(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * '"')
		s := x ^ (ones * '\\')
		// Each term has a byte's high bit set iff that byte is zero (q, s)
		// or below 0x20 (x); exact as a whole, which is all it is used for.
		if ((q-ones)&^q|(s-ones)&^s|(x-ones*0x20)&^x)&highs != 0 {
			break
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// plain[c] says whether byte c stands for itself in a JSON string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// HasBackslash reports whether b holds a backslash (a string with escapes).
func HasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// u4 reads the \uXXXX escape at s[0:6], or returns -1.
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

// AppendString appends the decoded contents of the valid string token v
// (quotes included), as encoding/json decodes it: each invalid UTF-8 byte
// and each unpaired surrogate escape becomes U+FFFD.
func AppendString(dst, v []byte) []byte {
	s := v[1 : len(v)-1]
	for i := 0; i < len(s); {
		// Copy the longest run that needs no work.
		j := i
		for j < len(s) && s[j] != '\\' && s[j] < utf8.RuneSelf {
			j++
		}
		dst = append(dst, s[i:j]...)
		i = j
		if i >= len(s) {
			break
		}
		if c := s[i]; c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		// An escape: String checked it.
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := u4(s[i:])
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, u4(s[i:])); dec != utf8.RuneError {
					dst = utf8.AppendRune(dst, dec)
					i += 6
					continue
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

// Spaced reports whether the valid JSON value v holds white space outside
// its strings: whether json.Compact would change it.
func Spaced(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			i = jsonskip.String(v, i) - 1
		case ' ', '\t', '\n', '\r':
			return true
		}
	}
	return false
}
