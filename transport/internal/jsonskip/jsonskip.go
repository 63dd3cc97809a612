// Package jsonskip finds the boundaries of values in JSON that is already
// known to be well-formed (checked with json.Valid, or produced by a trusted
// encoder). It does not validate: on malformed input it returns some index
// within bounds and never panics. For JSON not yet checked, jsonscan checks
// as it walks (transport.ParseStamp still has a validating scanner of its
// own).
package jsonskip

// Space returns the index of the first non-whitespace byte at or after i.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// String returns the index after the string whose opening quote is at b[i].
func String(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// Value returns the index after the value that starts at b[i].
func Value(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return String(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = String(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(b)
}
