package transport

import (
	"net/http"
	"sync"
)

// HandshakeBuffer is the read and write buffer of the HTTP connection a
// WebSocket handshake on coder/websocket goes over: the read buffer stays
// under the WebSocket for the life of the connection, so it is kept small
// (net/http's is 4 KiB, which 5,000 held sessions pay 20 MiB for).
const HandshakeBuffer = 512

// handshakeTransports maps each *http.Transport to its clone with
// HandshakeBuffer-sized buffers, made once and shared by every session.
var handshakeTransports sync.Map

// HandshakeTransport returns rt for dialling WebSocket handshakes: when it
// is an *http.Transport, a clone with HandshakeBuffer-sized buffers that
// keeps no idle connections (a handshake's connection is taken over by the
// WebSocket); other round trippers as they are.
func HandshakeTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return rt
	}
	if v, ok := handshakeTransports.Load(t); ok {
		return v.(*http.Transport)
	}
	c := t.Clone()
	c.ReadBufferSize, c.WriteBufferSize = HandshakeBuffer, HandshakeBuffer
	c.DisableKeepAlives = true
	v, _ := handshakeTransports.LoadOrStore(t, c)
	return v.(*http.Transport)
}
