package ws

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHijackRecorder: the wrapper keeps the hijacked connection and exposes
// the writer it wraps, through Unwrap, to http.ResponseController.
// Reads of the connection it returns pass a closeGuard.
func TestHijackRecorder(t *testing.T) {
	got := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &hijackRecorder{ResponseWriter: w}
		if rec.Unwrap() != w {
			t.Error("Unwrap does not return the wrapped writer")
		}
		c, _, err := rec.Hijack()
		if err != nil {
			t.Error(err)
			got <- false
			return
		}
		// The handler gets the connection behind a closeGuard; the
		// recorder keeps the raw one, for deadlines.
		gc, ok := c.(*guardedConn)
		got <- ok && c != nil && rec.conn == gc.Conn
		c.Close()
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	if !<-got {
		t.Fatal("hijacked connection not recorded")
	}
	srv.Client().CloseIdleConnections()
}
