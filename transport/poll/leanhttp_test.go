package poll

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// readOne reads one response from raw with the lean reader.
func readOne(raw, method string, limit int) (respHead, []byte, error) {
	rr := respReader{rd: strings.NewReader(raw), buf: make([]byte, 16)} // small: every path that grows or refills runs
	var h respHead
	if err := rr.readHead(&h); err != nil {
		return h, nil, err
	}
	body, err := rr.readBody(&h, method, nil, limit)
	return h, body, err
}

// TestLeanResponses: well-formed answers, each read as net/http reads it.
func TestLeanResponses(t *testing.T) {
	tests := []struct {
		name, raw string
		method    string
		status    int
		body      string
		close     bool
		etag      string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"a\"\r\n\r\nhello", "GET", 200, "hello", false, `"a"`},
		{"lf-only", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", "GET", 200, "hi", false, ""},
		{"no-reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "GET", 200, "", false, ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n", "GET", 200, "hello world", false, ""},
		{"chunked-wins-over-length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", "GET", 200, "hi", false, ""},
		{"read-to-close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", "GET", 200, "until the end", true, ""},
		{"connection-close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", true, ""},
		{"http-1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", true, ""},
		{"http-1.0-keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", false, ""},
		{"304-ignores-length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"b\"\r\n\r\n", "GET", 304, "", false, `"b"`},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", 200, "", false, ""},
		{"100-continue-skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", "POST", 201, "x", false, ""},
		{"same-length-twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", false, ""},
		{"case-and-space", "HTTP/1.1 200 OK\r\ncontent-length:   3  \r\netag:\t\"c\"\r\n\r\nabc", "GET", 200, "abc", false, `"c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := readOne(tt.raw, tt.method, 1<<20)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if h.status != tt.status || string(body) != tt.body || h.close != tt.close || string(h.etag) != tt.etag {
				t.Errorf("status %d body %q close %v etag %q; want %d %q %v %q", h.status, body, h.close, h.etag, tt.status, tt.body, tt.close, tt.etag)
			}
			if tt.status/100 == 1 || h.status == 201 && tt.method == "POST" {
				return // net/http's reader returns the 100 (its Transport skips it)
			}
			// net/http agrees.
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tt.raw)), &http.Request{Method: tt.method})
			if err != nil {
				t.Fatalf("net/http: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != h.status || string(b) != string(body) || resp.Close != h.close {
				t.Errorf("net/http: status %d body %q close %v", resp.StatusCode, b, resp.Close)
			}
		})
	}
}

// TestLeanMalformed: answers the lean reader refuses, each with the error
// that says what was wrong.
func TestLeanMalformed(t *testing.T) {
	tests := []struct {
		name, raw string
		limit     int
		want      error  // errors.Is
		msg       string // in the message
	}{
		{"empty", "", 0, io.EOF, "EOF"},
		{"cut-in-status", "HTTP/1.1 20", 0, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"cut-in-headers", "HTTP/1.1 200 OK\r\nContent-Le", 0, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"not-http", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, errMalformed, "status line"},
		{"http-2", "HTTP/2 200\r\n\r\n", 0, errMalformed, "status line"},
		{"http-1.2", "HTTP/1.2 200 OK\r\n\r\n", 0, errMalformed, "status line"},
		{"letters-in-code", "HTTP/1.1 2x0 OK\r\n\r\n", 0, errMalformed, "status code"},
		{"code-below-100", "HTTP/1.1 099 Low\r\n\r\n", 0, errMalformed, "status code"},
		{"four-digit-code", "HTTP/1.1 2000 OK\r\n\r\n", 0, errMalformed, "status line"},
		{"no-colon", "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\n", 0, errMalformed, "no colon"},
		{"space-in-name", "HTTP/1.1 200 OK\r\nContent Length: 5\r\n\r\n", 0, errMalformed, "header name"},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n", 0, errMalformed, "line folding"},
		{"control-in-value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", 0, errMalformed, "control character"},
		{"negative-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, errMalformed, "Content-Length"},
		{"huge-length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, errMalformed, "Content-Length"},
		{"two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 0, errMalformed, "two different Content-Length"},
		{"gzip-transfer-coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, errMalformed, "Transfer-Encoding"},
		{"two-transfer-codings", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, errMalformed, "Transfer-Encoding"},
		{"switching-protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, errMalformed, "101"},
		{"body-short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"length-over-limit", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 5, errBodyTooLarge, "larger than the limit"},
		{"close-body-over-limit", "HTTP/1.1 200 OK\r\n\r\n0123456789", 5, errBodyTooLarge, "larger than the limit"},
		{"chunk-size-not-hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, errMalformed, "chunk size"},
		{"chunk-size-empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 0, errMalformed, "chunk size"},
		{"chunk-size-huge", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 0, errMalformed, "chunk size"},
		{"chunk-longer-than-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", 0, errMalformed, "longer than its size"},
		{"chunk-bare-lf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n", 0, errMalformed, "bare LF"},
		{"te-in-http-1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, errMalformed, "HTTP/1.0"},
		{"chunked-cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"chunked-no-last-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", 0, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"chunks-over-limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n", 6, errBodyTooLarge, "larger than the limit"},
		{"head-too-large", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", LeanMaxHead) + "\r\n\r\n", 0, errMalformed, "headers larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readOne(tt.raw, "GET", cmp.Or(tt.limit, 1<<20))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v; want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

// cannedConn is a connection to a server that answers each request with
// resp, without a goroutine: a Write queues the answer that Read returns.
type cannedConn struct {
	net.Conn // nil: the methods below are all a session calls
	resp     []byte
	pending  []byte
	reqs     int
}

func (c *cannedConn) Write(p []byte) (int, error) {
	c.reqs++
	c.pending = c.resp
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *cannedConn) SetDeadline(time.Time) error { return nil }
func (c *cannedConn) Close() error                { return nil }

// leanSession is a session on the lean path whose connection is c.
func leanSession(t testing.TB, c *Client, conn net.Conn, obs transport.Observer) *session {
	t.Helper()
	c.Lean = &Lean{}
	s, err := c.newSession(obs)
	if err != nil {
		t.Fatal(err)
	}
	if s.lean == nil {
		t.Fatal("the lean path does not apply")
	}
	s.lean.setConn(conn)
	return s
}

func sender(t *testing.T, text string) *transport.Sender {
	tpl, err := transport.ParseSendTemplate(text, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return transport.NewSender([]*transport.SendTemplate{tpl}, 0)
}

// TestLeanApplies: which sessions take the lean path.
func TestLeanApplies(t *testing.T) {
	t.Setenv("HTTP_PROXY", "")
	tests := []struct {
		name string
		c    Client
		want bool
	}{
		{"http", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x"}, Lean: &Lean{}}, true},
		{"post-body", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x", Body: []byte("{}")}, Lean: &Lean{}}, true},
		{"not-asked", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x"}}, false},
		{"https", Client{Request: transport.Request{URL: "https://127.0.0.1:1/x"}, Lean: &Lean{}}, false},
		{"shared-client", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x"}, HTTP: &http.Client{}, Lean: &Lean{}}, false},
		{"h2c", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x"}, HTTPOptions: transport.HTTPOptions{Version: transport.HTTP2}, Lean: &Lean{}}, false},
		{"proxy", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x"}, HTTPOptions: transport.HTTPOptions{Proxy: http.ProxyFromEnvironment}, Lean: &Lean{}}, false},
		{"userinfo", Client{Request: transport.Request{URL: "http://u:p@127.0.0.1:1/x"}, Lean: &Lean{}}, false},
		{"send", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x", Send: sender(t, "hello {{seq}}")}, Lean: &Lean{}}, false},
		{"bad-header", Client{Request: transport.Request{URL: "http://127.0.0.1:1/x", Header: http.Header{"X-A": {"a\r\nb"}}}, Lean: &Lean{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.c.newSession(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.lean != nil; got != tt.want {
				t.Errorf("lean %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLeanRequestBytes: the request the lean path writes, conditional
// headers and since=/wait= included, is what net/http would send.
func TestLeanRequestBytes(t *testing.T) {
	c := &Client{Request: transport.Request{URL: "http://example.test:8080/poll?a=1&wait=9s#frag",
		Header: http.Header{"Accept": {"application/json"}, "X-Trace": {"1", "2"}}}, LongPoll: 5 * time.Second}
	s := leanSession(t, c, &cannedConn{}, nil)
	got := string(s.lean.request(s))
	want := "GET /poll?a=1 HTTP/1.1\r\nHost: example.test:8080\r\nAccept: application/json\r\nUser-Agent: Go-http-client/1.1\r\nX-Trace: 1\r\nX-Trace: 2\r\n\r\n"
	if got != want {
		t.Errorf("first request\n%q\nwant\n%q", got, want)
	}
	s.etag, s.lastMod, s.haveState, s.since, s.hasSince = `"e1"`, "Sun, 06 Dec 2026 12:00:00 GMT", true, 42, true
	got = string(s.lean.request(s))
	want = "GET /poll?a=1&since=42&wait=5s HTTP/1.1\r\nHost: example.test:8080\r\nAccept: application/json\r\nUser-Agent: Go-http-client/1.1\r\nX-Trace: 1\r\nX-Trace: 2\r\n" +
		"If-None-Match: \"e1\"\r\nIf-Modified-Since: Sun, 06 Dec 2026 12:00:00 GMT\r\n\r\n"
	if got != want {
		t.Errorf("long poll\n%q\nwant\n%q", got, want)
	}
	// net/http reads it as the same request.
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(got)))
	if err != nil || r.URL.RawQuery != "a=1&since=42&wait=5s" || r.Header.Get("If-None-Match") != `"e1"` || r.Host != "example.test:8080" {
		t.Errorf("net/http reads %+v, %v", r, err)
	}
	p := &Client{Request: transport.Request{URL: "http://h/jobs", Body: []byte(`{"n":1}`)}}
	ps := leanSession(t, p, &cannedConn{}, nil)
	if got, want := string(ps.lean.request(ps)), "POST /jobs HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 7\r\n\r\n{\"n\":1}"; got != want {
		t.Errorf("POST\n%q\nwant\n%q", got, want)
	}
}

// BenchmarkLeanExchange: one poll on the lean path, request built and
// written, answer parsed and reported, without the network: 0 allocs/op
// for a 200 whose ETag changes nothing and for a 304, and for a chunked
// answer whose body is the same each time.
func BenchmarkLeanExchange(b *testing.B) {
	for _, bc := range []struct{ name, resp string }{
		{"200-same-etag", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"7\"\r\nDate: Sun, 06 Dec 2026 12:00:00 GMT\r\nContent-Length: 29\r\n\r\n{\"status\":\"ok\",\"uptime_s\":1}\n"},
		{"304", "HTTP/1.1 304 Not Modified\r\nETag: \"7\"\r\nDate: Sun, 06 Dec 2026 12:00:00 GMT\r\n\r\n"},
		{"200-chunked-no-etag", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1d\r\n{\"status\":\"ok\",\"uptime_s\":1}\n\r\n0\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			conn := &cannedConn{resp: []byte(bc.resp)}
			s := leanSession(b, &Client{Request: transport.Request{URL: "http://127.0.0.1:8080/healthz"}, ClosedLoop: true}, conn, &counter{n: -1})
			s.etag = `"7"`
			s.open = true
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if r := s.leanExchange(ctx, time.Now()); r.kind != resOK {
					b.Fatalf("result %v: %v", r.kind, s.er.Err)
				}
			}
			if conn.reqs < b.N {
				b.Fatalf("%d requests for %d exchanges", conn.reqs, b.N)
			}
		})
	}
}

// TestLeanExchangeAllocs holds BenchmarkLeanExchange's claim as a test.
func TestLeanExchangeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	conn := &cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nETag: \"7\"\r\nContent-Length: 2\r\n\r\n{}")}
	s := leanSession(t, &Client{Request: transport.Request{URL: "http://127.0.0.1:8080/x"}, ClosedLoop: true}, conn, &counter{n: -1})
	s.etag, s.open = `"7"`, true
	ctx := context.Background()
	s.leanExchange(ctx, time.Now()) // buffers grow once
	if n := testing.AllocsPerRun(100, func() { s.leanExchange(ctx, time.Now()) }); n != 0 {
		t.Errorf("%v allocations per exchange, want 0", n)
	}
}

// FuzzLeanResponse: whatever the bytes, the lean reader neither panics nor
// reads past its limit, and whatever it accepts net/http reads the same:
// status, body and whether the connection closes.
func FuzzLeanResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"a\"\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 304 Not Modified\r\nETag: \"b\"\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nrest",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add(s, uint16(64))
	}
	f.Fuzz(func(t *testing.T, raw string, limit uint16) {
		lim := int(limit) + 1
		h, body, err := readOne(raw, "GET", lim)
		if len(body) > lim+leanReadBuffer {
			t.Fatalf("read %d bytes past a limit of %d", len(body), lim)
		}
		if err != nil {
			return
		}
		resp, herr := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: "GET"})
		if herr != nil {
			t.Fatalf("lean accepted status %d body %q; net/http refused: %v", h.status, body, herr)
		}
		if resp.StatusCode/100 == 1 {
			return // an interim answer: net/http's Transport skips it, as the lean reader does
		}
		hb, herr := io.ReadAll(resp.Body)
		if herr != nil {
			t.Fatalf("lean read body %q; net/http: %v", body, herr)
		}
		if resp.StatusCode != h.status || !bytes.Equal(hb, body) || resp.Close != h.close {
			t.Fatalf("lean: %d %q close %v; net/http: %d %q close %v", h.status, body, h.close, resp.StatusCode, hb, resp.Close)
		}
	})
}
