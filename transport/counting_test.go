package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCountingDialer(t *testing.T) {
	body := strings.Repeat("x", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	tests := []struct {
		name     string
		requests int
		post     int // bytes of request body
	}{
		{"one GET", 1, 0},
		{"three GETs over one keep-alive connection", 3, 0},
		{"a POST counts its body", 1, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &CountingDialer{}
			hc := NewHTTPClient(HTTPOptions{})
			hc.Transport.(*http.Transport).DialContext = d.DialContext
			for range tt.requests {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader(strings.Repeat("y", tt.post)))
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			c := d.Counts()
			if c.Dialed != 1 || c.Peak != 1 || c.Open != 1 {
				t.Errorf("dialed %d, peak %d, open %d; want 1, 1, 1 (keep-alive)", c.Dialed, c.Peak, c.Open)
			}
			// Each response carries the body plus headers; each request its
			// body plus a request line and headers.
			if min := int64(tt.requests * (len(body) + 40)); c.Read < min {
				t.Errorf("read %d bytes, want at least %d", c.Read, min)
			}
			if min := int64(tt.requests * (tt.post + 40)); c.Written < min {
				t.Errorf("written %d bytes, want at least %d", c.Written, min)
			}
			hc.CloseIdleConnections()
			if c := d.Counts(); c.Open != 0 {
				t.Errorf("open %d after CloseIdleConnections, want 0", c.Open)
			}
		})
	}
}
