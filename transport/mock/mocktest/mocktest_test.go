package mocktest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// openStream opens /sse on m and reads its headers, returning the body.
func openStream(t *testing.T, url string) io.ReadCloser {
	t.Helper()
	resp, err := http.Get(url + "/sse?rate=1000")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.Body
}

// readToEnd reads r until it ends and says whether it ended cleanly (EOF,
// what a graceful end of stream is) or with another error (a cut).
func readToEnd(r io.Reader) error {
	_, err := io.Copy(io.Discard, bufio.NewReader(r))
	return err
}

func TestShutdownEndsStreamsAndFreesTheAddress(t *testing.T) {
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{})
	body := openStream(t, m.URL)
	defer body.Close()
	m.Shutdown()
	if err := readToEnd(body); err != nil {
		t.Errorf("after Shutdown the stream ended with %v, want a clean end", err)
	}
	m.Shutdown() // idempotent
	again := mocktest.Serve(t, mock.Config{}, mocktest.Options{Addr: m.Addr})
	if again.URL != m.URL {
		t.Fatalf("restarted at %s, want %s", again.URL, m.URL)
	}
	b := openStream(t, again.URL)
	b.Close()
}

func TestKillCutsConnections(t *testing.T) {
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{})
	body := openStream(t, m.URL)
	defer body.Close()
	m.Kill()
	err := readToEnd(body)
	if err == nil {
		t.Error("after Kill the stream ended cleanly, want it cut (no end of chunked body)")
	}
	if _, err := net.DialTimeout("tcp", m.Addr, time.Second); err == nil {
		t.Error("the address still accepts after Kill")
	}
	m.Shutdown() // does nothing after Kill
}

func TestWrapAndListener(t *testing.T) {
	var paths []string
	accepted := 0
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.URL.Path)
				h.ServeHTTP(w, r)
			})
		},
		Listener: func(ln net.Listener) net.Listener { return countListener{ln, &accepted} },
	})
	resp, err := http.Get(m.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "ok") {
		t.Errorf("healthz answered %q", b)
	}
	m.Shutdown()
	if len(paths) != 1 || paths[0] != "/healthz" || accepted != 1 {
		t.Errorf("wrap saw %q and the listener %d accepts, want [/healthz] and 1", paths, accepted)
	}
}

type countListener struct {
	net.Listener
	n *int
}

func (l countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		*l.n++
	} else if !errors.Is(err, net.ErrClosed) {
		return nil, err
	}
	return c, err
}
