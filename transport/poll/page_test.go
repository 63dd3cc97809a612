package poll

import (
	"slices"
	"testing"
)

func TestParseMsgPage(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		ok     bool
		last   uint64
		missed uint64
		more   bool
		msgs   []string
	}{
		{"empty", `{"channel":"c","last":0,"missed":0,"more":false,"messages":[]}`, true, 0, 0, false, nil},
		{"two", `{"channel":"c","last":7,"missed":2,"more":true,"messages":[{"seq":6,"data":"a,]"},{"seq":7,"data":[1,{"x":"}"}]}]}`,
			true, 7, 2, true, []string{`{"seq":6,"data":"a,]"}`, `{"seq":7,"data":[1,{"x":"}"}]}`}},
		{"spaces", " {\n \"messages\" : [ {\"seq\":1} , 2 ] , \"last\" : 1 } ", true, 1, 0, false, []string{`{"seq":1}`, `2`}},
		{"no-last", `{"channel":"c","messages":[]}`, false, 0, 0, false, nil},
		{"no-messages", `{"channel":"c","last":1}`, false, 0, 0, false, nil},
		{"messages-not-array", `{"last":1,"messages":{}}`, false, 0, 0, false, nil},
		{"last-negative", `{"last":-1,"messages":[]}`, false, 0, 0, false, nil},
		{"last-float", `{"last":1.5,"messages":[]}`, false, 0, 0, false, nil},
		{"nested-only", `{"x":{"last":1,"messages":[]}}`, false, 0, 0, false, nil},
		{"tick", `{"seq":5,"sched_ns":1,"sent_ns":2}`, false, 0, 0, false, nil},
		{"array", `[{"last":1,"messages":[]}]`, false, 0, 0, false, nil},
		{"invalid", `{"last":1,"messages":[}`, false, 0, 0, false, nil},
		{"empty-body", ``, false, 0, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := parseMsgPage([]byte(tt.body))
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if p.last != tt.last || p.missed != tt.missed || p.more != tt.more {
				t.Errorf("last %d missed %d more %v, want %d %d %v", p.last, p.missed, p.more, tt.last, tt.missed, tt.more)
			}
			var msgs []string
			for elem, i, ok := p.next(0); ok; elem, i, ok = p.next(i) {
				msgs = append(msgs, string(elem))
			}
			if !slices.Equal(msgs, tt.msgs) {
				t.Errorf("messages %q, want %q", msgs, tt.msgs)
			}
		})
	}
}

func TestParseMsgPageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under -race")
	}
	body := []byte(`{"channel":"c","last":7,"missed":0,"more":false,"messages":[{"channel":"c","seq":6,"data":1},{"channel":"c","seq":7,"data":2}]}`)
	if n := testing.AllocsPerRun(100, func() {
		p, _ := parseMsgPage(body)
		for _, i, ok := p.next(0); ok; _, i, ok = p.next(i) {
		}
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
