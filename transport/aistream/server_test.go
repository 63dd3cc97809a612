package aistream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestRoundTrip serves the Routes through a real HTTP server: each token
// event must be its own HTTP chunk (flushed, not buffered), the
// response must be a chunked event stream, and the text must be the expected
// one.
func TestRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	for _, r := range New(Options{}).Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close) // after the parallel subtests
	tests := []struct {
		path string
		body string
	}{
		{"/v1/chat/completions", routes[0].body},
		{"/v1/messages", routes[1].body},
		{"/api/chat", routes[2].body},
	}
	// Flushing is judged by the chunks on the wire, not by timing: net/http
	// writes one chunk per flush, so a handler that flushes every event sends
	// one event per chunk however busy the machine is (reads may still
	// coalesce chunks, which is why the test does not look at reads).
	const query = "?ttft=1ms&tps=1000&tokens=3"
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", tt.path+query, len(tt.body), tt.body)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
				len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
				t.Fatalf("status %d, Content-Type %q, Transfer-Encoding %v: want a chunked 200 event stream",
					resp.StatusCode, resp.Header.Get("Content-Type"), resp.TransferEncoding)
			}
			var text strings.Builder
			tokenReads, all := 0, ""
			for _, chunk := range readChunks(t, br) {
				all += chunk
				if !strings.HasSuffix(chunk, "\n\n") {
					t.Errorf("chunk %q does not end on an event boundary", chunk)
				}
				tokens := 0
				for _, ev := range parseEvents(t, chunk) {
					if s, ok := tokenText(t, ev); ok {
						tokens++
						text.WriteString(s)
					}
				}
				if tokens > 1 {
					t.Errorf("%d token events in one chunk %q: chunks are not flushed one by one", tokens, chunk)
				}
				tokenReads += tokens
			}
			if tokenReads != 3 || text.String() != (Tokens{}).Text(3) {
				t.Errorf("got %d token reads with %q, want 3 with %q", tokenReads, text.String(), Tokens{}.Text(3))
			}
			if evs := parseEvents(t, all); len(evs) == 0 {
				t.Error("no events")
			}
		})
	}
}

func TestRoutesMethods(t *testing.T) {
	mux := http.NewServeMux()
	for _, r := range New(Options{}).Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	for _, path := range []string{"/v1/chat/completions", "/v1/messages", "/api/chat"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("GET %s: %d Allow %q, want 405 Allow POST", path, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// TestSeedPrecedence: the OpenAI body's seed sets the text; a query seed
// beats it and a header seed beats both.
func TestSeedPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		headers []string
		body    string
		seed    uint64
	}{
		{"server", "/", nil, `{"messages":[{"role":"user","content":"Hi"}]}`, 1},
		{"body", "/", nil, `{"messages":[{"role":"user","content":"Hi"}],"seed":11}`, 11},
		{"body negative", "/", nil, `{"messages":[{"role":"user","content":"Hi"}],"seed":-1}`, 1<<64 - 1},
		{"query beats body", "/?seed=12", nil, `{"messages":[{"role":"user","content":"Hi"}],"seed":11}`, 12},
		{"header beats query", "/?seed=12", []string{"X-RTBench-Seed: 13"}, `{"messages":[{"role":"user","content":"Hi"}],"seed":11}`, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Options{Tokens: Tokens{Length: 12}})
				rec, _ := serve(s.ChatCompletions, newRequest(t.Context(), tt.target, tt.body, tt.headers...))
				want := string(appendJSONString(nil, Tokens{Seed: tt.seed}.Text(12)))
				if !strings.Contains(rec.Body.String(), `"content":`+want+`,`) {
					t.Errorf("body %s\ndoes not hold the seed-%d text %s", rec.Body.String(), tt.seed, want)
				}
			})
		})
	}
}

// deadlineRecorder supports SetWriteDeadline, like a real connection, and
// can fail writes after a number of them.
type deadlineRecorder struct {
	*flushRecorder
	deadlines []time.Time
	inForce   []time.Time // the deadline in force at each write
	writes    int
	failAfter int // 0: never
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

func (d *deadlineRecorder) Write(p []byte) (int, error) {
	d.writes++
	var cur time.Time
	if len(d.deadlines) > 0 {
		cur = d.deadlines[len(d.deadlines)-1]
	}
	d.inForce = append(d.inForce, cur)
	if d.failAfter > 0 && d.writes > d.failAfter {
		return 0, errors.New("broken pipe")
	}
	return d.flushRecorder.Write(p)
}

// TestWriteDeadline: every event is written under a deadline between half
// of WriteTimeout and all of it ahead (sse.Stream moves the deadline only
// once half of it is used), and a failed write ends the handler at once.
func TestWriteDeadline(t *testing.T) {
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 300 * time.Millisecond
				tok := Tokens{TTFT: 100 * time.Millisecond, TPS: 10, Length: 5}
				s := New(Options{Tokens: tok, WriteTimeout: timeout})
				w := &deadlineRecorder{flushRecorder: newFlushRecorder()}
				start := time.Now()
				s.Routes()[routeIndex(rt.name)].Handler.ServeHTTP(w, newRequest(t.Context(), "/", rt.body))
				evs := w.events()
				if len(evs) != rt.lead+5+rt.trail || len(w.inForce) < len(evs) {
					t.Fatalf("%d events and %d writes, want %d events", len(evs), len(w.inForce), rt.lead+5+rt.trail)
				}
				// The header flush comes first, then one write per event.
				for i, ev := range evs {
					d := w.inForce[len(w.inForce)-len(evs)+i]
					if d.Before(ev.at.Add(timeout/2)) || d.After(ev.at.Add(timeout)) {
						t.Errorf("event %d at %v: deadline %v, want within [%v, %v]", i, ev.at.Sub(start), d.Sub(start), ev.at.Add(timeout/2).Sub(start), ev.at.Add(timeout).Sub(start))
					}
				}
				if len(w.deadlines) < 3 || len(w.deadlines) >= len(evs) {
					t.Errorf("%d deadline updates for %d events over 600ms with a 300ms timeout: want a few, not one per event", len(w.deadlines), len(evs))
				}

				// Fail the write of the second chunk (due at 200ms).
				w = &deadlineRecorder{flushRecorder: newFlushRecorder(), failAfter: rt.lead + 1}
				start = time.Now()
				s.Routes()[routeIndex(rt.name)].Handler.ServeHTTP(w, newRequest(t.Context(), "/", rt.body))
				if took := time.Since(start); took != 200*time.Millisecond || w.writes != rt.lead+2 {
					t.Errorf("after a failed write the handler returned at %v after %d writes, want 200ms after %d", took, w.writes, rt.lead+2)
				}
			})
		})
	}
}

func routeIndex(name string) int {
	for i, rt := range routes {
		if rt.name == name {
			return i
		}
	}
	panic(name)
}

// TestStats: a complete stream counts every event and byte it wrote and is
// open only while it runs; a non-streamed answer counts as one event.
func TestStats(t *testing.T) {
	for _, rt := range routes {
		for _, streamed := range []bool{true, false} {
			body := rt.body
			if !streamed {
				if body = rt.plain; body == "" {
					continue
				}
			}
			synctest.Test(t, func(t *testing.T) {
				stats := new(transport.ServerStats)
				s := New(Options{Tokens: Tokens{Length: 4}, Stats: stats})
				rec, _ := serve(rt.handler(s), newRequest(t.Context(), "/", body))
				events := int64(rt.lead + 4 + rt.trail)
				if !streamed {
					events = 1
				}
				snap := stats.Snapshot()
				if snap.Events[transport.AIStream] != events || snap.Bytes[transport.AIStream] != int64(rec.Body.Len()) || snap.Open[transport.AIStream] != 0 {
					t.Errorf("%s stream=%v: stats %d events %d bytes %d open, want %d events %d bytes 0 open", rt.name, streamed,
						snap.Events[transport.AIStream], snap.Bytes[transport.AIStream], snap.Open[transport.AIStream], events, rec.Body.Len())
				}
			})
		}
	}
}

// readChunks reads a chunked body from br (after the headers) and returns
// its chunks, as the server flushed them.
func readChunks(t *testing.T, br *bufio.Reader) []string {
	t.Helper()
	var out []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a chunk size: %v", err)
		}
		size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if size == 0 {
			return out
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatalf("reading a chunk of %d bytes: %v", size, err)
		}
		out = append(out, string(b[:size]))
	}
}
