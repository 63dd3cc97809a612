package cmd

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestLoadSaysWhichHTTPClient: the result's lean_requests and the report
// say which client carried an open-model polling run's requests: rtbench's
// lean HTTP/1.1 client against a plain http:// target, net/http against one
// that redirects (net/http follows the redirect, for every request here).
func TestLoadSaysWhichHTTPClient(t *testing.T) {
	base := startMock(t, mock.Config{})
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, base+"/poll?rate=10", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	tests := []struct {
		name, url string
		lean      bool
		say       string
	}{
		{"plain http", base + "/poll?rate=10", true, "requests over rtbench's lean HTTP/1.1 client"},
		{"redirect", redirect.URL + "/r", false, "requests over net/http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "result.json")
			code, stdout, stderr := runLoad(t, t.Context(), "--mode", "poll", "--rate", "50/s", "-d", "1s", "--out", out, tt.url)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			r := readResult(t, out)
			n, lean := r.Counters["requests"], r.Counters["lean_requests"]
			if want := map[bool]int64{true: n, false: 0}[tt.lean]; n == 0 || lean != want {
				t.Errorf("lean_requests %d of %d requests, want %d", lean, n, want)
			}
			if !strings.Contains(stdout, tt.say) {
				t.Errorf("the report does not say %q:\n%s", tt.say, stdout)
			}
		})
	}
}
