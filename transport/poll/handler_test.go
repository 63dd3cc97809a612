package poll

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

func TestDefaults(t *testing.T) {
	var h Handler
	if h.epoch() != time.Unix(0, 0) || h.maxRate() != 1000 || h.maxWait() != time.Minute ||
		h.maxMessages() != 1000 || h.writeTimeout() != 10*time.Second {
		t.Errorf("defaults: %v %v %v %v %v", h.epoch(), h.maxRate(), h.maxWait(), h.maxMessages(), h.writeTimeout())
	}
	h = Handler{Epoch: time.Unix(5, 0), MaxRate: 5, MaxWait: time.Second, MaxMessages: 5, WriteTimeout: time.Second}
	if h.epoch() != time.Unix(5, 0) || h.maxRate() != 5 || h.maxWait() != time.Second || h.maxMessages() != 5 || h.writeTimeout() != time.Second {
		t.Error("set values are not used")
	}
}

// serveReal runs h on a real server whose request contexts derive from base,
// as the mock server's do (it cancels them on shutdown). started receives
// once per request, before the handler runs; returned after it.
func serveReal(t *testing.T, h *Handler, base context.Context) (srv *httptest.Server, started, returned chan struct{}) {
	started, returned = make(chan struct{}, 8), make(chan struct{}, 8)
	m := mux(h)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		defer func() { returned <- struct{}{} }()
		m.ServeHTTP(w, r)
	}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, started, returned
}

// TestRoundTrip drives every route over HTTP.
func TestRoundTrip(t *testing.T) {
	hub := pubsub.New(pubsub.Options{})
	stats := new(transport.ServerStats)
	srv, _, _ := serveReal(t, &Handler{Hub: hub, Stats: stats, Jobs: JobOptions{Queued: -1, Duration: -1}}, context.Background())
	c := srv.Client()
	get := func(path, inm string) (*http.Response, string) {
		t.Helper()
		r, _ := http.NewRequest("GET", srv.URL+path, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/poll?rate=1000", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `{"seq":`) {
		t.Errorf("/poll: %d %s", resp.StatusCode, body)
	}
	// A stale ETag from the Unix epoch's first tick: the state moved on.
	if resp, _ := get("/poll?rate=1000", `"1"`); resp.StatusCode != 200 {
		t.Errorf("/poll with a stale ETag: %d", resp.StatusCode)
	}
	hub.Publish("c", []byte(`{"a":1}`), 0)
	resp, body = get("/api/channels/c/messages?since=0&wait=1s", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"seq":1`) || !strings.Contains(body, `"data":{"a":1}`) {
		t.Errorf("messages: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("/api/channels/c/messages?since=0", resp.Header.Get("ETag")); resp.StatusCode != 304 || body != "" {
		t.Errorf("messages 304: %d %q", resp.StatusCode, body)
	}

	post, err := c.Post(srv.URL+"/api/jobs", "application/json", strings.NewReader(`{"steps":2}`))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	loc := post.Header.Get("Location")
	if post.StatusCode != 201 || !strings.HasPrefix(loc, "/api/jobs/job_") {
		t.Fatalf("POST /api/jobs: %d Location %q", post.StatusCode, loc)
	}
	resp, body = get(loc, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"completed"`) || resp.Header.Get("ETag") != `"completed-100"` {
		t.Errorf("GET job: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(loc+"?wait=30s", `"completed-100"`); resp.StatusCode != 304 {
		t.Errorf("completed job long poll: %d", resp.StatusCode)
	}
	if s := stats.Snapshot(); s.Events[transport.Poll] != 7 || s.Open[transport.Poll] != 0 {
		t.Errorf("stats: %d responses, %d open", s.Events[transport.Poll], s.Open[transport.Poll])
	}
}

// TestClientGoesAway shows a held request ending when its client cancels, so
// the server can close.
func TestClientGoesAway(t *testing.T) {
	stats := new(transport.ServerStats)
	srv, started, returned := serveReal(t, &Handler{Stats: stats, Hub: pubsub.New(pubsub.Options{})}, context.Background())
	for _, path := range []string{"/poll?since=18446744073709551615&wait=1m", "/poll?channel=c&since=5&wait=1m", "/api/channels/c/messages?since=5&wait=1m"} {
		ctx, cancel := context.WithCancel(context.Background())
		r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		errc := make(chan error, 1)
		go func() {
			resp, err := srv.Client().Do(r)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		<-started
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("%s: client got %v, want context.Canceled", path, err)
		}
		<-returned // the handler saw its context end
	}
	srv.Close() // would hang on a handler still holding its request
	if open := stats.Snapshot().Open[transport.Poll]; open != 0 {
		t.Errorf("Open = %d after the clients left", open)
	}
}

// TestServerShutdown shows held requests answered 503 when the server
// cancels their contexts.
func TestServerShutdown(t *testing.T) {
	base, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	h := &Handler{Hub: pubsub.New(pubsub.Options{})}
	srv, started, _ := serveReal(t, h, base)
	path := newJobReal(t, srv)
	<-started // the POST
	paths := []string{"/poll?since=18446744073709551615&wait=1m", "/api/channels/c/messages?wait=1m", path + "?wait=1m"}
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, len(paths))
	for _, p := range paths {
		go func() {
			resp, err := srv.Client().Get(srv.URL + p)
			if err != nil {
				answers <- answer{0, err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(b)}
		}()
	}
	for range paths {
		<-started
	}
	shutdown()
	for range paths {
		if a := <-answers; a.code != 503 || !strings.Contains(a.body, "shutting down") {
			t.Errorf("got %d %s, want 503", a.code, a.body)
		}
	}
}

func newJobReal(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/api/jobs?queued=10m", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}
