package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNotATarget: a page that is neither an event stream nor JSON, and an
// error answer with a JSON body, through listen and load: one line on
// stderr naming the content type (and --mode poll) or the status and body,
// exit 1, nothing measured; --mode poll still polls the page.
func TestNotATarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html><body>hello</body></html>"))
		case "/logo.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("\x89PNG\r\n\x1a\n"))
		case "/api":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"forbidden"}`))
		}
	}))
	defer srv.Close()
	tests := []struct {
		path string
		want []string
	}{
		{"/page", []string{"answered text/html, neither an event stream nor JSON", "--mode poll", "(bad_content_type)"}},
		{"/logo.png", []string{"answered image/png", "--mode poll"}},
		{"/api", []string{`HTTP 403 Forbidden: {"error":"forbidden"}`, "(http_4xx)"}},
	}
	for _, tt := range tests {
		for _, command := range []string{"listen", "load"} {
			args := []string{srv.URL + tt.path}
			if command == "load" {
				args = append([]string{"-c", "2", "-d", "1s"}, args...)
			}
			code, stdout, stderr := runCmd(t, t.Context(), append([]string{command}, args...)...)
			if code != ExitFailed || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s %s: exit %d, want 1 with one line on stderr\nstdout %q\nstderr %q", command, tt.path, code, stdout, stderr)
				continue
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%s %s: %q does not say %q", command, tt.path, stderr, w)
				}
			}
		}
	}
	if code, stdout, stderr := runCmd(t, t.Context(), "listen", "--mode", "poll", "-n", "1", srv.URL+"/page"); code != 0 || !strings.Contains(stdout, "hello") {
		t.Errorf("--mode poll: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
