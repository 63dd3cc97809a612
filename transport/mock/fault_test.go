package mock

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// body GETs (or POSTs, with a body) url and returns the response and its
// whole body.
func body(t *testing.T, method, url, in string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const stream3 = "/sse?rate=1000&count=3&retry=0&heartbeat=0"

// TestFaultsEventStream: each event-stream fault, through the mock server,
// as the bytes a client reads.
func TestFaultsEventStream(t *testing.T) {
	_, base := start(t, Config{})
	tests := []struct {
		name, query string
		check       func(b []byte) string // "" when fine
	}{
		{"no fault", "", func(b []byte) string {
			return want(bytes.Count(b, []byte("\n\n")) == 3 && !bytes.Contains(b, []byte("\r")), "3 LF events")
		}},
		{"line:cr", "&fault=line:cr", func(b []byte) string {
			return want(!bytes.Contains(b, []byte("\n")) && bytes.Count(b, []byte("\r\r")) == 3, "CR only, 3 events")
		}},
		{"line:crlf", "&fault=line:crlf", func(b []byte) string {
			lone := bytes.Count(b, []byte("\n")) - bytes.Count(b, []byte("\r\n"))
			return want(lone == 0 && bytes.Count(b, []byte("\r\n\r\n")) == 3, "CRLF only, 3 events")
		}},
		{"line:mixed", "&fault=line:mixed", func(b []byte) string {
			return want(bytes.Contains(b, []byte("\r\n")) && bytes.Contains(b, []byte("\r\r")) || bytes.Contains(b, []byte("\n\r")), "all three endings")
		}},
		{"bom:2", "&fault=bom:2", func(b []byte) string {
			return want(bytes.HasPrefix(b, []byte("\uFEFF\uFEFFid: ")), "two BOMs then the first event")
		}},
		{"close-mid-event:1", "&fault=close-mid-event:1", func(b []byte) string {
			return want(bytes.Count(b, []byte("\n\n")) == 1 && !bytes.HasSuffix(b, []byte("\n")), "one event, then half of one")
		}},
		{"oversized:100000", "&fault=oversized:100000", func(b []byte) string {
			return want(bytes.HasPrefix(b, []byte("data: "+strings.Repeat("x", 100000)+"\n\n")) && bytes.Count(b, []byte("\n\n")) == 4, "a 100000-byte line, then 3 events")
		}},
		{"invalid-utf8:1", "&fault=invalid-utf8:1", func(b []byte) string {
			evs := bytes.Split(b, []byte("\n\n"))
			return want(len(evs) == 5 && !utf8.Valid(evs[1]) && utf8.Valid(evs[0]) && utf8.Valid(evs[2]), "event 2 of 4 invalid UTF-8")
		}},
		{"burst:2 still delivers all", "&fault=burst:2", func(b []byte) string {
			return want(bytes.Count(b, []byte("\n\n")) == 3, "3 events")
		}},
		{"header form", "", nil},
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			resp, b := body(t, "GET", base+stream3+tt.query, "")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if msg := tt.check(b); msg != "" {
				t.Fatalf("want %s; got %q", msg, b[:min(len(b), 300)])
			}
		})
	}
}

func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

// TestFaultsHTTP: the HTTP-level faults and bad specs, on several routes.
func TestFaultsHTTP(t *testing.T) {
	_, base := start(t, Config{})
	tests := []struct {
		method, path, hdr string
		status            int
		header, value     string
		mention           string
	}{
		{"GET", "/sse?fault=status:503", "", 503, "Retry-After", "1", "fault injected"},
		{"GET", "/poll?fault=status:410", "", 410, "", "", "status 410"},
		{"POST", "/v1/chat/completions?fault=status:429:3", "", 429, "Retry-After", "3", ""},
		{"GET", "/sse?fault=content-type:text/html&count=1&rate=1000", "", 200, "Content-Type", "text/html", "data: "},
		{"GET", "/sse?count=1&rate=1000", "content-type:application/json", 200, "Content-Type", "application/json", "data: "},
		{"GET", "/sse?fault=stall:x", "", 400, "", "", `fault \"stall:x\"`},
		{"GET", "/ws?fault=bogus", "", 400, "", "", "unknown fault"},
		{"GET", "/poll", "ws-close:1005", 400, "", "", "cannot be sent"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.hdr, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
			if tt.hdr != "" {
				req.Header.Set(fault.Header, tt.hdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.header != "" && resp.Header.Get(tt.header) != tt.value) || !strings.Contains(string(b), tt.mention) {
				t.Fatalf("status %d, headers %v, body %q", resp.StatusCode, resp.Header, b)
			}
		})
	}
}

// TestFaultReset: reset before the response and after N events reach a raw
// client as ECONNRESET, never as a clean end.
func TestFaultReset(t *testing.T) {
	_, base := start(t, Config{})
	addr := strings.TrimPrefix(base, "http://")
	for _, q := range []string{"/sse?fault=reset", "/sse?rate=1000&fault=reset:2", "/api/stream?interval=1ms&fault=reset:1", "/ws?fault=reset"} {
		t.Run(q, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET "+q+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err = io.ReadAll(c); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read: %v, want ECONNRESET", err)
			}
		})
	}
}

// TestFaultsAI: the AI faults, in the bytes and as aistream.Client sees them.
func TestFaultsAI(t *testing.T) {
	_, base := start(t, Config{Tokens: aistream.Tokens{TTFT: time.Millisecond, TPS: 10000, Length: 5}})
	const openAI = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`
	tests := []struct {
		path, body, query string
		raw               func(b []byte) string
		class             transport.Class // fatal class the client ends with; "" = none
		badChunks         int
	}{
		{"/v1/chat/completions", openAI, "", func(b []byte) string {
			return want(bytes.HasSuffix(b, []byte("data: [DONE]\n\n")), "[DONE] without a fault")
		}, "", 0},
		{"/v1/chat/completions", openAI, "?fault=no-done", func(b []byte) string {
			return want(!bytes.Contains(b, []byte("[DONE]")), "no [DONE]")
		}, transport.ClassStreamIncomplete, 0},
		{"/v1/messages", openAI, "?fault=no-done", func(b []byte) string {
			return want(!bytes.Contains(b, []byte("message_stop")) && bytes.Contains(b, []byte("message_delta")), "no message_stop")
		}, transport.ClassStreamIncomplete, 0},
		{"/v1/chat/completions", openAI, "?fault=bad-json:2", func(b []byte) string {
			evs := bytes.Split(b, []byte("\n\n"))
			return want(len(evs) > 4 && bytes.HasSuffix(evs[3], []byte(`"content":"trunc`)), "the 4th event (after role + 2 content) truncated")
		}, "", 1},
		{"/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, "?fault=bad-json:1", func(b []byte) string {
			evs := bytes.Split(b, []byte("\n\n"))
			return want(string(evs[1]) == `data: {"text":"trunc`, "a truncated second chunk")
		}, "", 1},
		{"/v1/chat/completions", openAI, "?fault=empty-delta", func(b []byte) string {
			evs := bytes.Split(b, []byte("\n\n"))
			return want(bytes.Contains(evs[1], []byte(`"delta":{"content":""}`)), "an empty first content delta")
		}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.path+tt.query, func(t *testing.T) {
			resp, b := body(t, "POST", base+tt.path+tt.query, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if msg := tt.raw(b); msg != "" {
				t.Fatalf("want %s; got %q", msg, b)
			}
			c := &aistream.Client{Request: transport.Request{URL: base + tt.path + tt.query, Body: []byte(tt.body), Header: http.Header{"Content-Type": {"application/json"}}}}
			rec := &transporttest.Recorder{}
			var x transport.Exchange
			obs := exchangeObserver{Recorder: rec, x: &x}
			err := c.Run(t.Context(), obs)
			if got := classOf(err); got != tt.class {
				t.Fatalf("client ended with %v (class %q), want class %q", err, got, tt.class)
			}
			if x.BadChunks != tt.badChunks {
				t.Fatalf("BadChunks %d, want %d", x.BadChunks, tt.badChunks)
			}
		})
	}
}

type exchangeObserver struct {
	*transporttest.Recorder
	x *transport.Exchange
}

func (o exchangeObserver) Exchange(x *transport.Exchange) { *o.x = *x; o.Recorder.Exchange(x) }

func classOf(err error) transport.Class {
	if err == nil {
		return ""
	}
	return transport.AsError(err).Class
}

// TestFaultSSEClient: sse.Client against a wrong content type fails at once,
// without reconnecting (REFERENCE §5 row 1).
func TestFaultSSEClient(t *testing.T) {
	_, base := start(t, Config{})
	c := &sse.Client{Request: transport.Request{URL: base + "/sse?rate=1000&fault=content-type:text/html"}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := c.Run(ctx, &transporttest.Recorder{})
	if e := transport.AsError(err); err == nil || e.Class != transport.ClassBadContentType || !e.Fatal {
		t.Fatalf("Run: %v, want a fatal bad_content_type", err)
	}
}

// TestFaultsWS: the WebSocket faults as a coder/websocket client sees them.
func TestFaultsWS(t *testing.T) {
	_, base := start(t, Config{})
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	dial := func(t *testing.T, q string) *websocket.Conn {
		c, _, err := websocket.Dial(t.Context(), wsURL+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	read := func(c *websocket.Conn, n int) ([][]byte, error) {
		var msgs [][]byte
		for range n {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return msgs, err
			}
			msgs = append(msgs, b)
		}
		return msgs, nil
	}
	t.Run("ws-close after 2", func(t *testing.T) {
		c := dial(t, "?rate=1000&fault=ws-close:1013:2:try+again+later")
		msgs, err := read(c, 3)
		var ce websocket.CloseError
		if len(msgs) != 2 || !errors.As(err, &ce) || ce.Code != 1013 || ce.Reason != "try again later" {
			t.Fatalf("%d messages, then %v", len(msgs), err)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		c := dial(t, "?rate=1000&fault=oversized:200000")
		msgs, err := read(c, 2)
		if err != nil || len(msgs[0]) != 200000 || !bytes.HasPrefix(msgs[1], []byte(`{"seq":`)) {
			t.Fatalf("%v, %d messages", err, len(msgs))
		}
	})
	t.Run("invalid-utf8 after 1", func(t *testing.T) {
		c := dial(t, "?rate=1000&fault=invalid-utf8:1")
		msgs, err := read(c, 3)
		if err != nil || !utf8.Valid(msgs[0]) || utf8.Valid(msgs[1]) || !utf8.Valid(msgs[2]) {
			t.Fatalf("%v %q", err, msgs)
		}
	})
	t.Run("reset after 1: no close frame", func(t *testing.T) {
		c := dial(t, "?rate=1000&fault=reset:1")
		msgs, err := read(c, 2)
		if len(msgs) != 1 || err == nil || websocket.CloseStatus(err) != -1 {
			t.Fatalf("%d messages, then %v (close status %d)", len(msgs), err, websocket.CloseStatus(err))
		}
	})
	t.Run("no-pong", func(t *testing.T) {
		c := dial(t, "?rate=0&fault=no-pong")
		c.CloseRead(context.Background())
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Ping: %v, want no pong", err)
		}
	})
	t.Run("pong without the fault", func(t *testing.T) {
		c := dial(t, "?rate=0")
		c.CloseRead(context.Background())
		if err := c.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFaultRate: --fault with --fault-rate applies to an exact, seeded share
// of requests on the real server.
func TestFaultRate(t *testing.T) {
	def, _ := fault.Parse("status:503")
	opts := fault.Options{Default: def, Rate: 0.25, Seed: 7}
	_, base := start(t, Config{Fault: opts})
	in := fault.New(nil, opts)
	wantN := 0
	for i := range 200 {
		if in.Picks(uint64(i)) {
			wantN++
		}
	}
	got := 0
	for range 200 {
		if resp, _ := body(t, "GET", base+"/poll", ""); resp.StatusCode == 503 {
			got++
		}
	}
	if got != wantN || got < 30 || got > 70 {
		t.Fatalf("%d of 200 requests faulted, want %d (about 50)", got, wantN)
	}
	if resp, _ := body(t, "GET", base+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("/healthz got the default fault: %d", resp.StatusCode)
	}
}

// TestFaultsEncodings: gzip, no-stream and bare-headers on every event-stream
// route (the measurement stream, the tutorial stream, the AI routes), read
// raw, as a client that did not ask for compression; and status:403 refusing
// a WebSocket upgrade.
func TestFaultsEncodings(t *testing.T) {
	_, base := start(t, Config{Tokens: aistream.Tokens{TTFT: time.Millisecond, TPS: 10000, Length: 5}, StreamInterval: 5 * time.Millisecond})
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(raw.CloseIdleConnections)
	const openAI = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`
	routes := []struct{ method, path, body, end string }{
		{"GET", stream3, "", "\n\n"},
		{"GET", "/api/stream?x=1", "", "\n\n"}, // endless: no-stream needs its N
		{"POST", "/v1/chat/completions?x=1", openAI, "data: [DONE]\n\n"},
		{"POST", "/v1/messages?x=1", openAI, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
		{"POST", "/api/chat?x=1", openAI, "data: [DONE]\n\n"},
	}
	for _, r := range routes {
		for _, f := range []string{"gzip", "no-stream:3", "bare-headers"} {
			t.Run(r.path+"&fault="+f, func(t *testing.T) {
				if r.method == "POST" && f == "no-stream:3" {
					f = "no-stream" // the whole answer, held
				}
				req, _ := http.NewRequestWithContext(t.Context(), r.method, base+r.path+"&fault="+f, strings.NewReader(r.body))
				resp, err := raw.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				h := resp.Header
				var b []byte
				switch f {
				case "gzip":
					if h.Get("Content-Encoding") != "gzip" || resp.ContentLength != -1 {
						t.Fatalf("headers %v, length %d", h, resp.ContentLength)
					}
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					if r.path == "/api/stream?x=1" {
						// Endless: the first event decodes as soon as it is flushed.
						b = make([]byte, len("data: connected\n\n"))
						_, err = io.ReadFull(zr, b)
					} else {
						b, err = io.ReadAll(zr)
					}
					if err != nil {
						t.Fatal(err)
					}
				case "bare-headers":
					if h.Get("Cache-Control") != "" || h.Get("X-Accel-Buffering") != "" || resp.ContentLength != -1 {
						t.Fatalf("headers %v", h)
					}
					if r.path == "/api/stream?x=1" {
						b = make([]byte, len("data: connected\n\n"))
						_, err = io.ReadFull(resp.Body, b)
					} else {
						b, err = io.ReadAll(resp.Body)
					}
				default:
					b, err = io.ReadAll(resp.Body)
					if resp.ContentLength != int64(len(b)) || len(resp.TransferEncoding) != 0 {
						t.Fatalf("no-stream: Content-Length %d, transfer %v, body %d bytes", resp.ContentLength, resp.TransferEncoding, len(b))
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.path == "/api/stream?x=1" && f != "no-stream:3" {
					if string(b) != "data: connected\n\n" {
						t.Fatalf("first event %q", b)
					}
					return
				}
				if !bytes.HasSuffix(b, []byte(r.end)) {
					t.Fatalf("body does not end with %q: %q", r.end, b)
				}
				if f == "no-stream:3" && r.method == "GET" && bytes.Count(b, []byte("\n\n")) != 3 {
					t.Fatalf("no-stream:3: %q, want 3 events", b)
				}
			})
		}
	}

	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws?fault=status:403"
	_, resp, err := websocket.Dial(t.Context(), ws, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upgrade with status:403: %v, response %v", err, resp)
	}
}

// TestFaultsAIFormats: no-done, bad-json and empty-delta on the routes of
// the other AI formats, as aistream.Client sees them: no terminator is
// stream_incomplete, a truncated chunk is one bad chunk and the stream goes
// on to its end, an empty first delta is no token.
func TestFaultsAIFormats(t *testing.T) {
	_, base := start(t, Config{Tokens: aistream.Tokens{TTFT: time.Millisecond, TPS: 10000, Length: 5}})
	routes := []struct{ path, body string }{
		{"/v1/responses", `{"input":"hi","stream":true}`},
		{"/api/ai-sdk/ui", `{"messages":[{"role":"user","parts":[{"type":"text","text":"hi"}]}]}`},
		{"/api/ai-sdk/data", `{"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
		{"/ollama/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`},
		{"/ollama/api/generate", `{"model":"m","prompt":"hi"}`},
	}
	faults := []struct {
		fault     string
		class     transport.Class
		badChunks int
		complete  bool
	}{
		{"no-done", transport.ClassStreamIncomplete, 0, false},
		{"bad-json:2", "", 1, true},
		{"empty-delta", "", 0, true},
	}
	for _, rt := range routes {
		for _, f := range faults {
			t.Run(rt.path+"/"+f.fault, func(t *testing.T) {
				sep := "?"
				if strings.Contains(rt.path, "?") {
					sep = "&"
				}
				c := &aistream.Client{Request: transport.Request{URL: base + rt.path + sep + "fault=" + f.fault, Body: []byte(rt.body)}}
				rec := &transporttest.Recorder{}
				var x transport.Exchange
				err := c.Run(t.Context(), exchangeObserver{Recorder: rec, x: &x})
				if got := classOf(err); got != f.class {
					t.Fatalf("client ended with %v (class %q), want class %q", err, got, f.class)
				}
				if x.BadChunks != f.badChunks || x.Complete != f.complete || x.Chunks != 5 || x.Format == "" {
					t.Fatalf("format %q, %d chunks, %d bad, complete %v; want 5 chunks, %d bad, complete %v", x.Format, x.Chunks, x.BadChunks, x.Complete, f.badChunks, f.complete)
				}
			})
		}
	}
}
