package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/pusher"
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

// chatWatcher runs testdata/DIR/watch.js, an official SDK subscribing to
// channel of the server at base, and returns once it printed
// {"ready":true}. lines() ends it and returns every other line it printed.
func chatWatcher(t *testing.T, dir, base, key, channel string) (lines func() []map[string]any) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	n := nodeScript(t, dir, "watch.js", u.Hostname(), u.Port(), key, channel)
	if v := n.next(t, time.Minute); v["ready"] != true {
		t.Fatalf("%s: first line %v, want {\"ready\":true}", n.name, v)
	}
	return func() []map[string]any {
		out := n.end()
		for _, v := range out {
			if v["fatal"] != nil {
				t.Errorf("%s: %v", n.name, v["fatal"])
			}
		}
		return out
	}
}

// TestCompareChatOfficialSubscribers: the chat workload's Ably and Pusher
// runs as clients nobody here wrote see them. An official SDK (ably's
// Realtime, pusher-js) subscribes to the run's channel on the embedded
// server while 3 members send 4 messages each; it must receive every
// message exactly once, each member's in order, as the member sent it:
//   - ably: named "message", its data the member's JSON ({"chat":"ID.SCHED",
//     "p":…}), its id CONNECTION:MSGSERIAL:0 with the member's own
//     connection and its k-th msgSerial for its k-th message, and channel
//     serials that count the channel's messages one by one;
//   - pusher: event "rtbench", data {"seq":ID,"sched_ns":SCHED} with the
//     message's ID.
func TestCompareChatOfficialSubscribers(t *testing.T) {
	if testing.Short() {
		t.Skip("two 10 s end-to-end runs with Node SDKs")
	}
	const members, per = 3, 4
	o := &CompareOptions{PollInterval: 200 * time.Millisecond}
	base, _, _, stop, err := o.target(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	suffix := randomSuffix()
	runs := map[string]bench.ChatRun{}
	for _, r := range o.chatRuns(base, suffix) {
		runs[r.Pattern] = r
	}
	cmp := bench.Compare{ChatMembers: members, ChatRate: 2, Duration: 2 * time.Second}
	// chat runs one member's messages: member (id-1)/per, its k-th for
	// k = (id-1)%per.
	chat := func(t *testing.T, id uint64, seen map[uint64]bool) (member, k int) {
		t.Helper()
		if id < 1 || id > members*per || seen[id] {
			t.Errorf("message %d: not one of 1…%d, or received twice", id, members*per)
		}
		seen[id] = true
		return int(id-1) / per, int(id-1) % per
	}
	run := func(t *testing.T, pattern, dir, key string) (*bench.ChatResult, []map[string]any) {
		r, ok := runs[pattern]
		if !ok {
			t.Fatalf("the chat workload has no %s run", pattern)
		}
		lines := chatWatcher(t, dir, base, key, "chat-"+pattern+"-"+suffix)
		cr, err := cmp.RunChat(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if cr.Sent != members*per || cr.Lost != 0 || cr.Duplicates != 0 {
			t.Fatalf("%s: sent %d lost %d dup %d (%s), want %d sent to rtbench's members", pattern, cr.Sent, cr.Lost, cr.Duplicates, cr.SendError, members*per)
		}
		// The drain waited for the members to receive everything; the
		// SDK's subscription is on the same server.
		got := lines()
		if len(got) != int(cr.Sent) {
			t.Errorf("%s SDK received %d messages, want the %d sent", pattern, len(got), cr.Sent)
		}
		return cr, got
	}

	t.Run("ably", func(t *testing.T) {
		_, got := run(t, "ably", "ably", ably.DefaultKey)
		seen := map[uint64]bool{}
		next := map[int]int{}     // member → its next message
		conns := map[string]int{} // connection → member
		var lastSerial uint64
		for i, v := range got {
			m, _ := v["message"].(map[string]any)
			if m == nil {
				t.Fatalf("line %d: %v, want a message", i, v)
			}
			data, _ := json.Marshal(m["data"])
			id, sched, ok := bench.ParseChatMark(data)
			if m["name"] != "message" || !ok || sched <= 0 {
				t.Errorf("message %d: name %v data %s, want \"message\" and a member's chat data", i, m["name"], data)
				continue
			}
			member, k := chat(t, id, seen)
			if k != next[member] {
				t.Errorf("member %d's message %d arrived when its %d was due", member, k, next[member])
			}
			next[member] = k + 1
			conn, _ := m["connectionId"].(string)
			if want := fmt.Sprintf("%s:%d:0", conn, k); conn == "" || m["id"] != want {
				t.Errorf("message %d: id %v, want %s (its member's connection, msgSerial %d)", id, m["id"], want, k)
			}
			if c, ok := conns[conn]; ok && c != member {
				t.Errorf("connection %s sent for members %d and %d", conn, c, member)
			}
			conns[conn] = member
			serial, _ := m["channelSerial"].(string)
			j := strings.LastIndexByte(serial, ':')
			n, err := strconv.ParseUint(serial[j+1:], 10, 64)
			if j < 0 || err != nil || (lastSerial != 0 && n != lastSerial+1) {
				t.Errorf("message %d: channel serial %q after %d, want the next one", id, serial, lastSerial)
			}
			lastSerial = n
		}
		if len(conns) != members {
			t.Errorf("messages came from %d connections, want one per member (%d)", len(conns), members)
		}
	})

	t.Run("pusher", func(t *testing.T) {
		app := pusher.DefaultApp
		_, got := run(t, "pusher", "pusher", app.Key)
		seen := map[uint64]bool{}
		next := map[int]int{}
		for i, v := range got {
			data, _ := v["data"].(map[string]any)
			seq, _ := data["seq"].(float64)
			sched, _ := data["sched_ns"].(float64)
			if v["event"] != pusher.DefaultPublishEvent || seq < 1 || sched <= 0 || len(data) != 2 {
				t.Errorf("event %d: %v, want %q with data {seq, sched_ns}", i, v, pusher.DefaultPublishEvent)
				continue
			}
			member, k := chat(t, uint64(seq), seen)
			if k != next[member] {
				t.Errorf("member %d's message %d arrived when its %d was due", member, k, next[member])
			}
			next[member] = k + 1
		}
	})
}
