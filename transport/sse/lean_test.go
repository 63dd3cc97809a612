package sse

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// noHTTP fails every request: a lean session that reaches it did not take
// the lean path.
type noHTTP struct{}

func (noHTTP) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("net/http was used")
}

// TestLean runs sessions over the lean path against small servers: chunked
// and close-delimited bodies, a POST with its body, a host name (DNS timed),
// a source address, and the fallbacks to net/http (https, a redirect).
func TestLean(t *testing.T) {
	never := transport.Reconnect{Policy: transport.PolicyNever}
	type seen struct {
		method, body, accept, lastID, remote string
		length                               int64
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		req     func(url string) transport.Request
		lean    Lean
		useHTTP bool // the session must fall back to net/http
		events  []string
		check   func(t *testing.T, r ctResult, s seen)
	}{
		{
			name:    "chunked",
			handler: ctStream("id: 1\ndata: a\n\ndata: b\n\n"),
			events:  []string{"a", "b"},
			check: func(t *testing.T, r ctResult, s seen) {
				c := r.connects[0]
				if c.Status != 200 || c.Proto != "HTTP/1.1" || c.TCP <= 0 || c.Headers.Before(c.Start) || c.Header.Get("Content-Type") == "" {
					t.Errorf("connect %+v: want status, proto, TCP, headers time and header", c)
				}
				if s.method != http.MethodGet || s.accept != MediaType {
					t.Errorf("request %+v: want GET with Accept %s", s, MediaType)
				}
			},
		},
		{
			name: "close-delimited",
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, bw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: a\n\ndata: b\n\n")
				bw.Flush()
			},
			events: []string{"a", "b"},
		},
		{
			name:    "POST with a body",
			handler: ctStream("data: ok\n\n"),
			req: func(url string) transport.Request {
				return transport.Request{URL: url, Body: []byte(`{"x":1}`), Header: http.Header{"Last-Event-ID": {"7"}}}
			},
			events: []string{"ok"},
			check: func(t *testing.T, r ctResult, s seen) {
				if s.method != http.MethodPost || s.body != `{"x":1}` || s.length != 7 || s.lastID != "7" {
					t.Errorf("request %+v: want POST, Content-Length 7, the body, Last-Event-ID 7", s)
				}
			},
		},
		{
			name:    "host name",
			handler: ctStream("data: a\n\n"),
			req: func(url string) transport.Request {
				return transport.Request{URL: strings.Replace(url, "127.0.0.1", "localhost", 1)}
			},
			events: []string{"a"},
			check: func(t *testing.T, r ctResult, _ seen) {
				if r.connects[0].DNS <= 0 {
					t.Errorf("connect %+v: DNS not timed", r.connects[0])
				}
			},
		},
		{
			name:    "source address",
			handler: ctStream("data: a\n\n"),
			lean:    Lean{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}},
			events:  []string{"a"},
			check: func(t *testing.T, _ ctResult, s seen) {
				if !strings.HasPrefix(s.remote, "127.0.0.2:") {
					t.Errorf("request from %s, want 127.0.0.2", s.remote)
				}
			},
		},
		{
			name: "redirect falls back",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/final" {
					http.Redirect(w, r, "/final", http.StatusFound)
					return
				}
				ctStream("data: here\n\n")(w, r)
			},
			useHTTP: true,
			events:  []string{"here"},
			check: func(t *testing.T, r ctResult, _ seen) {
				if !strings.HasSuffix(r.connects[0].URL, "/final") {
					t.Errorf("connect URL %s, want the redirect's target", r.connects[0].URL)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var s seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				s = seen{method: r.Method, body: string(b), accept: r.Header.Get("Accept"), lastID: r.Header.Get("Last-Event-ID"), remote: r.RemoteAddr, length: r.ContentLength}
				mu.Unlock()
				tt.handler(w, r)
			}))
			defer srv.Close()
			req := transport.Request{URL: srv.URL + "/sse"}
			if tt.req != nil {
				req = tt.req(srv.URL + "/sse")
			}
			hc := &http.Client{Transport: noHTTP{}}
			if tt.useHTTP {
				hc = ctHTTP(t, transport.HTTPOptions{})
			}
			lean := tt.lean
			r := ctRun(t, &Client{Request: req, HTTP: hc, Reconnect: never, Lean: &lean})
			if r.err != nil || len(r.errs) != 0 {
				t.Fatalf("Run: %v, errors %v", r.err, r.errs)
			}
			if got := ctData(r.events); strings.Join(got, ",") != strings.Join(tt.events, ",") {
				t.Fatalf("events %q, want %q", got, tt.events)
			}
			if tt.check != nil {
				mu.Lock()
				defer mu.Unlock()
				tt.check(t, r, s)
			}
		})
	}
}

// TestLeanApplies: only plain http:// without a proxy takes the lean path.
func TestLeanApplies(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080/sse", true},
		{"https://127.0.0.1:8443/sse", false},
	} {
		req, err := http.NewRequest(http.MethodGet, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := leanApplies(req); got != tt.want {
			t.Errorf("leanApplies(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}
