package ws

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testEpoch anchors the tick timeline in tests.
var testEpoch = time.Unix(1_700_000_000, 0)

// wait bounds every wait on the network in tests; reaching it fails a test,
// it never paces one.
const wait = 10 * time.Second

// testServer is a loopback server with Handler on GET /ws, whose request
// contexts descend from one that cancel ends, as the mock server's do.
type testServer struct {
	url      string // ws://127.0.0.1:port/ws
	hub      *pubsub.Hub
	stats    *transport.ServerStats
	client   *http.Client
	cancel   context.CancelFunc // cancels every request context (shutdown)
	returned chan struct{}      // one value each time a handler returns
}

// newTestServer starts h, filling in a hub, stats and the test epoch where
// h has none. Cleanup closes the server and waits for every handler.
func newTestServer(t testing.TB, h *Handler) *testServer {
	t.Helper()
	if h.Hub == nil {
		h.Hub = pubsub.New(pubsub.Options{})
	}
	if h.Stats == nil {
		h.Stats = new(transport.ServerStats)
	}
	if h.Epoch.IsZero() {
		h.Epoch = testEpoch
	}
	base, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		hub:      h.Hub,
		stats:    h.Stats,
		client:   &http.Client{Transport: &http.Transport{}},
		cancel:   cancel,
		returned: make(chan struct{}, 4096),
	}
	var handlers sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			select {
			case ts.returned <- struct{}{}:
			default:
			}
		}()
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		mux.ServeHTTP(w, r)
	}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	ts.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	t.Cleanup(func() {
		cancel()
		srv.Close()
		handlers.Wait()
		ts.client.CloseIdleConnections()
	})
	return ts
}

// dial connects to /ws with query (which starts with "?" or is empty). The
// connection is dropped at cleanup.
func (ts *testServer) dial(t testing.TB, query string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPClient = ts.client
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.url+query, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	c.SetReadLimit(4 * DefaultReadLimit)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitReturned waits for n handlers to return.
func (ts *testServer) waitReturned(t testing.TB, n int) {
	t.Helper()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for range n {
		select {
		case <-ts.returned:
		case <-timeout.C:
			t.Fatalf("handler did not return within %v", wait)
		}
	}
}

// read reads one message within the test bound.
func read(t testing.TB, c *websocket.Conn) (websocket.MessageType, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, b
}

// readClose reads the next frame and returns the close error it must be.
func readClose(t testing.TB, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := c.Read(ctx)
	var ce websocket.CloseError
	if err == nil {
		t.Fatalf("got message %.80q, want the connection closed", b)
	} else if !errors.As(err, &ce) {
		t.Fatalf("read: %v, want a close frame", err)
	}
	return ce
}

func write(t testing.TB, c *websocket.Conn, typ websocket.MessageType, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Write(ctx, typ, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}
