package aistream

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{" word", `" word"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\b`, `"a\\b"`},
		{"l1\nl2\r\t", `"l1\nl2\r\t"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"<a & b>", `"<a & b>"`},
		{"héllo €", `"héllo €"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"cut \xe2\x82", `"cut \ufffd\ufffd"`},
		{"sep \u2028 \u2029", `"sep \u2028 \u2029"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := string(appendJSONString(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendJSONString([]byte %q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", " word", "\"\\\n", "\xff\xfe", "\u2028", "héllo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, enc, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q round-trips to %q", s, back)
		}
	})
}

func TestAppendJSONStringNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 64)
	text := []byte(" throughput")
	if n := testing.AllocsPerRun(1000, func() { buf = appendJSONString(buf[:0], text) }); n != 0 {
		t.Errorf("appendJSONString allocates %v times, want 0", n)
	}
}

func TestContentWords(t *testing.T) {
	tests := []struct {
		raw     string
		want    int
		wantErr string
	}{
		{``, 0, ""},
		{`null`, 0, ""},
		{`"Hello there, world"`, 3, ""},
		{`"  spaced\nout\twords  "`, 3, ""},
		{`[{"type":"text","text":"one two"},{"type":"image_url","image_url":{}},{"type":"text","text":"three"}]`, 3, ""},
		{`42`, 0, `messages[0].content must be a string or an array of parts like {"type":"text","text":"Hello"}`},
		{`{"text":"x"}`, 0, `messages[0].content must be a string or an array of parts like {"type":"text","text":"Hello"}`},
	}
	for _, tt := range tests {
		got, err := contentWords(json.RawMessage(tt.raw), "messages[0].content")
		switch {
		case tt.wantErr != "":
			if err == nil || err.msg != tt.wantErr || err.param != "messages[0].content" {
				t.Errorf("contentWords(%s) error = %+v, want %q", tt.raw, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("contentWords(%s): %s", tt.raw, err.msg)
		case got != tt.want:
			t.Errorf("contentWords(%s) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

func TestIDs(t *testing.T) {
	chat := regexp.MustCompile(`^chatcmpl-[0-9A-Za-z]{29}$`)
	msg := regexp.MustCompile(`^msg_01[0-9A-Za-z]{22}$`)
	seen := map[string]bool{}
	for x := range uint64(1000) {
		a := string(appendID(nil, "chatcmpl-", x, 29))
		b := string(appendID(nil, "msg_01", x, 22))
		if !chat.MatchString(a) || !msg.MatchString(b) {
			t.Fatalf("bad IDs %q %q", a, b)
		}
		if seen[a] {
			t.Fatalf("ID %q repeats", a)
		}
		seen[a] = true
	}
	if fp := fingerprint("rtbench-mock-1"); !regexp.MustCompile(`^fp_[0-9a-f]{10}$`).MatchString(fp) || fp != fingerprint("rtbench-mock-1") || fp == fingerprint("gpt-4o") {
		t.Errorf("fingerprint = %q: want fp_ and 10 hex digits, fixed per model", fp)
	}
	if !strings.HasPrefix(fingerprint(""), "fp_") {
		t.Error("fingerprint of an empty model")
	}
}
