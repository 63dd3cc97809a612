// Package mocktest starts rtbench serve's mock server for a test: on a
// loopback port, shut down (and checked) when the test ends.
package mocktest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// Start serves a mock.Server with cfg on 127.0.0.1 and a free port until
// the test ends, and returns it (for its counters) and its base URL. The
// cleanup closes it gracefully within 5 s and fails the test if Serve
// ended with anything but http.ErrServerClosed.
func Start(t testing.TB, cfg mock.Config) (*mock.Server, string) {
	t.Helper()
	s := mock.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("mock: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}
