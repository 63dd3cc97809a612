package ws

import (
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// noHTTP fails every request: a lean session that reaches it did not take
// the lean path.
type noHTTP struct{}

func (noHTTP) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("net/http was used")
}

var noHTTPClient = &http.Client{Transport: noHTTP{}}

// testLean, when set, is the Lean every client of a test uses (see
// useLean): bothPaths runs a test over coder/websocket and over the lean
// path.
var testLean *Lean

// bothPaths runs test twice: over coder/websocket, and with Client.Lean.
func bothPaths(t *testing.T, test func(*testing.T)) {
	t.Run("coder", test)
	t.Run("lean", func(t *testing.T) {
		testLean = &Lean{}
		defer func() { testLean = nil }()
		test(t)
	})
}

// useLean puts c on the lean path when the test runs it; a client without
// an HTTP client of its own gets one that fails every request, so that the
// test fails if the lean path is not taken.
func useLean(c *Client) {
	if testLean == nil || c.Lean != nil {
		return
	}
	c.Lean = testLean
	if c.HTTP == nil {
		c.HTTP = noHTTPClient
	}
}

// maskedFrame is a frame with the mask bit set, as a server must not send.
func maskedFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op, 0x80 | byte(len(payload)), 1, 2, 3, 4}
	for i, c := range payload {
		b = append(b, c^byte(i%4+1))
	}
	return b
}

// TestLeanHandshakeRequest: the request carries the RFC 6455 headers, the
// user's headers and Host, and the offered subprotocols.
func TestLeanHandshakeRequest(t *testing.T) {
	got := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		hosts <- r.Host
		w.WriteHeader(http.StatusForbidden)
	})
	c := &Client{URL: s.url + "/x", HTTP: noHTTPClient, Lean: &Lean{}, Reconnect: never,
		Header: http.Header{"X-Token": {"t"}, "Host": {"example.test"}}, Subprotocols: []string{"a", "b"}}
	err := runToEnd(t, c, newRec())
	asError(t, err, transport.ClassWSHandshakeStatus, http.StatusForbidden)
	h := <-got
	key := h.Get("Sec-WebSocket-Key")
	if raw, _ := base64.StdEncoding.DecodeString(key); len(raw) != 16 {
		t.Errorf("key %q: want 16 random bytes in base64", key)
	}
	for k, want := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "X-Token": "t", "Sec-WebSocket-Protocol": "a,b"} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	if host := <-hosts; host != "example.test" {
		t.Errorf("Host %q", host)
	}
}

// TestLeanApplies: only plain ws:// (or http://) without a proxy takes the
// lean path.
func TestLeanApplies(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		// net/http reads the proxy variables once per process: a proxy
		// case cannot be set up here.
		{"ws://127.0.0.1:1/ws", true},
		{"HTTP://127.0.0.1/ws", true},
		{"wss://127.0.0.1/ws", false},
		{"https://127.0.0.1/ws", false},
	} {
		if got := leanApplies(tc.url); got != tc.want {
			t.Errorf("leanApplies(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
