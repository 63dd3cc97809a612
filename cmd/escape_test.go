package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The escape sequences a hostile server sends: OSC 52 (write the
// clipboard), a window title, clear screen, a CSI colour, C1 CSI as UTF-8
// and as a lone byte, DEL.
const (
	osc52   = "\x1b]52;c;cHduZWQ=\x07"
	title   = "\x1b]0;owned\x07"
	clear   = "\x1b[2J\x1b[H"
	hostile = "A" + osc52 + "B\u009b31mC\x7fD" + clear + "E"
)

// hostileServer answers /sse with an event whose type, id and data carry
// escapes, /v1/chat/completions with tokens that do, and /bad with a 502
// whose reason phrase and body do.
func hostileServer(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: t%s\nid: 7%s\ndata: %s\n\n", title, clear, hostile)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, tok := range []string{"hi ", osc52, title + "\u009b2J"} {
			b, _ := json.Marshal(tok)
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%s}}]}\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		body := "upstream " + clear + osc52 + "\x9b2J failed"
		fmt.Fprintf(buf, "HTTP/1.1 502 Bad%sGateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", title, len(body), body)
		buf.Flush()
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s.URL
}

// runTTY runs rtbench with stdout and stderr as terminals (colour off, so
// that rtbench's own styling adds no escapes of its own).
func runTTY(t *testing.T, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	env.OutTTY, env.ErrTTY = tty, tty
	env.Getenv = func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code = Run(ctx, env, BuildInfo{}, args)
	if ctx.Err() != nil {
		t.Fatalf("rtbench %q did not finish within 30s", args)
	}
	return code, out.String(), errOut.String()
}

// assertInert fails t when s holds anything a terminal would act on: a C0
// control other than tab and newline, DEL, a C1 control, a byte that is not
// UTF-8.
func assertInert(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		bad := r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f ||
			r == utf8.RuneError && !strings.HasPrefix(s[i:], "\ufffd")
		if bad {
			t.Errorf("%s holds %q at %d:\n%q", what, s[i:i+1], i, s)
			return
		}
	}
}

// TestServerEscapesNeverReachTheTerminal: through the real commands, a
// server's escape sequences are shown as text on a terminal and in every
// error line, escaped in --json, and passed byte for byte to a pipe by
// listen (the data is the user's).
func TestServerEscapesNeverReachTheTerminal(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	base := hostileServer(t)
	chat := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`

	t.Run("listen on a terminal", func(t *testing.T) {
		code, stdout, stderr := runTTY(t, true, "listen", base+"/sse", "-n", "1", "--full")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		assertInert(t, "stdout", stdout)
		assertInert(t, "stderr", stderr)
		for _, want := range []string{`t\x1b]0;owned\x07 #7\x1b[2J\x1b[H`, `A\x1b]52;c;cHduZWQ=\x07B\u009b31mC\x7fD\x1b[2J\x1b[HE`} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout should show %s:\n%s", want, stdout)
			}
		}
	})
	t.Run("listen on a terminal, cut to the width", func(t *testing.T) {
		_, stdout, stderr := runTTY(t, true, "listen", base+"/sse", "-n", "1")
		assertInert(t, "stdout", stdout)
		assertInert(t, "stderr", stderr)
	})
	t.Run("listen AI tokens on a terminal", func(t *testing.T) {
		code, stdout, stderr := runTTY(t, true, "listen", "--data", chat, base+"/v1/chat/completions")
		assertInert(t, "stdout", stdout)
		assertInert(t, "stderr", stderr)
		if !strings.Contains(stdout, `hi \x1b]52;c;cHduZWQ=\x07\x1b]0;owned\x07\u009b2J`) {
			t.Errorf("exit %d, stdout should show the tokens' escapes:\n%s\n%s", code, stdout, stderr)
		}
	})
	t.Run("listen in a pipe is byte-exact", func(t *testing.T) {
		code, stdout, stderr := runTTY(t, false, "listen", base+"/sse", "-n", "1")
		if code != 0 || stdout != hostile+"\n" {
			t.Errorf("exit %d, stdout %q, want the data byte for byte %q", code, stdout, hostile+"\n")
		}
		assertInert(t, "stderr", stderr)
	})
	t.Run("listen --json", func(t *testing.T) {
		_, stdout, stderr := runTTY(t, true, "listen", base+"/sse", "-n", "1", "--json")
		assertInert(t, "stdout", stdout)
		assertInert(t, "stderr", stderr)
		var ev struct{ Type, ID, Data string }
		if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
			t.Fatalf("%v: %q", err, stdout)
		}
		if ev.Data != hostile || ev.Type != "t"+title || ev.ID != "7"+clear {
			t.Errorf("the JSON decodes to %+v, want the server's strings", ev)
		}
	})
	// The 502's reason phrase and body reach error lines: in a terminal or
	// a pipe, they are shown, never acted on.
	for _, tty := range []bool{true, false} {
		for _, args := range [][]string{
			{"listen", "--mode", "sse", "--timeout", "10s", base + "/bad"},
			{"listen", "--mode", "sse", "--timeout", "10s", "--json", base + "/bad"},
			{"listen", "--mode", "poll", "--timeout", "3s", "-n", "1", base + "/bad"},
			{"check", base + "/bad"},
			{"check", "--json", base + "/bad"},
			{"load", "-c", "1", "-d", "1s", "--mode", "sse", base + "/bad"},
		} {
			t.Run(fmt.Sprintf("%s tty=%v", strings.Join(args[:min(3, len(args)-1)], " "), tty), func(t *testing.T) {
				// The exit codes of a 502 are another test's (load --mode sse
				// exits 0 today); this one is about what is printed.
				_, stdout, stderr := runTTY(t, tty, args...)
				assertInert(t, "stdout", stdout)
				if tty && args[0] == "load" {
					// On a terminal, load redraws its own progress line
					// with "\r" when a run outlasts a tick (a busy CI
					// machine): every frame must still be inert.
					for _, frame := range strings.Split(stderr, "\r") {
						assertInert(t, "stderr", frame)
					}
				} else {
					assertInert(t, "stderr", stderr)
				}
				// The reason phrase or the body is shown (as text), not
				// dropped; load's report cuts its example before them.
				all := stdout + stderr
				if args[0] != "load" && !strings.Contains(all, `\x1b]`) && !strings.Contains(all, `\u001b]`) {
					t.Errorf("the server's escapes are not shown as text:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
			})
		}
	}
}
