package ws

import (
	"bufio"
	"net"
	"net/http"
)

// hijackRecorder wraps the ResponseWriter given to websocket.Accept so that
// the raw net.Conn of the upgraded connection is kept: per-write deadlines
// are set on it directly, because a context with a Done channel passed to
// Conn.Write costs coder/websocket a context.AfterFunc per frame.
//
// Reads go through a closeGuard (closeguard.go).
//
// Accept finds the Hijacker on the outermost writer first; Unwrap lets
// anything else (http.ResponseController, middleware) see the writer below.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (w *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	w.conn = c
	gc, gbrw := guard(c, brw)
	return gc, gbrw, nil
}

func (w *hijackRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
