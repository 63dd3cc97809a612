package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// startMock serves rtbench serve's handlers on a loopback port for one test.
func startMock(t *testing.T, cfg mock.Config) string {
	t.Helper()
	_, base := mocktest.Start(t, cfg)
	return base
}

// runListen runs `rtbench listen` with args and stdin, bounded in time.
func runListen(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := TestEnv()
	env.In = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code = Run(ctx, env, BuildInfo{}, append([]string{"listen"}, args...))
	if ctx.Err() != nil {
		t.Fatalf("listen %v did not finish within 30s", args)
	}
	return code, out.String(), errOut.String()
}

func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// TestListenDetection: every detection path, against the mock, through the
// whole command, with its output and exit code.
func TestListenDetection(t *testing.T) {
	base := startMock(t, mock.Config{})
	ws := "ws" + strings.TrimPrefix(base, "http")
	chat := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantLines int
		check     func(t *testing.T, stdout, stderr string)
	}{
		{"sse", "", []string{base + "/sse?rate=200", "-n", "3"}, 3, func(t *testing.T, out, errOut string) {
			if !strings.HasPrefix(out, `{"seq":`) || !strings.Contains(errOut, "3 events in") {
				t.Errorf("stdout %q stderr %q", out, errOut)
			}
		}},
		{"ws with --send and stdin lines", "from stdin\n", []string{ws + "/ws?rate=0", "--send", "hello", "-n", "2"}, 2, func(t *testing.T, out, errOut string) {
			if out != "hello\nfrom stdin\n" {
				t.Errorf("stdout %q, want the two echoes", out)
			}
		}},
		{"poll", "", []string{base + "/poll?rate=50", "--interval", "50ms", "-n", "2"}, 2, func(t *testing.T, out, errOut string) {
			if !strings.Contains(errOut, "2 changes") {
				t.Errorf("stderr %q", errOut)
			}
		}},
		{"ai (openai)", "", []string{"-X", "POST", "--data", chat, base + "/v1/chat/completions?ttft=1ms&tps=2000&tokens=8"}, 1, func(t *testing.T, out, errOut string) {
			if len(strings.Fields(out)) < 5 || !strings.Contains(errOut, "8 tokens (from usage.completion_tokens)") && !strings.Contains(errOut, "8 tokens (counted from deltas") {
				t.Errorf("stdout %q stderr %q", out, errOut)
			}
			if !strings.Contains(errOut, "openai stream complete") || !strings.Contains(errOut, "ttft") {
				t.Errorf("summary %q", errOut)
			}
		}},
		{"ai (anthropic) with --data @file", "", []string{"--data", "@" + writeTemp(t, `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`), base + "/v1/messages?ttft=1ms&tps=2000"}, 1, func(t *testing.T, out, errOut string) {
			if !strings.Contains(errOut, "anthropic stream complete") || !strings.Contains(errOut, "5 tokens (from usage.output_tokens)") {
				t.Errorf("summary %q", errOut)
			}
		}},
		{"POST answered with JSON is shown once", "", []string{"-X", "POST", base + "/api/jobs"}, 1, func(t *testing.T, out, errOut string) {
			if !strings.Contains(out, `"status":"queued"`) || !strings.Contains(errOut, "1 request") {
				t.Errorf("stdout %q stderr %q", out, errOut)
			}
		}},
		{"--mode overrides detection", "", []string{"--mode", "sse", base + "/sse?rate=200", "-n", "1"}, 1, nil},
		{"--json", "", []string{"--json", base + "/sse?rate=200", "-n", "2"}, 2, func(t *testing.T, out, errOut string) {
			var ev struct {
				Kind       string   `json:"kind"`
				ID         string   `json:"id"`
				Seq        uint64   `json:"seq"`
				DeliveryMS *float64 `json:"delivery_ms"`
				WireMS     *float64 `json:"wire_ms"`
			}
			if err := json.Unmarshal([]byte(lines(out)[0]), &ev); err != nil || ev.Kind != "message" || ev.ID == "" || ev.Seq == 0 || ev.DeliveryMS == nil || ev.WireMS == nil {
				t.Errorf("json line %q: %+v %v", lines(out)[0], ev, err)
			}
		}},
		{"--until stops polling a job", "", nil, 0, nil}, // filled below
	}
	// A job that completes quickly, polled until it does.
	resp, err := http.Post(base+"/api/jobs?queued=0s&duration=300ms&steps=2", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	resp.Body.Close()
	tests[len(tests)-1] = struct {
		name      string
		stdin     string
		args      []string
		wantLines int
		check     func(t *testing.T, stdout, stderr string)
	}{"--until stops polling a job", "", []string{base + loc, "--interval", "50ms", "--until", "status==completed"}, -1, func(t *testing.T, out, errOut string) {
		if !strings.Contains(lines(out)[len(lines(out))-1], `"status":"completed"`) {
			t.Errorf("last line %q", lines(out)[len(lines(out))-1])
		}
	}}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runListen(t, tt.stdin, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, want 0\nstdout %q\nstderr %q", code, out, errOut)
			}
			if tt.wantLines >= 0 && len(lines(out)) != tt.wantLines {
				t.Errorf("%d lines on stdout, want %d: %q", len(lines(out)), tt.wantLines, out)
			}
			if tt.check != nil {
				tt.check(t, out, errOut)
			}
		})
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListenExitCodes: one case per exit code listen defines.
func TestListenExitCodes(t *testing.T) {
	base := startMock(t, mock.Config{})
	faults := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/incomplete":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"))
		case "/slow":
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	defer faults.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	tests := []struct {
		name    string
		args    []string
		want    int
		mention string
	}{
		{"count reached", []string{base + "/sse?rate=200", "-n", "2"}, 0, ""},
		{"stream ended normally (never reconnect)", []string{base + "/sse?rate=200&count=2", "--reconnect", "never"}, 0, ""},
		{"bad content type with --mode sse", []string{"--mode", "sse", base + "/healthz"}, 1, "bad_content_type"},
		{"AI stream without its terminator", []string{"--data", "{}", faults.URL + "/incomplete"}, 1, "stream_incomplete"},
		{"timeout before the count", []string{faults.URL + "/slow", "-n", "5", "--timeout", "300ms"}, 1, "timeout after 300ms: got 0 events, wanted 5 events"},
		{"timeout without a count is a normal stop", []string{faults.URL + "/slow", "--timeout", "200ms"}, 0, ""},
		{"404", []string{"--mode", "sse", base + "/nope"}, 1, "http_4xx"},
		{"unreachable", []string{deadURL + "/sse"}, 3, "cannot reach"},
		{"usage: no scheme", []string{"127.0.0.1:8080/sse"}, 2, "no scheme"},
		{"usage: bad --until", []string{base + "/poll", "--until", "status=completed"}, 2, "at 6"},
		{"usage: bad header", []string{base + "/sse", "-H", "nocolon"}, 2, "Name: value"},
		{"usage: missing body file", []string{base + "/sse", "--data", "@/nonexistent/x.json"}, 2, "--data @/nonexistent/x.json"},
		{"usage: bad mode", []string{base + "/sse", "--mode", "grpc"}, 2, "--mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runListen(t, "", tt.args...)
			if code != tt.want || !strings.Contains(errOut, tt.mention) {
				t.Fatalf("exit %d (want %d), stderr %q should mention %q; stdout %q", code, tt.want, errOut, tt.mention, out)
			}
		})
	}

	t.Run("interrupted", func(t *testing.T) {
		env, out, errOut := TestEnv()
		ctx, cancel := context.WithCancel(t.Context())
		env.Out = &cancelAfter{w: out, n: 2, cancel: cancel}
		code := Run(ctx, env, BuildInfo{}, []string{"listen", base + "/sse?rate=200"})
		if code != ExitInterrupted || !strings.Contains(errOut.String(), "events in") {
			t.Fatalf("exit %d, stderr %q: want 130 after the summary", code, errOut)
		}
	})
}

// cancelAfter cancels (as Ctrl-C would) once n lines were written.
type cancelAfter struct {
	w      *bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.w.Write(p)
	if strings.Count(c.w.String(), "\n") >= c.n {
		c.cancel()
	}
	return len(p), nil
}
