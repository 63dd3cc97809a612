package poll

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestHold(t *testing.T) {
	tests := []struct {
		name  string
		fire  string // what happens first: "timer", "wake", "cancel"
		want  waitEnd
		after time.Duration
	}{
		{"timer", "timer", timedOut, 5 * time.Second},
		{"wake", "wake", woke, time.Second},
		{"cancel", "cancel", ended, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				timer := time.NewTimer(5 * time.Second)
				defer timer.Stop()
				wake := make(chan struct{})
				switch tt.fire {
				case "wake":
					time.AfterFunc(time.Second, func() { close(wake) })
				case "cancel":
					time.AfterFunc(2*time.Second, cancel)
				}
				begin := time.Now()
				if got := hold(ctx, timer.C, wake); got != tt.want || time.Since(begin) != tt.after {
					t.Errorf("hold = %v after %v, want %v after %v", got, time.Since(begin), tt.want, tt.after)
				}
			})
		})
	}
	if got := until(10, 4); got != 0 {
		t.Errorf("until(10, 4) = %v, want 0", got)
	}
	if got := until(4, 10); got != 6 {
		t.Errorf("until(4, 10) = %v, want 6ns", got)
	}
}
