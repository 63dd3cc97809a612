package mock_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// peekThenStall is a server-side connection whose read deadline passes
// right after its first read, as when the serving process stalls past its
// ReadHeaderTimeout between two reads of one request.
type peekThenStall struct {
	net.Conn
	reads int
}

func (c *peekThenStall) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.reads++; c.reads == 1 {
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
	return n, err
}

type stallListener struct{ net.Listener }

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &peekThenStall{Conn: c}, nil
}

// TestH2CPeekThenHeaderDeadline shows, on net/http itself, why a serving
// process that stalls past its header timeout answers a valid HTTP/1.1
// request with 400 (docs/BENCHMARKS.md, the 100,000-session runs): with
// h2c on, the server first reads only the 14 bytes of the h2c preface, so
// the request is split over two reads, and a deadline passing between them
// is answered "400 Bad Request". Without h2c the first read takes the
// whole request and the same stall is harmless.
func TestH2CPeekThenHeaderDeadline(t *testing.T) {
	for _, tc := range []struct {
		h2c  bool
		want int
	}{{h2c: true, want: http.StatusBadRequest}, {h2c: false, want: http.StatusOK}} {
		t.Run(fmt.Sprintf("h2c=%v", tc.h2c), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var p http.Protocols
			p.SetHTTP1(true)
			p.SetUnencryptedHTTP2(tc.h2c)
			srv := &http.Server{Protocols: &p, ReadHeaderTimeout: time.Minute,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
			done := make(chan struct{})
			go func() { defer close(done); srv.Serve(stallListener{ln}) }()
			defer func() { srv.Close(); <-done }()

			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// One write: the whole request is in the server's socket
			// before its first read.
			if _, err := fmt.Fprint(c, "GET /ws?rate=0.05 HTTP/1.1\r\nHost: t\r\nUser-Agent: t\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tc.want == http.StatusOK && err != nil {
				t.Fatalf("without h2c the stall after the first read lost the request: %v", err)
			}
			if err != nil || resp.StatusCode != tc.want {
				t.Fatalf("answer %v %v, want %d", resp, err, tc.want)
			}
			resp.Body.Close()
		})
	}
}
