package aistream_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
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
	t.Helper()
	m := mocktest.Serve(t, mock.Config{}, mocktest.Options{})
	return m.URL, m.Shutdown
}
