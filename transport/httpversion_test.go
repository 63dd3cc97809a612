package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func protoHandler(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }

// tlsServer serves protoHandler over TLS with the server's protocols and
// ALPN list as given (nextProtos nil: the server takes part in no ALPN).
func tlsServer(t *testing.T, protos func(*http.Protocols), nextProtos []string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(protoHandler))
	var p http.Protocols
	protos(&p)
	srv.Config.Protocols = &p
	srv.EnableHTTP2 = p.HTTP2()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{NextProtos: nextProtos}
	srv.StartTLS()
	if nextProtos == nil { // a server that ignores ALPN: plain HTTP/1.1 over TLS
		srv.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{Certificates: srv.TLS.Certificates}
		hs := &http.Server{Handler: http.HandlerFunc(protoHandler), TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
		go hs.Serve(tls.NewListener(ln, cfg))
		t.Cleanup(func() { hs.Close() })
		return &httptest.Server{URL: "https://" + ln.Addr().String(), TLS: cfg}
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestHTTPVersion: what each HTTPOptions.Version speaks to servers of each
// kind, and the class of a mismatch.
func TestHTTPVersion(t *testing.T) {
	h1h2 := func(p *http.Protocols) { p.SetHTTP1(true); p.SetHTTP2(true) }
	h1 := func(p *http.Protocols) { p.SetHTTP1(true) }
	h2only := func(p *http.Protocols) { p.SetHTTP2(true) }
	servers := map[string]*httptest.Server{
		"h1+h2 over TLS":   tlsServer(t, h1h2, []string{"h2", "http/1.1"}),
		"h1 over TLS":      tlsServer(t, h1, []string{"http/1.1"}),
		"h2 only over TLS": tlsServer(t, h2only, []string{"h2"}),
		"TLS without ALPN": tlsServer(t, h1, nil),
	}
	h2c := httptest.NewUnstartedServer(http.HandlerFunc(protoHandler))
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h2c.Config.Protocols = &p
	h2c.Start()
	t.Cleanup(h2c.Close)
	servers["h1 + h2c"] = h2c

	for _, tc := range []struct {
		server  string
		version HTTPVersion
		want    string // the protocol the server saw, or the error class
	}{
		{"h1+h2 over TLS", HTTPAuto, "HTTP/2.0"},
		{"h1+h2 over TLS", HTTP1, "HTTP/1.1"},
		{"h1+h2 over TLS", HTTP2, "HTTP/2.0"},
		{"h1 over TLS", HTTPAuto, "HTTP/1.1"},
		{"h1 over TLS", HTTP2, string(ClassHTTPVersion)},
		{"h2 only over TLS", HTTPAuto, "HTTP/2.0"},
		// Go's TLS lets a client that offers http/1.1 alone in without ALPN,
		// and its HTTP/2-only server then hangs up: nothing names the
		// version (Node's answers 403, TestRefusedHTTP1).
		{"h2 only over TLS", HTTP1, string(ClassOther)},
		{"TLS without ALPN", HTTPAuto, "HTTP/1.1"},
		{"TLS without ALPN", HTTP2, string(ClassHTTPVersion)},
		{"h1 + h2c", HTTPAuto, "HTTP/1.1"},
		{"h1 + h2c", HTTP1, "HTTP/1.1"},
		{"h1 + h2c", HTTP2, "HTTP/2.0"},
	} {
		t.Run(tc.server+"/"+tc.version.String(), func(t *testing.T) {
			srv := servers[tc.server]
			c := NewHTTPClient(HTTPOptions{Insecure: true, Version: tc.version})
			defer c.CloseIdleConnections()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			var conn Connect
			resp, err := Do(c, req, &conn)
			got := ""
			if err != nil {
				got = string(Classify(err))
				if tc.want == string(ClassHTTPVersion) && !strings.Contains(err.Error(), "drop --http") {
					t.Errorf("error %q does not say which flag to drop", err)
				}
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got = string(b)
				if conn.Proto != got {
					t.Errorf("Connect.Proto %q, the server saw %q", conn.Proto, got)
				}
			}
			if got != tc.want {
				t.Errorf("got %s (%v), want %s", got, err, tc.want)
			}
		})
	}
}

// TestRefusedHTTP1: Node's http2 module without allowHTTP1 answers an
// HTTP/1.1 request over TLS with 403 "Missing ALPN Protocol"; that is
// http_version. Another 403 is passed on with its body whole.
func TestRefusedHTTP1(t *testing.T) {
	body := "Missing ALPN Protocol, expected `h2` to be available.\nIf this is a HTTP request: ..."
	for _, tc := range []struct {
		body  string
		class Class
	}{{body, ClassHTTPVersion}, {strings.Repeat("forbidden ", 100), ""}} {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, tc.body)
		}))
		s.TLS = &tls.Config{NextProtos: []string{}} // answer without ALPN, as Node does
		s.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		s.StartTLS()
		c := NewHTTPClient(HTTPOptions{Insecure: true, Version: HTTP1})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL, nil)
		resp, err := Do(c, req, &Connect{})
		if tc.class != "" {
			if Classify(err) != tc.class || !strings.Contains(err.Error(), "speaks HTTP/2 only; drop --http1.1") || !strings.Contains(err.Error(), "Missing ALPN Protocol") {
				t.Errorf("err %v, want %s naming the flag", err, tc.class)
			}
		} else {
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tc.body {
				t.Errorf("body %d bytes, want the %d sent", len(b), len(tc.body))
			}
		}
		c.CloseIdleConnections()
		s.Close()
	}
}

// TestRefusedHTTP1Early: Node writes its 403 as soon as the TLS handshake
// chose no protocol, before reading a request; whether net/http reads it as
// the answer or as one that came before the request, it is http_version.
func TestRefusedHTTP1Early(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS() // for its certificate
	srv.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: srv.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nMissing ALPN Protocol, expected `h2` to be available.\n")
			}()
		}
	}()
	for range 5 {
		c := NewHTTPClient(HTTPOptions{Insecure: true, Version: HTTP1})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+ln.Addr().String()+"/sse", nil)
		if _, err := Do(c, req, &Connect{}); Classify(err) != ClassHTTPVersion || !strings.Contains(err.Error(), "drop --http1.1") {
			t.Errorf("err %v (%s), want http_version naming --http1.1", err, Classify(err))
		}
		c.CloseIdleConnections()
	}
}

// TestWireCounter: a client with a WireCounter counts its dials and its
// HTTP/2 streams; HTTP/1.1 answers are no streams.
func TestWireCounter(t *testing.T) {
	srv := tlsServer(t, func(p *http.Protocols) { p.SetHTTP1(true); p.SetHTTP2(true) }, []string{"h2", "http/1.1"})
	for _, tc := range []struct {
		version HTTPVersion
		streams int64
	}{{HTTPAuto, 5}, {HTTP1, 0}} {
		var w WireCounter
		c := NewHTTPClient(HTTPOptions{Insecure: true, Version: tc.version, Wire: &w})
		for range 5 {
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.CloseIdleConnections()
		if got := w.Counts(); got.Dialed != 1 || got.Peak != 1 || got.Streams != tc.streams {
			t.Errorf("%v: counts %+v, want 1 dial, peak 1, %d streams", tc.version, got, tc.streams)
		}
	}
}

func TestHTTPVersionErrorsAreUnreachable(t *testing.T) {
	if !ClassHTTPVersion.Unreachable() {
		t.Error("http_version is not a failure to reach the target")
	}
	if !errors.Is(h2OnlyErr(), ErrNotHTTP2) {
		t.Error("h2Only's error does not wrap ErrNotHTTP2")
	}
}

func h2OnlyErr() error {
	return (&Error{Class: ClassHTTPVersion, Err: ErrNotHTTP2})
}
