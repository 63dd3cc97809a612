package cmd

import (
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// TestCompareChat runs the chat workload on the embedded server: 3 members
// at 2 messages/s each for 2 s through every protocol. Every member must
// receive every message once, its own included; the HTTP senders make one
// request per message sent; the socket senders none.
func TestCompareChat(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s end-to-end run")
	}
	const members, rate, per = 3, 2, 4
	r := runCompare(t, "--patterns", "chat", "--chat-members", "3", "--chat-rate", "2", "-d", "2s", "--poll-interval", "200ms")
	want := map[string]struct {
		sends   string
		httpUp  bool
		streams int64 // connections held at most: one per member, plus the HTTP senders'
	}{
		"ws room":            {chatSendsSocket, false, members},
		"sse + POST":         {chatSendsPOST, true, 2 * members},
		"long-poll + POST":   {chatSendsPOST, true, 2 * members},
		"ably":               {chatSendsSocket, false, members},
		"pusher (REST send)": {chatSendsPusherREST, true, 2 * members},
	}
	if len(r.Chat) != len(want) {
		t.Fatalf("%d chat runs, want %d", len(r.Chat), len(want))
	}
	for _, c := range r.Chat {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected chat run %q", c.Name)
			continue
		}
		m, ok := c.Delivery()
		if !ok {
			t.Errorf("%s: no send → receive latency", c.Name)
			continue
		}
		t.Logf("%-18s p50 %7.2fms p99 %7.2fms max %7.2fms lost %d dup %d B up/msg %.0f B down/msg %.0f req up %.2f down %.2f conns %d cpu µs/msg %.1f",
			c.Name, m.P50Ms, m.P99Ms, m.MaxMs, c.Lost, c.Duplicates, c.BytesUpPerMsg, c.BytesDownPerMsg, c.RequestsUpPerMsg, c.RequestsDownPerMsg, c.ConnectionsPeak, c.CPUUsPerMsg)
		if c.Sends != w.sends || c.Members != members {
			t.Errorf("%s: sends %q members %d", c.Name, c.Sends, c.Members)
		}
		if c.Sent != members*per || c.Expected != members*members*per || c.Delivered != c.Expected || c.Lost != 0 || c.Duplicates != 0 || c.SendErrors != 0 {
			t.Errorf("%s: sent %d expected %d delivered %d lost %d dup %d send errors %d (%s); want %d sent, every member every message once",
				c.Name, c.Sent, c.Expected, c.Delivered, c.Lost, c.Duplicates, c.SendErrors, c.SendError, members*per)
		}
		if m.Count != c.Delivered {
			t.Errorf("%s: %d latencies for %d deliveries", c.Name, m.Count, c.Delivered)
		}
		if w.httpUp != (c.RequestsUp == c.Sent) || (!w.httpUp && c.RequestsUp != 0) {
			t.Errorf("%s: %d requests up for %d messages sent", c.Name, c.RequestsUp, c.Sent)
		}
		if c.BytesUp <= 0 || c.BytesDown <= 0 || c.ConnectionsPeak < members || c.ConnectionsPeak > w.streams {
			t.Errorf("%s: bytes up %d down %d, connections %d (want %d to %d)", c.Name, c.BytesUp, c.BytesDown, c.ConnectionsPeak, members, w.streams)
		}
		if c.Result == nil || c.Result.Interrupted || c.Result.Schema != bench.SchemaV2 {
			t.Errorf("%s: result %+v", c.Name, c.Result)
		}
	}
}
