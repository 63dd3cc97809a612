package check

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startMock serves rtbench serve's routes on a loopback port for one test,
// with fast AI streams.
func startMock(t *testing.T) string {
	t.Helper()
	s := mock.New(mock.Config{Tokens: aistream.Tokens{TTFT: 5 * time.Millisecond, TPS: 2000, Length: 8}})
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
	return "http://" + ln.Addr().String()
}
