package poll

import (
	"bytes"
	"flag"
	"github.com/rtbench/rtbench/transport/transporttest"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	transporttest.Golden(t, name, got, *update)
}

// mux routes to h the way the mock server does.
func mux(h *Handler) *http.ServeMux {
	m := http.NewServeMux()
	h.Register(m)
	return m
}

// req builds a request; hdr is name, value pairs, an empty value left out.
func req(method, target string, body string, hdr ...string) *http.Request {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, bytes.NewBufferString(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			r.Header.Add(hdr[i], hdr[i+1])
		}
	}
	return r
}

// serve runs r through h to completion.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// pending is a request served on its own goroutine, so a test can check
// that it is held and see when it is answered. Used inside a synctest
// bubble, where "held" means durably blocked and times are exact.
type pending struct {
	rec  *httptest.ResponseRecorder
	done chan struct{}
	at   time.Time // when the handler returned
}

func start(h http.Handler, r *http.Request) *pending {
	p := &pending{rec: httptest.NewRecorder(), done: make(chan struct{})}
	go func() {
		h.ServeHTTP(p.rec, r)
		p.at = time.Now()
		close(p.done)
	}()
	return p
}

// answered reports whether the handler has returned.
func (p *pending) answered() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// result waits for the answer; inside a bubble fake time runs meanwhile.
func (p *pending) result() *httptest.ResponseRecorder {
	<-p.done
	return p.rec
}
