package cmd

import (
	"strings"
	"testing"

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
