package cmd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestMistypedCommand: an unknown command close to a known one names it.
func TestMistypedCommand(t *testing.T) {
	for in, want := range map[string]string{"lisen": "listen", "lod": "load", "chek": "check", "sreve": "serve"} {
		code, stdout, stderr := runCmd(t, t.Context(), in, "http://127.0.0.1:1/")
		if code != ExitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `did you mean "`+want+`"?`) {
			t.Errorf("%s: exit %d, stderr %q; want one usage line suggesting %s", in, code, stderr, want)
		}
	}
	if _, _, stderr := runCmd(t, t.Context(), "zzzz"); strings.Contains(stderr, "did you mean") {
		t.Errorf("zzzz: %q suggests a command", stderr)
	}
}

// TestListenIncludeVerbose: -i prints the response head on stdout (a JSON
// object with --json), -v the request and response heads on stderr, with
// credentials redacted; --cookie sends its cookies, repeatable.
func TestListenIncludeVerbose(t *testing.T) {
	base := startMock(t, mock.Config{})
	url := base + "/sse?rate=50&api_key=s3cr3t"
	auth := []string{"-H", "Authorization: Bearer s3cr3t", "--cookie", "sid=s3cr3t"}

	code, stdout, stderr := runListen(t, "", append(auth, "-i", "-n", "1", url)...)
	if code != 0 || !strings.HasPrefix(stdout, "HTTP/1.1 200 OK\n") || !strings.Contains(stdout, "Content-Type: text/event-stream") ||
		!strings.Contains(stdout, "\n\n{\"seq\":") {
		t.Errorf("-i: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runListen(t, "", append(auth, "-v", "-n", "1", url)...)
	for _, want := range []string{"> GET /sse?rate=50&api_key=", "> Authorization: Bearer ***", "> Cookie: ***", "< HTTP/1.1 200 OK", "< Content-Type: text/event-stream"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-v: stderr does not say %q:\n%s", want, stderr)
		}
	}
	if code != 0 || strings.Contains(stderr+stdout, "s3cr3t") || strings.Contains(stdout, "HTTP/1.1") {
		t.Errorf("-v: exit %d; a secret or a header reached the output\n%s\n%s", code, stdout, stderr)
	}
	_, stdout, _ = runListen(t, "", "-i", "--json", "-n", "1", url)
	var head struct {
		Kind    string
		Status  int
		Headers map[string][]string
	}
	if err := json.Unmarshal([]byte(lines(stdout)[0]), &head); err != nil || head.Kind != "headers" || head.Status != 200 || head.Headers["Content-Type"] == nil {
		t.Errorf("-i --json: first line %q (%v)", lines(stdout)[0], err)
	}

	var mu sync.Mutex
	var cookies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	if code, _, stderr := runListen(t, "", "--cookie", "sid=1; theme=dark", "--cookie", "x=y", "-n", "1", srv.URL); code != 0 {
		t.Fatalf("--cookie: exit %d %s", code, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cookies) == 0 || cookies[0] != "sid=1; theme=dark; x=y" {
		t.Errorf("cookies sent %q", cookies)
	}
	if code, _, stderr := runListen(t, "", "--cookie", "novalue", srv.URL); code != ExitUsage || !strings.Contains(stderr, "--cookie") {
		t.Errorf("--cookie novalue: exit %d %s", code, stderr)
	}
}

// TestListenProxy: --proxy sends the requests through the proxy, which
// gets the absolute URL of a host it alone can resolve.
func TestListenProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"via\":\"proxy\"}\n\n"))
	}))
	defer proxy.Close()
	code, stdout, stderr := runListen(t, "", "--proxy", proxy.URL, "-n", "1", "http://only-the-proxy.invalid/sse")
	mu.Lock()
	defer mu.Unlock()
	if code != 0 || !strings.Contains(stdout, `"via":"proxy"`) || len(seen) == 0 || seen[0] != "http://only-the-proxy.invalid/sse" {
		t.Errorf("exit %d, proxy saw %q\n%s\n%s", code, seen, stdout, stderr)
	}
	if code, _, stderr := runListen(t, "", "--proxy", "ftp://x", "http://h/"); code != ExitUsage || !strings.Contains(stderr, "--proxy") {
		t.Errorf("--proxy ftp://x: exit %d %s", code, stderr)
	}
}

// TestListenErrorsTeach: one error is one line on stderr, and it says what
// to do: a TLS failure names --cacert and --insecure, a header timeout
// --ttfb-timeout.
func TestListenErrorsTeach(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"down"}`))
	}))
	defer down.Close()
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{tlsSrv.URL}, ExitUnreachable, []string{"tls_unknown_authority", "--cacert", "--insecure"}},
		{[]string{"--ttfb-timeout", "300ms", hang.URL}, ExitFailed, []string{"ttfb_timeout", "--ttfb-timeout"}},
		{[]string{"--mode", "sse", down.URL}, ExitFailed, []string{"http_5xx (503)", `{"error":"down"}`}},
		{[]string{down.URL}, ExitFailed, []string{"HTTP 503", `{"error":"down"}`}},
	}
	for _, tt := range tests {
		code, _, stderr := runListen(t, "", append([]string{"-q"}, tt.args...)...)
		if code != tt.code || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, want %d with one line on stderr:\n%s", tt.args, code, tt.code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: %q does not say %q", tt.args, stderr, w)
			}
		}
		// Without -q the summary follows, but the error is still said once.
		_, _, stderr = runListen(t, "", tt.args...)
		if n := strings.Count(stderr, tt.want[0]); n != 1 {
			t.Errorf("%v: %q said %d times:\n%s", tt.args, tt.want[0], n, stderr)
		}
	}
}
