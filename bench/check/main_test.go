package check

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startMock serves rtbench serve's routes on a loopback port for one test,
// with fast AI streams.
func startMock(t *testing.T) string {
	t.Helper()
	_, base := mocktest.Start(t, mock.Config{Tokens: aistream.Tokens{TTFT: 5 * time.Millisecond, TPS: 2000, Length: 8}})
	return base
}
