package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScheme(t *testing.T) {
	tests := []struct {
		url     string
		ws      bool
		errPart string
	}{
		{"http://127.0.0.1:8080/sse", false, ""},
		{"https://example.com/x", false, ""},
		{"ws://127.0.0.1/ws", true, ""},
		{"wss://example.com/ws", true, ""},
		{"127.0.0.1:8080/sse", false, "scheme"},
		{"localhost/sse", false, "no scheme: write http://localhost/sse"},
		{"ftp://x/y", false, `scheme "ftp" is not supported`},
		{"http://", false, "no host"},
		{"http://%zz", false, "URL"},
	}
	for _, tt := range tests {
		p, err := Scheme(tt.url)
		if tt.errPart == "" {
			if err != nil || (p != nil) != tt.ws || (p != nil && p.Name != "ws") {
				t.Errorf("Scheme(%q) = %v, %v; want ws %v, nil", tt.url, p, err, tt.ws)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("Scheme(%q) error %v, want one containing %q", tt.url, err, tt.errPart)
		}
	}
}

func TestDetect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != Accept {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		ct := r.URL.Query().Get("ct")
		w.Header().Set("Content-Type", ct)
		io.WriteString(w, "x")
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		ct      string
		body    []byte
		method  string
		want    string
		wantOne bool
	}{
		{"event stream", "text/event-stream", nil, "", "sse", false},
		{"event stream with charset and ;", "text/event-stream; charset=utf-8;", nil, "", "sse", false},
		{"POST answered with a stream is AI", "text/event-stream", []byte(`{}`), "", "ai", false},
		{"JSON is polling", "application/json", nil, "", "poll", false},
		{"anything else is polling", "text/plain", nil, "", "poll", false},
		{"POST answered with JSON is shown once", "application/json", []byte(`{}`), "", "poll", true},
		{"DELETE is shown once", "application/json", nil, "DELETE", "poll", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := transport.Request{URL: srv.URL + "/?ct=" + url.QueryEscape(tt.ct), Body: tt.body, Method: tt.method}
			res, err := Detect(t.Context(), srv.Client(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Opened.Resp.Body.Close()
			if res.Protocol.Name != tt.want || res.Once != tt.wantOne {
				t.Errorf("got %v once=%v, want %v once=%v", res.Protocol.Name, res.Once, tt.want, tt.wantOne)
			}
			if res.Opened.Connect.Status != 200 || res.Opened.Connect.Headers.IsZero() {
				t.Errorf("connect not filled: %+v", res.Opened.Connect)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		_, err := Detect(t.Context(), http.DefaultClient, transport.Request{URL: deadURL})
		if te := transport.AsError(err); te.Class != transport.ClassRefused || !te.Class.Unreachable() {
			t.Fatalf("error %v (class %s), want conn_refused", err, te.Class)
		}
	})
	t.Run("ws needs no request", func(t *testing.T) {
		res, err := Detect(t.Context(), nil, transport.Request{URL: "ws://127.0.0.1:1/ws"})
		if err != nil || res.Protocol != &ws.Protocol || res.Opened != nil {
			t.Fatalf("%+v %v", res, err)
		}
	})
}
