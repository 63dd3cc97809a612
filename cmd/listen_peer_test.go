package cmd

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// TestListenNodePeer runs listen against testdata/peer/server.js, a server
// written with Node's http module and the npm ws package: framing rtbench's
// own mock never produces (CRLF, "data:" without a space, multi-line data,
// named events, comments, pretty-printed chunks).
func TestListenNodePeer(t *testing.T) {
	base := transporttest.NodePeer(t, "../testdata/peer")
	ws := "ws" + strings.TrimPrefix(base, "http")

	t.Run("sse", func(t *testing.T) {
		code, out, errOut := runListen(t, "", "--json", "--reconnect", "never", base+"/events?count=6")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		ls := messages(out) // the peer's comments come too, as kind "comment"
		if len(ls) != 6 || !strings.Contains(out, `"kind":"comment","type":"comment","data":"comment before 1"`) {
			t.Fatalf("%d events, want 6: %q", len(ls), out)
		}
		for i, l := range ls {
			var ev struct {
				Type, ID, Data string
				Seq            uint64
				DeliveryMS     *float64 `json:"delivery_ms"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatal(err)
			}
			wantType := "message"
			if (i+1)%3 == 0 {
				wantType = "tick"
			}
			if ev.Type != wantType || ev.Seq != uint64(i+1) || !strings.HasPrefix(ev.Data, "{\"seq\":") || !strings.Contains(ev.Data, ",\n\"ts\":") || ev.DeliveryMS == nil {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
	})

	t.Run("sse reconnects with Last-Event-ID", func(t *testing.T) {
		code, out, errOut := runListen(t, "", "--json", base+"/events?count=2", "-n", "5")
		if code != 0 || !strings.Contains(errOut, "2 reconnects") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		// The peer resumes from Last-Event-ID: seqs 1..5 with no repeat.
		for i, l := range messages(out) {
			var ev struct {
				ID  string
				Seq uint64
			}
			json.Unmarshal([]byte(l), &ev)
			if ev.Seq != uint64(i+1) || ev.ID != strconv.Itoa(i+1) {
				t.Fatalf("event %d = %q\n%s", i, l, out)
			}
		}
	})

	t.Run("websocket", func(t *testing.T) {
		code, out, errOut := runListen(t, "", ws+"/chat", "--send", "ping from rtbench", "-n", "2")
		if code != 0 || out != "{\"type\":\"welcome\",\"seq\":1}\nping from rtbench\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("polling until done", func(t *testing.T) {
		code, out, errOut := runListen(t, "", base+"/status", "--interval", "20ms", "--until", "status==completed")
		if code != 0 || !strings.Contains(lines(out)[len(lines(out))-1], `"status":"completed"`) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("ai stream", func(t *testing.T) {
		code, out, errOut := runListen(t, "", "--data", `{"model":"peer","stream":true,"messages":[]}`, base+"/v1/chat/completions")
		if code != 0 || out != "Peers speak the same protocol.\n" || !strings.Contains(errOut, "openai stream complete") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}
