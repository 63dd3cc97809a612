package fault

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	if fw := Of(w); fw != nil {
		w.Header().Set("X-Fault-Seen", "1")
	}
	io.Copy(io.Discard, r.Body)
	w.Write([]byte("ok"))
})

func serve(in http.Handler, target string, hdr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if hdr != "" {
		r.Header.Set(Header, hdr)
	}
	w := httptest.NewRecorder()
	in.ServeHTTP(w, r)
	return w
}

func TestInjectorHTTPFaults(t *testing.T) {
	in := New(ok, Options{})
	tests := []struct {
		target, hdr string
		status      int
		check       func(*httptest.ResponseRecorder) bool
	}{
		{"/sse", "", 200, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("X-Fault-Seen") == "" }},
		{"/sse?fault=none", "", 200, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("X-Fault-Seen") == "" }},
		{"/sse?fault=status:503", "", 503, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Retry-After") == "1" }},
		{"/sse?fault=status:429:9", "", 429, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Retry-After") == "9" }},
		{"/sse?rate=5&fault=status:302", "", 302, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("Location") == "/sse?rate=5" }},
		{"/sse?fault=status:204", "", 204, func(w *httptest.ResponseRecorder) bool { return w.Body.Len() == 0 }},
		{"/sse", "status:404", 404, func(w *httptest.ResponseRecorder) bool { return strings.Contains(w.Body.String(), "fault injected") }},
		{"/sse?fault=content-type:text/html", "", 200, func(w *httptest.ResponseRecorder) bool {
			return w.Header().Get("Content-Type") == "text/html" && w.Header().Get("X-Fault-Seen") == "1"
		}},
		{"/sse?fault=line:cr", "", 200, func(w *httptest.ResponseRecorder) bool { return w.Header().Get("X-Fault-Seen") == "1" }},
		{"/sse?fault=stall:x", "", 400, func(w *httptest.ResponseRecorder) bool {
			return strings.Contains(w.Body.String(), `fault \"stall:x\"`)
		}},
		{"/sse", "bogus", 400, func(w *httptest.ResponseRecorder) bool { return strings.Contains(w.Body.String(), "unknown fault") }},
	}
	for _, tt := range tests {
		t.Run(tt.target+" "+tt.hdr, func(t *testing.T) {
			w := serve(in, tt.target, tt.hdr)
			if w.Code != tt.status || !tt.check(w) {
				t.Fatalf("status %d headers %v body %q", w.Code, w.Header(), w.Body)
			}
		})
	}
}

// TestNoFaultAllocs: a request naming no fault costs the middleware nothing.
func TestNoFaultAllocs(t *testing.T) {
	in := New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), Options{})
	r := httptest.NewRequest("GET", "/sse?rate=10", nil)
	if n := testing.AllocsPerRun(100, func() { in.ServeHTTP(nil, r) }); n != 0 {
		t.Fatalf("%v allocations per request without a fault", n)
	}
}

// TestRate: the default applies to an exact, seeded share of requests,
// never to /healthz, and not to requests that name their own faults.
func TestRate(t *testing.T) {
	def, _ := Parse("status:503")
	in := New(ok, Options{Default: def, Rate: 0.1, Seed: 42})
	count := func() int {
		n := 0
		for range 1000 {
			if serve(in, "/poll", "").Code == 503 {
				n++
			}
		}
		return n
	}
	first := count()
	if first != 110 { // fixed by the seed
		t.Fatalf("%d of 1000 requests got the default, want 110 with seed 42", first)
	}
	in = New(ok, Options{Default: def, Rate: 0.1, Seed: 42})
	if again := count(); again != first {
		t.Fatalf("same seed gave %d, then %d", first, again)
	}
	in = New(ok, Options{Default: def})
	for _, target := range []string{"/healthz", "/metrics", "/", "/poll?fault=none"} {
		if c := serve(in, target, "").Code; c != 200 {
			t.Errorf("%s: %d, want the default not applied", target, c)
		}
	}
	if c := serve(in, "/poll", "").Code; c != 503 {
		t.Errorf("rate 0 (every request): %d", c)
	}
}

// TestDelay: the handler, and so the headers, wait for the delay; a client
// that leaves ends the wait.
func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := New(ok, Options{})
		start := time.Now()
		w := serve(in, "/x?fault=delay:3s", "")
		if w.Code != 200 || time.Since(start) != 3*time.Second {
			t.Fatalf("status %d after %v", w.Code, time.Since(start))
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest("GET", "/x?fault=delay:1h", nil).WithContext(ctx)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { in.ServeHTTP(rec, r); close(done) }()
		synctest.Wait()
		cancel()
		<-done
		if rec.Body.Len() != 0 || time.Since(start) != 3*time.Second {
			t.Fatalf("delay not cut short: body %q", rec.Body)
		}
	})
}

// TestSlowRead: the body arrives in SlowReadChunk pieces, each after the wait.
func TestSlowRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got int
		in := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 4096)
			for {
				n, err := r.Body.Read(buf)
				got += n
				if err != nil {
					return
				}
			}
		}), Options{})
		r := httptest.NewRequest("POST", "/v1/messages?fault=slow-read:10ms", strings.NewReader(strings.Repeat("x", 2048)))
		start := time.Now()
		in.ServeHTTP(httptest.NewRecorder(), r)
		// 4 reads of 512 bytes, then the read that sees EOF: 5 waits.
		if got != 2048 || time.Since(start) != 50*time.Millisecond {
			t.Fatalf("read %d bytes in %v", got, time.Since(start))
		}
	})
}

// TestReset: reset answers with a TCP RST, which a raw client sees as
// ECONNRESET instead of a response or a clean EOF.
func TestReset(t *testing.T) {
	srv := httptest.NewServer(New(ok, Options{}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /x?fault=reset HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err = io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v, want ECONNRESET", err)
	}
}

func TestCanonicalHeader(t *testing.T) {
	if http.CanonicalHeaderKey(Header) != canonicalHeader {
		t.Fatal(http.CanonicalHeaderKey(Header))
	}
}
