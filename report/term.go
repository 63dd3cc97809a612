package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
)

// Visible returns s with every character a terminal would act on instead
// of showing written as visible text, so a server's bytes cannot set the
// window title, write the clipboard (OSC 52), clear the screen or move the
// cursor when rtbench prints them:
//
//   - C0 controls and DEL as \xNN (ESC is \x1b, CR \x0d), except tab and
//     newline, which are kept;
//   - C1 controls (U+0080–U+009F, CSI is U+009B), the line and paragraph
//     separators U+2028/U+2029 and the bidirectional overrides and
//     isolates (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) as
//     \uNNNN;
//   - bytes that are not UTF-8 (a lone 0x9b, which some terminals read as
//     CSI) as \xNN.
//
// Text with none of them is returned as it is. This is the one sanitiser
// for terminal text: listen's terminal output, every report's text and
// every error line rtbench prints go through it.
func Visible(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || hidden(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, c)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// hidden reports whether r, a non-ASCII rune, is one Visible escapes.
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi
		return true
	}
	return false
}

// ErrorLine is how rtbench prints an error: on one line, every URL's
// secrets redacted (transport.RedactText), every control character visible,
// whatever the destination: a server's reason phrase or body in an error
// must not reach a terminal raw.
func ErrorLine(msg string) string {
	return Visible(strings.Join(strings.Fields(transport.RedactText(msg)), " "))
}

// JSONSafe returns a JSON document (encoding/json's output) with the
// characters encoding/json leaves raw but Visible escapes written as \uNNNN:
// DEL, C1 controls (U+0080–U+009F) and the bidirectional controls.
// They can only occur inside strings, where the escape means the same
// character, so the document decodes to the same values. encoding/json
// already escapes the rest of C0, U+2028 and U+2029, and turns bytes that
// are not UTF-8 into U+FFFD.
func JSONSafe(b []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		r, n := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(b[i:])
		}
		if r == 0x7f || r >= utf8.RuneSelf && hidden(r) {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[last:i]...)
			out = fmt.Appendf(out, `\u%04x`, r)
			last = i + n
		}
		i += n
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
