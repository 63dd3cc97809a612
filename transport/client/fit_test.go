package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// TestOpenFit: what detection must refuse before any session runs: a page
// that is neither an event stream nor JSON, an error answer (its body
// quoted on the same line); and what it must let through.
func TestOpenFit(t *testing.T) {
	tests := []struct {
		name, ct, body string
		status         int
		mode           string
		class          transport.Class
		want           []string // in the error's one line
		proto          string   // when it fits
	}{
		{"html page", "text/html; charset=utf-8", "<html>hi</html>", 200, "", transport.ClassBadContentType, []string{"answered text/html", "neither an event stream nor JSON", "--mode poll"}, ""},
		{"image", "image/png", "\x89PNG\r\n", 200, "", transport.ClassBadContentType, []string{"answered image/png", "--mode poll"}, ""},
		{"plain text", "text/plain", "ok", 200, "", transport.ClassBadContentType, []string{"answered text/plain"}, ""},
		{"json 401", "application/json", "{\"error\":\"invalid\ntoken\"}", 401, "", transport.ClassHTTP4xx, []string{`HTTP 401 Unauthorized: {"error":"invalid token"}`}, ""},
		{"json 503", "application/json", `{"error":"down"}`, 503, "", transport.ClassHTTP5xx, []string{`HTTP 503 Service Unavailable: {"error":"down"}`}, ""},
		{"html 404", "text/html", "<h1>Not\x1b[31m Found</h1>", 404, "", transport.ClassHTTP4xx, []string{"HTTP 404 Not Found: <h1>Not[31m Found</h1>"}, ""},
		{"binary 500", "application/octet-stream", "\x00\x01", 500, "", transport.ClassHTTP5xx, []string{"HTTP 500 Internal Server Error"}, ""},
		{"json", "application/json", `{"ok":true}`, 200, "", "", nil, "poll"},
		{"problem+json", "application/problem+json", `{}`, 200, "", "", nil, "poll"},
		{"untyped", "", `{"ok":true}`, 200, "", "", nil, "poll"},
		{"event stream", "text/event-stream", "data: x\n\n", 200, "", "", nil, "sse"},
		{"forced poll", "text/html", "<html></html>", 200, "poll", "", nil, "poll"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.ct}
				if tt.ct == "" {
					w.Header()["Content-Type"] = nil
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := transport.NewHTTPClient(transport.HTTPOptions{})
			defer c.CloseIdleConnections()
			d, err := Open(context.Background(), c, transport.Request{URL: srv.URL + "/x?token=secret"}, tt.mode)
			if tt.class == "" {
				if err != nil || d.Protocol.Name != tt.proto {
					t.Fatalf("Open: %v, %v; want %s", d, err, tt.proto)
				}
				if d.Opened != nil {
					d.Opened.Resp.Body.Close()
				}
				return
			}
			e, ok := err.(*transport.Error)
			if !ok || e.Class != tt.class || !e.Fatal {
				t.Fatalf("Open: %v (%T); want a fatal %s", err, err, tt.class)
			}
			msg := e.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.ContainsAny(msg, "\n\x1b") || strings.Contains(msg, "secret") {
				t.Errorf("%q: not one safe line", msg)
			}
		})
	}
}
