package transport

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWaitEndedContextWins: a context that has ended is reported even when
// the timer is ready too (a 1 ns timer has fired by the time Wait selects),
// so a poller cancelled between two requests never starts one more, only to
// count it as cut off (a -race hunt saw that sixth exchange).
func TestWaitEndedContextWins(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 1000 {
		if err := Wait(ctx, time.Nanosecond); !errors.Is(err, context.Canceled) {
			t.Fatalf("try %d: Wait = %v on an ended context, want context.Canceled", i, err)
		}
	}
	if err := Wait(context.Background(), time.Nanosecond); err != nil {
		t.Fatalf("Wait = %v on a live context", err)
	}
}
