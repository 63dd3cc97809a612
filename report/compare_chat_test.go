package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestChatGuide: the chat line picks the lowest send → receive p99 among
// the protocols that lost nothing, all of them when every one lost some,
// and is left out when fewer than two protocols measured a latency.
func TestChatGuide(t *testing.T) {
	tests := []struct {
		name    string
		keep    []string // chat runs of the fixture kept, in order
		lost    map[string]int64
		ok      bool
		pick    string
		prefix  string
		notWant string
	}{
		{name: "lossless protocols only", keep: []string{"ws room", "ably", "pusher (REST send)"}, ok: true, pick: "ws room",
			prefix: "send → receive p99 1.64ms, 1.1× lower than ably (1.82ms)"},
		{name: "the fastest loses: the next is picked", keep: []string{"ws room", "sse + POST", "ably"}, lost: map[string]int64{"ws room": 1}, ok: true,
			pick: "ably", prefix: "send → receive p99 1.82ms, 1.1× lower than sse + POST (1.95ms)"},
		{name: "every protocol lost some: all compete", keep: []string{"ws room", "pusher (REST send)"}, lost: map[string]int64{"ws room": 1}, ok: true,
			pick: "pusher (REST send)", notWant: "not picked"},
		{name: "one protocol is no comparison", keep: []string{"ably"}, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compareFixture(t)
			by := map[string]int{}
			for i, c := range r.Chat {
				by[c.Name] = i
			}
			all := r.Chat
			r.Chat = nil
			for _, n := range tt.keep {
				c := all[by[n]]
				if l, ok := tt.lost[n]; ok {
					c.Lost = l
				}
				r.Chat = append(r.Chat, c)
			}
			l, ok := chatGuide(r.Chat)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v: %+v", ok, tt.ok, l)
			}
			if !ok {
				for _, g := range CompareGuide(r) {
					if g.Need == "chat" && strings.HasPrefix(g.Text, "send") {
						t.Errorf("a chat line from one protocol: %+v", g)
					}
				}
				return
			}
			if l.Pick != tt.pick || !strings.HasPrefix(l.Text, tt.prefix) || (tt.notWant != "" && strings.Contains(l.Text, tt.notWant)) {
				t.Errorf("%+v, want %s: %q", l, tt.pick, tt.prefix)
			}
		})
	}
}

// TestCompareChatHTML: the chat table is on the page, with how each
// protocol sent.
func TestCompareChatHTML(t *testing.T) {
	var b bytes.Buffer
	if err := CompareHTML(&b, compareFixture(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<section id="chat">`, `<th class="num">B up</th>`, `<td class="mono">pusher (REST send)</td>`,
		"cannot send client events yet", `<strong>chat → ws room</strong>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	golden(t, "compare/page.html", b.Bytes())
}

// TestCompareChatOnly: a run of the chat pattern alone shows no publish
// workload it did not run, and an interrupted chat run says what it cut
// off.
func TestCompareChatOnly(t *testing.T) {
	r := compareFixture(t)
	r.Patterns, r.AI, r.AIFormats = nil, nil, nil
	r.Interrupted = true
	r.Chat[1].CutOff = 7
	var b bytes.Buffer
	if err := CompareText(&b, r, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "subscribers") || strings.Contains(out, "updates/s") {
		t.Errorf("a chat-only run shows the publish workload:\n%s", out)
	}
	for _, want := range []string{chatTitle, "sse + POST sends: POST /api/publish; 7 (member, message) pairs still on their way were cut off", "chat → ws room"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}
