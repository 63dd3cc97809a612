package cmd

import (
	"errors"
	"testing"
)

// TestMaxConnsFor: serve's default --max-conns from the open-files limit,
// including the platforms without one (Windows: no cap).
func TestMaxConnsFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		soft uint64
		err  error
		want int
	}{
		{"common default", 1024, nil, 512},
		{"raised limit", 65536, nil, 65024},
		{"low limit keeps a floor", 256, nil, 64},
		{"the largest limit still capped", 1 << 20, nil, 1<<20 - 512},
		{"effectively unlimited: no cap", 1<<20 + 1, nil, 0},
		{"RLIM_INFINITY: no cap", ^uint64(0), nil, 0},
		{"no such limit on this OS (Windows): no cap", 0, errors.ErrUnsupported, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxConnsFor(tc.soft, tc.err); got != tc.want {
				t.Errorf("maxConnsFor(%d, %v) = %d, want %d", tc.soft, tc.err, got, tc.want)
			}
		})
	}
}
