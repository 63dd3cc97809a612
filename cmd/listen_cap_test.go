package cmd

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestListenOneMiBEvent: listen receives a 1 MiB event with its default
// cap (16 MiB), where load's per-session cap (1 MiB a line) refuses it and
// names the flag that raises it.
func TestListenOneMiBEvent(t *testing.T) {
	base := startMock(t, mock.Config{})
	url := base + "/sse?rate=50&fault=oversized:1048576"
	code, stdout, stderr := runListen(t, "", "-n", "2", "--json", url)
	if code != 0 {
		t.Fatalf("listen: exit %d\n%s", code, stderr)
	}
	if first, _, _ := strings.Cut(stdout, "\n"); len(first) < 1<<20 {
		t.Errorf("the first event printed is %d bytes, want the whole 1 MiB", len(first))
	}
	code, stdout, stderr = runLoad(t, t.Context(), "-c", "1", "-d", "1s", "--reconnect", "never", url)
	if !strings.Contains(stdout, "event_too_large") || !strings.Contains(stdout, "(raise --max-event)") {
		t.Errorf("load: exit %d, want event_too_large naming --max-event\n%s\n%s", code, stdout, stderr)
	}
}

// TestListenJSONComments: listen --json shows SSE heartbeats as their own
// kind, and they do not count towards -n.
func TestListenJSONComments(t *testing.T) {
	base := startMock(t, mock.Config{Heartbeat: 20 * time.Millisecond})
	code, stdout, stderr := runListen(t, "", "-n", "2", "--json", base+"/sse?rate=5")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var kinds []string
	for line := range strings.Lines(stdout) {
		var e struct{ Kind, Type, Data string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		kinds = append(kinds, e.Kind)
		if e.Kind == "comment" && (e.Type != "comment" || e.Data == "") {
			t.Errorf("comment %q: want type comment and its text", line)
		}
	}
	if n := strings.Count(strings.Join(kinds, " "), "message"); n != 2 || !slices.Contains(kinds, "comment") {
		t.Errorf("kinds %v: want 2 messages and the heartbeats between them", kinds)
	}
}

// messages are the lines of listen --json output that are not comments.
func messages(out string) []string {
	var ms []string
	for _, l := range lines(out) {
		if !strings.Contains(l, `"kind":"comment"`) {
			ms = append(ms, l)
		}
	}
	return ms
}
