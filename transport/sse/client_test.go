package sse

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// ctScript serves one step per request, repeating the last, and keeps the
// headers of every request.
type ctScript struct {
	mu    sync.Mutex
	steps []http.HandlerFunc
	reqs  []http.Header
}

func (s *ctScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, r.Header.Clone())
	step := s.steps[min(i, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

func (s *ctScript) requests() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.reqs...)
}

// ctStream answers an event stream with body and ends it.
func ctStream(body string) http.HandlerFunc { return ctStreamAs(ContentType, body) }

func ctStreamAs(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush() // streamed: no Content-Length
		io.WriteString(w, body)
	}
}

// ctSilent sends headers and body, then nothing until the client leaves.
func ctSilent(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		io.WriteString(w, body)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

// ctFixed serves body with a Content-Length, as a non-streaming server does.
func ctFixed(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	}
}

func ctStatus(code int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// ctStop ends a scripted session: 204 fails it under every policy.
var ctStop = ctStatus(http.StatusNoContent, nil, "")

// ctHang accepts the request and never answers.
func ctHang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// ctComments sends a comment every period, n times, then one event, then ends.
func ctComments(n int, period time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		rc := http.NewResponseController(w)
		rc.Flush()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for range n {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			io.WriteString(w, ": ping\n")
			rc.Flush()
		}
		io.WriteString(w, "data: done\n\n")
	}
}

// ctNoNewline sends one line of n bytes that never ends.
func ctNoNewline(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		w.Write([]byte("data: " + strings.Repeat("x", n)))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

func ctHTTP(t testing.TB, o transport.HTTPOptions) *http.Client {
	if ctLean != nil {
		ctLean = &Lean{DialTimeout: o.DialTimeout, TTFBTimeout: o.TTFBTimeout}
	}
	c := transport.NewHTTPClient(o)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// ctLean, when set, is the Lean every client of a test uses: ctBothPaths
// runs a test over net/http and over the lean path. ctHTTP sets its
// timeouts from the HTTP client's options.
var ctLean *Lean

// ctBothPaths runs test twice: with net/http, and with Client.Lean.
func ctBothPaths(t *testing.T, test func(*testing.T)) {
	t.Run("nethttp", test)
	t.Run("lean", func(t *testing.T) {
		ctLean = &Lean{}
		defer func() { ctLean = nil }()
		test(t)
	})
	// The lean path through Start: a chunked stream is read by a poller.
	t.Run("polled", func(t *testing.T) {
		ctLean, ctStart = &Lean{}, true
		defer func() { ctLean, ctStart = nil, false }()
		test(t)
	})
}

// ctStart runs sessions with Start instead of Run.
var ctStart bool

// ctSession runs c as Run does, through Start when ctStart says so.
func ctSession(ctx context.Context, c *Client, obs transport.Observer) error {
	if !ctStart {
		return c.Run(ctx, obs)
	}
	done := make(chan error, 1)
	c.Start(ctx, obs, func(err error) { done <- err })
	return <-done
}

// ctResult is what one session did.
type ctResult struct {
	err      error
	connects []transport.Connect
	events   []transport.Event
	errs     []transport.Error
	closes   []transport.Close
	delays   []time.Duration
	reqs     []http.Header
}

// ctRun runs c until it ends by itself, recording the reconnect delays
// instead of waiting them out.
func ctRun(t *testing.T, c *Client) ctResult {
	t.Helper()
	if ctLean != nil && c.Lean == nil {
		c.Lean = ctLean
	}
	var res ctResult
	var mu sync.Mutex
	c.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		res.delays = append(res.delays, d)
		mu.Unlock()
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var rec transporttest.Recorder
	res.err = ctSession(ctx, c, &rec)
	if ctx.Err() != nil {
		t.Fatal("the session did not end by itself")
	}
	res.connects, res.events, res.errs, res.closes = rec.Snapshot()
	return res
}

func ctClasses(errs []transport.Error) []transport.Class {
	var out []transport.Class
	for _, e := range errs {
		out = append(out, e.Class)
	}
	return out
}

func ctData(events []transport.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, string(e.Data))
	}
	return out
}

// closedURL is a loopback address nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/sse"
}

// TestClientFaults runs the cases of shared/REFERENCE.md §5 that concern the
// SSE client against small servers that produce them.
func TestClientFaults(t *testing.T) { ctBothPaths(t, testClientFaults) }

func testClientFaults(t *testing.T) {
	spec := transport.Reconnect{}
	always := transport.Reconnect{Policy: transport.PolicyAlways}
	never := transport.Reconnect{Policy: transport.PolicyNever}
	bigLine := "data: " + strings.Repeat("x", 2<<20) + "\n\n"
	manyLines := strings.Repeat("data: "+strings.Repeat("y", 100)+"\n", 2000)
	tests := []struct {
		name    string
		row     int // shared/REFERENCE.md §5
		steps   []http.HandlerFunc
		refused bool // no server at all
		rc      transport.Reconnect
		opts    transport.HTTPOptions
		setup   func(*Client)

		errs   []transport.Class // every error reported, in order
		fatal  transport.Class   // the error Run returned; "" for nil
		code   int               // its Code
		msg    []string          // in the first error's message
		delays int               // reconnects
		events []string
		check  func(t *testing.T, r ctResult)
	}{
		{
			name: "html page", row: 1, rc: spec,
			steps: []http.HandlerFunc{ctStatus(200, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "<html>\n<body>  Please log in  </body></html>")},
			errs:  []transport.Class{transport.ClassBadContentType}, fatal: transport.ClassBadContentType,
			msg: []string{`Content-Type "text/html; charset=utf-8", not text/event-stream`, "<body> Please log in </body>"},
		},
		{
			name: "json under always", row: 1, rc: always,
			steps: []http.HandlerFunc{ctStatus(200, map[string]string{"Content-Type": "application/json"}, `{"data":[1,2,3]}`)},
			errs:  []transport.Class{transport.ClassBadContentType}, fatal: transport.ClassBadContentType,
			msg: []string{`"application/json"`, `{"data":[1,2,3]}`},
		},
		{
			name: "no content type", row: 1, rc: spec,
			steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) { w.Header()["Content-Type"] = nil }},
			errs:  []transport.Class{transport.ClassBadContentType}, fatal: transport.ClassBadContentType,
			msg: []string{"no Content-Type"},
		},
		{
			name: "bogus media type", row: 1, rc: spec,
			steps: []http.HandlerFunc{ctStreamAs("x bogus", "data: a\n\n")},
			errs:  []transport.Class{transport.ClassBadContentType}, fatal: transport.ClassBadContentType,
		},
		{
			name: "charset windows-1252 is read as UTF-8", row: 2, rc: never,
			steps:  []http.HandlerFunc{ctStreamAs("text/event-stream; charset=windows-1252", "data: caf\xc3\xa9\n\n")},
			events: []string{"café"},
		},
		{
			name: "trailing semicolon", row: 2, rc: never,
			steps:  []http.HandlerFunc{ctStreamAs("Text/Event-Stream;", "data: a\n\n")},
			events: []string{"a"},
		},
		{
			name: "204 under always", row: 3, rc: always,
			steps: []http.HandlerFunc{ctStop},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus, code: 204,
			msg: []string{"server asked to stop (204)"},
		},
		{
			name: "205", row: 3, rc: spec,
			steps: []http.HandlerFunc{ctStatus(205, nil, "")},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus, code: 205,
			msg: []string{"205 Reset Content"},
		},
		{
			name: "299", row: 3, rc: spec,
			steps: []http.HandlerFunc{ctStatus(299, nil, "")},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus, code: 299,
		},
		{
			name: "401", row: 4, rc: spec,
			steps: []http.HandlerFunc{ctStatus(401, map[string]string{"Content-Type": "text/plain"}, "token expired\n")},
			errs:  []transport.Class{transport.ClassHTTP4xx}, fatal: transport.ClassHTTP4xx, code: 401,
			msg: []string{"401 Unauthorized", ": token expired"},
		},
		{
			name: "403 under always", row: 4, rc: always,
			steps: []http.HandlerFunc{ctStatus(403, nil, "")},
			errs:  []transport.Class{transport.ClassHTTP4xx}, fatal: transport.ClassHTTP4xx, code: 403,
		},
		{
			name: "404 quotes the first 200 bytes", row: 4, rc: spec,
			steps: []http.HandlerFunc{ctStatus(404, map[string]string{"Content-Type": "application/problem+json"}, `{"error":"no stream here","pad":"`+strings.Repeat("é", 200)+`"}`)},
			errs:  []transport.Class{transport.ClassHTTP4xx}, fatal: transport.ClassHTTP4xx, code: 404,
			msg: []string{`404 Not Found instead of an event stream: {"error":"no stream here"`, "é…"},
			check: func(t *testing.T, r ctResult) {
				msg := r.errs[0].Error()
				if i := strings.Index(msg, ": {"); len(msg)-i > 2+DefaultErrorBody+len("…") {
					t.Errorf("excerpt longer than %d bytes: %q", DefaultErrorBody, msg[i:])
				}
				if strings.Contains(msg, "\uFFFD") {
					t.Errorf("excerpt cut a character in two: %q", msg)
				}
			},
		},
		{
			name: "410", row: 4, rc: spec,
			steps: []http.HandlerFunc{ctStatus(410, nil, "")},
			errs:  []transport.Class{transport.ClassHTTP4xx}, fatal: transport.ClassHTTP4xx, code: 410,
		},
		{
			name: "429 under spec fails", row: 5, rc: spec,
			steps: []http.HandlerFunc{ctStatus(429, map[string]string{"Retry-After": "2"}, "")},
			errs:  []transport.Class{transport.ClassHTTP4xx}, fatal: transport.ClassHTTP4xx, code: 429,
			msg: []string{"429 Too Many Requests", "Retry-After 2s"},
		},
		{
			name: "429 under always waits Retry-After", row: 5, rc: always,
			steps: []http.HandlerFunc{ctStatus(429, map[string]string{"Retry-After": "2"}, ""), ctStream("data: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassHTTP4xx, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus, code: 204,
			delays: 2, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if d := r.delays[0]; d < 2*time.Second || d > 3*time.Second {
					t.Errorf("waited %v after Retry-After: 2, want 2s to 3s", d)
				}
				if r.errs[0].Fatal || r.errs[0].Code != 429 {
					t.Errorf("429 reported as %+v, want non-fatal with code 429", r.errs[0])
				}
			},
		},
		{
			name: "429 Retry-After as a date", row: 5, rc: always,
			steps: []http.HandlerFunc{ctStatus(429, map[string]string{"Retry-After": time.Now().Add(4 * time.Second).UTC().Format(http.TimeFormat)}, ""), ctStop},
			errs:  []transport.Class{transport.ClassHTTP4xx, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 1,
			check: func(t *testing.T, r ctResult) {
				if d := r.delays[0]; d < 2*time.Second || d > 6*time.Second {
					t.Errorf("waited %v after a Retry-After date 4s ahead", d)
				}
			},
		},
		{
			name: "429 Retry-After clamped to Cap", row: 5, rc: transport.Reconnect{Policy: transport.PolicyAlways, Cap: 5 * time.Second},
			steps: []http.HandlerFunc{ctStatus(429, map[string]string{"Retry-After": "3600"}, ""), ctStop},
			errs:  []transport.Class{transport.ClassHTTP4xx, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 1,
			check: func(t *testing.T, r ctResult) {
				if d := r.delays[0]; d != 5*time.Second {
					t.Errorf("waited %v after Retry-After: 3600 with Cap 5s", d)
				}
			},
		},
		{
			name: "500 under spec fails", row: 6, rc: spec,
			steps: []http.HandlerFunc{ctStatus(500, map[string]string{"Content-Type": "text/plain"}, "boom")},
			errs:  []transport.Class{transport.ClassHTTP5xx}, fatal: transport.ClassHTTP5xx, code: 500,
			msg: []string{"500 Internal Server Error", ": boom"},
		},
		{
			name: "502 and 503 under always reconnect", row: 6, rc: always,
			steps: []http.HandlerFunc{ctStatus(502, nil, ""), ctStatus(503, nil, ""), ctStream("data: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassHTTP5xx, transport.ClassHTTP5xx, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 3, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if r.errs[0].Code != 502 || r.errs[1].Code != 503 {
					t.Errorf("codes %d, %d; want 502, 503", r.errs[0].Code, r.errs[1].Code)
				}
				if r.delays[1] < r.delays[0]/2 {
					t.Errorf("delays %v: want a backoff", r.delays)
				}
			},
		},
		{
			name: "503 with MaxAttempts gives up", row: 6, rc: transport.Reconnect{Policy: transport.PolicyAlways, MaxAttempts: 2},
			steps: []http.HandlerFunc{ctStatus(503, nil, "")},
			errs:  []transport.Class{transport.ClassHTTP5xx, transport.ClassHTTP5xx, transport.ClassHTTP5xx}, fatal: transport.ClassHTTP5xx, code: 503,
			delays: 2,
			check: func(t *testing.T, r ctResult) {
				if last := r.errs[2]; !last.Fatal || !strings.Contains(last.Error(), "gave up after 2 reconnects") {
					t.Errorf("last error %q (fatal %v)", last.Error(), last.Fatal)
				}
			},
		},
		{
			name: "redirect loop", row: 7, rc: spec,
			steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/sse", http.StatusFound) }},
			errs:  []transport.Class{transport.ClassTooManyRedirects}, fatal: transport.ClassTooManyRedirects,
			msg: []string{"stopped after 10"},
			check: func(t *testing.T, r ctResult) {
				// The lean path sends the first request itself, then hands
				// the 3xx over to net/http, which starts again.
				want := 11
				if ctLean != nil {
					want++
				}
				if len(r.reqs) != want {
					t.Errorf("%d requests, want %d (the first and 10 redirects)", len(r.reqs), want)
				}
			},
		},
		{
			name: "id with NUL is ignored; id: empty sends no Last-Event-ID", row: 12, rc: spec,
			steps: []http.HandlerFunc{
				ctStream("id: 7\ndata: a\n\nid: x\x00y\ndata: b\n\n"),
				ctStream("id\ndata: c\n\n"),
				ctStop,
			},
			errs: []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 2, events: []string{"a", "b", "c"},
			check: func(t *testing.T, r ctResult) {
				if got := r.reqs[1].Values("Last-Event-ID"); len(got) != 1 || got[0] != "7" {
					t.Errorf("second request Last-Event-ID %q, want 7", got)
				}
				if got := r.reqs[2].Values("Last-Event-ID"); len(got) != 0 {
					t.Errorf("third request Last-Event-ID %q, want none after id reset", got)
				}
				if r.events[1].ID != "7" || r.events[2].ID != "" {
					t.Errorf("event IDs %q, %q; want 7, empty", r.events[1].ID, r.events[2].ID)
				}
			},
		},
		{
			name: "retry: 0 is clamped to Floor", row: 13, rc: transport.Reconnect{Floor: 50 * time.Millisecond, Cap: 2 * time.Second, Initial: 400 * time.Millisecond},
			steps: []http.HandlerFunc{ctStream("retry: 0\ndata: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 1, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if r.delays[0] != 50*time.Millisecond {
					t.Errorf("waited %v after retry: 0, want the 50ms floor", r.delays[0])
				}
			},
		},
		{
			name: "huge retry is clamped to Cap", row: 13, rc: transport.Reconnect{Floor: 50 * time.Millisecond, Cap: 2 * time.Second, Initial: 400 * time.Millisecond},
			steps: []http.HandlerFunc{ctStream("retry: 99999999999\ndata: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 1, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if d := r.delays[0]; d < time.Second || d > 2*time.Second {
					t.Errorf("waited %v after retry: 99999999999, want at most the 2s cap (jittered down to half)", d)
				}
			},
		},
		{
			name: "bogus retry values are ignored", row: 13, rc: transport.Reconnect{Floor: 50 * time.Millisecond, Cap: 2 * time.Second, Initial: 400 * time.Millisecond},
			steps: []http.HandlerFunc{ctStream("retry: 1000x\nretry:\nretry: -1\ndata: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 1, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if d := r.delays[0]; d < 200*time.Millisecond || d > 400*time.Millisecond {
					t.Errorf("waited %v, want Initial (400ms, jittered down to half)", d)
				}
			},
		},
		{
			name: "server closes mid-event", row: 15, rc: spec,
			steps: []http.HandlerFunc{ctStream("id: 1\ndata: a\n\nid: 2\ndata: partial\n"), ctStop},
			errs:  []transport.Class{transport.ClassTruncatedEvent, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			msg: []string{"middle of an event", "discarded"}, delays: 1, events: []string{"a"},
			check: func(t *testing.T, r ctResult) {
				if got := r.reqs[1].Get("Last-Event-ID"); got != "1" {
					t.Errorf("reconnected with Last-Event-ID %q, want 1", got)
				}
				if c := r.closes[0]; c.Clean || !c.Reconnect || c.Reason != string(transport.ClassTruncatedEvent) {
					t.Errorf("close %+v: want unclean, reconnecting, reason truncated_event", c)
				}
			},
		},
		{
			name: "EOF inside a line", row: 15, rc: never,
			steps: []http.HandlerFunc{ctStream("data: a\n\nda")},
			errs:  []transport.Class{transport.ClassTruncatedEvent}, fatal: transport.ClassTruncatedEvent,
			events: []string{"a"},
		},
		{
			name: "2 MiB line", row: 16, rc: spec,
			steps: []http.HandlerFunc{ctStream(bigLine), ctStop},
			errs:  []transport.Class{transport.ClassEventTooLarge, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			msg: []string{"line longer than 1048576 bytes"}, delays: 1,
		},
		{
			name: "the same oversize event twice in a row ends the session", row: 16, rc: spec,
			steps: []http.HandlerFunc{ctStream("id: 4\ndata: small\n\n" + bigLine)},
			errs:  []transport.Class{transport.ClassEventTooLarge, transport.ClassEventTooLarge}, fatal: transport.ClassEventTooLarge,
			msg: []string{"line longer than 1048576 bytes"}, delays: 1,
			events: []string{"small", "small"},
			check: func(t *testing.T, r ctResult) {
				if m := r.errs[1].Error(); !strings.Contains(m, "the same event was refused twice in a row: sse: line longer") {
					t.Errorf("fatal error %q does not say the event was refused twice", m)
				}
			},
		},
		{
			name: "oversize events after different IDs are retried", row: 16, rc: spec,
			steps: []http.HandlerFunc{ctStream("id: 1\ndata: a\n\n" + bigLine), ctStream("id: 2\ndata: b\n\n" + bigLine), ctStop},
			errs:  []transport.Class{transport.ClassEventTooLarge, transport.ClassEventTooLarge, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			delays: 2, events: []string{"a", "b"},
		},
		{
			name: "a line that never ends", row: 16, rc: never,
			steps: []http.HandlerFunc{ctNoNewline(3 << 20)},
			errs:  []transport.Class{transport.ClassEventTooLarge}, fatal: transport.ClassEventTooLarge,
		},
		{
			name: "thousands of data lines", row: 17, rc: never,
			setup: func(c *Client) { c.Parser.MaxEvent = 64 << 10 },
			steps: []http.HandlerFunc{ctStream(manyLines + "\n")},
			errs:  []transport.Class{transport.ClassEventTooLarge}, fatal: transport.ClassEventTooLarge,
			msg: []string{"event data larger than 65536 bytes"},
		},
		{
			name: "invalid UTF-8", row: 18, rc: never,
			steps:  []http.HandlerFunc{ctStream("id: 3\ndata: a\xffb\n\ndata: ok\n\n")},
			errs:   []transport.Class{transport.ClassInvalidUTF8},
			msg:    []string{`last event ID "3"`, "1 ill-formed UTF-8 sequence"},
			events: []string{"a\uFFFDb", "ok"},
			check: func(t *testing.T, r ctResult) {
				if r.errs[0].Fatal {
					t.Error("invalid_utf8 reported as fatal")
				}
			},
		},
		{
			name: "comments keep an idle stream alive", row: 20, rc: never,
			// 1.2 s of comments against a 600 ms idle timeout: the stream
			// outlives the timeout only because comments reset it, and a
			// busy machine must stall the reader 600 ms (not 150) to fail it.
			setup:  func(c *Client) { c.IdleTimeout = 600 * time.Millisecond },
			steps:  []http.HandlerFunc{ctComments(60, 20*time.Millisecond)},
			events: []string{"done"},
		},
		{
			name: "comments reported as their own kind keep it alive too", row: 20, rc: never,
			setup:  func(c *Client) { c.IdleTimeout = 150 * time.Millisecond; c.Comments = true },
			steps:  []http.HandlerFunc{ctComments(25, 20*time.Millisecond)},
			events: append(slices.Repeat([]string{"ping"}, 25), "done"),
			check: func(t *testing.T, r ctResult) {
				for i, e := range r.events {
					if want := i < 25; (e.Kind == transport.KindComment) != want || (e.Type == "comment") != want || e.Stamp != (transport.Stamp{}) {
						t.Fatalf("event %d: kind %d type %q stamp %+v", i, e.Kind, e.Type, e.Stamp)
					}
				}
			},
		},
		{
			name: "headers never sent", row: 21, rc: transport.Reconnect{MaxAttempts: 1},
			opts:  transport.HTTPOptions{TTFBTimeout: 100 * time.Millisecond},
			steps: []http.HandlerFunc{ctHang},
			errs:  []transport.Class{transport.ClassTTFBTimeout, transport.ClassTTFBTimeout}, fatal: transport.ClassTTFBTimeout,
			msg: []string{"timeout awaiting response headers"}, delays: 1,
		},
		{
			name: "silence after the headers", row: 22, rc: spec,
			setup: func(c *Client) { c.IdleTimeout = 100 * time.Millisecond },
			steps: []http.HandlerFunc{ctSilent("data: a\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassIdleTimeout, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			msg:    []string{"nothing read for 100ms", "idle timeout"},
			delays: 1, events: []string{"a"},
		},
		{
			name: "silence under never", row: 22, rc: never,
			setup: func(c *Client) { c.IdleTimeout = 100 * time.Millisecond },
			steps: []http.HandlerFunc{ctSilent(": hi\n")},
			errs:  []transport.Class{transport.ClassIdleTimeout}, fatal: transport.ClassIdleTimeout,
		},
		{
			// Spec: a whole body is read once and ends the session, named
			// once, rather than fetched again on every retry.
			name: "Content-Length body", row: 23, rc: spec,
			steps: []http.HandlerFunc{ctFixed("data: a\n\n"), ctFixed("data: b\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassNotStreaming}, fatal: transport.ClassNotStreaming,
			msg:    []string{"Content-Length: 9", "the server sends a whole body, not a stream"},
			delays: 0, events: []string{"a"},
		},
		{
			// Always: fetched again each time it ends, warned once.
			name: "Content-Length body under always", row: 23, rc: always,
			steps: []http.HandlerFunc{ctFixed("data: a\n\n"), ctFixed("data: b\n\n"), ctStop},
			errs:  []transport.Class{transport.ClassNotStreaming, transport.ClassHTTPStatus}, fatal: transport.ClassHTTPStatus,
			msg:    []string{"Content-Length: 9", "the server sends a whole body, not a stream"},
			delays: 2, events: []string{"a", "b"},
			check: func(t *testing.T, r ctResult) {
				for i, c := range r.closes {
					if !c.Clean || !c.Reconnect {
						t.Errorf("close %d %+v: want clean, reconnecting", i, c)
					}
				}
			},
		},
		{
			name: "streams that end with no event, MaxAttempts 1", row: 23, rc: transport.Reconnect{MaxAttempts: 1},
			steps: []http.HandlerFunc{ctStream(": nothing to say\n")},
			errs:  []transport.Class{transport.ClassEOF}, fatal: transport.ClassEOF,
			msg: []string{"gave up after 1 reconnects in a row with no event: the server ended the stream without sending an event"}, delays: 1,
			check: func(t *testing.T, r ctResult) {
				if len(r.closes) != 2 || !r.closes[0].Clean || !r.closes[0].Reconnect || !r.closes[1].Clean || r.closes[1].Reconnect {
					t.Errorf("closes %+v: want two clean ends, the first reconnecting", r.closes)
				}
			},
		},
		{
			name: "connection refused", row: 34, refused: true, rc: transport.Reconnect{MaxAttempts: 2},
			errs: []transport.Class{transport.ClassRefused, transport.ClassRefused, transport.ClassRefused}, fatal: transport.ClassRefused,
			msg: []string{"connection refused"}, delays: 2,
			check: func(t *testing.T, r ctResult) {
				if len(r.connects) != 0 || len(r.closes) != 0 {
					t.Errorf("%d connects, %d closes for a refused connection", len(r.connects), len(r.closes))
				}
				if r.delays[1] < r.delays[0]/2 {
					t.Errorf("delays %v: want a backoff", r.delays)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("row%d/%s", tt.row, tt.name), func(t *testing.T) {
			sc := &ctScript{steps: tt.steps}
			srv := httptest.NewServer(sc)
			defer srv.Close()
			url := srv.URL + "/sse"
			if tt.refused {
				url = closedURL(t)
			}
			c := &Client{Request: transport.Request{URL: url}, HTTP: ctHTTP(t, tt.opts), Reconnect: tt.rc}
			if tt.setup != nil {
				tt.setup(c)
			}
			r := ctRun(t, c)
			r.reqs = sc.requests()

			if got := ctClasses(r.errs); fmt.Sprint(got) != fmt.Sprint(tt.errs) {
				t.Fatalf("errors %v, want %v\n%v", got, tt.errs, r.errs)
			}
			for i, e := range r.errs {
				if wantFatal := tt.fatal != "" && i == len(r.errs)-1; e.Fatal != wantFatal {
					t.Errorf("error %d (%s) fatal = %v, want %v", i, e.Class, e.Fatal, wantFatal)
				}
			}
			var te *transport.Error
			switch {
			case tt.fatal == "" && r.err != nil:
				t.Errorf("Run: %v, want nil", r.err)
			case tt.fatal != "" && !errors.As(r.err, &te):
				t.Errorf("Run: %v, want a *transport.Error of class %s", r.err, tt.fatal)
			case tt.fatal != "" && (te.Class != tt.fatal || !te.Fatal || (tt.code != 0 && te.Code != tt.code)):
				t.Errorf("Run: %+v, want class %s, code %d, fatal", te, tt.fatal, tt.code)
			}
			for _, m := range tt.msg {
				if !strings.Contains(r.errs[0].Error(), m) {
					t.Errorf("message %q does not say %q", r.errs[0].Error(), m)
				}
			}
			if len(r.delays) != tt.delays {
				t.Errorf("%d reconnects, want %d", len(r.delays), tt.delays)
			}
			if got := ctData(r.events); fmt.Sprint(got) != fmt.Sprint(tt.events) {
				t.Errorf("events %q, want %q", got, tt.events)
			}
			// Every accepted connection is closed once, and only the last
			// close may say that no reconnect follows.
			if len(r.closes) != len(r.connects) {
				t.Errorf("%d connects but %d closes", len(r.connects), len(r.closes))
			}
			for i, c := range r.closes[:max(len(r.closes)-1, 0)] {
				if !c.Reconnect {
					t.Errorf("close %d %+v says no reconnect, yet another connection followed", i, c)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestClientRedirects follows 301, 302, 307 and 308 (REFERENCE.md §5 row 7),
// reports the final URL, and warns about an https → http downgrade.
func TestClientRedirects(t *testing.T) { ctBothPaths(t, testClientRedirects) }

func testClientRedirects(t *testing.T) {
	final := httptest.NewServer(&ctScript{steps: []http.HandlerFunc{ctStream("data: here\n\n")}})
	defer final.Close()
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, final.URL+"/final", code)
			}))
			defer hop.Close()
			c := &Client{Request: transport.Request{URL: hop.URL + "/sse"}, HTTP: ctHTTP(t, transport.HTTPOptions{}), Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
			r := ctRun(t, c)
			if r.err != nil || len(r.errs) != 0 {
				t.Fatalf("Run: %v, errors %v", r.err, r.errs)
			}
			if len(r.connects) != 1 || r.connects[0].URL != final.URL+"/final" {
				t.Fatalf("connects %+v, want one to %s/final", r.connects, final.URL)
			}
			if got := ctData(r.events); len(got) != 1 || got[0] != "here" {
				t.Fatalf("events %q", got)
			}
		})
	}
	t.Run("https to http", func(t *testing.T) {
		hop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, final.URL+"/final", http.StatusFound)
		}))
		defer hop.Close()
		pool := x509.NewCertPool()
		pool.AddCert(hop.Certificate())
		c := &Client{Request: transport.Request{URL: hop.URL + "/sse"}, HTTP: ctHTTP(t, transport.HTTPOptions{RootCAs: pool}), Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}
		r := ctRun(t, c)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := ctClasses(r.errs); len(got) != 1 || got[0] != transport.ClassDowngrade || r.errs[0].Fatal {
			t.Fatalf("errors %v, want one non-fatal %s", r.errs, transport.ClassDowngrade)
		}
	})
}

// TestClientLastEventID checks the Last-Event-ID of each request: from the
// Client, from the request headers, from the stream, and reset by an empty id.
func TestClientLastEventID(t *testing.T) { ctBothPaths(t, testClientLastEventID) }

func testClientLastEventID(t *testing.T) {
	tests := []struct {
		name    string
		initial string // Client.LastEventID
		header  string // Request.Header's Last-Event-ID
		stream  string // the first connection's body
		want    []string
		ids     []string // the events' IDs
	}{
		{name: "none", stream: "data: a\n\n", want: []string{"", ""}, ids: []string{""}},
		{name: "from the client", initial: "42", stream: "data: a\n\n", want: []string{"42", "42"}, ids: []string{"42"}},
		{name: "from the header", header: "9", stream: "data: a\n\n", want: []string{"9", "9"}, ids: []string{"9"}},
		{name: "the client's wins", initial: "5", header: "9", stream: "data: a\n\n", want: []string{"5", "5"}, ids: []string{"5"}},
		{name: "from the stream", stream: "id: 7\ndata: a\n\ndata: b\n\n", want: []string{"", "7"}, ids: []string{"7", "7"}},
		{name: "id-only block", stream: "id: 7\n\n", want: []string{"", "7"}},
		{name: "id reset", initial: "5", stream: "id:\ndata: a\n\n", want: []string{"5", ""}, ids: []string{""}},
		{name: "bare id resets", stream: "id: 7\ndata: a\n\nid\n\n", want: []string{"", ""}, ids: []string{"7"}},
		{name: "NUL ignored", stream: "id: 7\ndata: a\n\nid: \x00\n\n", want: []string{"", "7"}, ids: []string{"7"}},
		{name: "undispatched id at EOF", stream: "id: 7\ndata: a\n\nid: 8\ndata: b", want: []string{"", "7"}, ids: []string{"7"}},
		{name: "non-ASCII", stream: "id: …\ndata: a\n\n", want: []string{"", "…"}, ids: []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &ctScript{steps: []http.HandlerFunc{ctStream(tt.stream), ctStop}}
			srv := httptest.NewServer(sc)
			defer srv.Close()
			req := transport.Request{URL: srv.URL}
			if tt.header != "" {
				req.Header = http.Header{"Last-Event-Id": {tt.header}}
			}
			r := ctRun(t, &Client{Request: req, LastEventID: tt.initial, HTTP: ctHTTP(t, transport.HTTPOptions{})})
			reqs := sc.requests()
			var got []string
			for _, h := range reqs {
				if v := h.Values("Last-Event-ID"); len(v) > 1 || len(v) == 1 && v[0] == "" {
					t.Errorf("Last-Event-ID header %q: want one non-empty value or none", v)
				}
				got = append(got, h.Get("Last-Event-ID"))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Last-Event-ID per request %q, want %q", got, tt.want)
			}
			var ids []string
			for _, e := range r.events {
				ids = append(ids, e.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
				t.Errorf("event IDs %q, want %q", ids, tt.ids)
			}
		})
	}
}

// TestClientRequest checks what each connection sends.
func TestClientRequest(t *testing.T) { ctBothPaths(t, testClientRequest) }

func testClientRequest(t *testing.T) {
	tests := []struct {
		name       string
		req        transport.Request
		method     string
		accept     string
		body       string
		contentTyp string
	}{
		{name: "GET", req: transport.Request{}, method: "GET", accept: "text/event-stream"},
		{name: "POST body", req: transport.Request{Body: []byte(`{"stream":true}`)}, method: "POST", accept: "text/event-stream", body: `{"stream":true}`, contentTyp: "application/json"},
		{name: "own Accept kept", req: transport.Request{Method: "PUT", Header: http.Header{"Accept": {"text/event-stream, */*"}}}, method: "PUT", accept: "text/event-stream, */*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				body, _ = io.ReadAll(r.Body)
				ctStream("data: a\n\n")(w, r)
			}))
			defer srv.Close()
			tt.req.URL = srv.URL
			r := ctRun(t, &Client{Request: tt.req, HTTP: ctHTTP(t, transport.HTTPOptions{}), Reconnect: transport.Reconnect{Policy: transport.PolicyNever}})
			if r.err != nil || len(r.events) != 1 {
				t.Fatalf("Run: %v, %d events", r.err, len(r.events))
			}
			h := got.Header
			for k, want := range map[string]string{"Accept": tt.accept, "Cache-Control": "no-cache", "Pragma": "no-cache", "Content-Type": tt.contentTyp} {
				if h.Get(k) != want {
					t.Errorf("%s: %q, want %q", k, h.Get(k), want)
				}
			}
			if got.Method != tt.method || string(body) != tt.body {
				t.Errorf("sent %s %q, want %s %q", got.Method, body, tt.method, tt.body)
			}
		})
	}
}

// TestClientEventFields checks each field of a delivered event.
func TestClientEventFields(t *testing.T) { ctBothPaths(t, testClientEventFields) }

func testClientEventFields(t *testing.T) {
	tick := appendTickEvent(nil, 12, 1_700_000_000_000_000_000, 1_700_000_000_000_000_500, 0)
	named := "event: tick\r\ndata: x\r\n: inside\r\n\r\n"
	srv := httptest.NewServer(&ctScript{steps: []http.HandlerFunc{ctStream(": hello\n\n" + string(tick) + named)}})
	defer srv.Close()
	r := ctRun(t, &Client{Request: transport.Request{URL: srv.URL}, HTTP: ctHTTP(t, transport.HTTPOptions{}), Reconnect: transport.Reconnect{Policy: transport.PolicyNever}})
	if r.err != nil || len(r.events) != 2 {
		t.Fatalf("Run: %v, events %q", r.err, ctData(r.events))
	}
	e := r.events[0]
	if e.Kind != transport.KindMessage || e.Type != "message" || e.ID != "12" || e.Size != len(tick) {
		t.Errorf("tick event: kind %v type %q id %q size %d; want message, 12, %d", e.Kind, e.Type, e.ID, e.Size, len(tick))
	}
	if !e.Stamp.HasSeq || e.Stamp.Seq != 12 || e.Stamp.SchedNS != 1_700_000_000_000_000_000 || e.Stamp.SentNS != 1_700_000_000_000_000_500 {
		t.Errorf("stamp %+v", e.Stamp)
	}
	if e.FirstByte.IsZero() || e.At.Before(e.FirstByte) {
		t.Errorf("FirstByte %v, At %v", e.FirstByte, e.At)
	}
	e = r.events[1]
	if e.Type != "tick" || string(e.Data) != "x" || e.Size != len(named) || e.Stamp.HasSeq {
		t.Errorf("named event: type %q data %q size %d (want %d) stamp %+v", e.Type, e.Data, e.Size, len(named), e.Stamp)
	}
	if c := r.connects[0]; c.Attempt != 0 || c.Status != 200 || c.Headers.IsZero() || c.URL != srv.URL {
		t.Errorf("connect %+v", c)
	}
}

// TestClientFirst uses a response already received for the first connection
// and sends the request only to reconnect.
func TestClientFirst(t *testing.T) {
	sc := &ctScript{steps: []http.HandlerFunc{ctStream("id: 1\ndata: first\n\n"), ctStream("data: second\n\n"), ctStop}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	hc := ctHTTP(t, transport.HTTPOptions{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	var opened transport.Opened
	resp, err := transport.Do(hc, req, &opened.Connect)
	if err != nil {
		t.Fatal(err)
	}
	opened.Resp = resp
	r := ctRun(t, &Client{Request: transport.Request{URL: srv.URL}, HTTP: hc, First: &opened})
	if got := ctData(r.events); fmt.Sprint(got) != "[first second]" {
		t.Fatalf("events %q", got)
	}
	reqs := sc.requests()
	if len(reqs) != 3 || reqs[1].Get("Last-Event-ID") != "1" {
		t.Fatalf("%d requests (want 3: First's, a reconnect, the 204), second with Last-Event-ID %q", len(reqs), reqs[1].Get("Last-Event-ID"))
	}
	if len(r.connects) != 2 || r.connects[0].Attempt != 0 || r.connects[0].Headers != opened.Connect.Headers || r.connects[1].Attempt != 1 {
		t.Fatalf("connects %+v", r.connects)
	}
}

// TestClientCancel checks that cancelling returns nil promptly, while
// waiting for headers, while reading, and while waiting to reconnect, and
// that the session's goroutines are gone afterwards.
func TestClientCancel(t *testing.T) { ctBothPaths(t, testClientCancel) }

func testClientCancel(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	tests := []struct {
		name   string
		step   http.HandlerFunc
		rc     transport.Reconnect
		cancel func(rec *transporttest.Recorder) bool
	}{
		{name: "before headers", step: ctHang, cancel: func(*transporttest.Recorder) bool { return true }},
		{name: "reading", step: ctSilent("data: a\n\n"), cancel: func(rec *transporttest.Recorder) bool {
			_, ev, _, _ := rec.Snapshot()
			return len(ev) == 1
		}},
		{name: "waiting to reconnect", step: ctStream("retry: 60000\ndata: a\n\n"), cancel: func(rec *transporttest.Recorder) bool {
			_, _, _, cl := rec.Snapshot()
			return len(cl) == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.step)
			defer srv.Close()
			hc := transport.NewHTTPClient(transport.HTTPOptions{})
			defer hc.CloseIdleConnections()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var rec transporttest.Recorder
			done := make(chan error, 1)
			c := &Client{Request: transport.Request{URL: srv.URL}, HTTP: hc, IdleTimeout: time.Minute, Lean: ctLean}
			go func() { done <- ctSession(ctx, c, &rec) }()
			transporttest.Eventually(t, 5*time.Second, "the session did not reach the state to cancel in", func() bool { return tt.cancel(&rec) })
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run after cancel: %v, want nil", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Run did not return within 1s of cancel")
			}
			_, _, _, closes := rec.Snapshot()
			for _, c := range closes[:max(len(closes)-1, 0)] {
				if !c.Reconnect {
					t.Errorf("close %+v before the last says no reconnect", c)
				}
			}
		})
	}
	goleak.VerifyNone(t, ignore)
}

// TestClientAllocsPerEvent shows that delivering an event allocates nothing
// once the session is warm: 10,000 more events cost no more allocations.
func TestClientAllocsPerEvent(t *testing.T) {
	ev := appendTickEvent(nil, 1_000_000, 1_700_000_000_000_000_000, 1_700_000_000_000_000_000, 0)
	run := func(n int) func() {
		return func() {
			c := &Client{First: ctOpened(ev, n), Reconnect: transport.Reconnect{Policy: transport.PolicyNever}, IdleTimeout: time.Minute}
			if err := c.Run(context.Background(), ctDiscard{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	small := testing.AllocsPerRun(5, run(100))
	large := testing.AllocsPerRun(5, run(10_100))
	if large-small > 1 {
		t.Errorf("%v allocations for 100 events, %v for 10,100: want no allocation per event", small, large)
	}
}

// ctOpened is a First response whose body repeats event n times.
func ctOpened(event []byte, n int) *transport.Opened {
	return &transport.Opened{Resp: &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {ContentType}},
		ContentLength: -1,
		Body:          io.NopCloser(&ctRepeat{chunk: event, left: len(event) * n}),
	}}
}

// ctRepeat reads chunk over and over, left bytes in all.
type ctRepeat struct {
	chunk     []byte
	off, left int
}

func (r *ctRepeat) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:min(len(p), n+r.left)], r.chunk[r.off:])
		n += c
		r.left -= c
		r.off = (r.off + c) % len(r.chunk)
	}
	return n, nil
}

// ctDiscard counts nothing and keeps nothing.
type ctDiscard struct{}

func (ctDiscard) Connected(*transport.Connect) {}
func (ctDiscard) Event(*transport.Event)       {}
func (ctDiscard) Exchange(*transport.Exchange) {}
func (ctDiscard) Error(*transport.Error)       {}
func (ctDiscard) Closed(*transport.Close)      {}
