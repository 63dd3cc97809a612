package cmd

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// silentAfterFirst answers with one event of its kind and then says nothing
// until the client goes away.
func silentAfterFirst(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if r.Method == http.MethodPost { // an AI stream: one chunk, no end
			fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}`+"\n\n")
		} else {
			fmt.Fprint(w, "data: one\n\n")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestIdleTimeoutEveryPattern: --idle-timeout ends a silent stream, SSE,
// AI stream or WebSocket, in listen and in load (it was ignored for
// WebSockets, and for AI streams in listen). Polling has no stream to be
// silent: each request is bounded by --ttfb-timeout.
func TestIdleTimeoutEveryPattern(t *testing.T) {
	silent := silentAfterFirst(t)
	base := startMock(t, mock.Config{})
	wsQuiet := "ws" + strings.TrimPrefix(base, "http") + "/ws?channel=idle-test-quiet"
	chat := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	patterns := []struct {
		name string
		args []string
	}{
		{"sse", []string{silent.URL}},
		{"ai", []string{"--data", chat, silent.URL}},
		{"ws", []string{wsQuiet}},
	}
	for _, p := range patterns {
		t.Run("listen "+p.name, func(t *testing.T) {
			args := append([]string{"--idle-timeout", "300ms", "--reconnect", "never", "--timeout", "20s"}, p.args...)
			code, _, stderr := runListen(t, "", args...)
			if code != 1 || !strings.Contains(stderr, "idle_timeout") {
				t.Fatalf("exit %d, want 1 with idle_timeout; stderr %s", code, stderr)
			}
		})
		t.Run("load "+p.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			args := append([]string{"-c", "2", "-d", "2s", "--idle-timeout", "300ms", "--out", out}, p.args...)
			code, stdout, stderr := runLoad(t, context.Background(), args...)
			if code > 1 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			r := readResult(t, out)
			if n := r.Errors["idle_timeout"].Count; n < 2 {
				t.Errorf("idle_timeout ×%d in 2 s for 2 sessions silent after 300 ms: want at least 2; errors %v", n, r.Errors)
			}
			if got := r.Params.Defaults["idle_timeout"]; got != (300 * time.Millisecond).String() {
				t.Errorf("defaults idle_timeout = %q", got)
			}
		})
	}
}
