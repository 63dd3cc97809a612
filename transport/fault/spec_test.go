package fault

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"", Spec{}},
		{"none", Spec{None: true}},
		{"status:503", Spec{Status: 503}},
		{"status:429:7", Spec{Status: 429, RetryAfter: 7}},
		{"content-type:text/event-stream; charset=windows-1252", Spec{ContentType: "text/event-stream; charset=windows-1252"}},
		{"delay:2s", Spec{Delay: 2 * time.Second}},
		{"reset", Spec{Reset: true}},
		{"reset:3", Spec{Reset: true, ResetAfter: 3}},
		{"slow-read:50ms", Spec{SlowRead: 50 * time.Millisecond}},
		{"line:CRLF", Spec{Line: LineCRLF}},
		{"line:mixed", Spec{Line: LineMixed}},
		{"bom", Spec{BOM: 1}},
		{"bom:2", Spec{BOM: 2}},
		{"stall", Spec{Stall: true}},
		{"stall:5", Spec{Stall: true, StallAfter: 5}},
		{"stall:5:30s", Spec{Stall: true, StallAfter: 5, StallFor: 30 * time.Second}},
		{"close-mid-event:3", Spec{Cut: true, CutAfter: 3}},
		{"oversized:10485760", Spec{Oversized: 10 << 20}},
		{"invalid-utf8:2", Spec{InvalidUTF8: true, InvalidUTF8After: 2}},
		{"burst:10", Spec{Burst: 10}},
		{"burst:500ms", Spec{BurstEvery: 500 * time.Millisecond}},
		{"gzip", Spec{Gzip: true}},
		{"no-stream", Spec{NoStream: true}},
		{"no-stream:3", Spec{NoStream: true, NoStreamAfter: 3}},
		{"bare-headers,GZIP", Spec{BareHeaders: true, Gzip: true}},
		{"empty-delta,bad-json:2,no-done", Spec{EmptyDelta: true, BadJSON: true, BadJSONAfter: 2, NoDone: true}},
		{"ws-close:1013", Spec{Close: true, CloseCode: 1013}},
		{"ws-close:4000:5:try: later", Spec{Close: true, CloseCode: 4000, CloseAfter: 5, CloseReason: "try: later"}},
		{" no-pong , stall:1 ", Spec{NoPong: true, Stall: true, StallAfter: 1}},
		{"status:500,status:502", Spec{Status: 502}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, mention string }{
		{"bogus", `unknown fault "bogus"`},
		{"status", "status:CODE"},
		{"status:99", `"99" is not a whole number from 200 to 599`},
		{"status:503:x", `"x"`},
		{"delay", "delay:DURATION"},
		{"delay:forever", `"forever" is not a duration`},
		{"delay:2h", "from 0 to 1h"},
		{"stall:x", "stall:N:DURATION"},
		{"stall:1:2s:3", "too many arguments"},
		{"line:lfcr", `line style "lfcr"`},
		{"bom:9", "from 1 to 4"},
		{"oversized:0", "oversized:BYTES"},
		{"burst:1", "from 2 to"},
		{"ws-close:1006", "cannot be sent on the wire"},
		{"ws-close:1000:x", `"x"`},
		{"ws-close:1000:1:" + strings.Repeat("r", 124), "at most 123"},
		{"no-done:1", "too many arguments"},
		{"gzip:9", "too many arguments; want gzip"},
		{"no-stream:x", "no-stream:N"},
		{"no-stream:1:2", "too many arguments"},
		{"bare-headers:1", "too many arguments; want bare-headers"},
		{"content-type:", "content-type:TYPE"},
		{"stall:5,bogus:1", `fault "bogus:1"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Parse(%q) error %v, want one mentioning %q", tt.in, err, tt.mention)
			}
		})
	}
}

// TestHelpListsEveryFault: serve --help documents the whole grammar.
func TestHelpListsEveryFault(t *testing.T) {
	for _, n := range Names {
		if !strings.Contains(Help, "  "+n) {
			t.Errorf("Help does not document %q", n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"status:503", "stall:5:1s,line:cr", "ws-close:1013:2:x", "burst:5", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if sp.Delay > MaxDelay || sp.StallFor > MaxDelay || sp.Oversized > MaxOversized || len(sp.CloseReason) > 123 {
			t.Fatalf("Parse(%q) accepted out-of-range %+v", s, sp)
		}
	})
}
