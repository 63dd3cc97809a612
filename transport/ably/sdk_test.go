package ably_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// wait bounds every wait in these tests; reaching it fails a test, it never
// paces one.
const wait = 20 * time.Second

const sdkDir = "../../testdata/ably"

// nodeScript runs testdata/ably/tutorial.js (the official ably npm package,
// pinned in the lock file there) with env against base, and returns its
// stdout lines as they come and its stdin.
func nodeScript(t *testing.T, base string, env []string, args ...string) (lines *lineReader, stdin io.WriteCloser) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the Ably SDK tests need Node.js (node on PATH): %v", err)
	}
	modules := transporttest.NodeModules(t, sdkDir)
	u, _ := url.Parse(base)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(sdkDir, "tutorial.js")}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"NODE_PATH=" + modules, "RTBENCH_HOST=" + u.Hostname(), "RTBENCH_PORT=" + u.Port()}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan map[string]any, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Errorf("node printed %q: %v", sc.Text(), err)
				continue
			}
			ch <- v
		}
	}()
	t.Cleanup(func() {
		in.Close()
		<-done
		cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	return &lineReader{ch: ch}, in
}

// lineReader hands out node's lines by key, keeping the others for later
// (a message may be printed before the publish that sent it returns).
type lineReader struct {
	ch      <-chan map[string]any
	pending []map[string]any
}

// next returns the first line not yet handed out that has key.
func (r *lineReader) next(t *testing.T, key string) map[string]any {
	t.Helper()
	for i, v := range r.pending {
		if _, has := v[key]; has {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			return v
		}
	}
	timeout := time.After(wait)
	for {
		select {
		case v, ok := <-r.ch:
			if !ok {
				t.Fatalf("node ended before printing %q", key)
			}
			if f, bad := v["fatal"]; bad {
				t.Fatalf("node failed: %v", f)
			}
			if _, has := v[key]; has {
				return v
			}
			r.pending = append(r.pending, v)
		case <-timeout:
			t.Fatalf("no %q from node within %v", key, wait)
		}
	}
}

func send(t *testing.T, w io.Writer, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if _, err := w.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func jsonEq(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s: got %s, want %s", what, g, w)
	}
}

// TestSDKTutorial: the tutorial's publish route handler and ChatRoom
// subscription, with the official SDK, in JSON and in MessagePack: a JSON
// object, a string and bytes arrive as they were published; a message
// published on the hub's HTTP door reaches the Ably subscriber with its
// publish time; and an SSE subscriber of the same channel sees the Ably
// message.
func TestSDKTutorial(t *testing.T) {
	for _, format := range []string{"json", "msgpack"} {
		t.Run(format, func(t *testing.T) {
			_, base := mocktest.Start(t, mock.Config{})
			sse := openSSE(t, base+"/sse?channel=chat")
			lines, stdin := nodeScript(t, base, []string{"ABLY_KEY=" + ably.DefaultKey, "FORMAT=" + format, "CHANNEL=chat"})
			if got := lines.next(t, "ready")["format"]; got != format {
				t.Fatalf("the SDK speaks %v, want %s", got, format)
			}

			send(t, stdin, map[string]any{"publish": map[string]any{"text": "hello from the route", "n": 1}})
			lines.next(t, "published")
			m := lines.next(t, "message")["message"].(map[string]any)
			jsonEq(t, "name", m["name"], "message")
			jsonEq(t, "object data", m["data"], map[string]any{"text": "hello from the route", "n": 1})
			if ev := sse.next(t); !strings.Contains(ev, `"data":{"name":"message","data":{"n":1,"text":"hello from the route"}`) {
				t.Errorf("the SSE subscriber got %s, want the Ably message in the envelope", ev)
			}

			send(t, stdin, map[string]any{"publish": "plain text ✓"})
			lines.next(t, "published")
			jsonEq(t, "string data", lines.next(t, "message")["message"].(map[string]any)["data"], "plain text ✓")

			send(t, stdin, map[string]any{"publish": "bytes", "binary": true})
			lines.next(t, "published")
			m = lines.next(t, "message")["message"].(map[string]any)
			jsonEq(t, "binary", m["binary"], true)
			jsonEq(t, "bytes data", m["data"], map[string]any{"type": "Buffer", "data": []int{98, 121, 116, 101, 115}}) // "bytes"

			// A publish on the realtime connection: ACKed, and echoed to
			// the connection's own subscription.
			send(t, stdin, map[string]any{"rtpublish": map[string]any{"over": "realtime"}})
			if v := lines.next(t, "rtpublished"); v["rtpublished"] != true {
				t.Fatalf("realtime publish: %v", v)
			}
			jsonEq(t, "realtime data", lines.next(t, "message")["message"].(map[string]any)["data"], map[string]any{"over": "realtime"})
			// One the server refuses: NACK with its code.
			send(t, stdin, map[string]any{"rtpublish": "x", "channel": "no spaces allowed"})
			if v := lines.next(t, "rtpublished"); v["rtpublished"] != false || code(v["error"]) != 40010 {
				t.Errorf("publish to a bad channel name: %v, want a NACK with 40010", v)
			}

			resp, err := http.Post(base+"/api/publish", "application/json", strings.NewReader(`{"channel":"chat","data":{"from":"http"}}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			m = lines.next(t, "message")["message"].(map[string]any)
			env, _ := m["data"].(map[string]any)
			if m["name"] != "message" || env == nil || env["sched_ns"] == nil || env["sent_ns"] == nil {
				t.Fatalf("the /api/publish message reached the SDK as %v, want the envelope with sched_ns and sent_ns", m)
			}
			jsonEq(t, "envelope data", env["data"], map[string]any{"from": "http"})
		})
	}
}

// TestSDKRefused: a wrong secret, a key this server does not have and a
// token it did not issue are refused with the codes the SDK acts on; a
// token it issued is accepted.
func TestSDKRefused(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{})
	good := issueToken(t, base)
	cases := []struct {
		name     string
		env      []string
		state    string // the realtime connection's first settled state
		rtCode   int
		restCode int // the REST publish's error code (0: published)
	}{
		{"wrong secret", []string{"ABLY_KEY=rtbench.local:not-the-secret"}, "failed", 40101, 40101},
		{"unknown key", []string{"ABLY_KEY=other.key:rtbench-local-secret"}, "failed", 40101, 40101},
		// The SDK cannot renew a bare token: it retries the realtime
		// connection later and fails the REST request with 40171.
		{"forged token", []string{"ABLY_TOKEN=rtb1.eyJrIjoicnRiZW5jaC5sb2NhbCJ9.Zm9yZ2Vk"}, "disconnected", 40143, 40171},
		{"issued token", []string{"ABLY_TOKEN=" + good}, "connected", 0, 0},
		// Token requests the SDK signs with the key (their mac checked by
		// requestToken), then the token on the URL and as Bearer.
		{"token auth with the key", []string{"ABLY_KEY=" + ably.DefaultKey, "USE_TOKEN_AUTH=1"}, "connected", 0, 0},
		// Signed with the wrong secret: requestToken refuses the mac with
		// 40101, which the SDK's REST call reports, and its realtime
		// connection wraps as 80019 (the auth provider failed) and retries.
		{"token request signed wrongly", []string{"ABLY_KEY=rtbench.local:not-the-secret", "USE_TOKEN_AUTH=1"}, "disconnected", 80019, 40101},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, _ := nodeScript(t, base, c.env, "refused")
			v := lines.next(t, "realtime")
			rt := v["realtime"].(map[string]any)
			if rt["state"] != c.state || code(rt["error"]) != c.rtCode {
				t.Errorf("realtime: %v, want state %s code %d", rt, c.state, c.rtCode)
			}
			if rest := v["rest"].(map[string]any); code(rest["error"]) != c.restCode {
				t.Errorf("REST publish: %v, want code %d", rest, c.restCode)
			}
		})
	}
	// What the server itself answers the forged token, before the SDK's
	// renewal: 401 with 40143.
	req, _ := http.NewRequest(http.MethodPost, base+"/channels/chat/messages", strings.NewReader(`{"name":"m","data":"x"}`))
	req.Header.Set("Authorization", "Bearer "+base64.StdEncoding.EncodeToString([]byte("rtb1.eyJrIjoicnRiZW5jaC5sb2NhbCJ9.Zm9yZ2Vk")))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error ably.ErrorInfo }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 401 || body.Error.Code != 40143 || resp.Header.Get("X-Ably-Errorcode") != "40143" {
		t.Errorf("forged token over REST: HTTP %d, %+v, want 401 and 40143", resp.StatusCode, body.Error)
	}
}

func code(v any) int {
	m, _ := v.(map[string]any)
	f, _ := m["code"].(float64)
	return int(f)
}

// issueToken asks the server for a token with Basic auth.
func issueToken(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/keys/rtbench.local/requestToken", strings.NewReader(`{"keyName":"rtbench.local"}`))
	req.SetBasicAuth("rtbench.local", "rtbench-local-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var td ably.TokenDetails
	if err := json.NewDecoder(resp.Body).Decode(&td); err != nil || resp.StatusCode != 200 || td.Token == "" {
		t.Fatalf("requestToken: HTTP %d, %+v, %v", resp.StatusCode, td, err)
	}
	return td.Token
}

// sseStream reads data lines of an SSE response.
type sseStream struct{ lines chan string }

func openSSE(t *testing.T, u string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &sseStream{lines: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case s.lines <- d:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return s
}

func (s *sseStream) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return l
	case <-time.After(wait):
		t.Fatal("no SSE event")
		return ""
	}
}
