package mock

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a Server on a loopback listener the way `rtbench serve` does and
// closes it (gracefully) when the test ends.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRoutes sends one request to every route through the whole server
// (CORS, cap, mux) and checks the status, content type and a piece of body.
func TestRoutes(t *testing.T) {
	_, base := start(t, Config{StreamInterval: 10 * time.Millisecond})
	tests := []struct {
		method, path, body string
		status             int
		ctype, contains    string
	}{
		{"GET", "/", "", 200, "text/html; charset=utf-8", "/v1/chat/completions"},
		{"GET", "/healthz", "", 200, "application/json", `"status":"ok"`},
		{"GET", "/metrics", "", 200, "text/plain; version=0.0.4; charset=utf-8", "rtbench_serve_open_connections"},
		{"GET", "/sse?rate=1000&count=2", "", 200, "text/event-stream; charset=utf-8", `"seq":`},
		{"GET", "/sse?rate=x", "", 400, "application/json", "rate"},
		{"POST", "/api/publish", `{"channel":"r","data":{"a":1}}`, 200, "application/json", `"delivered":0`},
		{"POST", "/api/publish", `{"channel":"bad name","data":1}`, 400, "application/json", "channel"},
		{"POST", "/api/publish", `{"data":1}`, 400, "application/json", `missing \"channel\"`},
		{"POST", "/api/publish", `nope`, 400, "application/json", "body must be JSON"},
		{"GET", "/api/channels/r/messages?since=0", "", 200, "application/json", `"data":{"a":1}`},
		{"GET", "/poll", "", 200, "application/json", `"seq":`},
		{"POST", "/api/jobs", "", 201, "application/json", `"status":"queued"`},
		{"GET", "/api/jobs/job_missing", "", 404, "application/json", "error"},
		{"POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`, 200, "application/json", `"chat.completion"`},
		{"POST", "/v1/chat/completions?ttft=1ms&tps=1000", `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":3}`, 200, "text/event-stream; charset=utf-8", "data: [DONE]"},
		{"POST", "/v1/messages?ttft=1ms&tps=1000", `{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}],"stream":true}`, 200, "text/event-stream; charset=utf-8", "event: message_stop"},
		{"POST", "/api/chat?ttft=1ms&tps=1000&tokens=3", `{"messages":[{"role":"user","content":"hi"}]}`, 200, "text/event-stream; charset=utf-8", "data: [DONE]"},
		{"GET", "/nope", "", 404, "application/json", "GET / lists every endpoint"},
		{"DELETE", "/sse", "", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := do(t, tt.method, base+tt.path, tt.body, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Content-Type"); tt.ctype != "" && got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q:\n%s", tt.contains, body)
			}
		})
	}

	t.Run("api-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		want := []string{"data: connected", "", `data: {"time":`, "", `data: {"time":`}
		for _, w := range want {
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, w) {
				t.Fatalf("line %q (%v), want prefix %q", line, err, w)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name      string
		origins   []string
		method    string
		origin    string
		status    int
		allowOrig string
	}{
		{"preflight any origin", nil, "OPTIONS", "https://app.example", 204, "*"},
		{"simple request any origin", nil, "GET", "https://app.example", 200, "*"},
		{"restricted, allowed", []string{"*.example"}, "OPTIONS", "https://app.example", 204, "https://app.example"},
		{"restricted, refused preflight", []string{"localhost:*"}, "OPTIONS", "https://evil.test", 403, ""},
		{"restricted, refused request gets no CORS headers", []string{"localhost:*"}, "GET", "https://evil.test", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Origins: tt.origins})
			req := httptest.NewRequest(tt.method, "/healthz", nil)
			req.Header.Set("Origin", tt.origin)
			if tt.method == "OPTIONS" {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type, last-event-id")
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.allowOrig {
				t.Errorf("Allow-Origin %q, want %q", got, tt.allowOrig)
			}
			if tt.status == 204 && rec.Header().Get("Access-Control-Allow-Headers") != "content-type, last-event-id" {
				t.Errorf("Allow-Headers %q", rec.Header().Get("Access-Control-Allow-Headers"))
			}
		})
	}
}

// TestConnectionCap fills the cap with open streams; the next request gets
// 503 with Retry-After while health stays reachable.
func TestConnectionCap(t *testing.T) {
	s, base := start(t, Config{MaxConns: 2})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sse?rate=0&retry=0", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", resp, err)
		}
		defer resp.Body.Close()
	}
	resp, body := do(t, "GET", base+"/poll", "", nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "--max-conns") {
		t.Fatalf("over the cap: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := do(t, "GET", base+"/healthz", "", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz over the cap: %d", resp.StatusCode)
	}
	if s.Stats().Snapshot().Rejected != 1 {
		t.Fatalf("rejected = %d, want 1", s.Stats().Snapshot().Rejected)
	}
}

// TestPublishFanout publishes to one channel with an SSE, a WebSocket and a
// long-polling subscriber waiting: each receives the message, and the
// publish reports all three.
func TestPublishFanout(t *testing.T) {
	s, base := start(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sse?channel=news&retry=0", nil)
	sseResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sseResp.Body.Close()

	wsConn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?channel=news", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsConn.CloseNow()

	type pollResult struct {
		body string
		err  error
	}
	polled := make(chan pollResult, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/channels/news/messages?since=0&wait=10s", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			polled <- pollResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		polled <- pollResult{string(b), err}
	}()

	// Publish once all three are subscribed.
	transporttest.Eventually(t, 5*time.Second, "the WebSocket and long-poll subscribers never registered", func() bool {
		snap := s.Stats().Snapshot()
		return snap.Open[transport.Poll] == 1 && snap.Open[transport.WS] == 1
	})
	resp, body := do(t, "POST", base+"/api/publish", `{"channel":"news","data":{"headline":"hello"}}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	var out struct {
		OK        bool `json:"ok"`
		Delivered int  `json:"delivered"`
	}
	json.Unmarshal([]byte(body), &out)
	if !out.OK || out.Delivered != 3 {
		t.Fatalf("publish answered %s, want ok and delivered 3 (SSE, WebSocket, long-poll)", body)
	}
	want := `"data":{"headline":"hello"}}`

	r := bufio.NewReader(sseResp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("sse: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			if !strings.Contains(line, `"channel":"news","seq":1,`) || !strings.Contains(line, want) {
				t.Fatalf("sse got %q", line)
			}
			break
		}
	}
	_, msg, err := wsConn.Read(ctx)
	if err != nil || !strings.Contains(string(msg), want) {
		t.Fatalf("ws got %q %v", msg, err)
	}
	p := <-polled
	if p.err != nil || !strings.Contains(p.body, want) {
		t.Fatalf("poll got %q %v", p.body, p.err)
	}
	wsConn.Close(websocket.StatusNormalClosure, "")
}

// TestGracefulShutdown closes the server under open SSE streams, WebSockets
// and a long-poll: every client sees its connection end (WebSockets with
// 1001) within the deadline, and no goroutine is left (TestMain checks).
func TestGracefulShutdown(t *testing.T) {
	const streams = 20
	s := New(Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	ended := make(chan string, 3*streams)
	for i := range streams {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/sse?rate=%d", base, 1+i), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			_, err := io.Copy(io.Discard, resp.Body)
			ended <- fmt.Sprintf("sse: %v", err)
		}()

		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?channel=room", nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					ended <- fmt.Sprintf("ws: %d", websocket.CloseStatus(err))
					return
				}
			}
		}()

		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/poll?since=999999999999&wait=60s", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			ended <- "poll"
		}()
	}
	transporttest.Eventually(t, 10*time.Second, "clients did not all connect", func() bool {
		snap := s.Stats().Snapshot()
		return snap.Open[transport.Poll] == streams && snap.Open[transport.WS] == streams && snap.Open[transport.SSE] == streams
	})

	deadline := 3 * time.Second
	closeCtx, closeCancel := context.WithTimeout(context.Background(), deadline)
	defer closeCancel()
	began := time.Now()
	if err := s.Close(closeCtx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(began); took > deadline {
		t.Fatalf("Close took %v, over the %v deadline", took, deadline)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	wg.Wait()
	close(ended)
	counts := map[string]int{}
	for e := range ended {
		counts[e]++
	}
	want := map[string]int{"sse: <nil>": streams, "ws: 1001": streams, "poll": streams}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("clients ended as %v, want %v", counts, want)
	}
	if open := s.Stats().Snapshot().Open; open != [len(open)]int64{} {
		t.Fatalf("open connections after Close: %v", open)
	}
}
