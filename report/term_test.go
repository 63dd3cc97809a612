package report

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are what a server can put in a reason phrase, an event or a body
// to act on a terminal.
var hostile = []struct{ name, in, want string }{
	{"OSC 52 clipboard write", "a\x1b]52;c;cHduZWQ=\x07b", `a\x1b]52;c;cHduZWQ=\x07b`},
	{"window title", "\x1b]0;owned\x1b\\", `\x1b]0;owned\x1b\`},
	{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
	{"CSI cursor and colour", "\x1b[31mred\x1b[0m\x1b[1A", `\x1b[31mred\x1b[0m\x1b[1A`},
	{"C1 CSI as UTF-8", "x\u009b2Jy", `x\u009b2Jy`},
	{"C1 OSC as UTF-8", "\u009d0;t\u009c", `\u009d0;t\u009c`},
	{"lone 0x9b byte", "x\x9b2Jy", `x\x9b2Jy`},
	{"DEL, NUL, BEL, backspace, CR", "a\x7f\x00\x07\x08\rb", `a\x7f\x00\x07\x08\x0db`},
	{"separators and bidi", "a\u2028b\u2029c\u202ed\u2066e", `a\u2028b\u2029c\u202ed\u2066e`},
	{"tab and newline kept", "a\tb\nc", "a\tb\nc"},
	{"plain text untouched", "héllo 日本 ✓ <b>&", "héllo 日本 ✓ <b>&"},
	{"empty", "", ""},
}

func TestVisible(t *testing.T) {
	for _, tt := range hostile {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("%s: Visible(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// noControls fails t when s holds anything a terminal acts on.
func noControls(t *testing.T, s string, keepNewline bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && (r != '\n' || !keepNewline) || r == 0x7f || hidden(r) {
			t.Errorf("%q holds %U", s, r)
			return
		}
	}
}

func FuzzVisible(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Visible(s)
		noControls(t, v, true)
		if Visible(v) != v {
			t.Errorf("Visible is not idempotent on %q", s)
		}
		noControls(t, oneLine(s), false)
		noControls(t, ErrorLine(s), false)
	})
}

// TestJSONSafe: the JSON rtbench prints decodes to the same strings, and
// holds no raw DEL or C1 byte (encoding/json leaves both raw; C0, U+2028
// and U+2029 it escapes itself).
func TestJSONSafe(t *testing.T) {
	for _, tt := range hostile {
		checkJSONSafe(t, tt.in)
	}
}

func checkJSONSafe(t *testing.T, s string) {
	t.Helper()
	b, err := json.Marshal(map[string]string{"data": s})
	if err != nil {
		t.Fatal(err)
	}
	safe := JSONSafe(b)
	noControls(t, string(safe), false)
	if strings.Contains(string(safe), "\u2028") || strings.Contains(string(safe), "\u2029") {
		t.Errorf("%s holds a raw line separator", safe)
	}
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil {
		t.Fatalf("%s does not decode: %v", safe, err)
	}
	want := string([]rune(s)) // U+FFFD for each byte that is not UTF-8, as encoding/json
	if back["data"] != want {
		t.Errorf("%q came back as %q", want, back["data"])
	}
}

func FuzzJSONSafe(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.in)
	}
	f.Fuzz(checkJSONSafe)
}

func TestErrorLine(t *testing.T) {
	in := "Get \"http://user:***@h/sse?token=SECRET\": 502 Bad\x1b]0;x\x07 Gateway\nbody: \x1b[2J\u009b"
	want := `Get "http://user:xxxxx@h/sse?token=xxxxx": 502 Bad\x1b]0;x\x07 Gateway body: \x1b[2J\u009b`
	if got := ErrorLine(in); got != want {
		t.Errorf("ErrorLine\n got %q\nwant %q", got, want)
	}
}
