package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestExitCodeRule: one rule for every command (README "Exit codes"): 0
// done and what was asked held; 1 a check or threshold failed, or the run
// failed (nothing delivered while every attempt failed, a protocol
// failure); 2 usage; 3 the target could not be reached at the start; 130
// interrupted, said on stderr.
func TestExitCodeRule(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	base := startMock(t, mock.Config{})
	always503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer always503.Close()
	// A server that takes the request and never answers: the probe hangs
	// until Ctrl-C, which arrives once the request is in.
	arrived := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	dead := "http://" + deadAddr(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"x"}`), 0o644)
	good, link := filepath.Join(dir, "good.json"), filepath.Join(dir, "link.json")
	if b, err := os.ReadFile("../bench/testdata/sse.json"); err != nil || os.WriteFile(good, b, 0o644) != nil || os.Symlink(good, link) != nil {
		t.Fatal("setting up result files", err)
	}

	tests := []struct {
		name      string
		args      []string
		interrupt bool // cancel once the hanging server has the request
		want      int
		mention   string
	}{
		{"load --mode sse, 100% 5xx", []string{"load", "--mode", "sse", "-c", "2", "-d", "1s", always503.URL}, false, 1, "every attempt failed: http_5xx"},
		{"load detects, 100% 5xx", []string{"load", "-c", "2", "-d", "1s", always503.URL}, false, 1, "503"},
		{"load ok", []string{"load", "-c", "2", "-d", "1s", base + "/sse?rate=20"}, false, 0, ""},
		{"load Ctrl-C during the first probe", []string{"load", "-c", "2", "-d", "1s", hang.URL}, true, 130, "interrupted before the run started"},
		{"load unreachable", []string{"load", "-c", "1", "-d", "1s", dead}, false, 3, "cannot reach"},
		{"listen --timeout, every connection failed", []string{"listen", "--mode", "sse", "--reconnect", "always", "--timeout", "1500ms", always503.URL}, false, 1, "every attempt failed: http_5xx"},
		{"listen --timeout, events arrived", []string{"listen", "--timeout", "1s", base + "/sse?rate=20"}, false, 0, ""},
		{"listen unreachable", []string{"listen", dead + "/sse"}, false, 3, "cannot reach"},
		{"check 5xx", []string{"check", "--timeout", "5s", always503.URL}, false, 1, "check failed"},
		{"check unreachable", []string{"check", dead}, false, 3, "cannot reach"},
		{"check usage", []string{"check", "--concurrency", "2", base + "/sse"}, false, 2, "-c/--connections"},
		{"listen -d is not the body", []string{"listen", "-d", "{}", base + "/sse"}, false, 2, "give the request body with --data"},
		{"load -d is the duration", []string{"load", "-d", `{"a":1}`, base + "/sse"}, false, 2, "-d is --duration; give a request body with --data"},
		{"report not a result", []string{"report", bad}, false, 2, "not an rtbench result"},
		{"report a file with itself", []string{"report", good, good}, false, 2, "same file"},
		{"report a file with a link to itself", []string{"report", good, link}, false, 2, "same file"},
		{"compare unreachable target", []string{"compare", "--target", dead, "-d", "1s", "--patterns", "sse"}, false, 3, "cannot reach"},
		{"serve usage", []string{"serve", "--addr", "nonsense"}, false, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errOut := TestEnv()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			if tt.interrupt {
				go func() {
					select {
					case <-arrived:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			code := Run(ctx, env, BuildInfo{Version: "test"}, tt.args)
			if code != tt.want || !strings.Contains(out.String()+errOut.String(), tt.mention) {
				t.Fatalf("exit %d (want %d); output should mention %q\nstdout %s\nstderr %s", code, tt.want, tt.mention, out, errOut)
			}
			if code != 0 && errOut.Len() == 0 {
				t.Errorf("exit %d with nothing on stderr", code)
			}
		})
	}
}
