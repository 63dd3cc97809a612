package transporttest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNodePeer checks the harness itself: the peer installs, starts and
// answers; the protocol tests against it live with listen's tests.
func TestNodePeer(t *testing.T) {
	base := NodePeer(t, "../../testdata/peer")
	resp, err := http.Get(base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status"`) || resp.Header.Get("ETag") == "" {
		t.Fatalf("%d %s %q", resp.StatusCode, b, resp.Header.Get("ETag"))
	}
}
