package aistream_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// The package's TestMain (main_test.go) checks for leaked goroutines after
// these tests too: both packages build into one test binary.

func TestConformance(t *testing.T) {
	httpc := transport.NewHTTPClient(transport.HTTPOptions{})
	t.Cleanup(httpc.CloseIdleConnections)
	transporttest.Conformance(t, transporttest.Harness{
		Serve: serveMock,
		New: func(url string, _ transport.Reconnect) transport.Session {
			return &aistream.Client{
				Request: transport.Request{
					URL:  url,
					Body: []byte(`{"model":"rtbench-mock-1","messages":[{"role":"user","content":"Hello"}],"stream":true}`),
				},
				HTTP: httpc,
			}
		},
		Ordered:    "/v1/chat/completions?ttft=1ms&tps=5000&tokens=100000",
		Finite:     "/v1/chat/completions?ttft=1ms&tps=1000&tokens=5",
		Reconnects: false,
		CheckOrder: func(events []transport.Event) error {
			var text strings.Builder
			for i, e := range events {
				if e.Kind != transport.KindToken {
					return fmt.Errorf("event %d is of kind %d, not a token", i, e.Kind)
				}
				text.Write(e.Data)
			}
			want := aistream.Tokens{}.Text(len(events))
			if !strings.HasPrefix(want, text.String()) {
				return fmt.Errorf("the tokens read %q, which does not start %q", text.String(), want)
			}
			return nil
		},
	})
}

// serveMock starts `rtbench serve`'s handlers on a loopback port.
func serveMock(t testing.TB) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := mock.New(mock.Config{})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Close(ctx)
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(shutdown)
	return "http://" + ln.Addr().String(), shutdown
}
